// Aligned columns, as the list commands print them (runc's list, the engine's
// ps, images, top...): each column as wide as its widest cell plus three
// spaces, the last one as it is. No imports: the runtime's commands load it.

/** The lines of rows (the first the header) in aligned columns, trailing blanks trimmed. */
export function alignColumns(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]! + 3)))
      .join("")
      .trimEnd(),
  );
}

// --format with a Go template (Docker's), for the engine's commands: lists
// (ps, images, volume ls, network ls, stats) write one line per row, or a
// table with a header row; inspect-like commands (inspect, volume inspect,
// network inspect, version, info) one result per object. A template error
// is an error (exit 1), never silently the default output. Also the plain
// output of every engine command: lines, aligned tables, inspect's JSON.
import { formatEach, formatRows, TemplateError } from "../engine/template.ts";
import { EngineError } from "../engine/store.ts";
import { alignColumns } from "./table.ts";

/** One line on stdout (a newline added unless it has one). */
export function out(s: string): void {
  process.stdout.write(s.endsWith("\n") ? s : s + "\n");
}

/** Rows as an aligned table (the first row the header): columns three spaces apart, the last one as it is. */
export function table(rows: string[][]): void {
  for (const line of alignColumns(rows)) out(line);
}

/** What inspect-like commands print: the objects through a --format template, else as a JSON array. */
export function writeInspect(fmt: string | undefined, items: unknown[], indent = 2): void {
  if (fmt !== undefined && fmt !== "json") writeEach(fmt, items);
  else out(JSON.stringify(items, null, indent));
}

/** A Go template, as opposed to berth's named formats ("json", "table"). */
export function isTemplate(fmt: string | undefined): fmt is string {
  return fmt !== undefined && fmt !== "json" && fmt !== "table";
}

function templateErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TemplateError) throw new EngineError(`template parsing error: ${e.message}`, 1);
    throw e;
  }
}

/** Rows through a list template ("table ..." gives headers, from `headers` or the field names). */
export function writeRows(fmt: string, rows: unknown[], headers: Record<string, string> = {}): void {
  process.stdout.write(templateErrors(() => formatRows(fmt, rows, headers)));
}

/** Objects (plain JSON data) through a template, one result each. */
export function writeEach(fmt: string, items: unknown[]): void {
  const plain = items.map((i) => JSON.parse(JSON.stringify(i)) as unknown);
  process.stdout.write(templateErrors(() => formatEach(fmt, plain)));
}

/** A time as Go prints a time.Time (Docker's CreatedAt): "2006-01-02 15:04:05 +0000 UTC". */
export function goTime(iso: string | undefined): string {
  const t = iso ? new Date(iso) : undefined;
  if (!t || !Number.isFinite(t.getTime())) return "";
  return `${t.toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}

/** Labels as Docker's list contexts show them: k=v,k2=v2. */
export function labelText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** The `.Label "key"` method of Docker's list contexts. */
export function labelMethod(labels: Record<string, string> | undefined): (a: unknown[]) => string {
  return (a) => (labels ?? {})[String(a[0])] ?? "";
}

/** Docker's column headers where they are not the field name in capitals. */
export const HEADERS = {
  ps: { ID: "CONTAINER ID", RunningFor: "CREATED" },
  images: { ID: "IMAGE ID", CreatedSince: "CREATED" },
  volumes: { Name: "VOLUME NAME" },
  networks: { ID: "NETWORK ID" },
  stats: { ID: "CONTAINER ID", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS" },
};

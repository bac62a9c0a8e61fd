// Results: the figure model, the markdown report and hand-written SVG bar charts.
import { max, median, min } from "./util.ts";
import type { HostInfo } from "./host.ts";

export interface Row {
  peer: string;
  values: number[];
  error?: string; // why this peer shows n/a
  note?: string; // e.g. "lower bound: VMM floor"
  lowerBound?: boolean;
}

export interface Figure {
  id: string;
  title: string;
  unit: string;
  lowerIsBetter: boolean;
  digits: number;
  rows: Row[];
  notes: string[];
}

export function newFigure(id: string, title: string, unit: string, opts: { lowerIsBetter?: boolean; digits?: number } = {}): Figure {
  return { id, title, unit, lowerIsBetter: opts.lowerIsBetter ?? true, digits: opts.digits ?? 1, rows: [], notes: [] };
}

function fmt(n: number, digits: number): string {
  if (!Number.isFinite(n)) return "n/a";
  if (Math.abs(n) >= 1000) return Math.round(n).toString();
  return n.toFixed(digits);
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  return `${(a / b).toFixed(2)}×`;
}

function esc(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function rowMedian(r: Row | undefined): number {
  return r && !r.error && r.values.length ? median(r.values) : NaN;
}

export interface RunInfo {
  started: string;
  seconds: number;
  quick: boolean;
  only: string | null;
  vmCase: string;
  method: string[];
}

export function markdown(host: HostInfo, run: RunInfo, figures: Figure[], svgs: Map<string, string>): string {
  const L: string[] = [];
  L.push(`# berth benchmark — ${host.hostname}, ${run.started}${run.quick ? " (--quick)" : ""}`);
  L.push("");
  L.push("## Host");
  L.push("");
  L.push(`- kernel ${host.kernel}; ${host.os}; ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB`);
  L.push(`- cgroups: ${host.cgroupNote}`);
  L.push(`- /dev/kvm: ${host.kvm}; VM case: ${run.vmCase}`);
  for (const [k, v] of Object.entries(host.versions)) L.push(`- ${k}: ${v}`);
  L.push(`- run: ${run.quick ? "--quick" : "full"}${run.only ? `, --only ${run.only}` : ""}, ${Math.round(run.seconds)} s`);
  L.push("");
  L.push("## Summary (medians)");
  L.push("");
  const peers: string[] = [];
  for (const f of figures) for (const r of f.rows) if (!peers.includes(r.peer)) peers.push(r.peer);
  L.push(`| figure | ${peers.join(" | ")} |`);
  L.push(`|---|${peers.map(() => "---:").join("|")}|`);
  for (const f of figures) {
    const cells = peers.map((p) => {
      const r = f.rows.find((x) => x.peer === p);
      if (!r) return "";
      if (r.error) return "n/a";
      return (r.lowerBound ? "≥ " : "") + fmt(rowMedian(r), f.digits);
    });
    L.push(`| ${esc(f.title)} (${f.unit}) | ${cells.join(" | ")} |`);
  }
  L.push("");
  L.push("## Details");
  L.push("");
  L.push(
    "Medians of N repetitions, interleaved across peers (A B C A B C ...). Ratios are this peer's median over berth's (and over native, where there is a native row).",
  );
  for (const f of figures) {
    L.push("");
    L.push(`### ${f.title}`);
    L.push("");
    const berth = rowMedian(f.rows.find((r) => r.peer === "berth"));
    const native = rowMedian(f.rows.find((r) => r.peer === "native"));
    const hasNative = f.rows.some((r) => r.peer === "native");
    L.push(`| peer | median (${f.unit}) | min–max | N | vs berth |${hasNative ? " vs native |" : ""}`);
    L.push(`|---|---:|---:|---:|---:|${hasNative ? "---:|" : ""}`);
    for (const r of f.rows) {
      const m = rowMedian(r);
      const med = r.error ? "n/a" : (r.lowerBound ? "≥ " : "") + fmt(m, f.digits);
      const range = r.error || !r.values.length ? "" : `${fmt(min(r.values), f.digits)}–${fmt(max(r.values), f.digits)}`;
      const n = r.error ? "0" : String(r.values.length);
      L.push(`| ${esc(r.peer)} | ${med} | ${range} | ${n} | ${ratio(m, berth)} |${hasNative ? ` ${ratio(m, native)} |` : ""}`);
    }
    const notes = [...f.notes];
    for (const r of f.rows) {
      if (r.error) notes.push(`${r.peer}: n/a — ${r.error}`);
      if (r.note) notes.push(`${r.peer}: ${r.note}`);
    }
    if (notes.length) {
      L.push("");
      for (const n of notes) L.push(`- ${esc(n)}`);
    }
    const svg = svgs.get(f.id);
    if (svg) {
      L.push("");
      L.push(`![${f.title}](${svg})`);
    }
  }
  L.push("");
  L.push("## Method");
  L.push("");
  for (const m of run.method) L.push(`- ${m}`);
  L.push("");
  return L.join("\n");
}

// ---- SVG ---------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  berth: "#2a7ab0",
  "berth-agent": "#1a4a80",
  runc: "#8a8a8a",
  crun: "#b0892a",
  native: "#3a9a4a",
  vm: "#b04a3a",
};

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A horizontal bar chart of the medians with min–max whiskers; n/a rows are labelled. */
export function svgChart(f: Figure): string {
  const rowH = 30;
  const left = 200;
  const right = 110;
  const width = 760;
  const top = 48;
  const plotW = width - left - right;
  const height = top + rowH * f.rows.length + 34;
  const maxV = Math.max(1e-9, ...f.rows.filter((r) => !r.error).flatMap((r) => r.values));
  const x = (v: number) => left + (v / maxV) * plotW;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
  );
  o.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(`<text x="12" y="22" font-size="15" font-weight="bold">${xml(f.title)}</text>`);
  o.push(`<text x="12" y="40" fill="#555">${xml(f.unit)}, ${f.lowerIsBetter ? "lower" : "higher"} is better; bar = median, whisker = min–max</text>`);
  f.rows.forEach((r, i) => {
    const y = top + i * rowH;
    const color = COLORS[r.peer.split(/[ (]/)[0]!] ?? "#6a5aa0";
    o.push(`<text x="${left - 8}" y="${y + 19}" text-anchor="end">${xml(r.peer)}</text>`);
    if (r.error || !r.values.length) {
      o.push(`<text x="${left + 4}" y="${y + 19}" fill="#a00">n/a</text>`);
      return;
    }
    const m = median(r.values);
    o.push(
      `<rect x="${left}" y="${y + 5}" width="${Math.max(1, x(m) - left).toFixed(1)}" height="${rowH - 10}" fill="${color}"${r.lowerBound ? ' fill-opacity="0.45" stroke="' + color + '" stroke-dasharray="4 3"' : ""}/>`,
    );
    const lo = x(min(r.values));
    const hi = x(max(r.values));
    const cy = y + rowH / 2;
    o.push(`<line x1="${lo.toFixed(1)}" y1="${cy}" x2="${hi.toFixed(1)}" y2="${cy}" stroke="#222"/>`);
    o.push(`<line x1="${lo.toFixed(1)}" y1="${cy - 5}" x2="${lo.toFixed(1)}" y2="${cy + 5}" stroke="#222"/>`);
    o.push(`<line x1="${hi.toFixed(1)}" y1="${cy - 5}" x2="${hi.toFixed(1)}" y2="${cy + 5}" stroke="#222"/>`);
    o.push(`<text x="${(hi + 6).toFixed(1)}" y="${y + 19}">${r.lowerBound ? "≥ " : ""}${xml(fmt(m, f.digits))}</text>`);
  });
  const axisY = top + rowH * f.rows.length + 4;
  o.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#999"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = (maxV * k) / 4;
    o.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555" font-size="11">${xml(fmt(v, f.digits))}</text>`);
  }
  o.push(`</svg>`);
  return o.join("\n") + "\n";
}

// Watching containers: logs, stats, top (the engine reads the log, the
// cgroups and /proc: src/engine/logs.ts, stats.ts, top.ts).
import { EngineUsageError } from "../engine/args.ts";
import { binarySize } from "../engine/describe.ts";
import { parseTimeBound, readLog } from "../engine/logs.ts";
import { StatsSampler } from "../engine/stats.ts";
import { context } from "../engine/template.ts";
import { containerProcesses } from "../engine/top.ts";
import { bool, str } from "./args.ts";
import { makeEngine, parse } from "./engine-common.ts";
import { HEADERS, isTemplate, out, table, writeRows } from "./engine-format.ts";

export async function cmdLogs(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "follow", short: "f", kind: "bool" },
    { name: "tail", short: "n", kind: "string" },
    { name: "timestamps", short: "t", kind: "bool" },
    { name: "since", kind: "string" },
    { name: "until", kind: "string" },
  ]);
  if (p.args.length !== 1) throw new EngineUsageError("logs needs exactly one container");
  const tail = str(p, "tail");
  if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) throw new EngineUsageError(`--tail ${JSON.stringify(tail)}: want a number or all`);
  const bound = (flag: "since" | "until") => {
    const v = str(p, flag);
    if (v === undefined) return undefined;
    try {
      return parseTimeBound(v, `--${flag}`);
    } catch (err) {
      throw new EngineUsageError((err as Error).message);
    }
  };
  const since = bound("since"),
    until = bound("until");
  const timestamps = bool(p, "timestamps");
  const n = tail === undefined || tail === "all" ? undefined : Number(tail);
  for await (const piece of readLog(makeEngine(), p.args[0]!, { tail: n, since, until, timestamps, follow: bool(p, "follow") })) {
    if ("raw" in piece) process.stdout.write(piece.raw);
    else (piece.stream === "stderr" ? process.stderr : process.stdout).write(timestamps ? `${piece.time} ${piece.text}` : piece.text);
  }
  return 0;
}

export async function cmdStats(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "no-stream", kind: "bool" },
    { name: "all", short: "a", kind: "bool" },
    { name: "format", kind: "string" },
  ]);
  const e = makeEngine();
  const pick = () =>
    (p.args.length ? p.args.map((r) => e.containers.get(r)) : e.containers.list()).filter(
      (c) => bool(p, "all") || p.args.length > 0 || e.status(c) === "running",
    );
  for (const r of p.args) e.containers.get(r);
  const fmt = str(p, "format");
  const sampler = new StatsSampler(e);
  sampler.start(pick());
  const live = !bool(p, "no-stream");
  let stopping = false;
  const onInt = () => {
    stopping = true;
  };
  if (live) process.on("SIGINT", onInt);
  try {
    for (let first = true; ; first = false) {
      await Bun.sleep(first && !live ? 500 : 1000);
      const rows = sampler.round(pick());
      if (fmt === "json") {
        out(
          JSON.stringify(
            rows.map(({ c, s, cpu }) => ({
              id: c.id,
              name: c.name,
              cpu_percent: Number(cpu.toFixed(2)),
              mem_usage: s?.mem ?? 0,
              mem_limit: s?.limit ?? 0,
              pids: s?.pids ?? 0,
            })),
          ),
        );
      } else if (isTemplate(fmt)) {
        if (live && process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
        writeRows(
          fmt,
          rows.map(({ c, s, cpu }) =>
            context("formatter.StatsEntry", {
              Container: c.name,
              Name: c.name,
              ID: c.id.slice(0, 12),
              CPUPerc: `${cpu.toFixed(2)}%`,
              MemUsage: s ? `${binarySize(s.mem)} / ${binarySize(s.limit)}` : "-- / --",
              MemPerc: s && s.limit > 0 ? `${((s.mem / s.limit) * 100).toFixed(2)}%` : "--",
              NetIO: "--",
              BlockIO: "--",
              PIDs: s ? String(s.pids) : "--",
            }),
          ),
          HEADERS.stats,
        );
      } else {
        if (live && process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
        table([
          ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"],
          ...rows.map(({ c, s, cpu }) => [
            c.id.slice(0, 12),
            c.name,
            `${cpu.toFixed(2)}%`,
            s ? `${binarySize(s.mem)} / ${binarySize(s.limit)}` : "-- / --",
            s && s.limit > 0 ? `${((s.mem / s.limit) * 100).toFixed(2)}%` : "--",
            s ? String(s.pids) : "--",
          ]),
        ]);
      }
      if (!live || stopping) break;
      if (p.args.length > 0 && rows.every((r) => !r.s)) break;
    }
  } finally {
    if (live) process.off("SIGINT", onInt);
  }
  return 0;
}

export async function cmdTop(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "format", kind: "string" }]);
  if (p.args.length !== 1) throw new EngineUsageError("top needs exactly one container");
  const fmt = str(p, "format");
  if (fmt !== undefined && fmt !== "json" && fmt !== "table") throw new EngineUsageError(`--format: json or table, not ${JSON.stringify(fmt)}`);
  const rows = containerProcesses(makeEngine(), p.args[0]!);
  if (fmt === "json") {
    out(JSON.stringify(rows));
    return 0;
  }
  table([
    ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
    ...rows.map((r) => [r.user, String(r.pid), String(r.ppid), String(r.c), r.stime, r.tty, r.time, r.cmd]),
  ]);
  return 0;
}

// rename, update, diff, commit, history (Docker's commands of those names).
import { EngineUsageError } from "../engine/args.ts";
import { containerChanges, commitContainer } from "../engine/commit.ts";
import { ensureBuiltinFor, imageHistory } from "../engine/images.ts";
import { parseRestart } from "../engine/spec.ts";
import { context } from "../engine/template.ts";
import { ago, humanSize } from "../engine/describe.ts";
import { bool, has, list, str, type FlagSpec } from "./args.ts";
import { each, makeEngine, parse } from "./engine-common.ts";
import { goTime, isTemplate, out, writeRows } from "./engine-format.ts";
import { containerOptions } from "./engine-run.ts";

/** rename CONTAINER NEW_NAME */
export async function cmdRename(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  if (p.args.length !== 2) throw new EngineUsageError("rename needs a container and its new name");
  await makeEngine().containers.rename(p.args[0]!, p.args[1]!);
  return 0;
}

const UPDATE_FLAGS: FlagSpec[] = [
  { name: "memory", short: "m", kind: "string" },
  { name: "memory-swap", kind: "string" },
  { name: "memory-reservation", kind: "string" },
  { name: "cpus", kind: "string" },
  { name: "cpu-shares", short: "c", kind: "string" },
  { name: "cpuset-cpus", kind: "string" },
  { name: "cpuset-mems", kind: "string" },
  { name: "pids-limit", kind: "string" },
  { name: "restart", kind: "string" },
];

/** update [limits] [--restart P] CONTAINER...: the engine's (a running container's cgroup at once; the record for later starts). */
export async function cmdUpdate(argv: string[]): Promise<number> {
  const p = parse(argv, UPDATE_FLAGS);
  if (p.args.length === 0) throw new EngineUsageError("update needs at least one container");
  const given = UPDATE_FLAGS.map((f) => f.name).filter((n) => has(p, n));
  if (given.length === 0) throw new EngineUsageError("update needs at least one flag to change (--memory, --cpus, --pids-limit, --restart, ...)");
  // run's parsing and checks, for the flags given
  const o = containerOptions(p, undefined);
  const u: Record<string, unknown> = {};
  const keys: Record<string, string> = {
    memory: "memory",
    "memory-swap": "memorySwap",
    "memory-reservation": "memoryReservation",
    cpus: "cpus",
    "cpu-shares": "cpuShares",
    "cpuset-cpus": "cpusetCpus",
    "cpuset-mems": "cpusetMems",
    "pids-limit": "pidsLimit",
  };
  for (const f of given) {
    if (f === "restart") u.restart = parseRestart(str(p, "restart")!);
    else if (f === "pids-limit" && str(p, f) === "-1") u.pidsLimit = -1;
    else u[keys[f]!] = (o as unknown as Record<string, unknown>)[keys[f]!];
  }
  const e = makeEngine();
  return each(p.args, "update", (r) => e.update(r, u));
}

/** diff CONTAINER: A added, C changed, D deleted. */
export async function cmdDiff(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  if (p.args.length !== 1) throw new EngineUsageError("diff needs exactly one container");
  for (const c of containerChanges(makeEngine(), p.args[0]!)) out(`${c.kind} ${c.path}`);
  return 0;
}

/** commit [-c CHANGE] [-m MSG] [-a AUTHOR] [-p=false] CONTAINER [REPOSITORY[:TAG]] */
export async function cmdCommit(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "change", short: "c", kind: "list" },
    { name: "message", short: "m", kind: "string" },
    { name: "author", short: "a", kind: "string" },
    { name: "pause", short: "p", kind: "bool" },
  ]);
  if (p.args.length < 1 || p.args.length > 2) throw new EngineUsageError("commit needs a container and at most one image name");
  const e = makeEngine();
  const r = await commitContainer(
    e,
    p.args[0]!,
    p.args[1],
    {
      changes: list(p, "change"),
      message: str(p, "message"),
      author: str(p, "author"),
      pause: has(p, "pause") ? bool(p, "pause") : true,
    },
    (w) => process.stderr.write(`berth: commit: ${w}\n`),
  );
  out(r.configDigest);
  return 0;
}

/** history IMAGE: its layers and the steps that made them, newest first. */
export async function cmdHistory(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "quiet", short: "q", kind: "bool" },
    { name: "no-trunc", kind: "bool" },
    { name: "human", short: "H", kind: "bool" },
    { name: "format", kind: "string" },
  ]);
  if (p.args.length !== 1) throw new EngineUsageError("history needs exactly one image");
  const e = makeEngine();
  await ensureBuiltinFor(e, [p.args[0]!]);
  const rows = imageHistory(e.images, p.args[0]!);
  const nt = bool(p, "no-trunc");
  const human = has(p, "human") ? bool(p, "human") : true;
  const id = (x: string) => (x === "<missing>" || nt ? x : x.slice(7, 19));
  const by = (s: string) => (nt || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  if (bool(p, "quiet")) {
    for (const r of rows) out(id(r.id));
    return 0;
  }
  const fmt = str(p, "format");
  const ctxs = rows.map((r) =>
    context("*formatter.historyContext", {
      ID: id(r.id),
      CreatedSince: human ? ago(r.created) : r.created,
      CreatedAt: goTime(r.created),
      CreatedBy: by(r.createdBy),
      Size: human ? humanSize(r.size) : String(r.size),
      Comment: r.comment,
    }),
  );
  writeRows(isTemplate(fmt) ? fmt : "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", ctxs, {
    ID: "IMAGE",
    CreatedSince: "CREATED",
    CreatedBy: "CREATED BY",
  });
  return 0;
}

// The container commands: ps, stop, start, restart, pause, unpause, kill, rm,
// inspect, healthcheck, wait, port, cp (run, create, exec: engine-run.ts;
// logs, stats, top: engine-observe.ts).
import { copy, parseCpEnd } from "../engine/cp.ts";
import { ensureBuiltinFor } from "../engine/images.ts";
import { EngineUsageError, parseDuration, publishText } from "../engine/args.ts";
import { ago, inspectObject, psEntry, publishedPorts, statusText } from "../engine/describe.ts";
import { restartContainer, startAttached, startContainer, stopContainer, waitContainer } from "../engine/lifecycle.ts";
import { filterContainers, parseFilters, psWantsAll, PS_FILTERS, startAllSelection } from "../engine/filters.ts";
import { signalNumber } from "../engine/spec.ts";
import type { ContainerRecordE } from "../engine/store.ts";
import { context } from "../engine/template.ts";
import { volumesOf } from "../engine/volumes.ts";
import { bool, list, str } from "./args.ts";
import { each, LISTING_FLAGS, makeEngine, parse } from "./engine-common.ts";
import { goTime, HEADERS, isTemplate, labelMethod, labelText, out, table, writeInspect, writeRows } from "./engine-format.ts";

export async function cmdPs(argv: string[]): Promise<number> {
  const p = parse(argv, [...LISTING_FLAGS, { name: "all", short: "a", kind: "bool" }, { name: "no-trunc", kind: "bool" }]);
  const e = makeEngine();
  const f = parseFilters(list(p, "filter"), PS_FILTERS);
  const all = filterContainers(
    e,
    e.containers.list().filter((c) => bool(p, "all") || psWantsAll(f) || ["running", "paused"].includes(e.status(c))),
    f,
  );
  const fmt = str(p, "format");
  if (fmt === "json") {
    out(
      JSON.stringify(
        all.map((c) => psEntry(e, c)),
        null,
        2,
      ),
    );
    return 0;
  }
  if (bool(p, "quiet")) {
    if (isTemplate(fmt)) process.stderr.write("WARNING: Ignoring custom format, because both --format and --quiet are set.\n");
    for (const c of all) out(bool(p, "no-trunc") ? c.id : c.id.slice(0, 12));
    return 0;
  }
  const cmdText = (c: ContainerRecordE) => {
    const s = c.args.join(" ");
    return JSON.stringify(bool(p, "no-trunc") || s.length <= 20 ? s : s.slice(0, 19) + "…");
  };
  if (isTemplate(fmt)) {
    writeRows(
      fmt,
      all.map((c) =>
        context("*formatter.ContainerContext", {
          ID: bool(p, "no-trunc") ? c.id : c.id.slice(0, 12),
          Names: c.name,
          Image: c.image,
          Command: cmdText(c),
          CreatedAt: goTime(c.created),
          RunningFor: ago(c.created),
          Ports: (c.network.ports ?? []).map(publishText).join(", "),
          State: e.status(c),
          Status: statusText(e, c),
          Size: "0B",
          Labels: labelText(c.options.labels),
          Label: labelMethod(c.options.labels),
          Mounts: volumesOf(c).join(","),
          LocalVolumes: String(volumesOf(c).length),
          Networks: [c.network.name ?? c.network.mode, ...(c.network.connected ?? []).map((n) => n.name)].join(","),
          Platform: "linux",
        }),
      ),
      HEADERS.ps,
    );
    return 0;
  }
  table([
    ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
    ...all.map((c) => [c.id.slice(0, 12), c.image, cmdText(c), ago(c.created), statusText(e, c), (c.network.ports ?? []).map(publishText).join(", "), c.name]),
  ]);
  return 0;
}

export async function cmdStop(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "time", short: "t", kind: "string", alias: ["timeout"] },
    { name: "signal", short: "s", kind: "string" },
  ]);
  const t = str(p, "time");
  const ms = t === undefined ? undefined : parseDuration(t, "--time");
  const sig = str(p, "signal");
  const n = sig === undefined ? undefined : signalNumber(sig, "--signal");
  const e = makeEngine();
  return each(p.args, "stop", (r) => stopContainer(e, r, ms, n));
}

export async function cmdStart(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "attach", short: "a", kind: "bool" },
    { name: "interactive", short: "i", kind: "bool" },
    { name: "all", kind: "bool" },
    { name: "filter", kind: "list" },
  ]);
  const e = makeEngine();
  if (bool(p, "all")) {
    if (p.args.length > 0 || bool(p, "attach")) throw new EngineUsageError("start --all takes no container and no -a");
    const ids = startAllSelection(e, list(p, "filter"));
    if (ids.length === 0) return 0;
    return each(ids, "start", (id) => startContainer(e, id));
  }
  if (list(p, "filter").length > 0) throw new EngineUsageError("--filter goes with --all");
  if (bool(p, "attach")) {
    // attached: one container, in the foreground, with its exit code
    if (p.args.length !== 1) throw new EngineUsageError("start -a takes exactly one container");
    return startAttached(e, p.args[0]!);
  }
  return each(p.args, "start", (r) => startContainer(e, r));
}

export async function cmdRestart(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "time", short: "t", kind: "string", alias: ["timeout"] }]);
  const t = str(p, "time");
  const ms = t === undefined ? undefined : parseDuration(t, "--time");
  const e = makeEngine();
  return each(p.args, "restart", (r) => restartContainer(e, r, ms));
}

export async function cmdPause(argv: string[], paused: boolean): Promise<number> {
  const p = parse(argv, []);
  const e = makeEngine();
  return each(p.args, paused ? "pause" : "unpause", async (r) => {
    e.setPaused(r, paused);
  });
}

export async function cmdKill(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "signal", short: "s", kind: "string" }]);
  const sig = signalNumber(str(p, "signal") ?? "KILL", "--signal");
  const e = makeEngine();
  return each(p.args, "kill", async (r) => {
    e.kill(r, sig);
  });
}

export async function cmdRm(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "force", short: "f", kind: "bool" },
    { name: "volumes", short: "v", kind: "bool" },
  ]);
  const e = makeEngine();
  return each(p.args, "rm", async (r) => {
    await e.remove(r, bool(p, "force"), { volumes: bool(p, "volumes") });
  });
}

export async function cmdInspect(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "type", kind: "string" },
    { name: "format", short: "f", kind: "string" },
  ]);
  const type = str(p, "type");
  if (type !== undefined && type !== "image" && type !== "container") throw new EngineUsageError(`--type: image or container, not ${JSON.stringify(type)}`);
  if (p.args.length === 0) throw new EngineUsageError("inspect needs at least one image or container");
  const e = makeEngine();
  await ensureBuiltinFor(e, p.args);
  const results: object[] = [];
  let code = 0;
  for (const ref of p.args) {
    const found = inspectObject(e, ref, type);
    if (found) results.push(found);
    else {
      process.stderr.write(`berth: no such ${type ?? "object"}: ${ref}\n`);
      code = 1;
    }
  }
  writeInspect(str(p, "format"), results, 4);
  return code;
}

/** healthcheck run CONTAINER: one probe now; prints the status; exit 0 healthy, 1 otherwise. */
export async function cmdHealthcheck(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "run") throw new EngineUsageError("healthcheck needs a subcommand: run CONTAINER");
  const p = parse(rest, []);
  if (p.args.length !== 1) throw new EngineUsageError("healthcheck run needs exactly one container");
  const st = await makeEngine().healthcheckNow(p.args[0]!);
  out(st.status);
  return st.status === "healthy" ? 0 : 1;
}

/** wait CONTAINER...: blocks until each has exited; prints its exit code. */
export async function cmdWait(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  const e = makeEngine();
  return each(p.args, "wait", async (r) => out(String(await waitContainer(e, r))), { quiet: true });
}

/** port CONTAINER [PORT[/PROTO]]: the published ports, as "80/tcp -> 0.0.0.0:8080". */
export async function cmdPort(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  if (p.args.length < 1 || p.args.length > 2) throw new EngineUsageError("port needs a container and at most one PORT[/PROTOCOL]");
  const want = p.args[1];
  const ports = publishedPorts(makeEngine().containers.get(p.args[0]!), want);
  for (const x of ports)
    out(want !== undefined ? `${x.hostIP ?? "0.0.0.0"}:${x.hostPort}` : `${x.containerPort}/${x.protocol} -> ${x.hostIP ?? "0.0.0.0"}:${x.hostPort}`);
  return 0;
}

export async function cmdCp(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "archive", short: "a", kind: "bool" },
    { name: "follow-link", short: "L", kind: "bool" },
  ]);
  if (p.args.length !== 2) throw new EngineUsageError("cp needs SRC and DEST, one of them CONTAINER:PATH");
  const e = makeEngine();
  const warnings = await copy(e, parseCpEnd(p.args[0]!), parseCpEnd(p.args[1]!), { archive: bool(p, "archive"), followLink: bool(p, "follow-link") });
  for (const w of warnings) process.stderr.write(`berth: cp: ${w}\n`);
  return 0;
}

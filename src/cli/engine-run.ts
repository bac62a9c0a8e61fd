// run, create and exec: their flags made into the engine's typed options
// (ContainerOptions, CreateRequest); update (engine-manage.ts) shares them.
import { normalizeSignal } from "../image/config.ts";
import type { CreateRequest } from "../engine/engine.ts";
import { EngineUsageError, parseBytes, parseDuration, parsePublish } from "../engine/args.ts";
import { envFromHost, readEnvFile } from "../engine/env.ts";
import { checkRetries, type HealthFlags } from "../engine/health.ts";
import { chooseNetwork } from "../engine/network-connect.ts";
import {
  findInit,
  normalizeCap,
  parseDevice,
  parsePairs,
  parseRestart,
  parseTmpfs,
  parseUlimit,
  parseVolume,
  readSeccompProfile,
  signalNumber,
  type ContainerOptions,
} from "../engine/spec.ts";
import { bool, list, str, type FlagSpec, type Parsed } from "./args.ts";
import { makeEngine, parse, pullProgress, registryOptions } from "./engine-common.ts";
import { out } from "./engine-format.ts";
import { USAGE } from "./engine-usage.ts";

export const RUN_FLAGS: FlagSpec[] = [
  { name: "rm", kind: "bool" },
  { name: "detach", short: "d", kind: "bool" },
  { name: "interactive", short: "i", kind: "bool" },
  { name: "tty", short: "t", kind: "bool" },
  { name: "name", kind: "string" },
  { name: "env", short: "e", kind: "list" },
  { name: "env-file", kind: "list" },
  { name: "volume", short: "v", kind: "list" },
  { name: "tmpfs", kind: "list" },
  { name: "workdir", short: "w", kind: "string" },
  { name: "user", short: "u", kind: "string" },
  { name: "entrypoint", kind: "string" },
  { name: "memory", short: "m", kind: "string" },
  { name: "cpus", kind: "string" },
  { name: "pids-limit", kind: "string" },
  { name: "read-only", kind: "bool" },
  { name: "cap-add", kind: "list" },
  { name: "cap-drop", kind: "list" },
  { name: "security-opt", kind: "list" },
  { name: "network", kind: "string", alias: ["net"] },
  { name: "network-alias", kind: "list", alias: ["net-alias"] },
  { name: "publish", short: "p", kind: "list" },
  { name: "hostname", short: "h", kind: "string" },
  { name: "pull", kind: "string" },
  { name: "tls-verify", kind: "bool" },
  { name: "authfile", kind: "string" },
  { name: "label", short: "l", kind: "list" },
  { name: "privileged", kind: "bool" },
  { name: "cgroupns", kind: "string" },
  { name: "publish-all", short: "P", kind: "bool" },
  { name: "cpu-shares", short: "c", kind: "string" },
  ...["ulimit", "sysctl", "device", "group-add", "add-host", "dns", "dns-search", "dns-option"].map((name): FlagSpec => ({ name, kind: "list" })),
  ...["restart", "shm-size", "stop-signal", "stop-timeout", "cpuset-cpus", "cpuset-mems", "memory-swap", "memory-reservation"].map(
    (name): FlagSpec => ({ name, kind: "string" }),
  ),
  ...["health-cmd", "health-interval", "health-timeout", "health-retries", "health-start-period"].map((name): FlagSpec => ({ name, kind: "string" })),
  { name: "no-healthcheck", kind: "bool" },
  { name: "init", kind: "bool" },
  { name: "init-path", kind: "string" },
];

/** The flags beyond the basics: limits, devices, groups, sysctls, labels, stop, name resolution. */
function moreOptions(p: Parsed, o: ContainerOptions): void {
  if (bool(p, "privileged")) o.privileged = true;
  const cgns = str(p, "cgroupns");
  if (cgns !== undefined) {
    if (cgns !== "private" && cgns !== "host") throw new EngineUsageError(`--cgroupns ${JSON.stringify(cgns)}: want private or host`);
    o.cgroupns = cgns;
  }
  const health: HealthFlags = {};
  const hcmd = str(p, "health-cmd");
  if (hcmd !== undefined) health.cmd = hcmd;
  for (const [flag, key] of [
    ["health-interval", "intervalMs"],
    ["health-timeout", "timeoutMs"],
    ["health-start-period", "startPeriodMs"],
  ] as const) {
    const v = str(p, flag);
    if (v !== undefined) health[key] = parseDuration(v, `--${flag}`);
  }
  const hr = str(p, "health-retries");
  if (hr !== undefined) health.retries = checkRetries(hr);
  if (bool(p, "no-healthcheck")) {
    if (Object.keys(health).length > 0) throw new EngineUsageError("--no-healthcheck conflicts with the --health-* flags");
    health.none = true;
  }
  if (Object.keys(health).length > 0) o.health = health;
  const ul = list(p, "ulimit");
  if (ul.length) o.ulimits = ul.map(parseUlimit);
  const sc = list(p, "sysctl");
  if (sc.length) o.sysctls = parsePairs(sc, "--sysctl");
  const lb = list(p, "label");
  if (lb.length)
    o.labels = parsePairs(
      lb.map((l) => (l.includes("=") ? l : `${l}=`)),
      "--label",
    );
  const shm = str(p, "shm-size");
  if (shm !== undefined) o.shmSize = parseBytes(shm, "--shm-size");
  const ss = str(p, "stop-signal");
  if (ss !== undefined) {
    signalNumber(ss, "--stop-signal");
    o.stopSignal = normalizeSignal(ss);
  }
  const st = str(p, "stop-timeout");
  if (st !== undefined) {
    if (!/^\d+$/.test(st)) throw new EngineUsageError(`--stop-timeout ${JSON.stringify(st)}: want whole seconds`);
    o.stopTimeout = Number(st);
  }
  const dev = list(p, "device");
  if (dev.length) o.devices = dev.map(parseDevice);
  const ga = list(p, "group-add");
  if (ga.length) o.groupAdd = ga;
  const cs = str(p, "cpu-shares");
  if (cs !== undefined) {
    if (!/^\d+$/.test(cs) || Number(cs) < 2 || Number(cs) > 262144)
      throw new EngineUsageError(`--cpu-shares ${JSON.stringify(cs)}: want a number from 2 to 262144`);
    o.cpuShares = Number(cs);
  }
  const cpuset = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
  for (const [flag, key] of [
    ["cpuset-cpus", "cpusetCpus"],
    ["cpuset-mems", "cpusetMems"],
  ] as const) {
    const v = str(p, flag);
    if (v === undefined) continue;
    if (!cpuset.test(v)) throw new EngineUsageError(`--${flag} ${JSON.stringify(v)}: want a list such as 0-2,4`);
    o[key] = v;
  }
  const swap = str(p, "memory-swap");
  if (swap !== undefined) {
    o.memorySwap = swap === "-1" ? -1 : parseBytes(swap, "--memory-swap");
    if (o.memorySwap !== -1 && (o.memory === undefined || o.memorySwap < o.memory)) {
      throw new EngineUsageError(`--memory-swap ${swap}: memory plus swap, so at least --memory (which it needs), or -1 for unlimited`);
    }
  }
  const res = str(p, "memory-reservation");
  if (res !== undefined) o.memoryReservation = parseBytes(res, "--memory-reservation");
  const hosts = list(p, "add-host");
  if (hosts.length) {
    o.addHosts = hosts.map((h) => {
      const i = h.indexOf(":");
      if (i <= 0) throw new EngineUsageError(`--add-host ${JSON.stringify(h)}: want NAME:IP`);
      return [h.slice(0, i), h.slice(i + 1)] as [string, string];
    });
  }
  for (const [flag, key] of [
    ["dns", "dns"],
    ["dns-search", "dnsSearch"],
    ["dns-option", "dnsOptions"],
  ] as const) {
    const v = list(p, flag);
    if (v.length) o[key] = v;
  }
}

export function containerOptions(p: Parsed, cmd: string[] | undefined): ContainerOptions {
  const env: string[] = [];
  for (const f of list(p, "env-file")) env.push(...readEnvFile(f));
  for (const e of list(p, "env")) {
    if (e === "" || e.startsWith("=")) throw new EngineUsageError(`--env ${JSON.stringify(e)}: want KEY=VALUE or KEY`);
    const v = envFromHost(e);
    if (v !== undefined) env.push(v);
  }
  const o: ContainerOptions = {
    cmd,
    env,
    tty: bool(p, "tty"),
    interactive: bool(p, "interactive"),
    volumes: list(p, "volume").map(parseVolume),
    tmpfs: list(p, "tmpfs").map(parseTmpfs),
    readOnly: bool(p, "read-only"),
    capAdd: list(p, "cap-add")
      .flatMap((c) => c.split(","))
      .map((c) => normalizeCap(c, "--cap-add")),
    capDrop: list(p, "cap-drop")
      .flatMap((c) => c.split(","))
      .map((c) => normalizeCap(c, "--cap-drop")),
    noNewPrivileges: false,
  };
  const ep = str(p, "entrypoint");
  if (ep !== undefined) o.entrypoint = ep === "" ? [] : [ep];
  const w = str(p, "workdir");
  if (w !== undefined) {
    if (!w.startsWith("/")) throw new EngineUsageError(`--workdir ${JSON.stringify(w)}: must be an absolute path`);
    o.workdir = w;
  }
  const u = str(p, "user");
  if (u !== undefined) o.user = u;
  const h = str(p, "hostname");
  if (h !== undefined) o.hostname = h;
  const mem = str(p, "memory");
  if (mem !== undefined) {
    o.memory = parseBytes(mem, "--memory");
    if (o.memory < 6 * 1024 * 1024) throw new EngineUsageError(`--memory ${mem}: the minimum is 6MB`);
  }
  const cpus = str(p, "cpus");
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!/^\d+(\.\d+)?$/.test(cpus) || !(n > 0) || n > 1024)
      throw new EngineUsageError(`--cpus ${JSON.stringify(cpus)}: want a positive number of CPUs, e.g. 0.5`);
    o.cpus = n;
  }
  moreOptions(p, o);
  if (bool(p, "init") || str(p, "init-path") !== undefined) o.init = findInit(str(p, "init-path"));
  const rs = str(p, "restart");
  if (rs !== undefined) {
    o.restart = parseRestart(rs);
    if (o.restart.name !== "no" && bool(p, "rm"))
      throw new EngineUsageError(`--restart ${rs} and --rm conflict: a container removed when it exits cannot be restarted`);
  }
  const pl = str(p, "pids-limit");
  if (pl !== undefined) {
    if (!/^-?\d+$/.test(pl) || Number(pl) === 0 || Number(pl) < -1)
      throw new EngineUsageError(`--pids-limit ${JSON.stringify(pl)}: want a positive number, or -1 for no limit`);
    if (Number(pl) > 0) o.pidsLimit = Number(pl);
  }
  for (const so of list(p, "security-opt")) {
    const [k, v] = so.includes("=")
      ? [so.slice(0, so.indexOf("=")), so.slice(so.indexOf("=") + 1)]
      : so.includes(":")
        ? [so.slice(0, so.indexOf(":")), so.slice(so.indexOf(":") + 1)]
        : [so, undefined];
    if (k === "no-new-privileges") {
      if (v !== undefined && !/^(true|false)$/.test(v)) throw new EngineUsageError(`--security-opt ${so}: want no-new-privileges[=true|false]`);
      o.noNewPrivileges = v !== "false";
    } else if (k === "seccomp") {
      if (!v) throw new EngineUsageError(`--security-opt ${so}: want seccomp=FILE or seccomp=unconfined`);
      o.seccomp = v === "unconfined" ? null : readSeccompProfile(v);
    } else throw new EngineUsageError(`--security-opt ${JSON.stringify(so)}: unsupported (supported: seccomp=FILE|unconfined, no-new-privileges)`);
  }
  return o;
}

/** What `run` and `create` make of their flags: the engine's create request. */
function createRequest(p: Parsed, what: "run" | "create"): CreateRequest {
  const [image, ...cmd] = p.args;
  if (!image) throw new EngineUsageError(`${what} needs an image: berth ${what} [flags] IMAGE [COMMAND [ARG...]]`);
  const ports = list(p, "publish").flatMap(parsePublish);
  const publishAll = bool(p, "publish-all");
  const net = chooseNetwork(str(p, "network"), ports.length > 0 || publishAll, list(p, "network-alias"));
  const pull = str(p, "pull") ?? "missing";
  if (!["missing", "always", "never"].includes(pull)) throw new EngineUsageError(`--pull ${JSON.stringify(pull)}: want missing, always or never`);
  const detach = what === "create" || bool(p, "detach");
  const opts = containerOptions(p, cmd.length ? cmd : undefined);
  if (what === "run" && !detach && opts.restart && opts.restart.name !== "no") {
    throw new EngineUsageError(`--restart ${opts.restart.name}: needs -d (a detached container's monitor restarts it)`);
  }
  if (what === "run" && opts.tty && !detach && opts.interactive && !process.stdin.isTTY)
    throw new EngineUsageError("the input device is not a TTY (-i -t need a terminal on stdin; drop -t)");
  return {
    image,
    name: str(p, "name"),
    opts,
    ...net,
    ports,
    autoRemove: bool(p, "rm"),
    detach,
    standalone: what === "create",
    publishAll,
    pull: pull as "missing",
    registry: registryOptions(p),
    onPullProgress: pullProgress(),
  };
}

export async function cmdRun(argv: string[]): Promise<number> {
  const p = parse(argv, RUN_FLAGS, true);
  if (bool(p, "help")) {
    out(USAGE);
    return 0;
  }
  const req = createRequest(p, "run");
  const detach = req.detach;
  const e = makeEngine();
  const rec = await e.create(req);
  if (detach) {
    await e.runDetached(rec);
    out(rec.id);
    return 0;
  }
  return e.runForeground(rec);
}

/** create: a container that waits for `start` (the same flags as run). */
export async function cmdCreate(argv: string[]): Promise<number> {
  const p = parse(argv, RUN_FLAGS, true);
  if (bool(p, "help")) {
    out(USAGE);
    return 0;
  }
  const rec = await makeEngine().create(createRequest(p, "create"));
  out(rec.id);
  return 0;
}

export async function cmdExec(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    [
      { name: "interactive", short: "i", kind: "bool" },
      { name: "tty", short: "t", kind: "bool" },
      { name: "detach", short: "d", kind: "bool" },
      { name: "env", short: "e", kind: "list" },
      { name: "user", short: "u", kind: "string" },
      { name: "workdir", short: "w", kind: "string" },
    ],
    true,
  );
  const [ref, ...cmd] = p.args;
  if (!ref) throw new EngineUsageError("exec needs a container and a command");
  if (cmd.length === 0) throw new EngineUsageError("exec needs a command");
  const w = str(p, "workdir");
  if (w !== undefined && !w.startsWith("/")) throw new EngineUsageError(`--workdir ${JSON.stringify(w)}: must be an absolute path`);
  const env: string[] = [];
  for (const x of list(p, "env")) {
    const v = envFromHost(x);
    if (v !== undefined) env.push(v);
  }
  const e = makeEngine();
  return e.exec(ref, cmd, { interactive: bool(p, "interactive"), tty: bool(p, "tty"), detach: bool(p, "detach"), env, user: str(p, "user"), workdir: w });
}

// The runc-compatible commands (the OCI runtime CLI that containerd's shim,
// Podman's conmon and Docker call).
import { forwardSignals } from "../linux/signals.ts";
import { finishConsole, startConsole } from "../linux/console.ts";
import { existsSync, readSync } from "../linux/fs.ts";
import { SIGNALS } from "../linux/signals.ts";
import { resolve } from "../linux/path.ts";
import { OCI_VERSION } from "../spec/constants.ts";
import { features, writeDefaultSpec } from "../runtime/features.ts";
import { parseJSON, validateProcess, validateResources } from "../spec/validate.ts";
import type { LinuxResources, Process, Spec } from "../spec/types.ts";
import { CONFIG_MAX, readBundleConfig, readCallerJson, Runtime, RuntimeError, type CreateOptions } from "../runtime/container.ts";
import { withExecCaps } from "../security/caps.ts";
import { trace } from "../linux/trace.ts";
import { callerFd, writeOut } from "../linux/stdio.ts";
import { callerEnv, callerPath, leaveToBunIf } from "../linux/caller.ts";
import { bool, helpText, list, parseArgs, str, UsageError, wantsHelp, type FlagSpec } from "./args.ts";
import { alignColumns } from "./table.ts";

export const VERSION = "0.1.0";

export const CREATE_FLAGS: FlagSpec[] = [
  { name: "bundle", alias: ["b"], kind: "string", help: "the bundle's directory (default: the current one)" },
  { name: "console-socket", kind: "string", help: "a unix socket that gets the pty's master (process.terminal)" },
  { name: "pidfd-socket", kind: "string", help: "a unix socket that gets a pidfd of the init" },
  { name: "pid-file", kind: "string", help: "write the init's pid to this file (its directory must exist)" },
  { name: "no-pivot", kind: "bool", help: "enter the rootfs without pivot_root (for a rootfs on a ramdisk)" },
  { name: "no-new-keyring", kind: "bool", help: "keep the caller's session keyring" },
  { name: "preserve-fds", kind: "string", help: "pass N more descriptors (3 to 3+N-1) to the container" },
  { name: "detach", alias: ["d"], kind: "bool", help: "run: do not wait for the container" },
  { name: "keep", kind: "bool", help: "run: do not delete the container after it exits" },
  { name: "no-subreaper", kind: "bool", help: "run: accepted for runc's callers (berth makes no subreaper)" },
];

export function signalNumber(s: string | undefined): number {
  if (s === undefined || s === "") return 15;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 checks that the init is there (runc's callers probe with it)
    if (n > 64) throw new UsageError(`invalid signal ${s}`);
    return n;
  }
  const name = s.toUpperCase().startsWith("SIG") ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = SIGNALS[name] ?? realtimeSignal(name);
  if (n === undefined) throw new UsageError(`unknown signal ${JSON.stringify(s)}`);
  return n;
}

/** SIGRTMIN, SIGRTMIN+N, SIGRTMAX, SIGRTMAX-N (the kernel's 34 to 64). */
function realtimeSignal(name: string): number | undefined {
  const m = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (!m) return undefined;
  const n = (m[1] === "MIN" ? 34 : 64) + (m[2] === "-" ? -1 : 1) * Number(m[3] ?? 0);
  return n >= 34 && n <= 64 ? n : undefined;
}

function oneId(args: string[], cmd: string): string {
  if (args.length !== 1) throw new UsageError(`${cmd} needs exactly one container id${args.length > 1 ? `, got ${args.length} arguments` : ""}`);
  return args[0]!;
}

function preserveFds(s: string | undefined): number {
  if (s === undefined) return 0;
  if (!/^\d+$/.test(s)) throw new UsageError(`--preserve-fds: not a number: ${s}`);
  return Number(s);
}

function print(s: string): void {
  writeOut(s.endsWith("\n") ? s : s + "\n");
}

/** --pid-file, checked before anything is made: its directory must exist (runc makes none). */
function pidFile(p: ReturnType<typeof parseArgs>): string | undefined {
  const f = str(p, "pid-file");
  if (f === undefined) return undefined;
  const abs = resolve(f);
  const dir = abs.slice(0, abs.lastIndexOf("/")) || "/";
  if (!existsSync(dir)) throw new RuntimeError(`--pid-file ${f}: no such directory ${dir}`);
  return abs;
}

/** create's and run's flags as the runtime's options. */
function createOptions(p: ReturnType<typeof parseArgs>): CreateOptions {
  return {
    bundle: str(p, "bundle") ?? ".",
    pidFile: pidFile(p),
    consoleSocket: str(p, "console-socket"),
    pidfdSocket: str(p, "pidfd-socket"),
    noPivot: bool(p, "no-pivot"),
    noNewKeyring: bool(p, "no-new-keyring"),
    preserveFds: preserveFds(str(p, "preserve-fds")),
  };
}

async function cmdRun(rt: Runtime, argv: string[]): Promise<number> {
  const p = parseArgs(argv, CREATE_FLAGS);
  const id = oneId(p.args, "run");
  const detach = bool(p, "detach");
  if (detach) {
    const { session } = rt.create(id, { ...createOptions(p), foreground: false });
    try {
      rt.start(id);
    } catch (e) {
      rt.delete(id, true);
      throw e;
    }
    await session.proc.exited;
    return 0;
  }
  const o = createOptions(p);
  // process.terminal without --console-socket: berth relays its own terminal
  // to the container's pty, as runc does
  // read once: the runtime takes it as it is (CreateOptions.config)
  const config = readBundleConfig(o.bundle);
  const relay = !o.consoleSocket && (config as Spec | null)?.process?.terminal === true;
  // the console helper that relays the caller's terminal is the caller's own
  // child, in its session (its window size, its signals): the Bun berth's
  leaveToBunIf(relay, "relays the caller's terminal");
  const con = relay ? startConsole(callerStdio()) : undefined;
  let session;
  try {
    session = rt.runForeground(id, { ...o, config, consoleSocket: con?.socket ?? o.consoleSocket }).session;
  } catch (e) {
    if (con) await finishConsole(con, 0);
    throw e;
  }
  const stop = forwardSignals(session.proc.pid);
  const code = await session.proc.exited;
  trace("run: exited");
  stop();
  if (con) await finishConsole(con);
  if (!bool(p, "keep")) rt.delete(id, true);
  trace("run: deleted");
  return code;
}

/** process.terminal in a bundle's config.json (false where it cannot be read: create says why). */
function callerStdio(): [number, number, number] {
  return [callerFd(0), callerFd(1), callerFd(2)];
}

/** The caller's stdin (`--process -`, `-r -`), at most CONFIG_MAX bytes as a file would be. */
function readCallerStdin(): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(callerFd(0), buf);
    if (n <= 0) break;
    total += n;
    if (total > CONFIG_MAX) throw new RuntimeError(`cannot read stdin: larger than ${CONFIG_MAX >> 20} MiB`);
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function processFromArgs(rt: Runtime, id: string, p: ReturnType<typeof parseArgs>): Process {
  const rec = rt.load(id);
  let proc: Process;
  const file = str(p, "process");
  if (file) {
    const text = file === "-" ? readCallerStdin() : readCallerJson(callerPath(file));
    proc = validateProcess(parseJSON(text, file), file);
  } else {
    if (p.args.length < 2) throw new UsageError("exec needs a command (or --process FILE)");
    const base = rec.config.process!;
    proc = { ...base, args: p.args.slice(1), terminal: bool(p, "tty"), consoleSize: undefined };
  }
  for (const e of list(p, "env")) {
    const k = e.split("=")[0];
    proc.env = [...(proc.env ?? []).filter((x) => x.split("=")[0] !== k), e];
  }
  const cwd = str(p, "cwd");
  if (cwd) proc.cwd = cwd;
  const user = str(p, "user");
  if (user) {
    const [u, g] = user.split(":");
    if (!/^\d+$/.test(u!) || (g !== undefined && !/^\d+$/.test(g))) throw new UsageError(`--user: expected UID[:GID], got ${user}`);
    proc.user = { ...proc.user, uid: Number(u), gid: g !== undefined ? Number(g) : 0 };
  }
  const gids = list(p, "additional-gids").map(Number);
  if (gids.length) proc.user = { ...proc.user, additionalGids: gids };
  const caps = list(p, "cap");
  if (caps.length) proc.capabilities = withExecCaps(proc.capabilities, caps);
  if (bool(p, "no-new-privs")) proc.noNewPrivileges = true;
  const label = str(p, "apparmor");
  if (label) proc.apparmorProfile = label;
  const selinux = str(p, "process-label");
  if (selinux) proc.selinuxLabel = selinux;
  if (p.flags.tty === true) proc.terminal = true;
  return proc;
}

export const EXEC_FLAGS: FlagSpec[] = [
  { name: "process", alias: ["p"], kind: "string", help: "the process as JSON (a config.json's process), - for stdin" },
  { name: "tty", alias: ["t"], kind: "bool", help: "give the process a pty" },
  { name: "detach", alias: ["d"], kind: "bool", help: "do not wait for the process" },
  { name: "pid-file", kind: "string", help: "write the process's pid to this file (its directory must exist)" },
  { name: "console-socket", kind: "string", help: "a unix socket that gets the pty's master" },
  { name: "pidfd-socket", kind: "string", help: "a unix socket that gets a pidfd of the process" },
  { name: "env", alias: ["e"], kind: "list", help: "NAME=VALUE (repeatable)" },
  { name: "cwd", kind: "string", help: "the working directory in the container" },
  { name: "user", alias: ["u"], kind: "string", help: "UID[:GID]" },
  { name: "additional-gids", alias: ["g"], kind: "list", help: "a supplementary gid (repeatable)" },
  { name: "cap", alias: ["c"], kind: "list", help: "add a capability (repeatable)" },
  { name: "no-new-privs", kind: "bool", help: "set no_new_privs" },
  { name: "apparmor", kind: "string", help: "the AppArmor profile" },
  { name: "process-label", kind: "string", help: "the SELinux label" },
  { name: "preserve-fds", kind: "string", help: "pass N more descriptors (3 to 3+N-1)" },
  { name: "ignore-paused", kind: "bool", help: "exec in a paused container (the process starts at resume)" },
  { name: "cgroup", kind: "list", help: "[CONTROLLERS:]PATH: an existing sub-cgroup of the container's (repeatable)" },
];

export const KILL_FLAGS: FlagSpec[] = [{ name: "all", alias: ["a"], kind: "bool", help: "signal every process of the container's cgroup" }];
const LIST_FLAGS: FlagSpec[] = [
  { name: "format", alias: ["f"], kind: "string", help: "table (default) or json" },
  { name: "quiet", alias: ["q"], kind: "bool", help: "the ids alone" },
];
const DELETE_FLAGS: FlagSpec[] = [{ name: "force", alias: ["f"], kind: "bool", help: "kill a running container first (SIGKILL); a missing one is no error" }];
const EVENTS_FLAGS: FlagSpec[] = [
  { name: "stats", kind: "bool", help: "print the statistics once and exit" },
  { name: "interval", kind: "string", help: "time between statistics (default 5s)" },
];
const SPEC_FLAGS: FlagSpec[] = [
  { name: "bundle", alias: ["b"], kind: "string", help: "the directory to write config.json in" },
  { name: "rootless", kind: "bool", help: "a configuration for a rootless container" },
];
const UPDATE_FLAGS: FlagSpec[] = [
  { name: "resources", alias: ["r"], kind: "string", help: "a linux.resources JSON file, - for stdin" },
  { name: "memory", kind: "string", help: "memory limit (bytes, or with k, m, g)" },
  { name: "memory-reservation", kind: "string", help: "memory soft limit" },
  { name: "memory-swap", kind: "string", help: "memory plus swap limit (-1: unlimited)" },
  { name: "kernel-memory", kind: "string", help: "kernel memory limit (cgroup v1)" },
  { name: "kernel-memory-tcp", kind: "string", help: "kernel TCP buffer limit (cgroup v1)" },
  { name: "cpu-shares", alias: ["cpu-share"], kind: "string", help: "CPU shares (relative weight)" },
  { name: "cpu-quota", kind: "string", help: "CFS quota per period (microseconds)" },
  { name: "cpu-period", kind: "string", help: "CFS period (microseconds)" },
  { name: "cpu-rt-runtime", kind: "string", help: "real-time runtime per period (microseconds)" },
  { name: "cpu-rt-period", kind: "string", help: "real-time period (microseconds)" },
  { name: "cpu-burst", kind: "string", help: "CFS burst (microseconds)" },
  { name: "cpuset-cpus", kind: "string", help: "CPUs to use" },
  { name: "cpuset-mems", kind: "string", help: "memory nodes to use" },
  { name: "pids-limit", kind: "string", help: "maximum number of pids" },
  { name: "blkio-weight", kind: "string", help: "block I/O weight (10 to 1000)" },
  { name: "l3-cache-schema", kind: "string", help: "Intel RDT L3 schema (not supported: refused)" },
  { name: "mem-bw-schema", kind: "string", help: "Intel RDT memory bandwidth schema (not supported: refused)" },
];

async function cmdExec(rt: Runtime, argv: string[]): Promise<number> {
  const p = parseArgs(argv, EXEC_FLAGS, true);
  const id = p.args[0];
  if (!id) throw new UsageError("exec needs a container id");
  const detach = bool(p, "detach");
  const consoleSocket = str(p, "console-socket");
  // a terminal in the foreground without --console-socket: berth relays its
  // own terminal to the process's pty, as runc does (the process is read first
  // where it may ask for one: else it is read while the core starts)
  const relay = !detach && !consoleSocket && (bool(p, "tty") || str(p, "process") !== undefined);
  // the agent does not wait on a caller's stdin (before the core is started)
  leaveToBunIf(str(p, "process") === "-", "exec --process -: reads the caller's stdin");
  const proc = relay ? processFromArgs(rt, id, p) : () => processFromArgs(rt, id, p);
  leaveToBunIf(relay && (proc as Process).terminal === true, "relays the caller's terminal");
  const con = relay && (proc as Process).terminal ? startConsole(callerStdio()) : undefined;
  // the pty starts with the size of berth's own terminal (the console follows its changes)
  if (con && callerFd(1) === 1 && process.stdout.columns && process.stdout.rows)
    (proc as Process).consoleSize = { width: process.stdout.columns, height: process.stdout.rows };
  let session;
  try {
    session = rt.exec(id, proc, {
      consoleSocket: con?.socket ?? consoleSocket,
      pidfdSocket: str(p, "pidfd-socket"),
      pidFile: pidFile(p),
      detach,
      preserveFds: preserveFds(str(p, "preserve-fds")),
      ignorePaused: bool(p, "ignore-paused"),
      subCgroups: list(p, "cgroup"),
    });
  } catch (e) {
    if (con) await finishConsole(con, 0);
    throw e;
  }
  if (detach) return (await session.proc.exited) === 0 ? 0 : 1;
  const stop = forwardSignals(session.proc.pid);
  const code = await session.proc.exited;
  stop();
  if (con) await finishConsole(con);
  return code;
}

function cmdList(rt: Runtime, argv: string[]): number {
  const p = parseArgs(argv, LIST_FLAGS);
  const all = rt.list();
  if (bool(p, "quiet")) {
    for (const c of all) print(c.rec.id);
    return 0;
  }
  const fmt = str(p, "format") ?? "table";
  if (fmt === "json") {
    print(
      JSON.stringify(
        all.map(({ rec, status }) => ({
          ociVersion: rec.ociVersion,
          id: rec.id,
          pid: status === "stopped" ? 0 : rec.pid,
          status,
          bundle: rec.bundle,
          rootfs: rec.rootfs,
          created: rec.created,
          annotations: rec.annotations ?? {},
          owner: rt.owner(rec.id),
        })),
      ),
    );
    return 0;
  }
  if (fmt !== "table") throw new UsageError(`--format: table or json, not ${fmt}`);
  const rows = [
    ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
    ...all.map(({ rec, status }) => [rec.id, String(status === "stopped" ? 0 : rec.pid), status, rec.bundle, rec.created, rt.owner(rec.id)]),
  ];
  for (const line of alignColumns(rows)) print(line);
  return 0;
}

function parseSize(s: string, flag: string): number {
  const m = /^(-?\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new UsageError(`${flag}: not a size: ${s}`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as "" | "k"]!;
  return Math.round(Number(m[1]) * mult);
}

function cmdUpdate(rt: Runtime, argv: string[]): number {
  const p = parseArgs(argv, UPDATE_FLAGS);
  const id = oneId(p.args, "update");
  for (const f of ["l3-cache-schema", "mem-bw-schema"]) if (str(p, f) !== undefined) throw new UsageError(`--${f}: berth does not support Intel RDT (resctrl)`);
  // a container that does not exist is named before the flags' values are read
  rt.load(id);
  let r: LinuxResources = {};
  const file = str(p, "resources");
  leaveToBunIf(file === "-", "update -r -: reads the caller's stdin");
  if (file) {
    const text = file === "-" ? readCallerStdin() : readCallerJson(callerPath(file));
    r = validateResources(parseJSON(text, file === "-" ? "stdin" : file), file === "-" ? "stdin" : file);
  }
  const n = (flag: string) => {
    const v = str(p, flag);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new UsageError(`--${flag}: not a number: ${v}`);
    return Number(v);
  };
  const size = (flag: string) => {
    const v = str(p, flag);
    return v === undefined ? undefined : v === "-1" ? -1 : parseSize(v, `--${flag}`);
  };
  const mem = { limit: size("memory"), reservation: size("memory-reservation"), swap: size("memory-swap") };
  if (Object.values(mem).some((v) => v !== undefined))
    r.memory = { ...r.memory, ...Object.fromEntries(Object.entries(mem).filter(([, v]) => v !== undefined)) };
  const cpu = {
    shares: n("cpu-shares"),
    quota: n("cpu-quota"),
    period: n("cpu-period"),
    realtimeRuntime: n("cpu-rt-runtime"),
    realtimePeriod: n("cpu-rt-period"),
    burst: n("cpu-burst"),
    cpus: str(p, "cpuset-cpus"),
    mems: str(p, "cpuset-mems"),
  };
  if (Object.values(cpu).some((v) => v !== undefined)) r.cpu = { ...r.cpu, ...Object.fromEntries(Object.entries(cpu).filter(([, v]) => v !== undefined)) };
  const pids = n("pids-limit");
  if (pids !== undefined) r.pids = { limit: pids };
  const bw = n("blkio-weight");
  if (bw !== undefined) r.blockIO = { ...r.blockIO, weight: bw };
  rt.update(id, r);
  return 0;
}

export const PS_FLAGS: FlagSpec[] = [{ name: "format", alias: ["f"], kind: "string", help: "table (default: ps(1)'s lines) or json (the pids)" }];

function cmdPs(rt: Runtime, argv: string[]): number {
  const p = parseArgs(argv, PS_FLAGS, true);
  const id = p.args[0];
  if (!id) throw new UsageError("ps needs a container id");
  const pids = rt.processes(id);
  const fmt = str(p, "format") ?? "table";
  if (fmt === "json") {
    print(JSON.stringify(pids));
    return 0;
  }
  const psArgs = p.args.slice(1);
  // the caller's environment (PS_FORMAT, COLUMNS), not the agent's
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { env: callerEnv() });
  const lines = r.stdout
    .toString()
    .split("\n")
    .filter((l) => l.trim());
  if (lines.length === 0) return 0;
  const header = lines[0]!;
  const pidCol = header.trim().split(/\s+/).indexOf("PID");
  print(header);
  for (const l of lines.slice(1)) {
    const cols = l.trim().split(/\s+/);
    if (pids.includes(Number(cols[pidCol]))) print(l);
  }
  return 0;
}

async function cmdEvents(rt: Runtime, argv: string[]): Promise<number> {
  const p = parseArgs(argv, EVENTS_FLAGS);
  const id = oneId(p.args, "events");
  if (bool(p, "stats")) {
    print(JSON.stringify({ type: "stats", id, data: rt.stats(id) }));
    return 0;
  }
  const iv = str(p, "interval") ?? "5s";
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(iv);
  if (!m) throw new UsageError(`--interval: not a duration: ${iv}`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[(m[2] ?? "s") as "s"];
  for await (const ev of rt.events(id, ms)) print(JSON.stringify(ev));
  return 0;
}

function cmdSpec(argv: string[]): number {
  const p = parseArgs(argv, SPEC_FLAGS);
  writeDefaultSpec(resolve(str(p, "bundle") ?? "."), bool(p, "rootless"));
  return 0;
}

/** Each runtime command's usage, purpose and flags, for -h/--help (as runc's). */
const COMMANDS: Record<string, { usage: string; about: string; flags: FlagSpec[]; stop?: boolean }> = {
  create: { usage: "create [flags] ID", about: "Creates a container from a bundle: its process waits for `start`.", flags: CREATE_FLAGS },
  run: {
    usage: "run [flags] ID",
    about: "Creates and starts a container, and waits for it unless --detach (with process.terminal, on berth's own terminal).",
    flags: CREATE_FLAGS,
  },
  start: { usage: "start ID", about: "Starts the process of a created container.", flags: [] },
  state: { usage: "state ID", about: "Prints the state of a container as JSON.", flags: [] },
  kill: {
    usage: "kill [flags] ID [SIGNAL]",
    about: "Sends SIGNAL (default SIGTERM; a name or a number, 0 to check) to the container's init.",
    flags: KILL_FLAGS,
  },
  delete: { usage: "delete [flags] ID...", about: "Deletes a stopped (or created) container.", flags: DELETE_FLAGS },
  list: { usage: "list [flags]", about: "Lists the containers.", flags: LIST_FLAGS },
  exec: { usage: "exec [flags] ID COMMAND [ARG...]", about: "Runs a process in a running container.", flags: EXEC_FLAGS, stop: true },
  ps: { usage: "ps [flags] ID [PS-ARGS...]", about: "Shows the processes of a container.", flags: PS_FLAGS, stop: true },
  pause: { usage: "pause ID", about: "Freezes every process of a container.", flags: [] },
  resume: { usage: "resume ID", about: "Thaws a paused container.", flags: [] },
  update: { usage: "update [flags] ID", about: "Changes the resources of a running container.", flags: UPDATE_FLAGS },
  events: { usage: "events [flags] ID", about: "Prints statistics and OOM events of a container as JSON lines.", flags: EVENTS_FLAGS },
  features: { usage: "features", about: "Prints what this runtime supports, as JSON (the runtime-spec's features document).", flags: [] },
  spec: { usage: "spec [flags]", about: "Writes a default config.json.", flags: SPEC_FLAGS },
};
COMMANDS.ls = COMMANDS.list!;

export async function runcCommand(rt: Runtime, cmd: string, argv: string[]): Promise<number> {
  const c = COMMANDS[cmd];
  if (c && wantsHelp(argv, c.flags, c.stop)) {
    writeOut(helpText(c.usage, c.about, c.flags));
    return 0;
  }
  switch (cmd) {
    case "create": {
      const p = parseArgs(argv, CREATE_FLAGS);
      const id = oneId(p.args, "create");
      const { session } = rt.create(id, createOptions(p));
      // reap the core (it exits once the container is created), so that no
      // zombie stays charged to the container's cgroup
      await session.proc.exited;
      return 0;
    }
    case "start":
      rt.start(oneId(parseArgs(argv, []).args, "start"));
      return 0;
    case "run":
      return cmdRun(rt, argv);
    case "state":
      print(JSON.stringify(rt.state(oneId(parseArgs(argv, []).args, "state")), null, 2));
      return 0;
    case "kill": {
      const p = parseArgs(argv, KILL_FLAGS);
      if (p.args.length < 1 || p.args.length > 2) throw new UsageError("kill needs a container id and an optional signal");
      rt.kill(p.args[0]!, signalNumber(p.args[1]), bool(p, "all"));
      return 0;
    }
    case "delete": {
      const p = parseArgs(argv, DELETE_FLAGS);
      for (const id of p.args.length ? p.args : [oneId(p.args, "delete")]) {
        rt.delete(id, bool(p, "force"));
      }
      return 0;
    }
    case "list":
    case "ls":
      return cmdList(rt, argv);
    case "exec":
      return cmdExec(rt, argv);
    case "pause":
    case "resume": {
      const id = oneId(parseArgs(argv, []).args, cmd);
      if (cmd === "pause") rt.pause(id);
      else rt.resume(id);
      return 0;
    }
    case "update":
      return cmdUpdate(rt, argv);
    case "ps":
      return cmdPs(rt, argv);
    case "events":
      return cmdEvents(rt, argv);
    case "features":
      print(JSON.stringify(features(VERSION), null, 2));
      return 0;
    case "spec":
      return cmdSpec(argv);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

export { OCI_VERSION };

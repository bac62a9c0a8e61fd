// berth's entry point: global flags, logging, dispatch, exit codes.
import { appendFileSync } from "../linux/fs.ts";
import { Runtime, RuntimeError } from "../runtime/container.ts";
import { SpecError } from "../spec/validate.ts";
import { CgroupError } from "../cgroups/types.ts";
import { HELP_FLAG, parseArgs, str, bool, UsageError, type FlagSpec } from "./args.ts";
import { CREATE_FLAGS, EXEC_FLAGS, KILL_FLAGS, OCI_VERSION, PS_FLAGS, runcCommand, VERSION } from "./runc.ts";
import { existsSync } from "../linux/fs.ts";
import { isContainerId } from "../spec/id.ts";
import { trace, traceTo } from "../linux/trace.ts";
import { writeErr, writeOut } from "../linux/stdio.ts";
import { callerEnv, callerPath, LeaveToBun } from "../linux/caller.ts";
import { resolve } from "../linux/path.ts";

/** The engine's own commands (the rest are the runtime's, or decided by isEngineCommand). */
const ENGINE_COMMANDS = new Set([
  "pull",
  "images",
  "image",
  "rmi",
  "load",
  "import",
  "save",
  "tag",
  "inspect",
  "logs",
  "stop",
  "rm",
  "stats",
  "top",
  "cp",
  "wait",
  "port",
  "healthcheck",
  "container",
  "system",
  "volume",
  "restart",
  "unpause",
  "version",
  "info",
  "network",
  "rename",
  "history",
  "diff",
  "commit",
]);

const RUNC_RUN_FLAGS = /^--?(b|bundle|console-socket|pidfd-socket|pid-file|no-pivot|no-new-keyring|preserve-fds|keep|no-subreaper)(=|$)/;

/** The container id a runc-style command line names, or undefined if it does not parse as one. */
function runcId(argv: string[], flags: FlagSpec[]): string | undefined {
  try {
    // -h/--help is every runtime command's (runc's)
    return parseArgs(argv, [...flags, HELP_FLAG], true).args[0];
  } catch (e) {
    // a command line that does not parse as the runc command's names no container of the runtime's
    if (e instanceof UsageError) return undefined;
    throw e;
  }
}

/** runc's create or run: a bundle (a flag, or ./config.json) and one id. */
function runcBundleCall(argv: string[]): boolean {
  if (argv.some((a) => RUNC_RUN_FLAGS.test(a))) return true;
  try {
    return parseArgs(argv, CREATE_FLAGS).args.length === 1 && existsSync(resolve("config.json"));
  } catch (e) {
    // not runc's flags: the engine's command line
    if (e instanceof UsageError) return false;
    throw e;
  }
}

/** Whether a command line means the engine (images, names) rather than the OCI runtime (bundles, ids). */
export function isEngineCommand(cmd: string, argv: string[], rootGiven: boolean, root: string): boolean {
  if (ENGINE_COMMANDS.has(cmd)) return true;
  const known = (id: string | undefined) => isContainerId(id) && existsSync(`${root}/${id}/state.json`);
  switch (cmd) {
    case "run":
      return !runcBundleCall(argv);
    case "create":
      // containerd, Podman and Docker always give --root
      return !rootGiven && !runcBundleCall(argv);
    case "ps":
      // runc's `ps [--format F] ID`; the engine's `ps [-a] [-q] [--format F]` names no container
      return runcId(argv, PS_FLAGS) === undefined;
    case "exec":
      return !rootGiven && !known(runcId(argv, EXEC_FLAGS));
    case "kill":
      return !rootGiven && !known(runcId(argv, KILL_FLAGS));
    case "update":
      // runc's `update [flags] ID` names a runtime container last; else the engine's (a name)
      return !rootGiven && !known(argv[argv.length - 1]);
    case "pause":
    case "start":
      // runc's `start ID` (always with --root from containerd, Podman and Docker); else a name
      return !rootGiven && !known(runcId(argv, []));
    default:
      return false;
  }
}

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "root", kind: "string" },
  { name: "log", kind: "string" },
  { name: "log-format", kind: "string" },
  { name: "debug", kind: "bool" },
  { name: "systemd-cgroup", kind: "bool" },
  { name: "version", alias: ["v"], kind: "bool" },
  { name: "help", alias: ["h"], kind: "bool" },
  { name: "criu", kind: "string" },
  { name: "rootless", kind: "string" },
];

const USAGE = `berth: a Linux container runtime (runc-compatible) and engine

Usage: berth [global flags] COMMAND [flags] [args]

Runtime commands (OCI runtime-spec):
  create     create a container (its process waits for start)
  start      start the process of a created container
  run        create and start a container (-d: detached)
  state      print the state of a container as JSON
  kill       send a signal to the container's init (--all: every process)
  delete     delete a container (--force: even when running)
  list       list containers (--format table|json, -q)
  exec       run a process in a running container
  ps         processes of a container (--format table|json)
  pause      freeze every process of a container
  resume     thaw a paused container
  update     change the resources of a running container
  events     statistics (--stats) and OOM events of a container
  features   what this runtime supports, as JSON
  spec       write a default config.json (--rootless)

Engine commands (images and containers by name, as in Podman and Docker;
\`berth help engine\` lists their flags):
  run IMAGE [CMD...]   create IMAGE [CMD...]   pull  images  rmi  load  import  save  tag  inspect
  ps  logs  exec  stop  start  restart  pause  unpause  kill  rm  stats  top  cp  wait  port
  healthcheck  volume
  image ...  container ...  system prune

Node agent:
  serve      a long-running agent that runs containers on request over an
             HTTP/JSON API on a unix socket (--socket, default ROOT/agent.sock)
  agent      the warm berth behind the front door: runtime calls for ROOT
             run in it instead of a new Bun process each (its socket:
             /run/berth-agent/HASH.sock, rootless under $XDG_RUNTIME_DIR);
             --idle-exit SECONDS: ends after that long without a call;
             --own-cgroup: moves into the berth-agent cgroup first.
             With BERTH_AGENT=auto in a caller's environment, a call that
             finds no agent starts one so (idle exit after 60 s)

Benchmark:
  bench      berth beside runc, crun and a KVM VM on this host (bench/run.sh
             of the source checkout this berth was built in; --quick, --only)

Global flags:
  --root DIR          state directory (default /run/berth; rootless:
                      $XDG_RUNTIME_DIR/berth)
  --log FILE          write errors and debug messages to FILE
  --log-format FMT    text (default) or json
  --debug             log debug messages
  --systemd-cgroup    use the systemd cgroup driver (needs systemd as PID 1)
  --rootless V        true, false or auto (default: auto, true when not root):
                      cgroups only where the user may make them
  --version, -v       print the version
  --help, -h          print this help
`;

/** A rootless berth's default state directory: the user's runtime directory, as runc's. */
function rootlessRoot(): string {
  const xdg = callerEnv().XDG_RUNTIME_DIR;
  if (xdg) return `${xdg}/berth`;
  const uid = process.geteuid?.() ?? 0;
  return existsSync(`/run/user/${uid}`) ? `/run/user/${uid}/berth` : `/tmp/berth-${uid}`;
}

interface Logger {
  error(msg: string): void;
  debug(msg: string): void;
}

function makeLogger(file: string | undefined, format: string, debug: boolean): Logger {
  const write = (level: string, msg: string) => {
    // without --log, errors are the "berth: ..." line on stderr alone; debug lines go there too (as runc's)
    if (!file && level !== "debug") return;
    const time = new Date().toISOString();
    const line = format === "json" ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    if (!file) return writeErr(line + "\n");
    try {
      appendFileSync(callerPath(file), line + "\n");
    } catch {
      /* the log is best effort */
    }
  };
  return {
    error: (m) => write("error", m),
    debug: (m) => {
      if (debug) write("debug", m);
    },
  };
}

function normalJIT(): void {
  const unsafe = (Bun as unknown as { unsafe?: { setJITPolicy?: (scale: number) => void } }).unsafe;
  try {
    unsafe?.setJITPolicy?.(1);
  } catch {
    /* an older Bun: nothing to restore */
  }
}

/**
 * `berth bench ARGS`: the benchmark lives with the sources (bench/, which
 * installs its peers and drives them); it is found beside the executable's
 * dist/ folder, or in the working directory.
 */
async function bench(args: string[]): Promise<number> {
  const candidates = [`${process.execPath.replace(/\/[^/]*$/, "")}/../bench/run.sh`, `${process.cwd()}/bench/run.sh`];
  const script = candidates.find((c) => existsSync(c));
  if (!script) {
    writeErr(
      "berth: bench: no bench/run.sh beside this executable or in the working directory (the benchmark runs from a source checkout: bash bench/run.sh)\n",
    );
    return 1;
  }
  const p = Bun.spawn(["bash", script, ...args], { stdio: ["inherit", "inherit", "inherit"] });
  return await p.exited;
}

/** Starts an agent for ROOT when none listens; a failure to do so only says why. */
async function autoStart(root: string): Promise<void> {
  try {
    (await import("../agent/autostart.ts")).startAgentIfNone(root, process.env);
  } catch (e) {
    // the call itself is done: an agent that cannot be started costs only warmth
    writeErr(`berth: BERTH_AGENT=auto: no agent started: ${(e as Error).message}\n`);
  }
}

/** main's answer, when served by the agent, for a call that the Bun berth should run instead. */
export const FALLBACK = 256;

/**
 * The commands the agent serves for a front door (the runtime's, by id and
 * bundle); anything else (the engine, serve, bench, spec, events) runs on Bun.
 */
const SERVED = new Set(["state", "list", "ls", "kill", "delete", "create", "start", "run", "exec", "pause", "resume", "ps", "update", "features"]);

/**
 * Runs one berth command line. `served`: the call came through a front door to
 * the agent for the state directory `root`; FALLBACK for a call the agent
 * leaves to the Bun berth (decided before anything is done or written).
 */
export async function main(argv: string[], served?: { root: string }): Promise<number> {
  trace("main");
  let g;
  try {
    g = parseArgs(argv, GLOBAL_FLAGS, true);
  } catch (e) {
    writeErr(`berth: ${(e as Error).message}\n`);
    return 1;
  }
  const format = str(g, "log-format") ?? "text";
  const log = makeLogger(str(g, "log"), format, bool(g, "debug"));
  if (bool(g, "version")) {
    writeOut(`berth version ${VERSION}\nspec: ${OCI_VERSION}\n`);
    return 0;
  }
  const [cmd, ...rest] = g.args;
  if (cmd === "help" && rest[0] === "engine") {
    if (served) return FALLBACK;
    const { engineCommand } = await import("./engine.ts");
    return engineCommand("images", ["--help"], { debug: false });
  }
  if (bool(g, "help") || !cmd || cmd === "help") {
    writeOut(USAGE);
    return cmd || bool(g, "help") ? 0 : 1;
  }
  log.debug(`berth ${argv.join(" ")}`);
  if (bool(g, "debug")) traceTo((label) => log.debug(label));
  try {
    if (format !== "text" && format !== "json") throw new UsageError(`--log-format: text or json, not ${format}`);
    // --rootless true|false|auto (runc's): auto means "not root"
    const rootlessFlag = str(g, "rootless") ?? "auto";
    if (!["true", "false", "auto"].includes(rootlessFlag)) throw new UsageError(`--rootless: true, false or auto, not ${rootlessFlag}`);
    const rootless = rootlessFlag === "true" || (rootlessFlag === "auto" && process.geteuid?.() !== 0);
    const root = str(g, "root") ?? (rootless ? rootlessRoot() : "/run/berth");
    const engine = cmd !== "serve" && isEngineCommand(cmd, rest, str(g, "root") !== undefined, root);
    if (served && (engine || !SERVED.has(cmd) || resolve(root) !== served.root)) return FALLBACK;
    if (cmd === "serve" || cmd === "agent" || engine) {
      // the executable starts with JIT tier-up delayed (scripts/build.sh): right
      // for a runtime call of a few milliseconds; the engine and the agent run
      // long enough to gain from the JIT
      normalJIT();
    }
    if (cmd === "bench") return bench(rest);
    if (cmd === "serve") {
      const p = parseArgs(rest, [{ name: "socket", kind: "string" }]);
      const { serve } = await import("../engine/agent.ts");
      return await serve({ socket: str(p, "socket") ?? `${root}/agent.sock`, root, systemdCgroup: bool(g, "systemd-cgroup") });
    }
    if (cmd === "agent") {
      const p = parseArgs(rest, [
        { name: "idle-exit", kind: "string" },
        { name: "own-cgroup", kind: "bool" },
      ]);
      const idle = str(p, "idle-exit");
      if (idle !== undefined && !/^\d+(\.\d+)?$/.test(idle)) throw new UsageError(`--idle-exit: a number of seconds, not ${JSON.stringify(idle)}`);
      if (bool(p, "own-cgroup")) (await import("../agent/autostart.ts")).joinOwnCgroup();
      const { serveDoorAgent } = await import("../agent/server.ts");
      const agentRoot = resolve(root);
      return await serveDoorAgent({
        root: agentRoot,
        run: (a) => main(a, { root: agentRoot }),
        fallback: FALLBACK,
        idleExitMs: idle !== undefined ? Number(idle) * 1000 : 0,
      });
    }
    if (engine) {
      // the engine (images, registry, network) loads only when it is used:
      // runtime calls from containerd and Podman stay small
      const { engineCommand } = await import("./engine.ts");
      return await engineCommand(cmd, rest, { root: str(g, "root"), debug: bool(g, "debug") });
    }
    const rt = new Runtime({ root, systemdCgroup: bool(g, "systemd-cgroup"), rootless });
    try {
      return await runcCommand(rt, cmd, rest);
    } finally {
      // BERTH_AGENT=auto (and not BERTH_NO_AGENT): no agent served this call; one is started for the next
      if (!served && SERVED.has(cmd) && process.env.BERTH_AGENT === "auto" && !process.env.BERTH_NO_AGENT) await autoStart(root);
    }
  } catch (e) {
    // a call the agent leaves to Bun (src/linux/caller.ts), before it did anything
    if (served && e instanceof LeaveToBun) return FALLBACK;
    const known = e instanceof RuntimeError || e instanceof SpecError || e instanceof UsageError || e instanceof CgroupError;
    const msg = known ? (e as Error).message : `${(e as Error).message}${callerEnv().BERTH_DEBUG ? `\n${(e as Error).stack}` : ""}`;
    log.error(msg);
    writeErr(`berth: ${msg}\n`);
    return 1;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

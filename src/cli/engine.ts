// The engine commands (daemonless, in the conventions of Podman and Docker):
// images (pull, images, rmi, load, import, save, tag, inspect) and
// containers (run, ps, logs, exec, stop, kill, rm, stats, inspect).
// Exit codes: 125 for an engine error (bad flag, unknown image...), 126 when
// the command cannot be invoked, 127 when it is not found, else the container's.
//
// This file only routes a command to its group's file; a command file parses
// flags (src/cli/args.ts) and formats output, the work is src/engine's:
//   engine-images.ts      images pull rmi load import save tag
//   engine-run.ts         run create exec (flags -> ContainerOptions)
//   engine-containers.ts  ps stop start restart pause unpause kill rm inspect healthcheck wait port cp
//   engine-observe.ts     logs stats top
//   engine-volumes.ts     volume ...
//   engine-network.ts     network ...
//   engine-manage.ts      rename update diff commit history
//   engine-system.ts      version info prune
import { EngineUsageError } from "../engine/args.ts";
import { EngineError } from "../engine/store.ts";
import { codeOf, makeEngine, setErrorCode } from "./engine-common.ts";
import { cmdCp, cmdHealthcheck, cmdInspect, cmdKill, cmdPause, cmdPort, cmdPs, cmdRestart, cmdRm, cmdStart, cmdStop, cmdWait } from "./engine-containers.ts";
import { cmdImages, cmdImport, cmdLoad, cmdPull, cmdRmi, cmdSave, cmdTag } from "./engine-images.ts";
import { cmdLogs, cmdStats, cmdTop } from "./engine-observe.ts";
import { cmdCreate, cmdExec, cmdRun } from "./engine-run.ts";
import { cmdPrune } from "./engine-system.ts";
import { USAGE } from "./engine-usage.ts";
import { cmdVolume } from "./engine-volumes.ts";

export interface EngineGlobals {
  /** --root when given explicitly (the runtime state directory) */
  root?: string;
  debug: boolean;
}

const SYSTEM_SUB: Record<string, (a: string[]) => Promise<number>> = {
  prune: (a) => cmdPrune("system", a),
};
const IMAGE_SUB: Record<string, (a: string[]) => Promise<number>> = {
  prune: (a) => cmdPrune("image", a),
  ls: cmdImages,
  list: cmdImages,
  pull: cmdPull,
  rm: cmdRmi,
  load: cmdLoad,
  import: cmdImport,
  save: cmdSave,
  tag: cmdTag,
  history: async (a) => (await import("./engine-manage.ts")).cmdHistory(a),
  inspect: (a) => cmdInspect(["--type", "image", ...a]),
};
const CONTAINER_SUB: Record<string, (a: string[]) => Promise<number>> = {
  prune: (a) => cmdPrune("container", a),
  ls: cmdPs,
  list: cmdPs,
  ps: cmdPs,
  run: cmdRun,
  create: cmdCreate,
  logs: cmdLogs,
  exec: cmdExec,
  stop: cmdStop,
  start: cmdStart,
  restart: cmdRestart,
  pause: (a) => cmdPause(a, true),
  unpause: (a) => cmdPause(a, false),
  kill: cmdKill,
  rm: cmdRm,
  stats: cmdStats,
  inspect: (a) => cmdInspect(["--type", "container", ...a]),
  rename: async (a) => (await import("./engine-manage.ts")).cmdRename(a),
  update: async (a) => (await import("./engine-manage.ts")).cmdUpdate(a),
  diff: async (a) => (await import("./engine-manage.ts")).cmdDiff(a),
  commit: async (a) => (await import("./engine-manage.ts")).cmdCommit(a),
  // internal: the process that waits for a detached container (started by run -d)
  monitor: async (a) => {
    if (a.length !== 1 || !/^[a-f0-9]{64}$/.test(a[0]!)) throw new EngineUsageError("container monitor is internal to run -d");
    return makeEngine().monitor(a[0]!);
  },
};

async function dispatch(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case "pull":
      return cmdPull(argv);
    case "images":
      return cmdImages(argv);
    case "rmi":
      return cmdRmi(argv);
    case "load":
      return cmdLoad(argv);
    case "import":
      return cmdImport(argv);
    case "save":
      return cmdSave(argv);
    case "tag":
      return cmdTag(argv);
    case "inspect":
      return cmdInspect(argv);
    case "run":
      return cmdRun(argv);
    case "create":
      return cmdCreate(argv);
    case "ps":
      return cmdPs(argv);
    case "logs":
      return cmdLogs(argv);
    case "exec":
      return cmdExec(argv);
    case "stop":
      return cmdStop(argv);
    case "start":
      return cmdStart(argv);
    case "restart":
      return cmdRestart(argv);
    case "pause":
      return cmdPause(argv, true);
    case "unpause":
      return cmdPause(argv, false);
    case "kill":
      return cmdKill(argv);
    case "rm":
      return cmdRm(argv);
    case "stats":
      return cmdStats(argv);
    case "top":
      return cmdTop(argv);
    case "wait":
      return cmdWait(argv);
    case "healthcheck":
      return cmdHealthcheck(argv);
    case "port":
      return cmdPort(argv);
    case "cp":
      return cmdCp(argv);
    case "volume":
      return cmdVolume(argv);
    case "network":
      return (await import("./engine-network.ts")).cmdNetwork(argv);
    case "rename":
      return (await import("./engine-manage.ts")).cmdRename(argv);
    case "update":
      return (await import("./engine-manage.ts")).cmdUpdate(argv);
    case "diff":
      return (await import("./engine-manage.ts")).cmdDiff(argv);
    case "commit":
      return (await import("./engine-manage.ts")).cmdCommit(argv);
    case "history":
      return (await import("./engine-manage.ts")).cmdHistory(argv);
    case "version":
      return (await import("./engine-system.ts")).cmdVersion(argv);
    case "info":
      return (await import("./engine-system.ts")).cmdInfo(argv);
    case "image":
    case "container":
    case "system": {
      const [sub, ...rest] = argv;
      const table = cmd === "image" ? IMAGE_SUB : cmd === "system" ? SYSTEM_SUB : CONTAINER_SUB;
      const fn = table[sub ?? ""];
      if (!fn)
        throw new EngineUsageError(
          `${cmd} needs a subcommand: ${Object.keys(table)
            .filter((k) => k !== "monitor")
            .join(", ")}`,
        );
      return fn(rest);
    }
    case "serve":
      throw new EngineError("serve (the long-running engine) is not available yet: the engine commands work without it");
    default:
      throw new EngineUsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

export async function engineCommand(cmd: string, argv: string[], g: EngineGlobals): Promise<number> {
  setErrorCode(cmd === "run" || cmd === "create" || (cmd === "container" && (argv[0] === "run" || argv[0] === "create")) ? 125 : 1);
  if (argv.includes("--help") && cmd !== "run" && cmd !== "exec") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await dispatch(cmd, argv);
  } catch (e) {
    const code = codeOf(e);
    const msg = (e as Error).message ?? String(e);
    process.stderr.write(`berth: ${msg}${g.debug || process.env.BERTH_DEBUG ? `\n${(e as Error).stack}` : ""}\n`);
    return code;
  }
}

// Hooks that run in the runtime's namespaces (prestart, createRuntime,
// poststart, poststop): the state JSON on stdin, a timeout, the exit status checked.
import { readFileSync } from "../linux/fs.ts";
import type { Hook } from "../spec/types.ts";
import { processStart, RuntimeError } from "./state.ts";
import { callerFd } from "../linux/stdio.ts";
import { callerCwd } from "../linux/caller.ts";

/** Runs the hooks of a phase in order; the first that fails throws (prestart,
 * createRuntime: the runtime-spec's lifecycle steps 3 and 4 end create). */
export function runHooks(phase: string, hooks: Hook[] | undefined, state: object): void {
  for (const h of hooks ?? []) runHook(phase, h, state);
}

/**
 * poststart and poststop: runtime-spec 1.2 (the version `berth features`
 * declares), lifecycle steps 9 and 13: "If any poststart [poststop] hook
 * fails, the runtime MUST log a warning, but the remaining hooks and
 * lifecycle continue as if the hook had succeeded." Returns the warnings.
 */
export function runHooksWarning(phase: string, hooks: Hook[] | undefined, state: object): string[] {
  const warnings: string[] = [];
  for (const h of hooks ?? []) {
    try {
      runHook(phase, h, state);
    } catch (e) {
      warnings.push((e as Error).message);
    }
  }
  return warnings;
}

function runHook(phase: string, h: Hook, state: object): void {
  const args = h.args && h.args.length > 0 ? h.args : [h.path];
  // never in the agent: it leaves a call with hooks to the Bun berth (Runtime.make, start, delete)
  const r = Bun.spawnSync({
    cmd: [h.path, ...args.slice(1)],
    argv0: args[0],
    env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
    stdin: Buffer.from(JSON.stringify(state)),
    stdout: callerFd(1),
    cwd: callerCwd(),
    stderr: "pipe",
    timeout: h.timeout ? h.timeout * 1000 : undefined,
    killSignal: "SIGKILL",
  } as unknown as Parameters<typeof Bun.spawnSync>[0]);
  if (r.exitCode === 0) return;
  const err = r.stderr ? r.stderr.toString().trim() : "";
  if (r.signalCode === "SIGKILL" && h.timeout) throw new RuntimeError(`${phase} hook ${h.path}: timed out after ${h.timeout} s`);
  throw new RuntimeError(
    `${phase} hook ${h.path}: failed with ${r.exitCode === null ? `signal ${r.signalCode}` : `status ${r.exitCode}`}${err ? `: ${err}` : ""}`,
  );
}

/**
 * runtime-spec lifecycle step 7: "If any startContainer hook fails, the
 * runtime MUST generate an error, stop the container". The init runs them
 * once `start` has released it: this waits until it has gone on to the
 * container's program (its name is no longer the core's) or has exited (a
 * hook failed; its message is on the container's stderr). True: it went on.
 */
export function awaitStartContainerHooks(pid: number, pidStart: string): boolean {
  for (;;) {
    if (processStart(pid) !== pidStart) return false;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ESRCH") return false; // the init is gone
      throw e;
    }
    if (comm !== "berth-core" && !comm.startsWith("memfd:berth-cor")) return true;
    Bun.sleepSync(1);
  }
}

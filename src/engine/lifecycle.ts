// Starting, stopping, restarting and waiting for containers as the engine's
// commands do them (Docker's defaults and rules), over Engine's primitives.
import type { Engine } from "./engine.ts";
import { EngineError, type ContainerRecordE } from "./store.ts";

/** The container's --stop-timeout, else Docker's 10 s; in milliseconds. */
export function stopTimeoutOf(c: ContainerRecordE): number {
  return (c.options.stopTimeout ?? 10) * 1000;
}

/** stop: the stop signal (or sig), then SIGKILL after ms (default: the container's stop timeout). */
export async function stopContainer(e: Engine, ref: string, ms?: number, sig?: number): Promise<void> {
  await e.stop(ref, ms ?? stopTimeoutOf(e.containers.get(ref)), sig);
}

/** start: a created or exited container, detached; a running one is left as it is, as in Docker. */
export async function startContainer(e: Engine, ref: string): Promise<void> {
  if (e.status(e.containers.get(ref)) === "running") return;
  await e.runDetached(await e.prepareRestart(ref));
}

/** start -a: one container in the foreground; its exit code. */
export async function startAttached(e: Engine, ref: string): Promise<number> {
  const cur = e.containers.get(ref);
  if (e.status(cur) === "running") throw new EngineError(`container ${cur.name} is already running (berth cannot attach to it)`);
  return e.runForeground(await e.prepareRestart(ref));
}

/** restart: stop (as stopContainer), then start detached. */
export async function restartContainer(e: Engine, ref: string, ms?: number): Promise<void> {
  await stopContainer(e, ref, ms);
  await e.runDetached(await e.prepareRestart(ref));
}

/** wait: blocks until the container has exited; its exit code (-1 when none was recorded). */
export async function waitContainer(e: Engine, ref: string): Promise<number> {
  const c = e.containers.get(ref);
  while (!(await e.waitExit(c.id, 60_000))) {
    // still running: wait on
  }
  const done = e.containers.load(c.id);
  return done?.state.exitCode ?? c.state.exitCode ?? -1;
}

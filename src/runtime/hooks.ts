// Hooks that run in the runtime's namespaces (prestart, createRuntime,
// poststart, poststop): the state JSON on stdin, a timeout, the exit status checked.
import type { Hook } from "../spec/types.ts";
import { RuntimeError } from "./state.ts";

export function runHooks(phase: string, hooks: Hook[] | undefined, state: object): void {
  for (const h of hooks ?? []) {
    const args = h.args && h.args.length > 0 ? h.args : [h.path];
    const r = Bun.spawnSync({
      cmd: [h.path, ...args.slice(1)],
      argv0: args[0],
      env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      stdin: Buffer.from(JSON.stringify(state)),
      stdout: "inherit",
      stderr: "pipe",
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
    } as unknown as Parameters<typeof Bun.spawnSync>[0]);
    if (r.exitCode === 0) continue;
    const err = r.stderr ? r.stderr.toString().trim() : "";
    if (r.signalCode === "SIGKILL" && h.timeout) throw new RuntimeError(`${phase} hook ${h.path}: timed out after ${h.timeout} s`);
    throw new RuntimeError(`${phase} hook ${h.path}: failed with ${r.exitCode === null ? `signal ${r.signalCode}` : `status ${r.exitCode}`}${err ? `: ${err}` : ""}`);
  }
}

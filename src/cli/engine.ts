// The engine commands (daemonless, in the conventions of Podman and Docker).
// Placeholder until the engine lands: every command reports that it is missing.
import { UsageError } from "./args.ts";

export interface EngineGlobals {
  /** --root when given explicitly (the runtime state directory) */
  root?: string;
  debug: boolean;
}

export async function engineCommand(cmd: string, _argv: string[], _g: EngineGlobals): Promise<number> {
  throw new UsageError(`engine command ${JSON.stringify(cmd)} is not available yet`);
}

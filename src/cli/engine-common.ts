// What every engine command file shares: the engine, flag parsing (src/cli/args.ts's
// Docker dialect), Docker's exit codes, the per-container loop, registry flags.
import { parseArgs, UsageError, type FlagSpec, type Parsed } from "./args.ts";
import { bool, has, str } from "./args.ts";
import { EngineUsageError } from "../engine/args.ts";
import { Engine } from "../engine/engine.ts";
import { enginePaths } from "../engine/paths.ts";
import { EngineError } from "../engine/store.ts";
import type { PullProgress, RegistryOptions } from "../image/registry.ts";
import { out } from "./engine-format.ts";

/** The exit code of an engine error: Docker's 125 for run and create (and any bad command line), 1 for the other commands. */
let errorCode = 1;

/** Sets the exit code of an engine error for the command being run (engineCommand). */
export function setErrorCode(code: number): void {
  errorCode = code;
}

/** Docker's exit code for an error: 125 for a bad flag, 126/127 as classified, else the command's (errorCode). */
export function codeOf(err: unknown): number {
  if (err instanceof EngineUsageError || err instanceof UsageError) return 125;
  if (err instanceof EngineError && err.exitCode !== 125) return err.exitCode;
  return errorCode;
}

export function makeEngine(): Engine {
  return new Engine(enginePaths());
}

/** An engine command's flags (Docker's dialect), with --help. */
/** The flags every listing command (ps, images, volume ls, network ls) shares: -q, --format, -f/--filter. */
export const LISTING_FLAGS: FlagSpec[] = [
  { name: "quiet", short: "q", kind: "bool" },
  { name: "format", kind: "string" },
  { name: "filter", short: "f", kind: "list" },
];

export function parse(argv: string[], flags: FlagSpec[], stop = false): Parsed {
  return parseArgs(argv, [...flags, { name: "help", kind: "bool" }], stop, "docker");
}

/**
 * Does fn for each name, going on past a failure: an error is one line on
 * stderr and the exit code is the last failure's; the name is printed on
 * success unless quiet; an error skip accepts is passed over in silence.
 */
export async function each(
  refs: string[],
  what: string,
  fn: (ref: string) => Promise<unknown>,
  o: { quiet?: boolean; skip?: (err: unknown) => boolean } = {},
): Promise<number> {
  if (refs.length === 0) throw new EngineUsageError(`${what} needs at least one container`);
  let code = 0;
  for (const r of refs) {
    try {
      await fn(r);
      if (!o.quiet) out(r);
    } catch (err) {
      if (o.skip?.(err)) continue;
      process.stderr.write(`berth: ${(err as Error).message}\n`);
      code = codeOf(err);
    }
  }
  return code;
}

export function registryOptions(p: Parsed): RegistryOptions {
  const o: RegistryOptions = {};
  if (has(p, "tls-verify")) o.tlsVerify = bool(p, "tls-verify");
  const af = str(p, "authfile");
  if (af) o.authFile = af;
  return o;
}

/** A progress display on a terminal (stderr); nothing otherwise. */
export function pullProgress(): ((p: PullProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const shown = new Set<string>();
  return (p) => {
    const key = `${p.digest}:${p.status}`;
    if (p.status === "downloading" || shown.has(key)) return;
    shown.add(key);
    process.stderr.write(`${p.kind} ${p.digest.slice(7, 19)}: ${p.status}\n`);
  };
}

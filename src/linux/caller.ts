// Who a runtime call is for. A Bun berth serves its own caller: this
// process's working directory, environment and descriptors 0-2, and cores it
// spawns itself. The warm agent (src/agent/) serves many callers at once, each
// through a front door: it installs a source that names the caller of the call
// in progress, and the few places that touch the caller (paths, output, the
// environment, starting a core, forwarding signals) ask here.

/** A core a front door started as its own child (so that it descends from the caller). */
export interface RemoteCore {
  /** the control socket's end held here */
  ctl: number;
  pid: number;
  /** resolves with the exit status, 128+N for a signal */
  exited: Promise<number>;
}

export interface Caller {
  cwd: string;
  env: Record<string, string | undefined>;
  /** the caller's descriptors 0, 1 and 2, as held here */
  stdio: [number, number, number];
  /** starts berth-core EXE beside the caller with its descriptors 3..3+preserveFds-1 */
  startCore(exe: string, preserveFds: number): RemoteCore;
  /** the caller's signals go on to its core from now on */
  forwardSignals(): void;
  /** whether the caller is still there (its front door has not gone away) */
  connected(): boolean;
  /** where this call's trace points go (--debug), if anywhere */
  traceSink?: (label: string) => void;
}

let source: () => Caller | undefined = () => undefined;

/** The caller of the call in progress, when it is not this process's own. */
export function caller(): Caller | undefined {
  return source();
}

export function setCallerSource(f: () => Caller | undefined): void {
  source = f;
}

/** The caller's working directory. */
export function callerCwd(): string {
  return source()?.cwd ?? process.cwd();
}

/** PATH as the caller means it: relative paths against the caller's working directory. */
export function callerPath(path: string): string {
  const c = source();
  return !c || path.startsWith("/") ? path : `${c.cwd}/${path}`;
}

/** The caller's environment. */
export function callerEnv(): Record<string, string | undefined> {
  return source()?.env ?? process.env;
}

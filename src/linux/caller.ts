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
  /** the front door's pid: the caller's child, in the caller's cgroups */
  pid?: number;
  /** what a call works out once about its caller (its cgroups: src/cgroups/detect.ts) */
  memo: Record<string, unknown>;
  cwd: string;
  env: Record<string, string | undefined>;
  /**
   * the caller's umask: the agent's own is 0 and what a call creates is given
   * its mode with this one applied (fs.ts), so that concurrent calls with
   * different umasks never see each other's
   */
  umask: number;
  /** the caller's descriptors 0, 1 and 2, as held here */
  stdio: [number, number, number];
  /** starts berth-core EXE beside the caller with its descriptors 3..3+preserveFds-1 */
  startCore(exe: string, preserveFds: number): RemoteCore;
  /**
   * writes the runtime's own output to the caller's descriptor N without
   * ever blocking (a caller that does not read holds only its own call);
   * what cannot go yet is kept and sent before the call's answer
   */
  write?(n: 1 | 2, data: Uint8Array): void;
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

/**
 * What the agent leaves to the Bun berth: a call that would wait on its
 * caller for as long as the caller likes (a hook, the caller's stdin). The
 * agent serves many callers in one thread, so such a wait would hold every
 * other call; thrown before anything of the call is done, it makes the agent
 * answer "fallback", and the caller's front door runs the same command line
 * on Bun, which behaves the same way and waits for no one else.
 */
export class LeaveToBun extends Error {}

/** Throws LeaveToBun (with WHY) when COND holds and the call is the agent's; else nothing. */
export function leaveToBunIf(cond: boolean, why: string): void {
  if (cond && source()) throw new LeaveToBun(why);
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

/**
 * MODE as the caller's umask leaves it, for a file or directory a call
 * creates: the Bun berth's own umask is applied by the kernel (MODE as is);
 * the agent's is 0, and the caller's is applied here.
 */
export function callerMode(mode: number): number {
  const c = source();
  return c ? mode & ~c.umask : mode;
}

/** The caller's environment. */
export function callerEnv(): Record<string, string | undefined> {
  return source()?.env ?? process.env;
}

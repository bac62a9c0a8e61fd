// The C core's interface: plan encoding, finding the binary, and a session
// that spawns it and speaks its line protocol (see core/main.c).
import { existsSync, readSync, writeSync, closeSync } from "./fs.ts";
import { basename, dirname, join, resolve } from "./path.ts";
import type { Subprocess } from "bun";
import { readonlyTree, setBlocking } from "./sys.ts";
import { errnoName } from "./libc.ts";
import { caller, callerEnv, type Caller } from "./caller.ts";
import { opStrings, type PlanOp } from "./planops.ts";

export type { PlanOp } from "./planops.ts";

/**
 * Encodes a plan: u32 total length, then one record per op: u32 length and
 * the op's strings, each NUL-terminated (its name, then its fields in the
 * order src/linux/planops.ts defines; numbers in decimal).
 */
export function encodePlan(ops: readonly PlanOp[]): Buffer {
  const records: Buffer[] = [];
  let total = 0;
  for (const op of ops) {
    const body = Buffer.from(opStrings(op).join("\0") + "\0");
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    records.push(head, body);
    total += 4 + body.length;
  }
  const len = Buffer.alloc(4);
  len.writeUInt32LE(total);
  return Buffer.concat([len, ...records]);
}

/** corePath's answers by the BERTH_CORE they were found for (the agent's callers may each give one) */
const cachedCores = new Map<string, string>();
/** The berth-core binary: the caller's $BERTH_CORE, beside the berth executable, or the build folder. */
export function corePath(): string {
  const want = callerEnv().BERTH_CORE ?? "";
  const cachedCore = cachedCores.get(want);
  if (cachedCore) return cachedCore;
  const candidates = [
    want,
    join(dirname(process.execPath), "berth-core"),
    resolve(import.meta.dir, "../../build/berth-core"),
    resolve(import.meta.dir, "../../dist/berth-core"),
  ];
  for (const c of candidates) {
    if (c && existsSync(c)) {
      cachedCores.set(want, c);
      return c;
    }
  }
  throw new Error("berth-core not found: run scripts/build.sh (or set BERTH_CORE)");
}

const protectedCores = new Map<string, string | null>();
/**
 * The core as this process starts it: through a private read-only mount of
 * its directory (`/proc/PID/fd/N/berth-core`), so that no container process
 * can write it through `/proc/PID/exe` (CVE-2019-5736) and the core need not
 * copy itself into a sealed memfd and execute again; the plain path where
 * the mount cannot be made (rootless), and the core then seals itself.
 */
function coreToRun(): string {
  const core = corePath();
  let protectedCore = protectedCores.get(core);
  if (protectedCore === undefined) {
    const fd = readonlyTree(dirname(core));
    protectedCore = fd < 0 ? null : `/proc/${process.pid}/fd/${fd}/${basename(core)}`;
    protectedCores.set(core, protectedCore);
  }
  return protectedCore ?? core;
}

/**
 * An error the core reported ("error ERRNO STEP MESSAGE"), or a failure to
 * talk to it. Decisions read `errno` (or `code`, its name, which errnoCode
 * finds) and `step`, never the message, which is for people.
 */
export class CoreError extends Error {
  /** the errno the failing step got; 0 when none */
  readonly errno: number;
  /** the core's step that failed (core/core.h: plan, cgroup, namespaces, rootfs, hooks, process, cwd, exec...); "" when the core did not say */
  readonly step: string;
  constructor(message: string, opts: { errno?: number; step?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "CoreError";
    this.errno = opts.errno ?? 0;
    this.step = opts.step ?? "";
  }
  /** the errno's name ("ENOENT"), undefined without one */
  get code(): string | undefined {
    return this.errno ? errnoName(this.errno) : undefined;
  }
}

/** The CoreError of a core's "error ..." line. */
export function coreErrorLine(line: string): CoreError {
  const m = /^error (\d+) (\S+) (.*)$/s.exec(line);
  return m ? new CoreError(m[3]!, { errno: Number(m[1]), step: m[2]! }) : new CoreError(line.slice(6));
}

/** The CoreError an error carries: itself, or one in its cause chain. */
export function coreErrorOf(e: unknown): CoreError | undefined {
  for (let c = e, depth = 0; c && typeof c === "object" && depth < 8; c = (c as { cause?: unknown }).cause, depth++) if (c instanceof CoreError) return c;
  return undefined;
}

/** A kill that found the process gone already (ESRCH). */
function gone(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === "ESRCH";
}

/** The core's process: a child of this process, or of the front door that started it for the agent. */
export interface CoreProcess {
  readonly pid: number;
  /** the exit status, 128+N after signal N */
  readonly exited: Promise<number>;
  kill(signal?: number): void;
}

export interface CoreOptions {
  preserveFds?: number;
  stdio?: [number | "inherit", number | "inherit" | "pipe", number | "inherit" | "pipe"];
  /** a sealed copy of the core made by a long-running caller (the core then skips its own) */
  exe?: string;
}

/**
 * A running berth-core: send the plan, read its messages in order. The core
 * can be started before its plan is known (`CoreSession.spawn`), so that its
 * start-up — exec, and the sealed copy of itself it makes — overlaps the work
 * that makes the plan; closed before a plan was sent, it exits quietly.
 */
export class CoreSession {
  /**
   * The core's process. For a front door's caller (the agent) it is a
   * CoreProcess (pid, exited, kill) only: the runtime commands that run there
   * use no more; the engine, which reads a local core's pipes, never does.
   */
  readonly proc: Subprocess;
  private readonly ctl: number;
  private readonly keep: number;
  private buf = "";
  private eof = false;
  /** the front door's caller this core was started for (the agent) */
  private remote?: Caller;

  private constructor(opts: CoreOptions) {
    this.keep = opts.preserveFds ?? 0;
    const extra: number[] = [];
    for (let i = 0; i < this.keep; i++) extra.push(3 + i);
    const stdio = opts.stdio ?? ["inherit", "inherit", "inherit"];
    const remote = caller();
    if (remote) {
      // served by the agent: the caller's front door starts the core as its
      // own child, so the container descends from the caller
      if (stdio.some((s) => s !== "inherit")) throw new CoreError("a core for a front door's caller uses the caller's own stdio");
      const core = remote.startCore(coreToRun(), this.keep);
      this.remote = remote;
      this.ctl = core.ctl;
      const proc: CoreProcess = {
        get pid() {
          return core.pid;
        },
        exited: core.exited,
        kill: (sig = 15) => {
          try {
            process.kill(core.pid, sig);
          } catch (e) {
            if (!gone(e)) throw e;
          }
        },
      };
      this.proc = proc as unknown as Subprocess;
      return;
    }
    const argv = [opts.exe ?? coreToRun(), String(3 + this.keep)];
    const proc = Bun.spawn(argv, {
      stdio: [...stdio, ...extra, "pipe"] as never,
      env: {},
    });
    this.proc = proc;
    this.ctl = (proc as unknown as { stdio: number[] }).stdio[3 + this.keep]!;
    setBlocking(this.ctl);
  }

  /** Starts the core with no plan yet: `sendPlan` follows, or `abandon`. */
  static spawn(opts: CoreOptions = {}): CoreSession {
    return new CoreSession(opts);
  }

  sendPlan(ops: readonly PlanOp[]): void {
    const plan: PlanOp[] = [...ops];
    if (this.keep > 0) plan.push({ op: "preserve-fds", count: this.keep });
    this.send(encodePlan(plan));
  }

  /** The next line from the core, or null at end of file. */
  next(): string | null {
    for (;;) {
      const nl = this.buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return line;
      }
      if (this.eof) return null;
      const chunk = Buffer.alloc(4096);
      let n = 0;
      try {
        n = readSync(this.ctl, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
        throw e;
      }
      if (n === 0) {
        this.eof = true;
        if (this.buf.length > 0) {
          const rest = this.buf;
          this.buf = "";
          return rest;
        }
        return null;
      }
      this.buf += chunk.subarray(0, n).toString("utf8");
    }
  }

  /** Reads the next message, which must be `want` (possibly with an argument); errors throw. */
  expect(want: string): string {
    const line = this.next();
    if (line === null) throw new CoreError(`the container process exited before it was ${want === "pid" ? "created" : "ready"}`);
    if (line.startsWith("error ")) throw coreErrorLine(line);
    const [word, ...rest] = line.split(" ");
    if (word !== want) throw new CoreError(`unexpected message from the core: ${line}`);
    return rest.join(" ");
  }

  /** Waits for end of file; throws if the core reported an error. */
  expectEnd(): void {
    for (;;) {
      const line = this.next();
      if (line === null) return;
      if (line.startsWith("error ")) throw coreErrorLine(line);
    }
  }

  send(data: string | Buffer): void {
    // a caller killed half-way stops its call here, as a killed Bun berth
    // would: the container's set-up goes no further, and what it made is undone
    if (this.remote && !this.remote.connected()) throw new CoreError("the caller went away");
    const b = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < b.length) off += writeSync(this.ctl, b, off);
  }

  /** Answers "hooks" with the state JSON the container-side hooks receive. */
  continueWith(state: string): void {
    const body = Buffer.from(state);
    this.send(Buffer.concat([Buffer.from(`continue ${body.length}\n`), body]));
  }

  /** Gives up on a core that got no plan (or failed before its container existed): closed and killed. */
  abandon(): void {
    this.close();
    try {
      this.proc.kill(9);
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }

  close(): void {
    try {
      closeSync(this.ctl);
    } catch (e) {
      // closed before (abandon after close)
      if ((e as NodeJS.ErrnoException).code !== "EBADF") throw e;
    }
  }
}

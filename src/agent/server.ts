// The warm berth behind the front door (`berth agent`): one long-running
// process that runs berth's runtime commands for callers who run `berth`
// (core/door/door.c), so that a call costs berth's own work, not a new Bun
// process. It listens on a socket of its user's for ROOT (src/agent/socket.ts:
// /run/berth-agent/HASH.sock for root; mode 0600 in a 0700 directory; a
// caller of another uid is refused by its SO_PEERCRED credentials; or the
// socket systemd's socket unit made, as fd 3) and serves calls concurrently:
// a call runs until it waits for a core, and others run meanwhile.
//
// A call runs as the caller's own: its working directory, its environment,
// its umask and its descriptors 0-2 (passed with SCM_RIGHTS) through
// src/linux/caller.ts; the agent's own working directory and environment are
// never used. A call that would wait on its caller (hooks, the caller's
// stdin) is left to the Bun berth (LeaveToBun in src/linux/caller.ts). A core is
// started by the caller's front door as its own child (the container then
// descends from the caller, as with the Bun berth), and driven from here over
// the control socket the door passed. A call the agent does not serve is
// answered "fallback": the door runs it on Bun.
//
// Protocol (the door's side is described in core/door/door.c): the request is
// u32 length + NUL-terminated fields "1", cwd, umask, argc, argv..., env...; sent with
// it, descriptors 0, 1, 2 and the control socket's end. The agent answers with
// lines: `core NFDS PATH` (the door answers `pid PID`, and later
// `exited STATUS`), `forward`, `fallback`, `exit CODE`; `refused` to another uid.
import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { agentSocket } from "./socket.ts";
import { setCallerSource, type Caller, type RemoteCore } from "../linux/caller.ts";
import { writeErr } from "../linux/stdio.ts";
import { acquireLock } from "../linux/lock.ts";
import { fstatSync, openSync, writeSync } from "../linux/fs.ts";
import { SysError } from "../linux/libc.ts";
import {
  accept,
  adoptListener,
  closeFd,
  listening,
  peerClosed,
  listenUnix,
  peerCredentials,
  pollIn,
  receive,
  receiveWithFds,
  sendNow,
  sendText,
  setReceiveTimeout,
} from "./sock.ts";

export interface DoorAgentOptions {
  root: string;
  /** runs one command line for the current caller; `fallback` when the Bun berth should */
  run: (argv: string[]) => Promise<number>;
  fallback: number;
  /** exits after this long without a call (0: never); its socket goes first, then calls already queued are served */
  idleExitMs?: number;
}

/** After an idle agent removed its socket: how long it still serves callers that had connected just before. */
const IDLE_GRACE_MS = 200;

const MAX_REQUEST = 4 << 20;

const S_IFMT = 0o170000,
  S_IFIFO = 0o010000,
  S_IFSOCK = 0o140000;
const O_WRONLY = 1,
  O_NONBLOCK = 0o4000;

/**
 * The runtime's own output to one of a caller's descriptors, written without
 * blocking the agent. The descriptor is the caller's open file: making it
 * non-blocking would change it for the caller too, so a pipe is opened again
 * through /proc (a description of its own, non-blocking) and a socket is
 * sent to with MSG_DONTWAIT; a file or a terminal is written as it is. What
 * does not fit yet waits in order and goes out in flush().
 */
class CallerOutput {
  private fd: number;
  private own = false;
  private socket = false;
  private pending: Buffer[] = [];
  private broken = false;

  constructor(fd: number) {
    this.fd = fd;
    let mode = 0;
    try {
      mode = fstatSync(fd).mode & S_IFMT;
    } catch (e) {
      if ((e as SysError).code !== "EBADF") throw e;
      this.broken = true; // nothing to write to
    }
    if (mode === S_IFSOCK) this.socket = true;
    else if (mode === S_IFIFO) {
      try {
        this.fd = openSync(`/proc/self/fd/${fd}`, O_WRONLY | O_NONBLOCK);
        this.own = true;
      } catch (e) {
        // ENXIO: no one reads the pipe any more (a write would fail with EPIPE)
        if ((e as SysError).code !== "ENXIO") throw e;
        this.broken = true;
      }
    }
  }

  /** Writes what it can of BUF now: the rest, or undefined when all went (or the reader is gone). */
  private tryWrite(buf: Buffer): Buffer | undefined {
    while (buf.length > 0) {
      let n: number;
      if (this.socket) {
        n = sendNow(this.fd, buf);
        if (n === -2) return buf;
      } else {
        try {
          n = writeSync(this.fd, buf);
        } catch (e) {
          const code = (e as SysError).code;
          if (code === "EAGAIN") return buf;
          // EPIPE: no one reads it; as the Bun berth, the output is dropped
          if (code !== "EPIPE") throw e;
          n = -1;
        }
      }
      if (n < 0) {
        this.broken = true;
        return undefined;
      }
      buf = buf.subarray(n);
    }
    return undefined;
  }

  write(data: Uint8Array): void {
    if (this.broken) return;
    if (this.pending.length > 0) {
      this.pending.push(Buffer.from(data));
      return;
    }
    const rest = this.tryWrite(Buffer.from(data));
    if (rest) this.pending.push(Buffer.from(rest));
  }

  /** Sends what waits, as the reader makes room; gives up when GONE() (the caller went away). */
  async flush(gone: () => boolean): Promise<void> {
    while (this.pending.length > 0 && !this.broken) {
      const rest = this.tryWrite(this.pending[0]!);
      if (!rest) this.pending.shift();
      else {
        this.pending[0] = rest;
        if (gone()) break;
        await Bun.sleep(2);
      }
    }
    this.pending = [];
  }

  close(): void {
    if (this.own) closeFd(this.fd);
  }
}

/** One caller's call: its connection to its front door and what it passed. */
class DoorCall implements Caller {
  private buf = "";
  private exitedWith?: (code: number) => void;
  gone = false;

  readonly memo: Record<string, unknown> = {};

  constructor(
    readonly pid: number,
    readonly conn: number,
    readonly cwd: string,
    readonly env: Record<string, string | undefined>,
    readonly umask: number,
    readonly stdio: [number, number, number],
    private ctl: number,
    private readonly watch: (call: DoorCall) => void,
  ) {}

  private say(line: string): void {
    if (!sendText(this.conn, line + "\n")) this.gone = true;
  }

  private corePid?: number;

  /** Takes the door's complete lines: its core's pid, the core's exit status. */
  private take(): void {
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl);
      const [word, arg] = line.split(" ");
      this.buf = this.buf.slice(nl + 1);
      if (word === "pid") this.corePid = Number(arg);
      else if (word === "exited") {
        this.exitedWith?.(Number(arg));
        this.exitedWith = undefined;
      }
    }
  }

  /** The core's pid, waiting for it (the door answers "pid PID" as soon as it has forked). */
  private waitPid(): number {
    while (this.corePid === undefined) {
      const chunk = Buffer.alloc(256);
      const n = receive(this.conn, chunk);
      if (n <= 0) throw new Error(n === 0 ? "the caller's berth went away" : "the caller's berth did not answer");
      this.buf += chunk.subarray(0, n).toString();
      this.take();
    }
    return this.corePid;
  }

  startCore(exe: string, preserveFds: number): RemoteCore {
    if (this.ctl < 0) throw new Error("one core per call");
    const ctl = this.ctl;
    this.ctl = -1;
    // the door forks and executes the core while this call goes on (its pid
    // is read when first needed)
    this.say(`core ${preserveFds} ${exe}`);
    const exited = new Promise<number>((resolve) => (this.exitedWith = resolve));
    this.watch(this);
    const call = this;
    return {
      ctl,
      get pid() {
        return call.waitPid();
      },
      exited,
    };
  }

  private outputs: [CallerOutput | undefined, CallerOutput | undefined] = [undefined, undefined];

  write(n: 1 | 2, data: Uint8Array): void {
    (this.outputs[n - 1] ??= new CallerOutput(this.stdio[n])).write(data);
  }

  /** The output that waits for room in the caller's pipes, sent before the answer. */
  async flush(): Promise<void> {
    for (const o of this.outputs) await o?.flush(() => !this.connected());
  }

  forwardSignals(): void {
    this.say("forward");
  }

  connected(): boolean {
    return !this.gone && !peerClosed(this.conn);
  }

  /** The door said something while its core runs: its exit status, or it went away. */
  readable(): boolean {
    const chunk = Buffer.alloc(256);
    const n = receive(this.conn, chunk, true);
    if (n < 0) return true;
    if (n === 0) {
      // the caller is gone (its core, if any, lives on as the caller's): the
      // call stops here, as the Bun berth would have if it were killed
      this.gone = true;
      this.release();
      return false;
    }
    this.buf += chunk.subarray(0, n).toString();
    this.take();
    // watched until the core's exit status came
    return this.exitedWith !== undefined;
  }

  finish(code: number, fallback: number): void {
    if (!this.gone) this.say(code === fallback ? "fallback" : `exit ${code}`);
    this.release();
  }

  private released = false;
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const o of this.outputs) o?.close();
    for (const fd of this.stdio) closeFd(fd);
    if (this.ctl >= 0) closeFd(this.ctl);
    closeFd(this.conn);
  }
}

/** what a caller must share with the agent (sameView) */
const VIEW = ["ns/mnt", "ns/pid", "ns/user", "ns/net", "ns/cgroup", "ns/ipc", "ns/uts", "root"];
/** the agent's own view, read once: it never changes its namespaces or root */
let ownView: string[] | undefined;

/**
 * Whether process PID sees the files and processes the agent sees: the same
 * namespaces (mount, PID, user, network, cgroup, IPC, UTS) and the same root
 * directory. A caller in
 * another one (containerd in a private mount namespace, a caller inside a
 * container) names paths and pids the agent cannot resolve as it would: its
 * calls run on Bun.
 */
function sameView(pid: number): boolean {
  ownView ??= VIEW.map((link) => readlinkSync(`/proc/self/${link}`));
  try {
    for (let i = 0; i < VIEW.length; i++) {
      if (readlinkSync(`/proc/${pid}/${VIEW[i]}`) !== ownView[i]) return false;
    }
    return true;
  } catch (e) {
    // the caller is gone (ENOENT) or hides its namespaces (EACCES): not a view the agent can vouch for
    if (e instanceof Error && "code" in e && (e.code === "ENOENT" || e.code === "EACCES" || e.code === "ESRCH")) return false;
    throw e;
  }
}

/** How long a caller may take to send its whole request (it never holds anyone else meanwhile). */
const REQUEST_WAIT_MS = 5000;

/**
 * A request arriving on a new connection, read as its bytes come: the agent
 * never waits for them (a caller that stops half-way holds no other call),
 * and drops a request that is not whole within REQUEST_WAIT_MS.
 */
class RequestReader {
  private parts: Buffer[] = [];
  private have = 0;
  private total = -1;
  private fds: number[] = [];
  readonly deadline = Date.now() + REQUEST_WAIT_MS;

  constructor(
    readonly pid: number,
    readonly conn: number,
  ) {}

  /** Reads what has arrived: the request's body once whole, "more" while it is not, undefined for what is no request. */
  readSome(): Buffer | "more" | undefined {
    try {
      for (;;) {
        if (this.total < 0) {
          const first = Buffer.alloc(65536);
          const { n, fds } = receiveWithFds(this.conn, first, 8, true);
          if (n < 0) return "more";
          this.fds = fds;
          if (n < 4 || fds.length !== 4) return undefined;
          this.total = first.readUInt32LE(0);
          if (this.total > MAX_REQUEST) return undefined;
          this.parts.push(first.subarray(4, n));
          this.have = n - 4;
        } else {
          const chunk = Buffer.alloc(Math.min(this.total - this.have, 1 << 20));
          const k = receive(this.conn, chunk, true);
          if (k < 0) return "more";
          if (k === 0) return undefined;
          this.parts.push(chunk.subarray(0, k));
          this.have += k;
        }
        if (this.have >= this.total) return Buffer.concat(this.parts).subarray(0, this.total);
      }
    } catch (e) {
      // a caller that reset its connection sent no request; anything else is a fault
      if (e instanceof SysError && e.code === "ECONNRESET") return undefined;
      throw e;
    }
  }

  /** The call BODY asks for, or undefined (the connection closed) when it is not one. */
  call(body: Buffer, watch: (c: DoorCall) => void): { call: DoorCall; argv: string[] } | undefined {
    const fields = body.toString().split("\0");
    fields.pop();
    const [version, cwd, mask, count] = fields;
    const argc = Number(count);
    const umask = parseInt(mask ?? "", 8);
    if (version !== "1" || !cwd?.startsWith("/") || !(umask >= 0 && umask <= 0o777) || !(argc >= 0) || fields.length < 4 + argc) {
      this.drop();
      return undefined;
    }
    const argv = fields.slice(4, 4 + argc);
    const env: Record<string, string> = {};
    for (const e of fields.slice(4 + argc)) {
      const eq = e.indexOf("=");
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const [in0, out1, err2, ctl] = this.fds;
    return { call: new DoorCall(this.pid, this.conn, cwd, env, umask, [in0!, out1!, err2!], ctl!, watch), argv };
  }

  /** Closes the connection and whatever descriptors came. */
  drop(): void {
    for (const fd of this.fds) closeFd(fd);
    closeFd(this.conn);
  }
}

/**
 * Makes DIR (mode 0700) or checks the one there: a directory of UID's that
 * no one else can write to, so that no one else can put a socket in it.
 */
function ownDirectory(dir: string, uid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) throw new Error(`${dir}: not a directory of this user's that only it can write to`);
}

/** Serves front doors for the state directory ROOT until SIGTERM or SIGINT. */
export async function serveDoorAgent(o: DoorAgentOptions): Promise<number> {
  const als = new AsyncLocalStorage<Caller>();
  // the process's umask is 0 for good: a call's files get their modes with
  // its caller's umask applied (callerMode in src/linux/caller.ts), never
  // with another concurrent call's
  process.umask(0);
  setCallerSource(() => als.getStore());
  const uid = process.geteuid?.() ?? 0;
  mkdirSync(o.root, { recursive: true, mode: 0o700 });
  const path = agentSocket(realpathSync(o.root), uid, process.env);
  // systemd's socket activation: the socket unit made the socket, and it is fd 3
  const activated = process.env.LISTEN_PID === String(process.pid) && process.env.LISTEN_FDS === "1";
  let listener: number;
  if (activated) {
    listener = adoptListener(3);
  } else {
    ownDirectory(dirname(path), uid);
    // a socket left by an agent that was killed is replaced; a live agent's is
    // not (two agents starting at once, e.g. started by two Bun berths: one wins)
    const lock = await acquireLock(`${dirname(path)}/.start.lock`, "exclusive", 10_000);
    try {
      if (existsSync(path) && listening(path)) throw new Error(`an agent already listens on ${path}`);
      if (existsSync(path)) rmSync(path);
      listener = listenUnix(path);
    } finally {
      lock.release();
    }
  }
  const watched = new Map<number, DoorCall>();
  let inflight = 0;
  // BERTH_AGENT_LOG: one line per call on the agent's stderr (what it served, what it left to Bun)
  const logCalls = !!process.env.BERTH_AGENT_LOG;

  const pending = new Map<number, RequestReader>();

  /** A new connection: its caller's uid checked, its request read as it arrives. */
  const accepted = (conn: number): void => {
    const cred = peerCredentials(conn);
    if (cred.uid !== uid) {
      if (logCalls) writeErr(`berth agent: refused uid ${cred.uid} (pid ${cred.pid})\n`);
      sendText(conn, "refused\n");
      closeFd(conn);
      return;
    }
    const reader = new RequestReader(cred.pid, conn);
    pending.set(conn, reader);
    readable(reader);
  };

  /** Reads what READER's caller sent; a whole request is served, what is none is dropped. */
  const readable = (reader: RequestReader): void => {
    const body = reader.readSome();
    if (body === "more") return;
    pending.delete(reader.conn);
    if (!body) return reader.drop();
    const req = reader.call(body, (c) => watched.set(c.conn, c));
    if (req) void serveCall(reader.pid, req.call, req.argv);
  };

  const serveCall = async (pid: number, call: DoorCall, argv: string[]): Promise<void> => {
    // what the call later waits for from its door (its core's pid) comes at once, or the door is gone
    setReceiveTimeout(call.conn, REQUEST_WAIT_MS);
    if (!sameView(pid)) {
      if (logCalls) writeErr(`berth agent: fallback (another view of the system): ${argv.join(" ")}\n`);
      call.finish(o.fallback, o.fallback);
      return;
    }
    if (call.env.BERTH_TRACE_PAUSE) {
      // a test's pause stops the whole process at a step (src/linux/trace.ts): the Bun berth's, not the agent's
      if (logCalls) writeErr(`berth agent: fallback (BERTH_TRACE_PAUSE): ${argv.join(" ")}\n`);
      call.finish(o.fallback, o.fallback);
      return;
    }
    inflight++;
    let code = 1;
    try {
      code = await als.run(call, () => o.run(argv));
    } catch (e) {
      als.run(call, () => writeErr(`berth: ${(e as Error).message}\n`));
    } finally {
      inflight--;
      watched.delete(call.conn);
      if (logCalls) writeErr(`berth agent: ${code === o.fallback ? "fallback" : `exit ${code}`}: ${argv.join(" ")}\n`);
      // the caller's output goes before its answer (it exits on the answer)
      await call.flush();
      call.finish(code, o.fallback);
    }
  };

  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  writeErr(`berth agent: listening on ${path} (pid ${process.pid})\n`);
  // idle exit: the socket goes first (a door that finds none runs on Bun, and
  // may start a new agent on the same path), then whoever connected before is
  // served, then the agent ends
  let lastBusy = Date.now();
  let closingSince = 0;
  let removed = false;
  while (!stopping) {
    const now0 = Date.now();
    if (inflight > 0 || pending.size > 0 || watched.size > 0) lastBusy = now0;
    if (o.idleExitMs && !closingSince && now0 - lastBusy >= o.idleExitMs) {
      closingSince = now0;
      if (!activated) {
        rmSync(path, { force: true });
        removed = true;
      }
      if (logCalls) writeErr("berth agent: idle, stopping\n");
    }
    if (closingSince && now0 - closingSince >= IDLE_GRACE_MS && inflight === 0 && pending.size === 0 && watched.size === 0) {
      const conn = accept(listener);
      if (conn < 0) break;
      accepted(conn);
    }
    const fds = [listener, ...watched.keys(), ...pending.keys()];
    // idle, the agent sleeps in poll; with calls in flight it lets Bun's own
    // loop turn often (a call may wait on something other than a door); a
    // request that does not come whole is dropped at its deadline
    const revents = pollIn(fds, inflight > 0 ? 5 : pending.size > 0 || closingSince ? 50 : 500);
    if (revents.some(Boolean)) lastBusy = Date.now();
    if (revents[0]) {
      for (let conn = accept(listener); conn >= 0; conn = accept(listener)) accepted(conn);
    }
    for (let i = 1; i < fds.length; i++) {
      if (!revents[i]) continue;
      const reader = pending.get(fds[i]!);
      if (reader) {
        readable(reader);
        continue;
      }
      const call = watched.get(fds[i]!);
      if (call && !call.readable()) {
        watched.delete(fds[i]!);
        // a caller gone away: its call will not go on
        if (call.gone) inflight--;
      }
    }
    const now = Date.now();
    for (const reader of pending.values()) {
      if (reader.deadline > now) continue;
      pending.delete(reader.conn);
      reader.drop();
    }
    await new Promise((r) => setImmediate(r));
  }
  closeFd(listener);
  // (a socket removed at idle may be a newer agent's by now)
  if (!activated && !removed) rmSync(path, { force: true });
  return 0;
}

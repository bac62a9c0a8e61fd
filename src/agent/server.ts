// The warm berth behind the front door (`berth agent`): one long-running
// process that runs berth's runtime commands for callers who run `berth`
// (core/door/door.c), so that a call costs berth's own work, not a new Bun
// process. It listens on ROOT/.warm.sock (mode 0600; a caller of another uid
// is refused by its SO_PEERCRED credentials; or the socket systemd's socket
// unit made, as fd 3) and serves calls concurrently:
// a call runs until it waits for a core, and others run meanwhile.
//
// A call runs as the caller's own: its working directory, its environment and
// its descriptors 0-2 (passed with SCM_RIGHTS) through src/linux/caller.ts;
// the agent's own working directory and environment are never used. A core is
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
import { existsSync, mkdirSync, readlinkSync, rmSync } from "node:fs";
import { setCallerSource, type Caller, type RemoteCore } from "../linux/caller.ts";
import { writeErr } from "../linux/stdio.ts";
import { accept, adoptListener, closeFd, listening, peerClosed, listenUnix, peerCredentials, pollIn, receive, receiveWithFds, sendText, setReceiveTimeout } from "./sock.ts";

export interface DoorAgentOptions {
  root: string;
  /** runs one command line for the current caller; `fallback` when the Bun berth should */
  run: (argv: string[]) => Promise<number>;
  fallback: number;
}

/** The socket a front door looks for under the state directory ROOT. */
export function doorSocket(root: string): string {
  return `${root}/.warm.sock`;
}

const MAX_REQUEST = 4 << 20;

/** One caller's call: its connection to its front door and what it passed. */
class DoorCall implements Caller {
  private buf = "";
  private exitedWith?: (code: number) => void;
  gone = false;

  constructor(
    readonly conn: number,
    readonly cwd: string,
    readonly env: Record<string, string | undefined>,
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
      const [word, arg] = this.buf.slice(0, nl).split(" ");
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
    for (const fd of this.stdio) closeFd(fd);
    if (this.ctl >= 0) closeFd(this.ctl);
    closeFd(this.conn);
  }
}

/**
 * Whether process PID sees the files and processes the agent sees: the same
 * mount, PID and user namespaces and the same root directory. A caller in
 * another one (containerd in a private mount namespace, a caller inside a
 * container) names paths and pids the agent cannot resolve as it would: its
 * calls run on Bun.
 */
function sameView(pid: number): boolean {
  try {
    for (const link of ["ns/mnt", "ns/pid", "ns/user", "root"]) {
      if (readlinkSync(`/proc/${pid}/${link}`) !== readlinkSync(`/proc/self/${link}`)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Reads the request on CONN: the call, or undefined (answered) when it is not one. */
function readRequest(conn: number, watch: (c: DoorCall) => void): { call: DoorCall; argv: string[]; umask: number } | undefined {
  const first = Buffer.alloc(65536);
  const { n, fds } = receiveWithFds(conn, first);
  const fail = () => {
    for (const fd of fds) closeFd(fd);
    closeFd(conn);
    return undefined;
  };
  if (n < 4 || fds.length !== 4) return fail();
  const total = first.readUInt32LE(0);
  if (total > MAX_REQUEST) return fail();
  let body = first.subarray(4, n);
  if (body.length < total) {
    const parts = [body];
    let have = body.length;
    while (have < total) {
      const chunk = Buffer.alloc(Math.min(total - have, 1 << 20));
      const k = receive(conn, chunk);
      if (k <= 0) return fail();
      parts.push(chunk.subarray(0, k));
      have += k;
    }
    body = Buffer.concat(parts);
  }
  const fields = body.subarray(0, total).toString().split("\0");
  fields.pop();
  const [version, cwd, mask, count] = fields;
  const argc = Number(count);
  const umask = parseInt(mask ?? "", 8);
  if (version !== "1" || !cwd?.startsWith("/") || !(umask >= 0 && umask <= 0o777) || !(argc >= 0) || fields.length < 4 + argc) return fail();
  const argv = fields.slice(4, 4 + argc);
  const env: Record<string, string> = {};
  for (const e of fields.slice(4 + argc)) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return { call: new DoorCall(conn, cwd, env, [fds[0]!, fds[1]!, fds[2]!], fds[3]!, watch), argv, umask };
}

/** Serves front doors for the state directory ROOT until SIGTERM or SIGINT. */
export async function serveDoorAgent(o: DoorAgentOptions): Promise<number> {
  const als = new AsyncLocalStorage<Caller>();
  setCallerSource(() => als.getStore());
  const uid = process.geteuid?.() ?? 0;
  const path = doorSocket(o.root);
  // systemd's socket activation: the socket unit made ROOT/.warm.sock, and it is fd 3
  const activated = process.env.LISTEN_PID === String(process.pid) && process.env.LISTEN_FDS === "1";
  let listener: number;
  if (activated) {
    listener = adoptListener(3);
  } else {
    mkdirSync(o.root, { recursive: true, mode: 0o700 });
    // a socket left by an agent that was killed is replaced; a live agent's is not
    if (existsSync(path) && listening(path)) throw new Error(`an agent already listens on ${path}`);
    if (existsSync(path)) rmSync(path);
    listener = listenUnix(path);
  }
  const watched = new Map<number, DoorCall>();
  let inflight = 0;
  // BERTH_AGENT_LOG: one line per call on the agent's stderr (what it served, what it left to Bun)
  const logCalls = !!process.env.BERTH_AGENT_LOG;

  const serveCall = async (conn: number): Promise<void> => {
    const cred = peerCredentials(conn);
    if (cred.uid !== uid) {
      if (logCalls) writeErr(`berth agent: refused uid ${cred.uid} (pid ${cred.pid})\n`);
      sendText(conn, "refused\n");
      closeFd(conn);
      return;
    }
    // a caller that stops half-way through its request cannot hold the agent
    setReceiveTimeout(conn, 5000);
    let req;
    try {
      req = readRequest(conn, (c) => watched.set(c.conn, c));
    } catch {
      closeFd(conn);
      return;
    }
    if (!req) return;
    const { call, argv, umask } = req;
    if (!sameView(cred.pid)) {
      if (logCalls) writeErr(`berth agent: fallback (another view of the system): ${argv.join(" ")}\n`);
      call.finish(o.fallback, o.fallback);
      return;
    }
    inflight++;
    let code = 1;
    try {
      // the caller's umask for what the call makes (a call runs without a
      // break until it waits for its core, and makes its files before that)
      process.umask(umask);
      code = await als.run(call, () => o.run(argv));
    } catch (e) {
      als.run(call, () => writeErr(`berth: ${(e as Error).message}\n`));
    } finally {
      inflight--;
      watched.delete(call.conn);
      if (logCalls) writeErr(`berth agent: ${code === o.fallback ? "fallback" : `exit ${code}`}: ${argv.join(" ")}\n`);
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
  while (!stopping) {
    const fds = [listener, ...watched.keys()];
    // idle, the agent sleeps in poll; with calls in flight it lets Bun's own
    // loop turn often (a call may wait on something other than a door)
    const revents = pollIn(fds, inflight > 0 ? 5 : 500);
    if (revents[0]) {
      for (let conn = accept(listener); conn >= 0; conn = accept(listener)) void serveCall(conn);
    }
    for (let i = 1; i < fds.length; i++) {
      if (!revents[i]) continue;
      const call = watched.get(fds[i]!);
      if (call && !call.readable()) {
        watched.delete(fds[i]!);
        // a caller gone away: its call will not go on
        if (call.gone) inflight--;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  closeFd(listener);
  if (!activated) rmSync(path, { force: true });
  return 0;
}

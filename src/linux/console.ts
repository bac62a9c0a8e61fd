// The terminal side of a container's pty: berth-console (core/console/console.c)
// listens on a unix socket, receives the pty master the core sends there, and
// relays a terminal to it (raw mode and window size when its stdin is one).
// Used where berth itself stands for the user's terminal: a foreground `run`
// or `exec -t` given no --console-socket (as runc does), and the engine.
import type { Subprocess } from "bun";
import { closeSync, existsSync, mkdirSync, readSync, rmSync } from "./fs.ts";
import { dirname, join, resolve } from "./path.ts";
import { setBlocking } from "./sys.ts";

/** Where one of berth's helper programs is: beside the executable, or the build folder. */
function helperPath(name: string): string {
  const candidates = [join(dirname(process.execPath), name), resolve(import.meta.dir, "../../build", name), resolve(import.meta.dir, "../../dist", name)];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`${name} not found: run scripts/build.sh`);
}

/** A console helper listening on a socket: its path and process. */
export interface Console {
  socket: string;
  proc: Subprocess;
  /** the private directory made for the socket, removed at the end */
  dir?: string;
}

type Stdio = ["inherit" | "ignore" | number, "inherit" | number | "pipe", "inherit" | number | "pipe"];

/**
 * Starts berth-console on SOCKET (default: in a directory of its own that
 * only this user can enter, so no one else can connect first) with STDIO as
 * the terminal it relays; returns once it listens.
 */
export function startConsole(stdio: Stdio, socket?: string): Console {
  let dir: string | undefined;
  if (!socket) {
    dir = `/tmp/berth-console.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
    mkdirSync(dir, { mode: 0o700 });
    socket = `${dir}/sock`;
  }
  rmSync(socket, { force: true });
  const proc = Bun.spawn([helperPath("berth-console"), socket], { stdio: [...stdio, "pipe"] as never, env: {} });
  const fd = (proc as unknown as { stdio: number[] }).stdio[3]!;
  const buf = new Uint8Array(16);
  let n = 0;
  try {
    setBlocking(fd);
    n = readSync(fd, buf);
  } catch {
    n = 0;
  }
  closeSync(fd);
  if (new TextDecoder().decode(buf.subarray(0, n)) !== "ready\n") {
    proc.kill(9);
    rmSync(dir ?? socket, { recursive: true, force: true });
    throw new Error("the console helper failed to start");
  }
  return { socket, proc, dir };
}

/**
 * Once the container's process has exited: lets the console relay what is
 * left and restore the terminal (it ends when the pty's last user closes it),
 * and ends it after MS if something in the container still holds the pty
 * (SIGTERM: it restores the terminal).
 */
export async function finishConsole(c: Console, ms = 2000): Promise<void> {
  const within = (t: number) => Promise.race([c.proc.exited.then(() => true), Bun.sleep(t).then(() => false)]);
  if (!(await within(ms))) {
    c.proc.kill(15);
    if (!(await within(500))) c.proc.kill(9);
    await c.proc.exited;
  }
  rmSync(c.dir ?? c.socket, { recursive: true, force: true });
}

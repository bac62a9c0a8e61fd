// Plain writes to the standard descriptors. Touching process.stdout or
// process.stderr makes Bun build Node's stream machinery, about 3 ms of a
// runtime call that lasts a few more: the runtime's own output goes through
// write(2) instead.
import { writeSync } from "./fs.ts";
import { caller } from "./caller.ts";

function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    let n: number;
    try {
      n = writeSync(fd, buf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a caller may hand us a non-blocking pipe: wait for room
      if (code === "EAGAIN") {
        Bun.sleepSync(1);
        continue;
      }
      if (code === "EPIPE") return;
      throw e;
    }
    buf = buf.subarray(n);
  }
}

/** The caller's descriptor N (0-2): this process's own, or the one a front door passed to the agent. */
export function callerFd(n: 0 | 1 | 2): number {
  return caller()?.stdio[n] ?? n;
}

export function writeOut(text: string): void {
  const c = caller();
  if (c?.write) c.write(1, Buffer.from(text));
  else writeAll(callerFd(1), text);
}

export function writeErr(text: string): void {
  const c = caller();
  if (c?.write) return c.write(2, Buffer.from(text));
  try {
    writeAll(callerFd(2), text);
  } catch {
    /* stderr itself failed (closed, EPIPE): nowhere left to report it */
  }
}

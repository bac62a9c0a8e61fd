// Plain writes to the standard descriptors. Touching process.stdout or
// process.stderr makes Bun build Node's stream machinery, about 3 ms of a
// runtime call that lasts a few more: the runtime's own output goes through
// write(2) instead.
import { writeSync } from "./fs.ts";

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

export function writeOut(text: string): void {
  writeAll(1, text);
}

export function writeErr(text: string): void {
  try {
    writeAll(2, text);
  } catch {
    /* nowhere left to report it */
  }
}

// File locks (flock(2) on a lock file; released by the kernel when the
// process dies, so a crash leaves no stale lock) and atomic file writes.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "./fs.ts";
import { dirname, basename, join } from "./path.ts";
import { LOCK_EX, LOCK_SH, LOCK_UN, tryFlock } from "./sys.ts";

export interface Lock {
  release(): void;
}

/**
 * Takes a shared or exclusive lock on `path` (created if missing), waiting
 * up to `timeoutMs` without blocking the event loop.
 */
export async function acquireLock(path: string, mode: "shared" | "exclusive", timeoutMs = 120_000): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a", 0o600);
  const op = mode === "shared" ? LOCK_SH : LOCK_EX;
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  try {
    while (!tryFlock(fd, op)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the lock ${path}`);
      await Bun.sleep(wait);
      wait = Math.min(wait * 2, 50);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      try {
        tryFlock(fd, LOCK_UN);
      } finally {
        closeSync(fd);
      }
    },
  };
}

export async function withLock<T>(path: string, mode: "shared" | "exclusive", fn: () => Promise<T> | T): Promise<T> {
  const lock = await acquireLock(path, mode);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex")}`);
}

/**
 * Writes a file atomically: a temp file in the same directory, fsync, rename.
 * `durable: false` skips the fsync: readers still see the old or the new file,
 * never a part; for state that does not outlive a reboot (the runtime's, under
 * /run), where a flush per lifecycle step would only cost time.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: { durable?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    const fd = openSync(tmp, "wx", mode);
    try {
      writeFileSync(fd, data);
      if (opts.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

// File locks (flock(2) on a lock file; released by the kernel when the
// process dies, so a crash leaves no stale lock) and atomic file writes.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "./fs.ts";
import { dirname, basename, join } from "./path.ts";
import { flock, LOCK_EX, LOCK_SH, LOCK_UN, tryFlock } from "./sys.ts";

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
  try {
    await waitFlock(fd, op, timeoutMs, () => new Error(`timed out after ${timeoutMs} ms waiting for the lock ${path}`));
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

/** flock(2) polled without blocking the event loop, up to `timeoutMs`. */
async function waitFlock(fd: number, op: number, timeoutMs: number, timedOut: () => Error): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  while (!tryFlock(fd, op)) {
    if (Date.now() > deadline) throw timedOut();
    await Bun.sleep(wait);
    wait = Math.min(wait * 2, 50);
  }
}

/** Whether the lock file at `path` is still the file `fd` holds (not removed or replaced meanwhile). */
function stillLinked(path: string, fd: number): boolean {
  try {
    return statSync(path).ino === fstatSync(fd).ino;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false; // removed meanwhile
    throw e;
  }
}

/**
 * Runs fn holding an exclusive lock on `path`, a lock file that goes with what
 * it guards: after fn, the file is removed when `gone()` says so. Whoever
 * locked a file that was removed meanwhile tries again (the inode check), so
 * two holders never hold different files of one path. Blocks in flock(2).
 */
export function withRemovableLockSync<T>(path: string, gone: () => boolean, fn: () => T): T {
  for (;;) {
    const fd = openSync(path, "a", 0o600);
    try {
      flock(fd, LOCK_EX);
      if (!stillLinked(path, fd)) continue;
      try {
        return fn();
      } finally {
        if (gone()) rmSync(path, { force: true });
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** withRemovableLockSync without blocking the event loop, up to `timeoutMs`. */
export async function withRemovableLock<T>(
  path: string,
  gone: () => boolean,
  fn: () => Promise<T> | T,
  timedOut: () => Error,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fd = openSync(path, "a", 0o600);
    try {
      await waitFlock(fd, LOCK_EX, Math.max(0, deadline - Date.now()), timedOut);
      if (!stillLinked(path, fd)) continue;
      try {
        return await fn();
      } finally {
        if (gone()) rmSync(path, { force: true });
      }
    } finally {
      closeSync(fd);
    }
  }
}

export async function withLock<T>(path: string, mode: "shared" | "exclusive", fn: () => Promise<T> | T): Promise<T> {
  const lock = await acquireLock(path, mode);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex")}`);
}

/**
 * Writes a file atomically: a temp file in the same directory, fsync, rename.
 * `durable: false` skips the fsync: readers still see the old or the new file,
 * never a part; for state that does not outlive a reboot (the runtime's, under
 * /run), where a flush per lifecycle step would only cost time.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: { durable?: boolean } = {}): void {
  const tmp = tempName(path);
  let fd: number;
  try {
    fd = openSync(tmp, "wx", mode);
  } catch (e) {
    // the directory is made when it is missing, not checked before every write
    // (a container's state is saved three times in a create)
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(tmp, "wx", mode);
  }
  try {
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

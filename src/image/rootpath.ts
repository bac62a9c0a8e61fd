// Paths inside an unpacked image or a container's root file system, resolved
// as the container would see them (kept apart from layer.ts, so that reading
// an image's /etc/passwd does not load the tar machinery).
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { posix } from "node:path";

/** What walkInRoot does where the path does not lead on. */
export interface WalkHandlers {
  /** A missing component (REL inside the root, CUR on the host): return true once it is made a directory; false gives up. */
  missing?: (cur: string, rel: string) => boolean;
  /** Something not a directory where one is needed, or a symlink loop: throw (by default the walk gives up). */
  fail?: (why: string) => never;
  /** Whether the last component must be a directory too. */
  lastIsDir?: boolean;
}

/**
 * Walks `path` inside `root` as if `root` were "/": symlinks (the last one
 * too) and ".." never lead out. Returns the host path, which contains no
 * symlink, or undefined when the walk gives up.
 */
export function walkInRoot(root: string, path: string, h: WalkHandlers = {}): string | undefined {
  let parts = path.split("/");
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const p = parts.shift()!;
    if (p === "" || p === ".") continue;
    if (p === "..") {
      done.pop();
      continue;
    }
    const cur = posix.join(root, ...done, p);
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" && h.missing) throw e;
      if (!h.missing?.(cur, posix.join(...done, p))) return undefined;
      done.push(p);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) return h.fail ? h.fail("too many levels of symbolic links") : undefined;
      const target = readlinkSync(cur);
      if (target.startsWith("/")) done.length = 0;
      parts = [...target.split("/"), ...parts];
      continue;
    }
    const more = h.lastIsDir || parts.some((x) => x !== "" && x !== ".");
    if (more && !st.isDirectory()) return h.fail ? h.fail(`${posix.join(...done, p)} is not a directory`) : undefined;
    done.push(p);
  }
  return done.length === 0 ? root : posix.join(root, ...done);
}

/** The host path of `path` inside `root` (see walkInRoot), or undefined when it does not exist. */
export function resolveInRoot(root: string, path: string): string | undefined {
  return walkInRoot(root, path);
}

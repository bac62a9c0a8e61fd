// The mount table of berth's own mount namespace (/proc/self/mountinfo).
import { closeSync, openSync, readFileSync, readlinkSync } from "./fs.ts";
import { MNT_DETACH, umount2 } from "./sys.ts";

/** The ids of the mounts whose mount point is exactly `path`, bottom first (the last one is on top). */
export function mountIdsAt(path: string): number[] {
  const out: number[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f.length < 5) continue;
    const mp = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === path) out.push(Number(f[0]));
  }
  return out;
}

/** Detaches (lazily, with everything beneath it) the mount `id` at `path`, if it is the one on top there. */
export function detachMountAt(path: string, id: number): boolean {
  const ids = mountIdsAt(path);
  if (ids.length === 0 || ids[ids.length - 1] !== id) return false;
  umount2(path, MNT_DETACH);
  return true;
}

/** A directory's path with no symbolic links in it, as the mount table names it. */
export function realDirectory(path: string): string {
  const fd = openSync(path, 0o200000 /* O_RDONLY | O_DIRECTORY */);
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

// Named, persistent network namespaces: an nsfs bind mount on a file, so that the
// namespace outlives the process that created it and the runtime can join it by path
// (`linux.namespaces: [{ type: "network", path }]`).
//
// The directory holding the files is made a shared mount point (as `ip netns` does
// with /run/netns) so that the namespace mounts, and their removal, propagate to
// mount namespaces created later from this one.

import { mkdirSync, openSync, closeSync, unlinkSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { execCapture, execOk } from "./exec.ts";

export const DEFAULT_NETNS_DIR = "/run/berth/netns";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

interface MountEntry {
  mountPoint: string;
  root: string;
  fsType: string;
  optional: string[];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readMounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0) continue;
    out.push({
      root: unescapeMount(f[3] ?? ""),
      mountPoint: unescapeMount(f[4] ?? ""),
      optional: f.slice(6, sep),
      fsType: f[sep + 1] ?? "",
    });
  }
  return out;
}

/** The last (topmost) mount at exactly `path`, if any. */
function mountAt(path: string): MountEntry | undefined {
  const p = resolve(path);
  let found: MountEntry | undefined;
  for (const m of readMounts()) if (m.mountPoint === p) found = m;
  return found;
}

/** Checks a namespace name (it becomes a file name). */
export function validateNetnsName(name: string): void {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new Error(`network namespace name ${JSON.stringify(name)}: must be 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
}

/** Path of the namespace file `name` in `dir`. */
export function netnsPath(name: string, dir: string = DEFAULT_NETNS_DIR): string {
  validateNetnsName(name);
  return join(resolve(dir), name);
}

/** True if `path` is a bind mount of a network namespace. */
export function isNetns(path: string): boolean {
  const m = mountAt(path);
  return m !== undefined && m.fsType === "nsfs" && m.root.startsWith("net:[");
}

const preparing = new Map<string, Promise<void>>();

/** Makes `dir` exist and be a shared mount point (idempotent; concurrent calls share one run). */
export async function ensureNetnsDir(dir: string = DEFAULT_NETNS_DIR): Promise<void> {
  const d = resolve(dir);
  const running = preparing.get(d);
  if (running) return running;
  const p = prepareDir(d).finally(() => preparing.delete(d));
  preparing.set(d, p);
  return p;
}

async function prepareDir(d: string): Promise<void> {
  mkdirSync(d, { recursive: true, mode: 0o755 });
  let m = mountAt(d);
  if (!m) {
    await execOk(["mount", "--bind", d, d], `making ${d} a mount point`);
    m = mountAt(d);
  }
  if (!m || !m.optional.some((o) => o.startsWith("shared:"))) {
    await execOk(["mount", "--make-shared", d], `making ${d} a shared mount`);
  }
}

/**
 * Unmounts the namespace directory made by ensureNetnsDir and removes it, if it holds
 * no namespace any more. Returns false (and leaves it) when namespaces remain.
 */
export async function releaseNetnsDir(dir: string = DEFAULT_NETNS_DIR): Promise<boolean> {
  const d = resolve(dir);
  let entries: string[];
  try {
    entries = readdirSync(d);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw e;
  }
  for (const e of entries) if (isNetns(join(d, e))) return false;
  while (mountAt(d)) {
    const r = await execCapture(["umount", d]);
    if (r.code !== 0) await execOk(["umount", "--lazy", d], `unmounting ${d}`);
  }
  for (const e of entries) {
    try {
      unlinkSync(join(d, e));
    } catch {
      /* already gone, or still a mount point: the rmdir below then leaves the directory */
    }
  }
  try {
    rmdirSync(d);
  } catch {
    /* not empty or already gone */
  }
  return true;
}

/**
 * Creates a new, empty network namespace bound to `<dir>/<name>` and returns that path.
 * Fails if the name is already in use; leaves nothing behind on failure.
 */
export async function createNetns(name: string, dir: string = DEFAULT_NETNS_DIR): Promise<string> {
  const path = netnsPath(name, dir);
  await ensureNetnsDir(dir);
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o444);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new Error(`network namespace ${JSON.stringify(name)}: ${path} already exists`);
    }
    throw e;
  }
  closeSync(fd);
  try {
    await execOk(["unshare", `--net=${path}`, "true"], `creating network namespace ${name}`);
    if (!isNetns(path)) throw new Error(`creating network namespace ${name}: ${path} is not bound after unshare`);
  } catch (e) {
    await removeNetns(path).catch(() => {});
    throw e;
  }
  return path;
}

/** Unmounts and unlinks a namespace file. Succeeds if it is already gone. */
export async function removeNetns(path: string): Promise<void> {
  const p = resolve(path);
  for (let i = 0; i < 8 && mountAt(p); i++) {
    const r = await execCapture(["umount", p]);
    if (r.code !== 0) await execOk(["umount", "--lazy", p], `removing network namespace ${p}`);
  }
  try {
    unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

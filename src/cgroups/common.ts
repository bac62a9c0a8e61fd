// Helpers both backends use: file writes with rollback, value checks, recursive walks.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync, type Dirent } from "../linux/fs.ts";
import { CgroupError } from "./types.ts";
import type { CgroupMount } from "./detect.ts";

export const RES = "linux.resources";

/** One write of a value into a cgroup control file. */
export interface Write {
  dir: string;
  file: string;
  value: string;
  field: string;
  /** The writes that put the old content back (default: the old content as is). */
  restore?: (old: string) => string[];
  /** When the file is missing, skip silently instead of failing. */
  optional?: boolean;
}

export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code) {
    const why: Record<string, string> = {
      EINVAL: "the kernel refused the value (EINVAL)",
      EBUSY: "the kernel refused the value: resource busy (EBUSY)",
      ENOSPC: "the kernel refused the value (ENOSPC)",
      ERANGE: "value out of range (ERANGE)",
      EPERM: "operation not permitted (EPERM)",
      EACCES: "permission denied (EACCES)",
      EOPNOTSUPP: "not supported by this kernel (EOPNOTSUPP)",
      ENODEV: "no such device (ENODEV)",
      ENOENT: "no such file (ENOENT)",
    };
    return why[err.code] ?? `${err.code}`;
  }
  return String(e);
}

export function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    // no such file (a controller that is off, a cgroup removed meanwhile: ENODEV
    // for one open as it went) or one this kernel does not support reading
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ENODEV" || code === "EOPNOTSUPP") return undefined;
    throw e;
  }
}

export function readNum(path: string): number {
  const s = tryRead(path);
  if (s === undefined) return 0;
  const t = s.trim();
  if (t === "max") return 0;
  const n = Number(t);
  return Number.isFinite(n) ? n : 0;
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events...). */
export function readKV(path: string): Record<string, number> {
  const out: Record<string, number> = {};
  const s = tryRead(path);
  if (!s) return out;
  for (const line of s.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/**
 * Writes every value in order; if one fails, puts back those already written and
 * throws. Returns a function that puts the old values back (for a later failure).
 */
export function runWrites(writes: Write[], rollback: boolean): () => void {
  const done: { w: Write; old: string | undefined }[] = [];
  // Consecutive writes to one file (the v1 device rules: a deny-all, then a
  // rule per write) go through one open descriptor, looked for once: each
  // open of a cgroup file is a path walk, and the rules were 30 of the
  // system calls a container's create made.
  let open: { path: string; fd: number } | undefined;
  const close = () => {
    if (open) closeSync(open.fd);
    open = undefined;
  };
  try {
    for (const w of writes) {
      const path = `${w.dir}/${w.file}`;
      if (open?.path !== path) {
        close();
        if (!existsSync(path)) {
          if (w.optional) continue;
          undo(done);
          throw new CgroupError(`${w.file} does not exist in ${w.dir}: the controller is not available on this host`, w.field);
        }
      }
      const old = rollback ? tryRead(path) : undefined;
      try {
        open ??= { path, fd: openSync(path, "w") };
        writeFileSync(open.fd, w.value);
      } catch (e) {
        undo(done);
        throw new CgroupError(`writing ${JSON.stringify(w.value)} to ${w.file}: ${errText(e)}`, w.field, e);
      }
      done.push({ w, old });
    }
  } finally {
    close();
  }
  return () => undo(done);
}

function undo(done: { w: Write; old: string | undefined }[]): void {
  for (let i = done.length - 1; i >= 0; i--) {
    const { w, old } = done[i]!;
    if (old === undefined) continue;
    const vals = w.restore ? w.restore(old) : [old.trim()];
    for (const v of vals) {
      try {
        writeFileSync(`${w.dir}/${w.file}`, v);
      } catch {
        // best effort on a path already failing: the old value may not be writable as read
      }
    }
  }
}

export function int(v: unknown, field: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new CgroupError(`must be an integer, got ${JSON.stringify(v)}`, field);
  if (v < min || v > max) throw new CgroupError(`must be between ${min} and ${max}, got ${v}`, field);
  return v;
}

export function cpuList(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^\s*(\d+(-\d+)?)(\s*,\s*\d+(-\d+)?)*\s*$|^$/.test(v)) {
    throw new CgroupError(`must be a list like "0-3,5", got ${JSON.stringify(v)}`, field);
  }
  return v.replace(/\s+/g, "");
}

export function hugeSize(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^\d+(KB|MB|GB)$/.test(v)) throw new CgroupError(`must be a page size like "2MB" or "1GB", got ${JSON.stringify(v)}`, field);
  return v;
}

/** Restores keyed per-device files ("maj:min value" lines): old entries back, new ones reset. */
export function deviceRestore(reset: (dev: string) => string, devs: string[]) {
  return (old: string): string[] => {
    const olds = new Map<string, string>();
    for (const line of old.split("\n")) {
      const t = line.trim();
      const m = /^(\d+:\d+)\s+(.*)$/.exec(t);
      if (m) olds.set(m[1]!, t);
    }
    const out: string[] = [];
    for (const d of devs) out.push(olds.get(d) ?? reset(d));
    return out;
  };
}

/** Every cgroup directory at and under dir, children before parents. */
export function walkLeafFirst(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    let entries: Dirent[] = [];
    try {
      // cgroupfs reports each entry's type: no stat per control file
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // removed meanwhile
      throw e;
    }
    for (const e of entries) if (e.isDirectory()) visit(`${d}/${e.name}`);
    out.push(d);
  };
  visit(dir);
  return out;
}

/** Every pid in cgroup.procs of dir and its descendants. */
export function procsUnder(dir: string): number[] {
  const pids = new Set<number>();
  for (const d of walkLeafFirst(dir)) {
    const s = tryRead(`${d}/cgroup.procs`);
    if (!s) continue;
    for (const l of s.split("\n")) if (l.trim()) pids.add(Number(l.trim()));
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * Removes cgroup directories (each with anything under it), waiting up to
 * timeoutMs for their processes to leave: rmdir fails with EBUSY while a
 * cgroup has processes or children, so the common case, an empty leaf, costs
 * one rmdir per directory. On time-out the error names the processes left.
 */
export function removeCgroupDirs(dirs: string[], timeoutMs: number, what: string): void {
  const deadline = Date.now() + timeoutMs;
  let left = dirs;
  for (;;) {
    const busy: string[] = [];
    let lastError: unknown;
    for (const d of left) {
      try {
        rmdirSync(d);
        continue;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") continue;
        if (code !== "EBUSY" && code !== "ENOTEMPTY") throw new CgroupError(`cannot remove ${d}: ${errText(e)}`, undefined, e);
      }
      try {
        rmdirTree(d); // child cgroups made inside the container
      } catch (e) {
        lastError = e;
        busy.push(d);
      }
    }
    if (busy.length === 0) return;
    if (Date.now() > deadline) {
      const pids = new Set<number>();
      for (const d of busy) for (const p of procsUnder(d)) pids.add(p);
      if (pids.size > 0) throw new CgroupError(`the cgroup ${what} still has processes ${[...pids].sort((a, b) => a - b).join(", ")}`);
      throw lastError instanceof CgroupError ? lastError : new CgroupError(`cannot remove ${busy[0]}: ${errText(lastError)}`, undefined, lastError);
    }
    left = busy;
    sleepMs(5);
  }
}

/** Removes dir and everything under it, children first; a missing dir is fine. */
export function rmdirTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const d of walkLeafFirst(dir)) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new CgroupError(`cannot remove ${d}: ${errText(e)}`, undefined, e);
    }
  }
}

export function sleepMs(ms: number): void {
  Bun.sleepSync(ms);
}

export function signalAll(pids: number[], signal: number): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e; // ESRCH: already gone
    }
  }
}

/** Checks an `unified` key: a plain control-file name such as "memory.high". */
export function unifiedKey(k: string): string {
  const field = `${RES}.unified.${k}`;
  if (!k || k.includes("/") || k.includes("..") || k.includes("\0") || !/^[a-z0-9_]+\.[a-zA-Z0-9_.]+$/.test(k)) {
    throw new CgroupError(`not a cgroup control file name`, field);
  }
  if (k.startsWith("cgroup.") && !["cgroup.max.depth", "cgroup.max.descendants", "cgroup.freeze"].includes(k)) {
    throw new CgroupError(`cgroup core files may not be set`, field);
  }
  return field;
}

/** Huge page sizes the kernel offers, named as cgroup files name them ("2MB", "1GB"). */
export function hugeSizes(): string[] {
  let names: string[] = [];
  try {
    names = readdirSync("/sys/kernel/mm/hugepages");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []; // a kernel without huge pages
    throw e;
  }
  return names
    .map((n) => /^hugepages-(\d+)kB$/.exec(n))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => {
      const kb = Number(m[1]);
      return kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`;
    });
}

/**
 * The first of `dir` and its ancestors below `top` (a hierarchy's mount point)
 * that exists and that `isFrozen` finds frozen. A process placed in a frozen
 * cgroup, or below one, stops at once: a container's init there would never
 * report back.
 */
export function frozenLevel(dir: string, top: string, isFrozen: (d: string) => boolean): string | undefined {
  for (let d = dir; d.length > top.length && d.startsWith(top + "/"); d = d.slice(0, d.lastIndexOf("/"))) {
    if (isFrozen(d)) return d;
  }
  return undefined;
}

/** The error create gives for a frozen cgroup (runc's wording, then where). */
export function frozenError(level: string): CgroupError {
  return new CgroupError(`container's cgroup unexpectedly frozen: ${level} is frozen (thaw it first)`, "linux.cgroupsPath");
}

/** The v1 hierarchies berth joins (when mounted). */
export const V1_CONTROLLERS = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "blkio",
  "pids",
  "hugetlb",
  "net_cls",
  "net_prio",
  "perf_event",
  "rdma",
  "misc",
  "name=systemd",
];

export interface V1Place {
  mount: CgroupMount;
  /** The cgroup path in this hierarchy. */
  path: string;
}

/** Filesystem directory of cgroup `path` in a hierarchy mounted as `m`. */
export function dirIn(m: CgroupMount, path: string): string {
  const root = m.root === "/" ? "" : m.root.replace(/\/+$/, "");
  if (root && path !== root && !path.startsWith(root + "/")) {
    throw new CgroupError(`cgroup ${path} is outside the part of the hierarchy mounted at ${m.mountpoint} (${m.root})`, "linux.cgroupsPath");
  }
  const rel = path.slice(root.length);
  return (m.mountpoint + rel).replace(/\/+$/, "") || "/";
}

/** cpu.shares (2..262144) to cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio weight (10..1000) to io.weight (1..10000). */
export function blkioToIoWeight(w: number): number {
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

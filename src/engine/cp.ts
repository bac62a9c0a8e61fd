// `berth cp`: files between the host and a container, in Docker's and
// Podman's conventions (CONTAINER:PATH on one side; a directory is copied
// whole, or its contents with SRC/.; an existing directory at DEST receives
// SRC by name). Inside the container every path is resolved by the kernel
// within the container's root (src/linux/inroot.ts): a symlink or a file the
// container swaps while the copy runs can never make berth read or write
// outside it. A running container is reached through /proc/PID/root, so its
// volumes and tmpfs mounts are seen as the container sees them; a stopped one
// through its root file system, or the volume that holds the path.
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  statSync,
  symlinkSync,
  writeSync,
  chmodSync,
  lchownSync,
  readdirSync,
  existsSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import {
  fchmod,
  fchown,
  fdStat,
  kind,
  mkdirIn,
  namesIn,
  openForReading,
  openIn,
  readlinkFd,
  Root,
  symlinkIn,
  O_CREAT,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  type FdStat,
} from "../linux/inroot.ts";
import { SysError } from "../linux/sys.ts";
import { EngineUsageError } from "./args.ts";
import type { Engine } from "./engine.ts";
import { EngineError } from "./store.ts";

export interface CpOptions {
  /** -a: keep the source's uid and gid (else the copy belongs to root). */
  archive: boolean;
  /** -L: follow a symlink given as SRC. */
  followLink: boolean;
}

export interface CpEnd {
  container?: string;
  path: string;
}

/** CONTAINER:PATH, or a host path (a host path with ":" must start with "/" or "."). */
export function parseCpEnd(arg: string): CpEnd {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/.exec(arg);
  if (m && !arg.startsWith("/") && !arg.startsWith(".")) return { container: m[1], path: m[2] === "" ? "/" : m[2]! };
  return { path: arg };
}

const warnings: string[] = [];
function skip(what: string): void {
  warnings.push(`skipped ${what}: only files, directories and symlinks are copied`);
}

/** Copies SRC to DST (exactly one of them in a container); returns warnings. */
export async function copy(engine: Engine, src: CpEnd, dst: CpEnd, o: CpOptions): Promise<string[]> {
  warnings.length = 0;
  if (!!src.container === !!dst.container) throw new EngineUsageError("cp: exactly one of SRC and DEST must be CONTAINER:PATH");
  const ref = (src.container ?? dst.container)!;
  const inside = inContainer((src.container ? src.path : dst.path)!);
  const where = await rootOf(engine, ref, inside);
  const root = new Root(where.root);
  try {
    // a tar stream on the host's side: stdout or stdin (the tar machinery loads only then)
    if (src.container && dst.path === "-") {
      const { tarOut } = await import("./cptar.ts");
      await tarOut(root, where.path, process.stdout, o.followLink);
    } else if (!src.container && src.path === "-") {
      const { tarIn } = await import("./cptar.ts");
      await tarIn(root, where.path, process.stdin, o.archive, (w) => warnings.push(w));
    } else if (src.container) copyOut(root, where.path, dst.path, o);
    else copyIn(root, src.path, where.path, o);
  } finally {
    root.close();
  }
  return [...warnings];
}

/**
 * Where PATH of the container is: a running container's /proc/PID/root (its
 * mounts as it sees them); for a stopped one its root file system, or the
 * volume whose destination holds PATH (that volume's directory as the root).
 */
async function rootOf(engine: Engine, ref: string, path: string): Promise<{ root: string; path: string }> {
  const rec = engine.containers.get(ref);
  const st = engine.status(rec);
  if (st === "running" || st === "paused") {
    const pid = engine.runtime.load(rec.id).pid;
    return { root: `/proc/${pid}/root`, path };
  }
  const norm = posix.normalize(path);
  const vol = rec.options.volumes
    .filter((v) => v.source && (norm === v.destination || norm.startsWith(v.destination.endsWith("/") ? v.destination : `${v.destination}/`)))
    .sort((a, b) => b.destination.length - a.destination.length)[0];
  if (vol)
    return {
      root: vol.source,
      path: `/${norm.slice(vol.destination.length)}${path.endsWith("/") && norm !== vol.destination ? "/" : ""}`.replace(/^\/\/+/, "/"),
    };
  const img = await engine.image(rec.imageRef, "never").catch(() => {
    throw new EngineError(`cp: container ${rec.name}: its image ${rec.image} is no longer in the store`);
  });
  return { root: await engine.snapshots.remountRootfs(img, rec.id), path };
}

function inContainer(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

/** The last name of a path as cp uses it ("/a/b/" -> "b"); "." for SRC/. */
function lastName(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  return parts[parts.length - 1] ?? "/";
}

function tryOpen(root: Root, path: string, flags: number): number | undefined {
  try {
    return root.open(path, flags);
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") return undefined;
    throw e;
  }
}

// ---- host -> container ---------------------------------------------------------------

function copyIn(root: Root, hostSrc: string, ctrDest: string, o: CpOptions): void {
  let st: Stats;
  try {
    st = o.followLink ? statSync(hostSrc) : lstatSync(hostSrc);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EngineError(`cp: ${hostSrc}: ${code === "ENOENT" || code === "ENOTDIR" ? "no such file or directory" : (e as Error).message}`);
  }
  const dest = inContainer(ctrDest);
  const contents = st.isDirectory() && /(^|\/)\.$/.test(hostSrc);
  const existing = tryOpen(root, dest, O_PATH);
  if (existing !== undefined) {
    const k = kind(fdStat(existing).mode);
    closeSync(existing);
    if (k === "dir") {
      const dir = root.open(dest, O_RDONLY | O_DIRECTORY);
      try {
        if (contents) for (const n of readdirSync(hostSrc)) putEntry(dir, n, join(hostSrc, n), o);
        else putEntry(dir, basename(hostSrc.replace(/\/+$/, "")) || "/", hostSrc, o, st);
      } finally {
        closeSync(dir);
      }
      return;
    }
    if (st.isDirectory()) throw new EngineError(`cp: cannot copy the directory ${hostSrc} over the file ${ctrDest}`);
    if (!st.isFile()) throw new EngineError(`cp: ${ctrDest} exists; only a file can replace it`);
    // an existing file (symlinks on the way followed inside the container's root)
    const fd = root.open(dest, O_WRONLY | O_TRUNC);
    try {
      fillFile(fd, hostSrc, st, o);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (dest.endsWith("/") && !st.isDirectory()) throw new EngineError(`cp: the directory ${ctrDest} does not exist in the container`);
  const parentPath = dirname(dest.replace(/\/+$/, "")) || "/";
  const parent = tryOpen(root, parentPath, O_RDONLY | O_DIRECTORY);
  if (parent === undefined) throw new EngineError(`cp: ${parentPath} does not exist in the container`);
  try {
    if (contents) {
      mkdirIn(parent, lastName(dest), 0o755);
      const dir = openIn(parent, lastName(dest), O_RDONLY | O_DIRECTORY);
      try {
        for (const n of readdirSync(hostSrc)) putEntry(dir, n, join(hostSrc, n), o);
        finish(dir, st, o);
      } finally {
        closeSync(dir);
      }
    } else putEntry(parent, lastName(dest), hostSrc, o, st);
  } finally {
    closeSync(parent);
  }
}

function finish(fd: number, st: { mode: number; uid: number; gid: number }, o: CpOptions): void {
  if (o.archive) fchown(fd, st.uid, st.gid);
  fchmod(fd, st.mode & 0o7777);
}

function fillFile(fd: number, hostSrc: string, st: Stats, o: CpOptions): void {
  const from = openSync(hostSrc, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(from, buf);
      if (n === 0) break;
      let off = 0;
      while (off < n) off += writeSync(fd, buf, off, n - off);
    }
  } finally {
    closeSync(from);
  }
  finish(fd, st, o);
}

/** Creates NAME in the container directory DIR as a copy of the host's SRC. */
function putEntry(dir: number, name: string, hostSrc: string, o: CpOptions, st0?: Stats): void {
  const st = st0 ?? lstatSync(hostSrc);
  if (st.isSymbolicLink()) {
    symlinkIn(readlinkSync(hostSrc), dir, name);
    if (o.archive) {
      const l = openIn(dir, name, O_PATH);
      try {
        fchown(l, st.uid, st.gid);
      } finally {
        closeSync(l);
      }
    }
    return;
  }
  if (st.isDirectory()) {
    try {
      mkdirIn(dir, name, 0o700);
    } catch (e) {
      if (!(e instanceof SysError && e.code === "EEXIST")) throw e;
    }
    // a symlink in its place is refused (O_NOFOLLOW), not followed
    const sub = openIn(dir, name, O_RDONLY | O_DIRECTORY);
    try {
      for (const n of readdirSync(hostSrc)) putEntry(sub, n, join(hostSrc, n), o);
      finish(sub, st, o);
    } finally {
      closeSync(sub);
    }
    return;
  }
  if (!st.isFile()) return skip(hostSrc);
  const fd = openIn(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0o600);
  try {
    fillFile(fd, hostSrc, st, o);
  } finally {
    closeSync(fd);
  }
}

// ---- container -> host ---------------------------------------------------------------

function copyOut(root: Root, ctrSrc: string, hostDest: string, o: CpOptions): void {
  const src = inContainer(ctrSrc);
  let top: { fd: number; st: FdStat };
  try {
    top = openForReading((flags) => root.open(src, o.followLink ? flags & ~O_NOFOLLOW : flags));
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") throw new EngineError(`cp: ${ctrSrc}: no such file or directory in the container`);
    throw e;
  }
  try {
    const k = kind(top.st.mode);
    const contents = k === "dir" && /(^|\/)\.$/.test(ctrSrc);
    let destSt: Stats | undefined;
    try {
      destSt = statSync(hostDest);
    } catch (e) {
      // no such destination yet: it is made
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
      destSt = undefined;
    }
    if (destSt?.isDirectory()) {
      if (contents) return getContents(top.fd, hostDest, o);
      return getEntry(top, join(hostDest, lastName(src) === "/" ? "root" : lastName(src)), o);
    }
    if (destSt && k === "dir") throw new EngineError(`cp: cannot copy the directory ${ctrSrc} over the file ${hostDest}`);
    if (!destSt) {
      if (hostDest.endsWith("/") && k !== "dir") throw new EngineError(`cp: the directory ${hostDest} does not exist`);
      if (!existsSync(dirname(hostDest.replace(/\/+$/, "")) || "/")) throw new EngineError(`cp: ${dirname(hostDest)} does not exist`);
    }
    if (contents) {
      mkdirSync(hostDest, { mode: 0o700 });
      getContents(top.fd, hostDest, o);
      setHost(hostDest, top.st, o, false);
      return;
    }
    getEntry(top, hostDest.replace(/\/+$/, "") || hostDest, o);
  } finally {
    closeSync(top.fd);
  }
}

function setHost(path: string, st: FdStat, o: CpOptions, link: boolean): void {
  if (o.archive) lchownSync(path, st.uid, st.gid);
  if (!link) chmodSync(path, st.mode & 0o7777);
}

function getContents(dir: number, hostDir: string, o: CpOptions): void {
  for (const n of namesIn(dir)) {
    let e: { fd: number; st: FdStat } | undefined;
    try {
      e = openForReading((flags) => openIn(dir, n, flags));
    } catch (err) {
      if (err instanceof SysError && err.code === "ENOENT") continue; // gone meanwhile
      throw err;
    }
    try {
      getEntry(e, join(hostDir, n), o);
    } finally {
      closeSync(e.fd);
    }
  }
}

/** Writes the container entry E at the host path DEST (replacing a file there). */
function getEntry(e: { fd: number; st: FdStat }, dest: string, o: CpOptions): void {
  const k = kind(e.st.mode);
  if (k === "symlink") {
    symlinkSync(readlinkFd(e.fd), dest);
    setHost(dest, e.st, o, true);
    return;
  }
  if (k === "dir") {
    if (!existsSync(dest)) mkdirSync(dest, { mode: 0o700 });
    else if (!statSync(dest).isDirectory()) throw new EngineError(`cp: cannot copy a directory over the file ${dest}`);
    getContents(e.fd, dest, o);
    setHost(dest, e.st, o, false);
    return;
  }
  if (k !== "file") return skip(dest);
  const out = openSync(dest, "w", 0o600);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = readSync(e.fd, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EAGAIN") continue;
        throw err;
      }
      if (n === 0) break;
      let off = 0;
      while (off < n) off += writeSync(out, buf, off, n - off);
    }
  } finally {
    closeSync(out);
  }
  setHost(dest, e.st, o, false);
}

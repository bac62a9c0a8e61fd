// Files inside a container's root, reached through descriptors and resolved by
// the kernel: openat2(RESOLVE_IN_ROOT) treats the root as "/" for every symlink
// and "..", so nothing the container put in its file system (or changes while
// berth works) can lead a path outside it. Entries below an opened directory
// are reached one name at a time with O_NOFOLLOW. Used by the engine's `cp`.
import { FFIType, ptr } from "bun:ffi";
import { drainDir } from "./fs.ts";
import { check, cstr, errno, lazyLibc, sym, SYS_openat2, SysError } from "./libc.ts";

const fx = lazyLibc({
  syscall: { args: [FFIType.i64, FFIType.i32, FFIType.cstring, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  openat: { args: [FFIType.i32, FFIType.cstring, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  mkdirat: { args: [FFIType.i32, FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  symlinkat: { args: [FFIType.cstring, FFIType.i32, FFIType.cstring], returns: FFIType.i32 },
  readlinkat: { args: [FFIType.i32, FFIType.cstring, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  fchmod: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  fchownat: { args: [FFIType.i32, FFIType.cstring, FFIType.u32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  fdopendir: { args: [FFIType.i32], returns: FFIType.ptr },
  dup: { args: [FFIType.i32], returns: FFIType.i32 },
});

export const O_RDONLY = 0,
  O_WRONLY = 1,
  O_CREAT = 0o100,
  O_EXCL = 0o200,
  O_TRUNC = 0o1000,
  O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000,
  O_NOFOLLOW = 0o400000,
  O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
const RESOLVE_NO_XDEV = 0x01,
  RESOLVE_NO_MAGICLINKS = 0x02,
  RESOLVE_NO_SYMLINKS = 0x04,
  RESOLVE_BENEATH = 0x08,
  RESOLVE_IN_ROOT = 0x10;
/** Root.open's resolution for a path that must lead to what berth itself made below the root: no symlink, no "..", no mount crossed. */
export const BENEATH_NO_LINKS = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
const AT_SYMLINK_NOFOLLOW = 0x100,
  AT_EMPTY_PATH = 0x1000;
const EMPTY = cstr("");

export const S_IFMT = 0o170000,
  S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000;

/** What `cp` needs of a file's status (statx on a descriptor). */
export interface FdStat {
  mode: number;
  ino: number;
  uid: number;
  gid: number;
  size: number;
}

export function fdStat(fd: number): FdStat {
  const b = Buffer.alloc(256);
  check(sym.statx(fd, EMPTY, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0x7ff, ptr(b)), "statx");
  return {
    mode: b.readUInt16LE(28),
    ino: Number(b.readBigUInt64LE(32)),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    size: Number(b.readBigUInt64LE(40)),
  };
}

export function kind(mode: number): "dir" | "file" | "symlink" | "other" {
  const t = mode & S_IFMT;
  return t === S_IFDIR ? "dir" : t === S_IFREG ? "file" : t === S_IFLNK ? "symlink" : "other";
}

/** A container's root directory, opened once. */
export class Root {
  readonly fd: number;
  constructor(readonly path: string) {
    this.fd = check(sym.open(cstr(path), O_PATH | O_DIRECTORY | O_CLOEXEC, 0), "open", path);
  }

  /** openat2(root, PATH, RESOLVE_IN_ROOT): PATH as the container sees it, never outside it
   * (or with RESOLVE, e.g. BENEATH_NO_LINKS, other openat2 resolve flags). */
  open(path: string, flags: number, mode = 0, resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): number {
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
    how.writeBigUInt64LE(BigInt(mode), 8);
    how.writeBigUInt64LE(BigInt(resolve), 16);
    for (;;) {
      const fd = Number(fx().syscall(SYS_openat2, this.fd, cstr(path), ptr(how), 24n));
      if (fd >= 0) return fd;
      const e = errno();
      if (e !== 4 && e !== 11) throw new SysError("open", e, path);
    }
  }

  close(): void {
    sym.close(this.fd);
  }
}

/** openat(DIR, NAME) of one name in an opened directory, never following a symlink there. */
export function openIn(dir: number, name: string, flags: number, mode = 0): number {
  if (name.includes("/") || name === "." || name === "..") throw new Error(`not a single name: ${JSON.stringify(name)}`);
  return check(fx().openat(dir, cstr(name), flags | O_NOFOLLOW | O_CLOEXEC, mode), "open", name);
}

export function mkdirIn(dir: number, name: string, mode: number): void {
  check(fx().mkdirat(dir, cstr(name), mode), "mkdir", name);
}

export function symlinkIn(target: string, dir: number, name: string): void {
  check(fx().symlinkat(cstr(target), dir, cstr(name)), "symlink", name);
}

/** The target of the symlink an O_PATH|O_NOFOLLOW descriptor refers to. */
export function readlinkFd(fd: number): string {
  const buf = Buffer.allocUnsafe(4096);
  const n = check(fx().readlinkat(fd, EMPTY, ptr(buf), BigInt(buf.length)), "readlink");
  return buf.subarray(0, n).toString("utf8");
}

export function fchmod(fd: number, mode: number): void {
  check(fx().fchmod(fd, mode), "chmod");
}

/** Sets the owner of a descriptor's file (also of a symlink through O_PATH). */
export function fchown(fd: number, uid: number, gid: number): void {
  check(fx().fchownat(fd, EMPTY, uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), "chown");
}

/** The names in an opened directory (without . and ..). */
export function namesIn(dir: number): string[] {
  const copy = check(fx().dup(dir), "dup");
  const d = fx().fdopendir(copy);
  if (d === null) {
    const e = errno();
    sym.close(copy);
    throw new SysError("opendir", e);
  }
  return drainDir(d)
    .map(([name]) => name)
    .sort();
}

/**
 * Opens what AT(flags) names for reading, once an O_PATH look says it is a
 * plain file or a directory (a device or FIFO is never opened: it could block
 * or act); otherwise returns the O_PATH descriptor. O_NONBLOCK and an inode
 * check guard against a swap between the look and the open.
 */
export function openForReading(at: (flags: number) => number): { fd: number; st: FdStat } {
  const probe = at(O_PATH | O_NOFOLLOW);
  const st = fdStat(probe);
  const k = kind(st.mode);
  if (k !== "file" && k !== "dir") return { fd: probe, st };
  sym.close(probe);
  const fd = at(O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (k === "dir" ? O_DIRECTORY : 0));
  const again = fdStat(fd);
  if (again.ino !== st.ino || kind(again.mode) !== k) {
    sym.close(fd);
    throw new Error("a file changed while it was being read; try again");
  }
  return { fd, st };
}

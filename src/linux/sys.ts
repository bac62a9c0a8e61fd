// Linux calls Bun lacks, through libc (libc.ts): flock, mknod, xattrs,
// mount/umount, fifos, memfds. Each throws a SysError carrying `code` (e.g.
// "EEXIST") on failure.
import { FFIType, ptr } from "bun:ffi";
import { check, cstr, errno, lazyLibc, sym, SYS_mount_setattr, SYS_open_tree, SysError } from "./libc.ts";
import { readFileSync, writeSync } from "./fs.ts";
import { callerMode } from "./caller.ts";

export { SysError };

export const LOCK_SH = 1;
export const LOCK_EX = 2;
const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2), waiting for the lock. */
export function flock(fd: number, op: number): void {
  for (;;) {
    if (sym.flock(fd, op) === 0) return;
    const e = errno();
    if (e !== 4) throw new SysError("flock", e);
  }
}

/** flock(2) without blocking: true when taken, false when held elsewhere. */
export function tryFlock(fd: number, op: number): boolean {
  const r = sym.flock(fd, op | LOCK_NB);
  if (r === 0) return true;
  const e = errno();
  if (e === 11) return false;
  throw new SysError("flock", e);
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major),
    mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** A dev_t's (st_rdev, /proc's tty_nr) major and minor numbers: makedev's inverse. */
export function majorMinor(dev: number | bigint): { major: number; minor: number } {
  const d = BigInt(dev);
  return { major: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)), minor: Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n)) };
}

export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check(sym.mknod(cstr(path), mode, makedev(major, minor)), "mknod", path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const buf = value.length === 0 ? new Uint8Array(1) : value;
  check(sym.lsetxattr(cstr(path), cstr(name), ptr(buf), BigInt(value.length), 0), "lsetxattr", path);
}

export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(65536);
  const r = Number(sym.lgetxattr(cstr(path), cstr(name), ptr(buf), BigInt(buf.length)));
  if (r < 0) {
    const e = errno();
    if (e === 61) return undefined;
    throw new SysError("lgetxattr", e, path);
  }
  return Buffer.from(buf.subarray(0, r));
}

export function llistxattr(path: string): string[] {
  const buf = Buffer.alloc(65536);
  const r = Number(sym.llistxattr(cstr(path), ptr(buf), BigInt(buf.length)));
  if (r < 0) {
    const e = errno();
    if (e === 95) return [];
    throw new SysError("llistxattr", e, path);
  }
  return buf
    .subarray(0, r)
    .toString("utf8")
    .split("\0")
    .filter((s) => s.length > 0);
}

export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check(sym.mount(cstr(source), cstr(target), cstr(fstype), BigInt(flags), cstr(data)), "mount", target);
}

export const MNT_DETACH = 2;
export function umount2(target: string, flags = 0): void {
  check(sym.umount2(cstr(target), flags), "umount", target);
}

const F_GETFL = 3,
  F_SETFL = 4,
  O_NONBLOCK = 0o4000;
/** Makes a file descriptor blocking (Bun hands out non-blocking sockets). */
export function setBlocking(fd: number): void {
  const fl = sym.fcntl(fd, F_GETFL, 0);
  check(fl, "fcntl");
  check(sym.fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), "fcntl");
}

const MFD_CLOEXEC = 1,
  MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033,
  F_SEAL_SEAL = 1,
  F_SEAL_SHRINK = 2,
  F_SEAL_GROW = 4,
  F_SEAL_WRITE = 8;

/**
 * A sealed in-memory copy of a file (no one can change it once made): its
 * descriptor, close-on-exec. The node agent runs every berth-core from one.
 */
export function sealedCopy(path: string, name: string): number {
  const data = readFileSync(path);
  const fd = sym.memfd_create(cstr(name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  check(fd, "memfd_create", name);
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off);
  check(sym.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), "fcntl(F_ADD_SEALS)", name);
  return fd;
}

// open_tree(2) and mount_setattr(2): the same numbers on every architecture
const OPEN_TREE_CLONE = 1,
  OPEN_TREE_CLOEXEC = 0o2000000,
  AT_FDCWD = -100,
  AT_EMPTY_PATH = 0x1000;
const MOUNT_ATTR_RDONLY = 1n,
  MOUNT_ATTR_NOSUID = 2n,
  MOUNT_ATTR_NODEV = 4n;

/**
 * A private, read-only copy of the mount holding DIR, rooted at DIR and
 * attached nowhere: its descriptor (close-on-exec), or -1 where the caller may
 * not make one (no CAP_SYS_ADMIN: rootless). A program executed through it
 * (`/proc/PID/fd/N/NAME`) cannot be written through its `/proc/PID/exe`, and
 * no one else can make that mount writable again.
 */
export function readonlyTree(dir: string): number {
  const path = cstr(dir);
  const fd = Number(sym.syscall(SYS_open_tree, AT_FDCWD, ptr(path), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, 0, 0, 0));
  if (fd < 0) return -1;
  const attr = Buffer.alloc(32); // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
  attr.writeBigUInt64LE(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
  const empty = cstr("");
  if (Number(sym.syscall(SYS_mount_setattr, fd, ptr(empty), AT_EMPTY_PATH, ptr(attr), 32, 0)) < 0) {
    sym.close(fd);
    return -1;
  }
  return fd;
}

const PR_SET_CHILD_SUBREAPER = 36;
export function setChildSubreaper(): void {
  check(sym.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n), "prctl(PR_SET_CHILD_SUBREAPER)");
}

const pollLib = lazyLibc({ poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 } });

/**
 * Whether the mount table changed since the last check on WATCH, an open
 * /proc/self/mountinfo (or since it was opened): the kernel reports POLLPRI
 * (and POLLERR) on it once after each mount or unmount.
 */
export function mountsChanged(watch: number): boolean {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(watch, 0);
  pfd.writeInt16LE(2 /* POLLPRI */, 4);
  const r = pollLib().poll(pfd, 1n, 0);
  // a failed poll (EINTR, ENOMEM): read it again rather than trust an old answer
  return r !== 0 && (r < 0 || (pfd.readInt16LE(6) & (2 | 8)) !== 0);
}

export function mkfifo(path: string, mode: number): void {
  check(sym.mkfifo(cstr(path), callerMode(mode)), "mkfifo", path);
}

/** open(2), which may block (a FIFO waiting for its writer). */
export function openBlocking(path: string, flags: number): number {
  for (;;) {
    const fd = sym.open(cstr(path), flags | 0o2000000 /* O_CLOEXEC */, 0);
    if (fd >= 0) return fd;
    const e = errno();
    if (e !== 4) throw new SysError("open", e, path);
  }
}

/** read(2) on a blocking descriptor; 0 bytes at end of file. */
export function readBlocking(fd: number, buf: Uint8Array): number {
  for (;;) {
    const n = Number(sym.read(fd, ptr(buf), BigInt(buf.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e !== 4) throw new SysError("read", e);
  }
}

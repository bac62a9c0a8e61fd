// libc through bun:ffi, for the calls Bun has no cheaper way to make: one
// table of symbols (bound once per process), errno, and the error type every
// wrapper throws. The wrappers live in sys.ts (locks, devices, xattrs, mounts)
// and fs.ts (files and directories). The only module that calls dlopen: tables
// that only some callers need (the agent's sockets, device programs, files in a
// container's root) are bound on first use through lazyLibc.
import { dlopen, FFIType, read, type ConvertFns, type FFIFunction } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: FFIType.ptr },
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  mknod: { args: [FFIType.cstring, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
  lsetxattr: {
    args: [FFIType.cstring, FFIType.cstring, FFIType.ptr, FFIType.u64, FFIType.i32],
    returns: FFIType.i32,
  },
  lgetxattr: { args: [FFIType.cstring, FFIType.cstring, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  llistxattr: { args: [FFIType.cstring, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  mount: {
    args: [FFIType.cstring, FFIType.cstring, FFIType.cstring, FFIType.u64, FFIType.cstring],
    returns: FFIType.i32,
  },
  umount2: { args: [FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  mkfifo: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  open: { args: [FFIType.cstring, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  fsync: { args: [FFIType.i32], returns: FFIType.i32 },
  mkdir: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  rmdir: { args: [FFIType.cstring], returns: FFIType.i32 },
  unlink: { args: [FFIType.cstring], returns: FFIType.i32 },
  rename: { args: [FFIType.cstring, FFIType.cstring], returns: FFIType.i32 },
  chmod: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  access: { args: [FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  readlink: { args: [FFIType.cstring, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  statx: { args: [FFIType.i32, FFIType.cstring, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  opendir: { args: [FFIType.cstring], returns: FFIType.ptr },
  readdir64: { args: [FFIType.ptr], returns: FFIType.ptr },
  closedir: { args: [FFIType.ptr], returns: FFIType.i32 },
  syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 },
});
export const sym = libc.symbols;

/**
 * A further table of libc symbols, bound on the first call of the returned
 * function (so that callers that never use them do not pay for binding).
 */
export function lazyLibc<T extends Record<string, FFIFunction>>(table: T): () => ConvertFns<T> {
  let bound: ConvertFns<T> | undefined;
  return () => (bound ??= dlopen("libc.so.6", table).symbols);
}

// System call numbers. Those below 424 differ by architecture (process.arch →
// number, from each architecture's unistd table); from 424 up they are the same
// on every architecture Bun runs on.
const SYSCALLS_BY_ARCH: Record<string, Record<string, number>> = {
  bpf: { x64: 321, arm64: 280, riscv64: 280, loong64: 280, ia32: 357, arm: 386, ppc64: 361, s390x: 351 },
};
export const SYS_open_tree = 428,
  SYS_openat2 = 437,
  SYS_mount_setattr = 442;

/** The number of system call NAME on this architecture; throws where unknown. */
export function syscallNumber(name: "bpf", arch: string = process.arch): number {
  const n = SYSCALLS_BY_ARCH[name]?.[arch];
  if (n === undefined) throw new Error(`the ${name} system call's number is not known for ${arch}`);
  return n;
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  8: "ENOEXEC",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  75: "EOVERFLOW",
  95: "EOPNOTSUPP",
  122: "EDQUOT",
};

/** The name of errno N ("EACCES"), or E<N> for one not listed here. */
export function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `E${n}`;
}

export function errno(): number {
  const p = sym.__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly path?: string,
  ) {
    const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${call}${path !== undefined ? ` ${path}` : ""}: ${name} (${String(sym.strerror(errno))})`);
    this.name = "SysError";
  }
  get code(): string {
    return errnoName(this.errno);
  }
}

/**
 * The errno name ("EACCES") an error carries: its own `code` (a SysError, or
 * node's errors), else that of its `cause`, and so on down the chain. Callers
 * decide on this value, never on the message's text.
 */
export function errnoCode(e: unknown): string | undefined {
  for (let c = e, depth = 0; c && typeof c === "object" && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  }
  return undefined;
}

/** A NUL-terminated copy of S, for a `cstring` argument. */
export function cstr(s: string): Buffer {
  return Buffer.from(s + "\0");
}

/** Throws a SysError when a call returned a negative value; returns the value. */
export function check(r: number | bigint, call: string, path?: string): number {
  const n = Number(r);
  if (n < 0) throw new SysError(call, errno(), path);
  return n;
}

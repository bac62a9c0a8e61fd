// Files and directories through libc (libc.ts), for the runtime's own path.
// Loading node:fs costs a runtime call about 1 ms before it does anything
// (Bun builds it from JavaScript at start-up), and an OCI runtime is started
// once per lifecycle step; so the runtime (spec, cgroups, state, core) uses
// these instead. The names and behaviour follow node:fs where they overlap;
// errors are SysErrors with node's `code` ("ENOENT", "EEXIST", ...).
// The engine, which loads far more, keeps using node:fs.
import { CString, ptr, read, type Pointer } from "bun:ffi";
import { check, cstr, errno, sym, SysError } from "./libc.ts";
import { callerMode } from "./caller.ts";

const O_RDONLY = 0,
  O_WRONLY = 1,
  O_CREAT = 0o100,
  O_EXCL = 0o200,
  O_TRUNC = 0o1000,
  O_APPEND = 0o2000;
const O_DIRECTORY = 0o200000,
  O_CLOEXEC = 0o2000000,
  O_NONBLOCK = 0o4000;
const EINTR = 4,
  ENOENT = 2,
  EEXIST = 17,
  EISDIR = 21,
  EINVAL = 22,
  EFBIG = 27;

/** node's flag strings that the runtime uses. */
const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_TRUNC | O_EXCL,
  a: O_WRONLY | O_CREAT | O_APPEND,
};

/** open(2), always close-on-exec. FLAGS: "r", "w", "wx", "a" or open(2) flags. */
export function openSync(path: string, flags: string | number = "r", mode = 0o666): number {
  const f = typeof flags === "number" ? flags : FLAGS[flags];
  if (f === undefined) throw new Error(`openSync: unsupported flags ${flags}`);
  const p = cstr(path);
  const m = f & O_CREAT ? callerMode(mode) : mode;
  for (;;) {
    const fd = sym.open(p, f | O_CLOEXEC, m);
    if (fd >= 0) return fd;
    const e = errno();
    if (e !== EINTR) throw new SysError("open", e, path);
  }
}

export function closeSync(fd: number): void {
  check(sym.close(fd), "close");
}

/** read(2) into BUF; 0 at end of file. */
export function readSync(fd: number, buf: Uint8Array): number {
  if (buf.length === 0) return 0;
  for (;;) {
    const n = Number(sym.read(fd, ptr(buf), BigInt(buf.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SysError("read", e);
  }
}

/** write(2) of DATA from byte OFFSET; returns the bytes written (maybe fewer). */
export function writeSync(fd: number, data: Uint8Array | string, offset = 0): number {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  if (offset >= buf.length) return 0;
  const part = offset > 0 ? buf.subarray(offset) : buf;
  for (;;) {
    const n = Number(sym.write(fd, ptr(part), BigInt(part.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SysError("write", e);
  }
}

function writeAll(fd: number, data: Uint8Array | string, path?: string): void {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if (e instanceof SysError && path !== undefined) throw new SysError("write", e.errno, path);
      throw e;
    }
  }
}

function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  let chunk = Buffer.allocUnsafe(8192);
  for (;;) {
    const n = readSync(fd, chunk);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    size += n;
    if (n === chunk.length) chunk = Buffer.allocUnsafe(Math.min(chunk.length * 2, 1 << 20));
    else chunk = chunk.subarray(n);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** The whole file (or descriptor, e.g. 0 for stdin): a string with "utf8", else bytes. */
export function readFileSync(path: string | number, encoding: "utf8"): string;
export function readFileSync(path: string | number): Buffer;
export function readFileSync(path: string | number, encoding?: "utf8"): string | Buffer {
  let data: Buffer;
  if (typeof path === "number") data = readAll(path);
  else {
    const fd = openSync(path, "r");
    try {
      data = readAll(fd);
    } catch (e) {
      if (e instanceof SysError) throw new SysError("read", e.errno, path);
      throw e;
    } finally {
      sym.close(fd);
    }
  }
  return encoding ? data.toString("utf8") : data;
}

/**
 * A regular file of at most MAX bytes, as text: anything else (a device, a
 * FIFO, a socket, a directory, or a symlink to one of them) fails at once with
 * EINVAL ("not a regular file"), a larger file with EFBIG, without reading it.
 * Opened non-blocking so that a FIFO cannot hold the caller.
 */
export function readRegularFileSync(path: string, max: number): string {
  const fd = openSync(path, O_RDONLY | O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SysError("read", EINVAL, path);
    if (st.size > max) throw new SysError("read", EFBIG, path);
    // the file may grow meanwhile: never read more than one byte past MAX
    let buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const more = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
        buf.copy(more);
        buf = more;
      }
      const r = readSync(fd, buf.subarray(n));
      if (r === 0) break;
      n += r;
      if (n > max) throw new SysError("read", EFBIG, path);
    }
    return buf.subarray(0, n).toString("utf8");
  } finally {
    sym.close(fd);
  }
}

/** Writes DATA to a path (created with MODE, truncated) or to an open descriptor. */
export function writeFileSync(path: string | number, data: Uint8Array | string, opts: { mode?: number; flag?: string } = {}): void {
  if (typeof path === "number") return writeAll(path, data);
  const fd = openSync(path, opts.flag ?? "w", opts.mode ?? 0o666);
  try {
    writeAll(fd, data, path);
  } finally {
    sym.close(fd);
  }
}

export function appendFileSync(path: string, data: Uint8Array | string): void {
  writeFileSync(path, data, { flag: "a" });
}

/** Whether PATH exists (following symbolic links), as node's existsSync. */
export function existsSync(path: string): boolean {
  return sym.access(cstr(path), 0 /* F_OK */) === 0;
}

export function mkdirSync(path: string, opts: { recursive?: boolean; mode?: number } = {}): void {
  const mode = callerMode(opts.mode ?? 0o777);
  if (sym.mkdir(cstr(path), mode) === 0) return;
  const e = errno();
  if (opts.recursive) {
    if (e === EEXIST && statOrUndefined(path)?.isDirectory()) return;
    if (e === ENOENT) {
      const parent = path.replace(/\/+[^/]*\/*$/, "") || "/";
      if (parent !== path) {
        mkdirSync(parent, opts);
        if (sym.mkdir(cstr(path), mode) === 0) return;
        const e2 = errno();
        if (e2 === EEXIST && statOrUndefined(path)?.isDirectory()) return;
        throw new SysError("mkdir", e2, path);
      }
    }
  }
  throw new SysError("mkdir", e, path);
}

export function rmdirSync(path: string): void {
  check(sym.rmdir(cstr(path)), "rmdir", path);
}

export function unlinkSync(path: string): void {
  check(sym.unlink(cstr(path)), "unlink", path);
}

export function renameSync(from: string, to: string): void {
  check(sym.rename(cstr(from), cstr(to)), "rename", to);
}

export function chmodSync(path: string, mode: number): void {
  check(sym.chmod(cstr(path), mode), "chmod", path);
}

export function fsyncSync(fd: number): void {
  check(sym.fsync(fd), "fsync");
}

export function readlinkSync(path: string): string {
  const buf = Buffer.allocUnsafe(4096);
  const n = check(sym.readlink(cstr(path), ptr(buf), BigInt(buf.length)), "readlink", path);
  return buf.subarray(0, n).toString("utf8");
}

const S_IFMT = 0o170000,
  S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000;

/** What the runtime reads of a file's status. */
export class Stats {
  constructor(
    readonly mode: number,
    readonly ino: number,
    readonly size: number,
    readonly uid: number,
    readonly gid: number,
  ) {}
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
}

const AT_FDCWD = -100,
  AT_SYMLINK_NOFOLLOW = 0x100,
  AT_EMPTY_PATH = 0x1000,
  STATX_BASIC_STATS = 0x7ff;
const EMPTY = cstr("");

function statx(dirfd: number, path: Buffer, flags: number, what: string, name?: string): Stats {
  // struct statx (linux/stat.h): the same layout on every architecture
  const b = Buffer.alloc(256);
  check(sym.statx(dirfd, path, flags, STATX_BASIC_STATS, ptr(b)), what, name);
  return new Stats(b.readUInt16LE(28), Number(b.readBigUInt64LE(32)), Number(b.readBigUInt64LE(40)), b.readUInt32LE(20), b.readUInt32LE(24));
}

export function statSync(path: string): Stats {
  return statx(AT_FDCWD, cstr(path), 0, "stat", path);
}

export function lstatSync(path: string): Stats {
  return statx(AT_FDCWD, cstr(path), AT_SYMLINK_NOFOLLOW, "lstat", path);
}

export function fstatSync(fd: number): Stats {
  return statx(fd, EMPTY, AT_EMPTY_PATH, "fstat");
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined; // whatever the error, no directory is there: the caller reports its EEXIST
  }
}

const DT_DIR = 4,
  DT_REG = 8,
  DT_LNK = 10,
  DT_UNKNOWN = 0;

/** A directory entry, with the type the directory reports (d_type). */
export class Dirent {
  constructor(
    readonly name: string,
    private readonly type: number,
    private readonly dir: string,
  ) {}
  private kind(): number {
    if (this.type !== DT_UNKNOWN) return this.type;
    const m = lstatSync(`${this.dir}/${this.name}`).mode & S_IFMT;
    return m === S_IFDIR ? DT_DIR : m === S_IFREG ? DT_REG : m === S_IFLNK ? DT_LNK : -1;
  }
  isDirectory(): boolean {
    return this.kind() === DT_DIR;
  }
  isFile(): boolean {
    return this.kind() === DT_REG;
  }
  isSymbolicLink(): boolean {
    return this.kind() === DT_LNK;
  }
}

/**
 * Reads an open directory stream (opendir/fdopendir) to its end and closes it:
 * each entry's name and d_type, without . and ..
 */
export function drainDir(d: Pointer | bigint): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  try {
    for (;;) {
      const e = sym.readdir64(d);
      if (e === null) break;
      // struct dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name
      const name = new CString(e, 19).toString();
      if (name !== "." && name !== "..") out.push([name, read.u8(e, 18)]);
    }
  } finally {
    sym.closedir(d);
  }
  return out;
}

function entries(path: string): Dirent[] {
  const d = sym.opendir(cstr(path));
  if (d === null) throw new SysError("opendir", errno(), path);
  return drainDir(d).map(([name, type]) => new Dirent(name, type, path));
}

/** The names in a directory (without . and ..), or its entries with their types. */
export function readdirSync(path: string): string[];
export function readdirSync(path: string, opts: { withFileTypes: true }): Dirent[];
export function readdirSync(path: string, opts?: { withFileTypes: true }): string[] | Dirent[] {
  const list = entries(path);
  return opts?.withFileTypes ? list : list.map((e) => e.name);
}

/** Removes a file, or with `recursive` a directory tree; `force` ignores a missing path. */
export function rmSync(path: string, opts: { recursive?: boolean; force?: boolean } = {}): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (opts.force && e instanceof SysError && e.errno === ENOENT) return;
    throw e;
  }
  if (!st.isDirectory()) {
    if (sym.unlink(cstr(path)) === 0) return;
    const e = errno();
    if (opts.force && e === ENOENT) return;
    throw new SysError("unlink", e, path);
  }
  if (!opts.recursive) throw new SysError("rm", EISDIR, path);
  for (const e of entries(path)) rmSync(`${path}/${e.name}`, { recursive: true, force: true });
  if (sym.rmdir(cstr(path)) === 0) return;
  const e = errno();
  if (opts.force && e === ENOENT) return;
  throw new SysError("rmdir", e, path);
}

export const constants = { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_CLOEXEC };

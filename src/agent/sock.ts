// The agent's unix socket calls that Bun has no way to make: a listening
// socket, accept, the peer's credentials (SO_PEERCRED), descriptors received
// with SCM_RIGHTS, poll. A table of its own beside libc.ts's: only the agent
// loads it, so no runtime call pays for binding these symbols.
import { FFIType, ptr } from "bun:ffi";
import { errno, lazyLibc, SysError } from "../linux/libc.ts";

const lib = lazyLibc({
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  accept4: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recvmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
  sendmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
  memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  umask: { args: [FFIType.u32], returns: FFIType.u32 },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
});
const c = lib();

const AF_UNIX = 1,
  SOCK_STREAM = 1,
  SOCK_NONBLOCK = 0o4000,
  SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1,
  SO_PEERCRED = 17,
  SO_RCVTIMEO = 20,
  SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000,
  MSG_CMSG_CLOEXEC = 0x40000000;
const EINTR = 4,
  EAGAIN = 11;
export const POLLIN = 1,
  POLLERR = 8,
  POLLHUP = 16;

function fail(call: string, path?: string): never {
  throw new SysError(call, errno(), path);
}

function unixAddress(path: string, call: string): { sa: Buffer; len: number } {
  const sa = Buffer.alloc(110);
  sa.writeUInt16LE(AF_UNIX, 0);
  const name = Buffer.from(path);
  if (name.length > 107) throw new SysError(call, 36, path);
  name.copy(sa, 2);
  return { sa, len: 2 + name.length + 1 };
}

/** Whether something accepts connections on the unix socket PATH. */
export function listening(path: string): boolean {
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  const { sa, len } = unixAddress(path, "connect");
  const r = c.connect(fd, sa, len);
  c.close(fd);
  return r === 0;
}

/** A non-blocking listening unix socket at PATH, mode 0600 (only its owner can connect). */
export function listenUnix(path: string): number {
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  const { sa, len } = unixAddress(path, "bind");
  // made 0600 from the start: no moment where another user could connect
  const old = c.umask(0o177);
  const r = c.bind(fd, sa, len);
  c.umask(old);
  if (r < 0) {
    const e = errno();
    c.close(fd);
    throw new SysError("bind", e, path);
  }
  if (c.listen(fd, 128) < 0) fail("listen", path);
  return fd;
}

/** A listening socket handed over (systemd's socket activation): made non-blocking and close-on-exec. */
export function adoptListener(fd: number): number {
  const F_GETFL = 3,
    F_SETFL = 4,
    F_SETFD = 2,
    FD_CLOEXEC = 1;
  const fl = c.fcntl(fd, F_GETFL, 0);
  if (fl < 0 || c.fcntl(fd, F_SETFL, fl | SOCK_NONBLOCK) < 0 || c.fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) fail("fcntl (the activated socket)");
  return fd;
}

/** A pending connection (blocking, close-on-exec), or -1 when none is waiting. */
export function accept(listener: number): number {
  for (;;) {
    const fd = c.accept4(listener, null, null, SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    const e = errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) return -1;
    throw new SysError("accept", e);
  }
}

/** The connected peer's process id and user id (SO_PEERCRED). */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const cred = Buffer.alloc(12);
  const len = new Uint32Array([12]);
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) < 0) fail("getsockopt(SO_PEERCRED)");
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}

/** Reads on FD give up after MS milliseconds (EAGAIN). */
export function setReceiveTimeout(fd: number, ms: number): void {
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  if (c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) < 0) fail("setsockopt(SO_RCVTIMEO)");
}

/**
 * Receives bytes into BUF and the descriptors sent with them (close-on-exec
 * here). 0 bytes: end of file; with NONBLOCKING, -1: nothing waits (EAGAIN).
 */
export function receiveWithFds(fd: number, buf: Buffer, maxFds = 8, nonBlocking = false): { n: number; fds: number[] } {
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(BigInt(ptr(buf)), 0);
  iov.writeBigUInt64LE(BigInt(buf.length), 8);
  const control = Buffer.alloc(16 + 4 * maxFds + 8);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(BigInt(ptr(iov)), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(BigInt(ptr(control)), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  let n: number;
  for (;;) {
    n = Number(c.recvmsg(fd, msg, MSG_CMSG_CLOEXEC | (nonBlocking ? 0x40 /* MSG_DONTWAIT */ : 0)));
    if (n >= 0) break;
    const e = errno();
    if (e === EAGAIN && nonBlocking) return { n: -1, fds: [] };
    if (e !== EINTR) throw new SysError("recvmsg", e);
  }
  const fds: number[] = [];
  const clen = Number(msg.readBigUInt64LE(40));
  let off = 0;
  while (off + 16 <= clen) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < 16) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let i = off + 16; i + 4 <= off + len; i += 4) fds.push(control.readInt32LE(i));
    }
    off += (len + 7) & ~7;
  }
  return { n, fds };
}

/** recv(2): bytes into BUF; 0 at end of file, -1 when nothing came in time (or none waits, non-blocking). */
export function receive(fd: number, buf: Buffer, nonBlocking = false): number {
  for (;;) {
    const n = Number(c.recv(fd, buf, BigInt(buf.length), nonBlocking ? 0x40 /* MSG_DONTWAIT */ : 0));
    if (n >= 0) return n;
    const e = errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) return -1;
    throw new SysError("recv", e);
  }
}

/** Whether the peer has closed its end (end of file waits; data it sent stays unread). */
export function peerClosed(fd: number): boolean {
  const one = Buffer.alloc(1);
  for (;;) {
    const n = Number(c.recv(fd, one, 1n, 0x40 /* MSG_DONTWAIT */ | 0x2 /* MSG_PEEK */));
    if (n >= 0) return n === 0;
    const e = errno();
    if (e === EINTR) continue;
    return e !== EAGAIN;
  }
}

/** Sends all of TEXT; false when the peer is gone. */
export function sendText(fd: number, text: string): boolean {
  const b = Buffer.from(text);
  let off = 0;
  while (off < b.length) {
    const n = Number(c.send(fd, b.subarray(off), BigInt(b.length - off), MSG_NOSIGNAL));
    if (n < 0) {
      if (errno() === EINTR) continue;
      return false;
    }
    off += n;
  }
  return true;
}

/** send(2) of BUF without waiting: the bytes sent, -2 when there is no room now, -1 when the peer is gone. */
export function sendNow(fd: number, buf: Buffer): number {
  for (;;) {
    const n = Number(c.send(fd, buf, BigInt(buf.length), MSG_NOSIGNAL | 0x40 /* MSG_DONTWAIT */));
    if (n >= 0) return n;
    const e = errno();
    if (e === EINTR) continue;
    return e === EAGAIN ? -2 : -1;
  }
}

/** poll(2) on FDS for input: each one's revents (0: nothing). */
export function pollIn(fds: number[], timeoutMs: number): number[] {
  const pfd = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    pfd.writeInt32LE(fd, 8 * i);
    pfd.writeInt16LE(POLLIN, 8 * i + 4);
  });
  const r = c.poll(pfd, BigInt(fds.length), timeoutMs);
  if (r < 0 && errno() !== EINTR) fail("poll");
  return fds.map((_, i) => (r > 0 ? pfd.readInt16LE(8 * i + 6) : 0));
}

export function closeFd(fd: number): void {
  c.close(fd);
}

// Device access control on cgroup v2: an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE, generated here from the rules and attached to the
// cgroup with the bpf(2) system call (through libc's syscall(), via bun:ffi).
//
// The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// where access_type = (access << 16) | type, type 1 = block, 2 = char, access bits
// 1 = mknod, 2 = read, 4 = write. It returns 1 to allow, 0 to deny.
//
// Semantics (the same as deviceAllowed() in devices.ts): default deny; for each
// requested access bit, the last rule in the list that matches the device and
// carries that bit decides.
import { FFIType, ptr } from "bun:ffi";
import { errno, lazyLibc, syscallNumber } from "../linux/libc.ts";
import { CgroupError } from "./types.ts";
import { trace } from "../linux/trace.ts";
import { ACC_MKNOD, ACC_READ, ACC_WRITE, type DeviceRule } from "./devices.ts";

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

// ---- a tiny eBPF assembler ----
type Insn = { op: number; dst: number; src: number; off: number | string; imm: number } | { label: string };

const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const JMP_JA = 0x05;
const JMP_JEQ_K = 0x15;
const JMP_JNE_K = 0x55;
const JMP_EXIT = 0x95;

const I = (op: number, dst: number, src: number, off: number | string, imm: number): Insn => ({ op, dst, src, off, imm });

/** Generates the program for the rules; returns the raw instructions (8 bytes each). */
export function deviceProgram(rules: DeviceRule[]): Uint8Array {
  const code: Insn[] = [];
  let n = 0;
  const label = () => `L${n++}`;
  // r2 = type, r3 = access, r4 = major, r5 = minor
  code.push(I(LDX_W, 2, 1, 0, 0), I(ALU64_AND_K, 2, 0, 0, 0xffff));
  code.push(I(LDX_W, 3, 1, 0, 0), I(ALU64_RSH_K, 3, 0, 0, 16));
  code.push(I(LDX_W, 4, 1, 4, 0), I(LDX_W, 5, 1, 8, 0));
  for (const bit of [ACC_MKNOD, ACC_READ, ACC_WRITE]) {
    const nextBit = label();
    // if (!(access & bit)) goto nextBit
    code.push(I(ALU64_MOV_X, 0, 3, 0, 0), I(ALU64_AND_K, 0, 0, 0, bit), I(JMP_JEQ_K, 0, 0, nextBit, 0));
    let decided = false;
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i]!;
      if (!(r.access & bit)) continue;
      const any = r.type === "a" && r.major === -1 && r.minor === -1;
      const next = label();
      if (r.type !== "a") code.push(I(JMP_JNE_K, 2, 0, next, r.type === "b" ? 1 : 2));
      if (r.major !== -1) code.push(I(JMP_JNE_K, 4, 0, next, r.major));
      if (r.minor !== -1) code.push(I(JMP_JNE_K, 5, 0, next, r.minor));
      if (r.allow) code.push(I(JMP_JA, 0, 0, nextBit, 0));
      else code.push(I(ALU64_MOV_K, 0, 0, 0, 0), I(JMP_EXIT, 0, 0, 0, 0));
      if (any) {
        // a rule matching every device decides alone: nothing after it can be
        // reached (and the verifier refuses unreachable instructions)
        decided = true;
        break;
      }
      code.push({ label: next });
    }
    // no rule decided: deny
    if (!decided) code.push(I(ALU64_MOV_K, 0, 0, 0, 0), I(JMP_EXIT, 0, 0, 0, 0));
    code.push({ label: nextBit });
  }
  code.push(I(ALU64_MOV_K, 0, 0, 0, 1), I(JMP_EXIT, 0, 0, 0, 0));

  // resolve labels to instruction indexes
  const at = new Map<string, number>();
  let idx = 0;
  for (const c of code) {
    if ("label" in c) at.set(c.label, idx);
    else idx++;
  }
  const out = new Uint8Array(idx * 8);
  const dv = new DataView(out.buffer);
  let pc = 0;
  for (const c of code) {
    if ("label" in c) continue;
    let off = c.off;
    if (typeof off === "string") off = at.get(off)! - (pc + 1);
    dv.setUint8(pc * 8, c.op);
    dv.setUint8(pc * 8 + 1, (c.src << 4) | c.dst);
    dv.setInt16(pc * 8 + 2, off, true);
    dv.setInt32(pc * 8 + 4, c.imm, true);
    pc++;
  }
  return out;
}

// ---- the system calls ----
const lib = lazyLibc({
  syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  open: { args: [FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
});
let nrBpf: number | undefined;
function bpfNumber(): number {
  try {
    return (nrBpf ??= syscallNumber("bpf"));
  } catch (e) {
    throw new CgroupError(`device programs: ${(e as Error).message}`);
  }
}

function errnoText(e: number): string {
  return `${String(lib().strerror(e))} (errno ${e})`;
}

function bpf(cmd: number, attr: Uint8Array): number {
  const r = Number(lib().syscall(bpfNumber(), cmd, ptr(attr), attr.byteLength));
  if (r < 0) return -errno();
  return r;
}

function openDir(dir: string): number {
  const fd = lib().open(Buffer.from(dir + "\0"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw new CgroupError(`cannot open ${dir}: ${errnoText(errno())}`);
  return fd;
}

const ATTR_SIZE = 128;

function loadProgram(insns: Uint8Array, withLog = false): number {
  const license = Buffer.from("Apache-2.0\0");
  const logBuf = new Uint8Array(withLog ? 65536 : 0);
  const attr = new Uint8Array(ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  dv.setUint32(4, insns.byteLength / 8, true);
  dv.setBigUint64(8, BigInt(ptr(insns)), true);
  dv.setBigUint64(16, BigInt(ptr(license)), true);
  if (withLog) {
    dv.setUint32(24, 1, true); // log_level
    dv.setUint32(28, logBuf.byteLength, true);
    dv.setBigUint64(32, BigInt(ptr(logBuf)), true);
  }
  attr.set(Buffer.from("berth_devices"), 48); // prog_name
  const fd = bpf(BPF_PROG_LOAD, attr);
  if (fd < 0) {
    // the verifier's log only for a program it refused: logging every
    // instruction's state makes a load several times slower (about 3.5 ms
    // against well under 1 ms on a 16-CPU host)
    if (!withLog) return loadProgram(insns, true);
    const end = logBuf.indexOf(0);
    const log = new TextDecoder().decode(logBuf.subarray(0, end < 0 ? logBuf.length : end)).trim();
    throw new CgroupError(`loading the device eBPF program failed: ${errnoText(-fd)}${log ? `; verifier: ${log.slice(-400)}` : ""}`, "linux.resources.devices");
  }
  return fd;
}

/** Ids of the device programs attached to the cgroup directory (not inherited ones). */
function attachedDevicePrograms(cgFd: number): number[] {
  const ids = new Uint32Array(64);
  const attr = new Uint8Array(ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, cgFd, true);
  dv.setUint32(4, BPF_CGROUP_DEVICE, true);
  dv.setBigUint64(16, BigInt(ptr(ids)), true);
  dv.setUint32(24, ids.length, true);
  const r = bpf(BPF_PROG_QUERY, attr);
  if (r < 0) throw new CgroupError(`querying device programs failed: ${errnoText(-r)}`, "linux.resources.devices");
  const cnt = dv.getUint32(24, true);
  return [...ids.subarray(0, cnt)];
}

/** The id the kernel gave the program behind FD (bpf_prog_info.id). */
function programId(fd: number): number {
  const info = new Uint8Array(16);
  const attr = new Uint8Array(ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, fd, true);
  dv.setUint32(4, info.byteLength, true);
  dv.setBigUint64(8, BigInt(ptr(info)), true);
  const r = bpf(BPF_OBJ_GET_INFO_BY_FD, attr);
  if (r < 0) throw new CgroupError(`reading the device eBPF program's id failed: ${errnoText(-r)}`, "linux.resources.devices");
  return new DataView(info.buffer).getUint32(4, true);
}

/**
 * Loaded programs by their instructions: one program serves every cgroup
 * with the same rules (a program is immutable once loaded, and attaching it
 * takes a reference of its own). A long-running process (the agent) so loads
 * each rule set once; a load costs 0.2-0.7 ms of the kernel's verifier and JIT.
 */
const loaded = new Map<string, { fd: number; id: number }>();
const LOADED_MAX = 16;

function programFor(insns: Uint8Array): { fd: number; id: number } {
  const key = Buffer.from(insns.buffer, insns.byteOffset, insns.byteLength).toString("base64");
  const hit = loaded.get(key);
  if (hit) {
    // most recently used last
    loaded.delete(key);
    loaded.set(key, hit);
    return hit;
  }
  const fd = loadProgram(insns);
  let p: { fd: number; id: number };
  try {
    p = { fd, id: programId(fd) };
  } catch (e) {
    lib().close(fd);
    throw e;
  }
  loaded.set(key, p);
  if (loaded.size > LOADED_MAX) {
    const [oldest, old] = loaded.entries().next().value as [string, { fd: number }];
    loaded.delete(oldest);
    lib().close(old.fd);
  }
  return p;
}

/**
 * Attaches the program for the rules to the cgroup directory, replacing the
 * programs attached there before (new one first, so there is no gap); a
 * directory that has that very program already keeps it.
 */
export function attachDeviceFilter(dir: string, rules: DeviceRule[]): void {
  const insns = deviceProgram(rules);
  const cg = openDir(dir);
  try {
    const before = attachedDevicePrograms(cg);
    const prog = programFor(insns);
    trace("cgroup: device program loaded");
    if (!before.includes(prog.id)) {
      const attr = new Uint8Array(ATTR_SIZE);
      const dv = new DataView(attr.buffer);
      dv.setUint32(0, cg, true);
      dv.setUint32(4, prog.fd, true);
      dv.setUint32(8, BPF_CGROUP_DEVICE, true);
      dv.setUint32(12, BPF_F_ALLOW_MULTI, true);
      const r = bpf(BPF_PROG_ATTACH, attr);
      if (r < 0) throw new CgroupError(`attaching the device eBPF program to ${dir} failed: ${errnoText(-r)}`, "linux.resources.devices");
      trace("cgroup: device program attached");
    }
    for (const id of before) if (id !== prog.id) detachById(cg, id);
  } finally {
    lib().close(cg);
  }
}

function detachById(cg: number, id: number): void {
  const a = new Uint8Array(ATTR_SIZE);
  new DataView(a.buffer).setUint32(0, id, true);
  const pfd = bpf(BPF_PROG_GET_FD_BY_ID, a);
  if (pfd < 0) return; // already gone
  try {
    const attr = new Uint8Array(ATTR_SIZE);
    const dv = new DataView(attr.buffer);
    dv.setUint32(0, cg, true);
    dv.setUint32(4, pfd, true);
    dv.setUint32(8, BPF_CGROUP_DEVICE, true);
    const r = bpf(BPF_PROG_DETACH, attr);
    if (r < 0 && r !== -2) throw new CgroupError(`detaching the old device eBPF program failed: ${errnoText(-r)}`, "linux.resources.devices");
  } finally {
    lib().close(pfd);
  }
}

/** Number of device programs attached directly to the cgroup directory. */
export function countDevicePrograms(dir: string): number {
  const cg = openDir(dir);
  try {
    return attachedDevicePrograms(cg).length;
  } finally {
    lib().close(cg);
  }
}

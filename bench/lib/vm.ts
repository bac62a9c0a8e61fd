// The virtual-machine peer: QEMU's microvm machine on KVM.
//
// Two cases, detected at run time:
//  - "guest": a Linux guest (Debian's cloud kernel + a busybox initramfs built
//    here, whose init runs the workload and powers off) boots on /dev/kvm. The VM
//    column then shows full guests.
//  - "floor": no Linux guest boots (e.g. /dev/kvm is a paravirtual device in a
//    nested sandbox). Then only the virtual-machine monitor's own floor is
//    measured: QEMU microvm starting, running a 64 KiB firmware built here whose
//    first instructions write to the isa-debug-exit port, and exiting. A real VM
//    costs at least that, so the column is labelled a lower bound.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { firstLines, run, which } from "./util.ts";

export type VmMode = "guest" | "floor" | "none";

export interface VmProbe {
  mode: VmMode;
  why: string; // what was detected, for the report
  qemu: string | null;
  cpuArgs: string[];
  kernel: string | null;
  exitFw: string;
  haltFw: string;
}

/** Exit status QEMU returns when the guest writes V to isa-debug-exit: (V << 1) | 1. */
const EXIT_VALUE = 0x2a;
export const FLOOR_OK_STATUS = (EXIT_VALUE << 1) | 1;

/**
 * A 64 KiB firmware image (QEMU maps it below 4 GiB; the CPU starts in real mode
 * at its last 16 bytes). "exit": mov al,0x2a; out 0xf4,al (isa-debug-exit) then
 * halt. "halt": cli; hlt forever (an idle VM that never exits).
 */
export function writeFirmware(path: string, kind: "exit" | "halt"): void {
  const img = new Uint8Array(65536).fill(0xf4); // hlt
  const code =
    kind === "exit"
      ? [0xb0, EXIT_VALUE, 0xe6, 0xf4, 0xfa, 0xf4, 0xeb, 0xfd] // mov al,imm; out imm8,al; cli; hlt; jmp -3
      : [0xfa, 0xf4, 0xeb, 0xfd]; // cli; hlt; jmp -3
  img.set(code, 0xfff0);
  writeFileSync(path, img);
}

/**
 * KVM, always, for every figure. BERTH_BENCH_VM_ACCEL=tcg swaps in QEMU's
 * emulator: only to check the guest path (initramfs, modules, disk) on a host
 * whose KVM cannot boot Linux; such numbers are not comparable and say so.
 */
export function vmAccel(): "kvm" | "tcg" {
  return process.env.BERTH_BENCH_VM_ACCEL === "tcg" ? "tcg" : "kvm";
}

function accelArgs(): string[] {
  return vmAccel() === "tcg" ? ["-accel", "tcg"] : ["-enable-kvm"];
}

export function floorArgs(p: VmProbe, fw: string): string[] {
  return [
    p.qemu!,
    "-M",
    "microvm,x-option-roms=off,isa-serial=off,rtc=off,pit=off,pic=off",
    ...accelArgs(),
    ...p.cpuArgs,
    "-m",
    "16M",
    "-smp",
    "1",
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-bios",
    fw,
    "-device",
    "isa-debug-exit,iobase=0xf4,iosize=0x04",
  ];
}

// ---- initramfs (cpio "newc") -------------------------------------------------------

interface CpioEntry {
  name: string;
  mode: number; // including file type bits
  data?: Uint8Array;
  rdev?: [number, number];
}

function cpio(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  let off = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    off += b.length;
  };
  const pad = () => {
    const n = (4 - (off % 4)) % 4;
    if (n) push(new Uint8Array(n));
  };
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  let ino = 1;
  for (const e of [...entries, { name: "TRAILER!!!", mode: 0 }]) {
    const data = (e as CpioEntry).data ?? new Uint8Array(0);
    const rdev = (e as CpioEntry).rdev ?? [0, 0];
    const name = enc.encode(e.name + "\0");
    const hdr = "070701" + [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length, 0].map(hex).join("");
    push(enc.encode(hdr));
    push(name);
    pad();
    push(data);
    pad();
  }
  const out = new Uint8Array(off);
  let p = 0;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Modules NAMES (e.g. "virtio_blk") and their dependencies, in load order. */
function moduleFiles(kernelVersion: string, names: string[]): string[] {
  const base = `/lib/modules/${kernelVersion}`;
  const dep = new Map<string, string[]>();
  for (const l of readFileSync(`${base}/modules.dep`, "utf8").split("\n")) {
    const [m, rest] = l.split(":");
    if (m) dep.set(m, (rest ?? "").trim().split(/\s+/).filter(Boolean));
  }
  const order: string[] = [];
  const visit = (m: string) => {
    if (order.includes(m)) return;
    for (const d of [...(dep.get(m) ?? [])].reverse()) visit(d);
    order.push(m);
  };
  for (const n of names) {
    const m = [...dep.keys()].find((k) => k.endsWith(`/${n}.ko`));
    if (!m) throw new Error(`kernel module ${n} not found under ${base}`);
    visit(m);
  }
  return order.map((m) => `${base}/${m}`);
}

/**
 * A busybox initramfs whose /init mounts proc/sys/dev, loads MODULES, prints
 * BENCH-GUEST-UP, runs SCRIPT (sh), prints BENCH-GUEST-DONE and reboots (QEMU runs
 * with -no-reboot, so it exits).
 */
export function buildInitramfs(path: string, busybox: string, kernelVersion: string | null, script: string, modules: string[] = []): void {
  const enc = new TextEncoder();
  const mods = modules.length && kernelVersion ? moduleFiles(kernelVersion, modules) : [];
  const init =
    "#!/bin/busybox sh\n" +
    "/bin/busybox --install -s /bin\n" +
    "mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null\n" +
    mods.map((m, i) => `insmod /lib/m${i}.ko\n`).join("") +
    (mods.length ? "i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n" : "") +
    "echo BENCH-GUEST-UP\n" +
    script +
    "\necho BENCH-GUEST-DONE\nreboot -f\n";
  const entries: CpioEntry[] = [
    { name: "bin", mode: 0o40755 },
    { name: "sbin", mode: 0o40755 },
    { name: "proc", mode: 0o40755 },
    { name: "sys", mode: 0o40755 },
    { name: "dev", mode: 0o40755 },
    { name: "tmp", mode: 0o41777 },
    { name: "lib", mode: 0o40755 },
    { name: "dev/console", mode: 0o20600, rdev: [5, 1] },
    { name: "bin/busybox", mode: 0o100755, data: new Uint8Array(readFileSync(busybox)) },
    { name: "init", mode: 0o100755, data: enc.encode(init) },
    ...mods.map((m, i) => ({ name: `lib/m${i}.ko`, mode: 0o100644, data: new Uint8Array(readFileSync(m)) })),
  ];
  writeFileSync(path, cpio(entries));
}

export function guestArgs(p: VmProbe, initrd: string, memMiB: number, extra: string[] = []): string[] {
  return [
    p.qemu!,
    "-M",
    "microvm,x-option-roms=off,rtc=off",
    ...accelArgs(),
    ...p.cpuArgs,
    "-m",
    `${memMiB}M`,
    "-smp",
    "1",
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-serial",
    "stdio",
    "-kernel",
    p.kernel!,
    "-initrd",
    initrd,
    "-append",
    "console=ttyS0 quiet panic=-1 reboot=t",
    ...extra,
  ];
}

function findKernel(): string | null {
  let files: string[] = [];
  try {
    files = readdirSync("/boot").filter((f) => f.startsWith("vmlinuz-"));
  } catch {}
  const pick =
    files
      .filter((f) => f.includes("cloud"))
      .sort()
      .pop() ?? files.sort().pop();
  return pick ? join("/boot", pick) : null;
}

export function kernelVersionOf(kernel: string | null): string | null {
  return kernel ? kernel.replace(/^.*vmlinuz-/, "") : null;
}

/** Detects which VM case holds. GUEST_TIMEOUT_MS bounds the trial boot. */
export function probeVm(work: string, busybox: string, guestTimeoutMs: number): VmProbe {
  const exitFw = join(work, "fw-exit.bin");
  const haltFw = join(work, "fw-halt.bin");
  writeFirmware(exitFw, "exit");
  writeFirmware(haltFw, "halt");
  const p: VmProbe = { mode: "none", why: "", qemu: which("qemu-system-x86_64"), cpuArgs: [], kernel: findKernel(), exitFw, haltFw };
  if (!p.qemu) return { ...p, why: "qemu-system-x86_64 not installed (Debian package qemu-system-x86)" };
  if (vmAccel() === "kvm" && !existsSync("/dev/kvm")) return { ...p, why: "no /dev/kvm" };
  // Some nested KVMs refuse the host CPU model's MSRs (e.g. IA32_ARCH_CAPABILITIES).
  let lastErr = "";
  for (const cpu of [["-cpu", "host"], ["-cpu", "host,-arch-capabilities"], []]) {
    p.cpuArgs = cpu;
    const r = run(floorArgs(p, exitFw), { timeoutMs: 20000 });
    if (r.code === FLOOR_OK_STATUS) break;
    lastErr = `qemu exit ${r.code}: ${firstLines(r.stderr)}`;
    p.cpuArgs = ["?"];
  }
  if (p.cpuArgs[0] === "?") return { ...p, cpuArgs: [], why: `QEMU microvm does not run even a firmware payload on /dev/kvm: ${lastErr}` };
  const cpuDesc = p.cpuArgs.length ? p.cpuArgs.join(" ") : "default CPU model";
  if (!p.kernel) {
    return {
      ...p,
      mode: "floor",
      why: `QEMU microvm runs on /dev/kvm (${cpuDesc}); no kernel under /boot (install linux-image-cloud-amd64), so only the VMM floor is measured`,
    };
  }
  const initrd = join(work, "probe-initrd.cpio");
  buildInitramfs(initrd, busybox, null, "true");
  const r = run(guestArgs(p, initrd, 256), { stdout: true, timeoutMs: guestTimeoutMs });
  if (r.stdout.includes("BENCH-GUEST-DONE")) {
    if (vmAccel() === "tcg") {
      return {
        ...p,
        mode: "guest",
        why: `BERTH_BENCH_VM_ACCEL=tcg: guests run in QEMU's emulator, NOT on KVM — the VM numbers check the guest path only and are not comparable`,
      };
    }
    return { ...p, mode: "guest", why: `a Linux guest (${p.kernel}) boots on /dev/kvm with QEMU microvm (${cpuDesc}): full guests measured` };
  }
  const tail = r.stdout.trim() ? firstLines(r.stdout.split("\n").slice(-3).join("\n")) : "nothing on the serial console";
  return {
    ...p,
    mode: "floor",
    why:
      `a Linux guest (${p.kernel}) did not reach its init within ${guestTimeoutMs / 1000} s on this /dev/kvm (last console output: "${tail}"); ` +
      `only the VMM floor is measured (QEMU microvm, ${cpuDesc}, 16 MiB, a 64 KiB firmware that exits through isa-debug-exit): a lower bound for any VM`,
  };
}

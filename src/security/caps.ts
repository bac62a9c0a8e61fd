// Capability names -> the 64-bit masks the core applies.
import { CAPABILITY_NUMBERS } from "../spec/constants.ts";
import type { LinuxCapabilities } from "../spec/types.ts";
import { readFileSync } from "../linux/fs.ts";

let lastCap: number | undefined;
/** The highest capability this kernel knows. */
export function lastCapability(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    } catch {
      lastCap = 40;
    }
  }
  return lastCap;
}

/** A mask of the named capabilities; names the kernel does not have are skipped (as runc does). */
export function capMask(names: readonly string[] | undefined): bigint {
  let m = 0n;
  const last = lastCapability();
  for (const n of names ?? []) {
    const num = CAPABILITY_NUMBERS[n.toUpperCase().startsWith("CAP_") ? n.toUpperCase() : `CAP_${n.toUpperCase()}`];
    if (num === undefined) throw new Error(`process.capabilities: unknown capability ${JSON.stringify(n)}`);
    if (num <= last) m |= 1n << BigInt(num);
  }
  return m;
}

/** The core's "caps" operation for a process's capability sets. */
export function capsOp(c: LinuxCapabilities | undefined): ["caps", bigint, bigint, bigint, bigint, bigint] {
  return ["caps", capMask(c?.bounding), capMask(c?.effective), capMask(c?.permitted), capMask(c?.inheritable), capMask(c?.ambient)];
}

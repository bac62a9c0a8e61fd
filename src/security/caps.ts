// Capability names -> the 64-bit masks the core applies.
import { CAPABILITY_NUMBERS } from "../spec/constants.ts";
import type { PlanOpOf } from "../linux/planops.ts";
import type { LinuxCapabilities } from "../spec/types.ts";

/**
 * A mask of the named capabilities; names the kernel does not have (above
 * `last`, the host's last capability: HostFacts.lastCap) are skipped, as runc does.
 */
export function capMask(names: readonly string[] | undefined, last: number): bigint {
  let m = 0n;
  for (const n of names ?? []) {
    const num = CAPABILITY_NUMBERS[n.toUpperCase().startsWith("CAP_") ? n.toUpperCase() : `CAP_${n.toUpperCase()}`];
    if (num === undefined) throw new Error(`process.capabilities: unknown capability ${JSON.stringify(n)}`);
    if (num <= last) m |= 1n << BigInt(num);
  }
  return m;
}

/**
 * The core's "caps" operation for a process's capability sets. The kernel
 * raises an ambient capability only if it is both permitted and inheritable;
 * one that is not is left out, as runc and crun do (the bundle `runc spec`
 * writes lists ambient capabilities and no inheritable set).
 */
export function capsOp(c: LinuxCapabilities | undefined, last: number): PlanOpOf<"caps"> {
  const prm = capMask(c?.permitted, last),
    inh = capMask(c?.inheritable, last);
  return {
    op: "caps",
    bounding: capMask(c?.bounding, last),
    effective: capMask(c?.effective, last),
    permitted: prm,
    inheritable: inh,
    ambient: capMask(c?.ambient, last) & prm & inh,
  };
}

/**
 * The capability sets of an `exec --cap NAME...` process: the names join the
 * bounding, effective and permitted sets only. The inheritable set stays as
 * the process config has it (CVE-2022-29162: an inheritable capability
 * survives into a non-root child's exec), and a name joins the ambient set
 * only where that inheritable set already lists it (the kernel refuses any
 * other), as runc does since its fix.
 */
export function withExecCaps(c: LinuxCapabilities | undefined, names: readonly string[]): LinuxCapabilities {
  const out: LinuxCapabilities = { ...(c ?? {}) };
  const add = (set: readonly string[] | undefined, more: readonly string[]) => [...new Set([...(set ?? []), ...more])];
  out.bounding = add(c?.bounding, names);
  out.effective = add(c?.effective, names);
  out.permitted = add(c?.permitted, names);
  const inheritable = names.filter((n) => c?.inheritable?.includes(n));
  if (inheritable.length) out.ambient = add(c?.ambient, inheritable);
  return out;
}

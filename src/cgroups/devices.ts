// `linux.resources.devices`: checking the rules and the v1 devices controller's form.
import { CgroupError, type CgroupDeviceRule } from "./types.ts";
import { RES } from "./common.ts";

export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;

export interface DeviceRule {
  allow: boolean;
  type: "a" | "c" | "b";
  major: number; // -1: any
  minor: number; // -1: any
  access: number; // ACC_* bits
}

function wild(v: unknown, field: string): number {
  if (v === undefined || v === null) return -1;
  if (typeof v !== "number" || !Number.isInteger(v) || v < -1 || v > 0xfffff) {
    throw new CgroupError(`must be a device number (or -1 for any), got ${JSON.stringify(v)}`, field);
  }
  return v;
}

export function normalizeDeviceRules(rules: unknown): DeviceRule[] {
  const base = `${RES}.devices`;
  if (!Array.isArray(rules)) throw new CgroupError("must be an array", base);
  return rules.map((r: CgroupDeviceRule, i) => {
    const f = `${base}[${i}]`;
    if (!r || typeof r !== "object") throw new CgroupError("must be an object", f);
    if (typeof r.allow !== "boolean") throw new CgroupError(`must be true or false`, `${f}.allow`);
    const type: string = r.type === undefined || (r.type as string) === "" ? "a" : r.type;
    if (type !== "a" && type !== "c" && type !== "b") throw new CgroupError(`must be "a", "c" or "b", got ${JSON.stringify(r.type)}`, `${f}.type`);
    let access = 0;
    const acc = r.access === undefined || r.access === "" ? "rwm" : r.access;
    if (typeof acc !== "string") throw new CgroupError(`must be a string of r, w, m`, `${f}.access`);
    for (const ch of acc) {
      if (ch === "r") access |= ACC_READ;
      else if (ch === "w") access |= ACC_WRITE;
      else if (ch === "m") access |= ACC_MKNOD;
      else throw new CgroupError(`must contain only r, w, m, got ${JSON.stringify(acc)}`, `${f}.access`);
    }
    return { allow: r.allow, type, major: wild(r.major, `${f}.major`), minor: wild(r.minor, `${f}.minor`), access };
  });
}

function accessString(a: number): string {
  return (a & ACC_READ ? "r" : "") + (a & ACC_WRITE ? "w" : "") + (a & ACC_MKNOD ? "m" : "");
}

/** The line the v1 devices.allow / devices.deny files take. */
export function v1RuleLine(r: DeviceRule): string {
  if (r.type === "a" && r.major === -1 && r.minor === -1 && r.access === 7) return "a";
  const n = (x: number) => (x === -1 ? "*" : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${accessString(r.access)}`;
}

/**
 * Decides one access as the rule list does: for each requested access bit the last
 * rule that matches the device and carries that bit decides; no such rule denies.
 * (The eBPF program implements exactly this; tests compare the two.)
 */
export function deviceAllowed(rules: DeviceRule[], type: "c" | "b", major: number, minor: number, access: number): boolean {
  for (const bit of [ACC_MKNOD, ACC_READ, ACC_WRITE]) {
    if (!(access & bit)) continue;
    let ok = false;
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i]!;
      if (!(r.access & bit)) continue;
      if (r.type !== "a" && r.type !== type) continue;
      if (r.major !== -1 && r.major !== major) continue;
      if (r.minor !== -1 && r.minor !== minor) continue;
      ok = r.allow;
      break;
    }
    if (!ok) return false;
  }
  return true;
}

// The cgroups layer: one interface (Cgroup), a v1 and a v2 backend picked by what
// the host mounts.
import { existsSync, readlinkSync } from "../linux/fs.ts";
import { detectCgroups, type CgroupLayout } from "./detect.ts";
import { CgroupError, type Cgroup } from "./types.ts";
import { V1_CONTROLLERS, dirIn, type V1Place } from "./common.ts";
import type * as V1Module from "./v1.ts";
import type * as V2Module from "./v2.ts";

export { detectCgroups, parseMountinfo, parseProcCgroup } from "./detect.ts";
export type { CgroupLayout, CgroupMode, CgroupMount } from "./detect.ts";
export { CgroupError } from "./types.ts";
export type {
  Cgroup,
  CgroupResources,
  CgroupStats,
  CgroupDeviceRule,
  CgroupMemory,
  CgroupCpu,
  CgroupBlockIO,
  CgroupHugepageLimit,
  CgroupNetwork,
  MemoryEntry,
  BlkioEntry,
} from "./types.ts";
export { sharesToWeight, blkioToIoWeight } from "./common.ts";
export { normalizeDeviceRules, deviceAllowed, type DeviceRule } from "./devices.ts";
export { NoCgroup, requestedLimits } from "./none.ts";

// Each backend is required when a cgroup of its kind is first opened: a
// runtime call loads the one its host needs (a v1 or hybrid host never loads
// v2's eBPF device filter).
let v1Module: typeof V1Module | undefined;
let v2Module: typeof V2Module | undefined;
const v1 = (): typeof V1Module => (v1Module ??= require("./v1.ts") as typeof V1Module);
const v2 = (): typeof V2Module => (v2Module ??= require("./v2.ts") as typeof V2Module);

export interface OpenOptions {
  /** linux.cgroupsPath of the config. */
  cgroupsPath?: string;
  /** The container id (the default path is "/berth/<id>"). */
  id: string;
  /** The systemd cgroup driver ("slice:prefix:name" paths). */
  systemd?: boolean;
  /** For tests: a layout other than the host's. */
  layout?: CgroupLayout;
}

const FIELD = "linux.cgroupsPath";

function clean(p: string): string {
  const parts: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") throw new CgroupError(`must not contain "..": ${JSON.stringify(p)}`, FIELD);
    parts.push(s);
  }
  return "/" + parts.join("/");
}

function join(base: string, rel: string): string {
  return clean(`${base}/${rel}`);
}

/** True when systemd runs as PID 1 (the test sd_booted() makes, plus PID 1's name). */
export function systemdRunning(): boolean {
  if (!existsSync("/run/systemd/system")) return false;
  try {
    return /systemd$/.test(readlinkSync("/proc/1/exe"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") return true; // cannot read PID 1's exe (not root): trust the sd_booted() test
    throw e;
  }
}

/** "a-b.slice" -> "/a.slice/a-b.slice" (systemd's slice nesting). */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(".slice") || slice.includes("/")) throw new CgroupError(`not a slice name: ${JSON.stringify(slice)}`, FIELD);
  const name = slice.slice(0, -".slice".length);
  if (name === "-.slice" || name === "") return "/";
  if (name.startsWith("-") || name.endsWith("-") || name.includes("--")) throw new CgroupError(`not a valid slice name: ${JSON.stringify(slice)}`, FIELD);
  let out = "";
  let prefix = "";
  for (const part of name.split("-")) {
    prefix = prefix ? `${prefix}-${part}` : part;
    out += `/${prefix}.slice`;
  }
  return out;
}

/** The cgroup path a systemd-style "slice:prefix:name" stands for. */
export function systemdPath(cgroupsPath: string | undefined, id: string): string {
  const p = cgroupsPath ?? `:berth:${id}`;
  const parts = p.split(":");
  if (parts.length !== 3) throw new CgroupError(`with the systemd cgroup driver it must look like "slice:prefix:name", got ${JSON.stringify(p)}`, FIELD);
  const [slice, prefix, name] = parts as [string, string, string];
  if (!name || name.includes("/")) throw new CgroupError(`the name part of "slice:prefix:name" is empty or has a "/": ${JSON.stringify(p)}`, FIELD);
  const unit = name.endsWith(".slice") ? name : `${prefix ? `${prefix}-` : ""}${name}.scope`;
  return clean(`${expandSlice(slice || "system.slice")}/${unit}`);
}

/** Opens (does not create) the cgroup of a container. */
export function openCgroup(o: OpenOptions): Cgroup {
  const layout = o.layout ?? detectCgroups();
  if (!o.id || o.id.includes("/") || o.id === "." || o.id === "..") throw new CgroupError(`not a usable container id: ${JSON.stringify(o.id)}`, "id");
  if (o.cgroupsPath !== undefined && typeof o.cgroupsPath !== "string") throw new CgroupError("must be a string", FIELD);
  let resolve: (own: string | undefined) => string;
  if (o.systemd) {
    if (!systemdRunning()) {
      throw new CgroupError(
        "the systemd cgroup driver was requested, but systemd is not running as PID 1 on this host (use the cgroupfs driver: no --systemd-cgroup)",
        FIELD,
      );
    }
    const p = systemdPath(o.cgroupsPath, o.id);
    resolve = () => p;
  } else if (o.cgroupsPath === undefined || o.cgroupsPath === "") {
    const p = `/berth/${o.id}`;
    resolve = () => p;
  } else if (o.cgroupsPath.startsWith("/")) {
    const p = clean(o.cgroupsPath);
    resolve = () => p;
  } else {
    const rel = o.cgroupsPath;
    if (rel.includes(":")) throw new CgroupError(`"slice:prefix:name" paths need the systemd cgroup driver; got ${JSON.stringify(rel)}`, FIELD);
    clean(rel);
    resolve = (own) => join(own ?? "/", rel);
  }

  if (layout.mode === "v2") {
    const m = layout.unified!;
    const path = resolve(layout.own[""]);
    if (path === "/") throw new CgroupError("must not be the root cgroup", FIELD);
    return new (v2().CgroupV2)(m.mountpoint, dirIn(m, path), path);
  }
  if (layout.mode === "none") throw new CgroupError("no cgroup file system is mounted on this host", FIELD);
  const places: Record<string, V1Place> = {};
  for (const c of V1_CONTROLLERS) {
    const m = layout.v1[c];
    if (!m) continue;
    places[c] = { mount: m, path: resolve(layout.own[c]) };
  }
  for (const p of Object.values(places)) if (p.path === "/") throw new CgroupError("must not be the root cgroup", FIELD);
  const shown = places["memory"] ?? places["pids"] ?? Object.values(places)[0]!;
  let unified: V1Place | undefined;
  if (layout.unified) {
    const up = resolve(layout.own[""]);
    // join the hybrid cgroup2 tree only where the path lies inside the mounted part
    try {
      dirIn(layout.unified, up);
      if (up !== "/") unified = { mount: layout.unified, path: up };
    } catch (e) {
      if (!(e instanceof CgroupError)) throw e;
      unified = undefined; // outside the mounted part
    }
  }
  return new (v1().CgroupV1)(places, shown.path, unified);
}

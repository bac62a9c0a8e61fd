// Image config -> what the runtime needs to start the process, with Docker's
// rules: Entrypoint + Cmd; an --entrypoint override drops the image's Cmd
// unless a command is given too; PATH defaulted; HOME from /etc/passwd; user
// and group names resolved in the image's own /etc/passwd and /etc/group.
import { constants as osConstants } from "node:os";
import { readFileSync } from "node:fs";
import { namesByUid, parsePasswd } from "../linux/passwd.ts";
import { resolveInRoot } from "./rootpath.ts";
import type { ImageConfig } from "./types.ts";

import { DEFAULT_PATH } from "../spec/defaults.ts";
export { DEFAULT_PATH };

export interface ProcessOverrides {
  cmd?: string[];
  entrypoint?: string[];
  /** KEY=VALUE entries; they replace the image's value of the same KEY. */
  env?: string[];
  workdir?: string;
  user?: string;
}

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface ImageProcess {
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  /** Signal name ("SIGTERM" unless the image says otherwise). */
  stopSignal: string;
  exposedPorts: Array<{ port: number; protocol: "tcp" | "udp" | "sctp" }>;
  volumes: string[];
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function readImageFile(rootfs: string | undefined, path: string): string | undefined {
  if (rootfs === undefined) return undefined;
  const p = resolveInRoot(rootfs, path);
  if (p === undefined) return undefined;
  try {
    return readFileSync(p, "utf8");
  } catch (e) {
    // no such file, or not a file: the image has none
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw e;
  }
}

/** User names by uid from the image's (or container's) /etc/passwd, resolved inside ROOTFS. */
export function userNames(rootfs: string): Map<number, string> {
  return namesByUid(readImageFile(rootfs, "/etc/passwd") ?? "");
}

/** A group for --group-add: a number, or a name in the image's /etc/group (resolved inside ROOTFS). */
export function groupId(spec: string, rootfs: string): number {
  if (/^\d+$/.test(spec)) return Number(spec);
  const text = readImageFile(rootfs, "/etc/group");
  const g = (text === undefined ? [] : parseGroup(text)).find((e) => e.name === spec);
  if (!g) throw new Error(`group ${JSON.stringify(spec)} not found in the image's /etc/group`);
  return g.gid;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const f = line.split(":");
    if (f.length < 3) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({
      name: f[0]!,
      gid,
      members: (f[3] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    });
  }
  return out;
}

export { parsePasswd };

const ID_RE = /^[0-9]+$/;
const MAX_ID = 4294967294;

/**
 * Resolves "user", "uid", "user:group", "uid:gid" (and mixes) against the
 * image's /etc/passwd and /etc/group under `rootfs`.
 */
export function resolveUser(spec: string, rootfs: string | undefined): ProcessUser & { home: string } {
  const [userPart = "", groupPart, ...extra] = spec.split(":");
  if (extra.length > 0) throw new Error(`user ${JSON.stringify(spec)}: want USER[:GROUP]`);
  const passwdText = readImageFile(rootfs, "/etc/passwd");
  const groupText = readImageFile(rootfs, "/etc/group");
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  const groups = groupText === undefined ? [] : parseGroup(groupText);

  let uid = 0,
    gid = 0,
    home = "/";
  let name: string | undefined;
  const u = userPart === "" ? "0" : userPart;
  if (ID_RE.test(u)) {
    uid = Number(u);
    if (uid > MAX_ID) throw new Error(`user ${JSON.stringify(spec)}: uid ${u} out of range`);
    const e = passwd.find((p) => p.uid === uid);
    if (e) {
      gid = e.gid;
      home = e.home;
      name = e.name;
    }
  } else {
    const e = passwd.find((p) => p.name === u);
    if (!e) {
      throw new Error(
        `unable to find user ${u}: no matching entries in ${passwdText === undefined ? "passwd file (the image has no /etc/passwd)" : "the image's /etc/passwd"}`,
      );
    }
    uid = e.uid;
    gid = e.gid;
    home = e.home;
    name = e.name;
  }

  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== "") {
    if (ID_RE.test(groupPart)) {
      gid = Number(groupPart);
      if (gid > MAX_ID) throw new Error(`user ${JSON.stringify(spec)}: gid ${groupPart} out of range`);
    } else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) {
        throw new Error(
          `unable to find group ${groupPart}: no matching entries in ${groupText === undefined ? "group file (the image has no /etc/group)" : "the image's /etc/group"}`,
        );
      }
      gid = g.gid;
    }
  } else if (name !== undefined) {
    additionalGids = [...new Set(groups.filter((g) => g.members.includes(name!) && g.gid !== gid).map((g) => g.gid))];
  }
  return { uid, gid, additionalGids, home };
}

/** "TERM", "SIGTERM", "15" -> "SIGTERM" (unknown names such as "SIGRTMIN+3" are kept). */
export function normalizeSignal(s: string): string {
  const sigs = osConstants.signals as Record<string, number>;
  if (ID_RE.test(s)) {
    const n = Number(s);
    const name = Object.keys(sigs).find((k) => sigs[k] === n);
    if (!name) throw new Error(`stop signal ${s}: unknown signal number`);
    return name;
  }
  const up = s.toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  if (sigs[name] === undefined && !/^SIGRTM(IN|AX)([+-][0-9]+)?$/.test(name)) throw new Error(`stop signal ${s}: unknown signal`);
  return name;
}

function envKey(e: string): string {
  const i = e.indexOf("=");
  return i < 0 ? e : e.slice(0, i);
}

/** Image config + user overrides -> the process to run. */
export function imageToProcess(image: ImageConfig, overrides: ProcessOverrides = {}, rootfs?: string): ImageProcess {
  const c = image.config ?? {};
  const clean = (a: string[] | null | undefined) => (a ?? []).filter((_, i, all) => !(all.length === 1 && all[0] === ""));
  const entrypoint = overrides.entrypoint !== undefined ? clean(overrides.entrypoint) : clean(c.Entrypoint);
  const cmd = overrides.cmd !== undefined && overrides.cmd.length > 0 ? overrides.cmd : overrides.entrypoint !== undefined ? [] : clean(c.Cmd);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new Error("no command specified: the image has no Entrypoint or Cmd, and none was given");

  const env = new Map<string, string>();
  for (const e of c.Env ?? []) env.set(envKey(e), e);
  (overrides.env ?? []).forEach((e, i) => {
    if (typeof e !== "string" || !e.includes("=") || e.startsWith("=")) throw new Error(`env[${i}]: ${JSON.stringify(e)} is not KEY=VALUE`);
    env.set(envKey(e), e);
  });
  if (!env.has("PATH")) env.set("PATH", `PATH=${DEFAULT_PATH}`);

  const userSpec = overrides.user ?? c.User ?? "";
  const u = resolveUser(userSpec, rootfs);
  if (!env.has("HOME")) env.set("HOME", `HOME=${u.home || "/"}`);

  let cwd = overrides.workdir ?? (c.WorkingDir || "/");
  if (!cwd.startsWith("/")) {
    if (overrides.workdir !== undefined) throw new Error(`workdir ${JSON.stringify(cwd)}: must be an absolute path`);
    cwd = "/" + cwd;
  }

  const exposedPorts: ImageProcess["exposedPorts"] = [];
  for (const key of Object.keys(c.ExposedPorts ?? {})) {
    const m = /^([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new Error(`image config ExposedPorts: bad port ${JSON.stringify(key)}`);
    exposedPorts.push({ port: Number(m[1]), protocol: (m[2]?.toLowerCase() ?? "tcp") as "tcp" | "udp" | "sctp" });
  }

  exposedPorts.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  return {
    args,
    env: [...env.values()],
    cwd,
    user: { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids },
    stopSignal: normalizeSignal(c.StopSignal || "SIGTERM"),
    exposedPorts,
    volumes: Object.keys(c.Volumes ?? {}).sort(),
  };
}

// config.json -> the core's plan. Every decision about what a container
// gets (mount flags, devices, cgroup views, labels) is made here; the core
// only carries the operations out.
import { isAbsolute, resolve } from "../linux/path.ts";
import type { Cgroup } from "../cgroups/index.ts";
import { detectCgroups } from "../cgroups/index.ts";
import type { PlanOp, PlanOpOf } from "../linux/planops.ts";
import { linuxHost, type HostFacts } from "../linux/hostfacts.ts";
import { capsOp } from "../security/caps.ts";
import { procMountRefusal } from "../security/procmounts.ts";
import { seccompOps } from "../security/seccomp.ts";
import { CPU_LIMIT, MEMPOLICY_FLAGS, MEMPOLICY_MODES, OCI_VERSION, parseIdList, RLIMIT_NUMBERS } from "../spec/constants.ts";
import type { Hook, LinuxDeviceCgroup, LinuxMemoryPolicy, Mount, Process, Spec } from "../spec/types.ts";
import { RuntimeError } from "./state.ts";

// MOUNT_ATTR_* (linux/mount.h) and MS_* propagation flags
const ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
};
const MS = { REC: 0x4000, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20 };

interface ParsedOptions {
  bind: "" | "bind" | "rbind";
  set: number;
  clr: number;
  recursiveAttrs: boolean;
  propagation: number;
  propRecursive: boolean;
  data: string[];
  /** idmap (this mount) or ridmap (and every submount): an idmapped mount */
  idmap: "" | "idmap" | "ridmap";
}

const PROPAGATION: Record<string, [number, boolean]> = {
  shared: [MS.SHARED, false],
  rshared: [MS.SHARED, true],
  slave: [MS.SLAVE, false],
  rslave: [MS.SLAVE, true],
  private: [MS.PRIVATE, false],
  rprivate: [MS.PRIVATE, true],
  unbindable: [MS.UNBINDABLE, false],
  runbindable: [MS.UNBINDABLE, true],
};

/** Splits mount options into mount attributes, propagation and filesystem data. */
export function parseMountOptions(options: readonly string[] = [], field = "mounts"): ParsedOptions {
  const p: ParsedOptions = { bind: "", set: 0, clr: 0, recursiveAttrs: false, propagation: 0, propRecursive: false, data: [], idmap: "" };
  const flag = (bit: number, on: boolean) => {
    if (on) {
      p.set |= bit;
      p.clr &= ~bit;
    } else {
      p.clr |= bit;
      p.set &= ~bit;
    }
  };
  const atime = (v: number) => {
    p.clr |= ATTR.ATIME_MASK;
    p.set = (p.set & ~ATTR.ATIME_MASK) | v;
  };
  for (const raw of options) {
    let o = raw;
    // recursive variants (rro, rnosuid, ...) apply to every submount
    if (
      /^r(ro|rw|nosuid|suid|nodev|dev|noexec|exec|relatime|norelatime|atime|noatime|strictatime|nostrictatime|diratime|nodiratime|nosymfollow|symfollow)$/.test(
        o,
      )
    ) {
      p.recursiveAttrs = true;
      o = o.slice(1);
    }
    switch (o) {
      case "bind":
        if (!p.bind) p.bind = "bind";
        break;
      case "rbind":
        p.bind = "rbind";
        break;
      case "ro":
        flag(ATTR.RDONLY, true);
        break;
      case "rw":
        flag(ATTR.RDONLY, false);
        break;
      case "nosuid":
        flag(ATTR.NOSUID, true);
        break;
      case "suid":
        flag(ATTR.NOSUID, false);
        break;
      case "nodev":
        flag(ATTR.NODEV, true);
        break;
      case "dev":
        flag(ATTR.NODEV, false);
        break;
      case "noexec":
        flag(ATTR.NOEXEC, true);
        break;
      case "exec":
        flag(ATTR.NOEXEC, false);
        break;
      case "nosymfollow":
        flag(ATTR.NOSYMFOLLOW, true);
        break;
      case "symfollow":
        flag(ATTR.NOSYMFOLLOW, false);
        break;
      case "relatime":
        atime(ATTR.RELATIME);
        break;
      case "noatime":
        atime(ATTR.NOATIME);
        break;
      case "strictatime":
        atime(ATTR.STRICTATIME);
        break;
      case "norelatime":
      case "atime":
      case "nostrictatime":
        break;
      case "nodiratime":
        flag(ATTR.NODIRATIME, true);
        break;
      case "diratime":
        flag(ATTR.NODIRATIME, false);
        break;
      case "defaults":
      case "async":
      case "sync":
      case "remount":
      case "mand":
      case "nomand":
      case "dirsync":
      case "loud":
      case "silent":
        break;
      case "idmap":
      case "ridmap":
        p.idmap = o;
        break;
      default:
        if (PROPAGATION[o]) {
          [p.propagation, p.propRecursive] = PROPAGATION[o]!;
        } else if (o.startsWith("x-")) {
          /* userspace-only options (fstab helpers) */
        } else {
          p.data.push(raw);
        }
    }
  }
  return p;
}

function hasNs(spec: Spec, type: string): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === type);
}
function newNs(spec: Spec, type: string): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === type && !n.path);
}

/** The container has no mount namespace of its own (neither new nor joined). */
export function sharesMountNs(spec: Spec): boolean {
  return !hasNs(spec, "mount");
}

function mapText(maps: { containerID: number; hostID: number; size: number }[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

const DEFAULT_DEVICES: [string, number, number][] = [
  ["/dev/null", 1, 3],
  ["/dev/zero", 1, 5],
  ["/dev/full", 1, 7],
  ["/dev/random", 1, 8],
  ["/dev/urandom", 1, 9],
  ["/dev/tty", 5, 0],
];

type NsType = PlanOpOf<"ns-join">["type"];

/** A mount op: the fields not given are 0 or empty (a directory target). */
function mountOp(
  kind: PlanOpOf<"mount">["kind"],
  source: string,
  target: string,
  f: Partial<Omit<PlanOpOf<"mount">, "op" | "kind" | "source" | "target">>,
): PlanOp {
  return {
    op: "mount",
    kind,
    source,
    target,
    fstype: "",
    attrSet: 0,
    attrClr: 0,
    attrRecursive: 0,
    propagation: 0,
    propRecursive: 0,
    data: "",
    mkkind: 1,
    ...f,
  };
}

/** A bind tree the core opens before any namespace is joined (idmapped when the maps are given). */
function idmapTreeOp(slot: number, source: string, o: ParsedOptions, idmapRecursive: boolean, uidMap: string, gidMap: string): PlanOp {
  return {
    op: "idmap-tree",
    slot,
    source,
    recursive: o.bind === "rbind" ? 1 : 0,
    attrSet: o.set,
    attrClr: o.clr,
    attrRecursive: o.recursiveAttrs ? 1 : 0,
    idmapRecursive: idmapRecursive ? 1 : 0,
    uidMap,
    gidMap,
  };
}

function cgroupMountOps(spec: Spec, m: Mount, opts: ParsedOptions, cg: Cgroup | undefined, userns: boolean, host: HostFacts): PlanOp[] {
  const dest = m.destination;
  const set = opts.set | ATTR.NOSUID | ATTR.NODEV | ATTR.NOEXEC;
  const layout = host.cgroups;
  const cgroupns = hasNs(spec, "cgroup");
  const ops: PlanOp[] = [];
  if (layout.mode === "v2") {
    if (cgroupns) ops.push(mountOp("fs", "cgroup2", dest, { fstype: "cgroup2", attrSet: set }));
    else if (cg) ops.push(mountOp("bind", cg.dirs()[0]!, dest, { attrSet: set, attrClr: opts.clr, attrRecursive: 1 }));
    return ops;
  }
  // v1 (and hybrid): a tmpfs holding one directory per hierarchy
  ops.push(mountOp("fs", "tmpfs", dest, { fstype: "tmpfs", attrSet: ATTR.NOSUID | ATTR.NODEV | ATTR.NOEXEC, data: "mode=755" }));
  const byMount = new Map<string, string[]>();
  for (const [ctrl, mnt] of Object.entries(layout.v1)) {
    if (mnt) byMount.set(mnt.mountpoint, [...(byMount.get(mnt.mountpoint) ?? []), ctrl]);
  }
  for (const [mountpoint, ctrls] of byMount) {
    const name = mountpoint.split("/").pop()!;
    const sub = `${dest}/${name}`;
    if (cgroupns && !userns) {
      ops.push(mountOp("fs", "cgroup", sub, { fstype: "cgroup", attrSet: set, data: ctrls.join(",") }));
    } else if (cg) {
      const own = cg.dirs().find((d) => d.startsWith(mountpoint + "/"));
      if (own) ops.push(mountOp("bind", own, sub, { attrSet: set, attrRecursive: 1 }));
    }
    // co-mounted controllers (cpu,cpuacct) get their names as links
    if (name.includes(",")) for (const part of name.split(",")) ops.push({ op: "symlink", target: name, link: `${dest}/${part}` });
  }
  return ops;
}

/** The device cgroup rules a container gets: the config's rules, then the
 * default devices, which must always work, and mknod of linux.devices. */
export function deviceRules(spec: Spec): LinuxDeviceCgroup[] {
  const rules: LinuxDeviceCgroup[] = [...(spec.linux?.resources?.devices ?? [])];
  for (const [, ma, mi] of DEFAULT_DEVICES) rules.push({ allow: true, type: "c", major: ma, minor: mi, access: "rwm" });
  rules.push(
    { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // /dev/console
    { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
    { allow: true, type: "c", major: 136, minor: -1, access: "rwm" }, // /dev/pts/*
  );
  // a device the config lists gets only mknod (the core creates its node
  // inside the container's cgroup): reading and writing it is for the config's
  // own rules (linux.resources.devices) to decide, as with runc, so a deny-all
  // there keeps a listed device unusable (Docker and Podman add an allow rule
  // for each --device themselves)
  for (const d of spec.linux?.devices ?? []) {
    if (d.type === "p") continue;
    rules.push({ allow: true, type: d.type === "u" ? "c" : d.type, major: d.major, minor: d.minor, access: "m" });
  }
  return rules;
}

export interface PlanInput {
  spec: Spec;
  bundle: string;
  /** Where the exec fifo is, for an init that waits for `start`; none: it goes on at once. */
  stateDir?: string;
  cgroup?: Cgroup;
  consoleSocket?: string;
  /** --pidfd-socket: a unix socket that gets a pidfd of the container's init */
  pidfdSocket?: string;
  noPivot?: boolean;
  /** --no-new-keyring: keep the caller's session keyring */
  noNewKeyring?: boolean;
  id: string;
  foreground?: boolean;
  /** bring up the loopback of a new network namespace (the engine's "none" network) */
  loopbackUp?: boolean;
  /** berth is not root: an unprivileged writer of gid_map must deny setgroups first */
  rootless?: boolean;
  /** The host the plan is for (default: this one); tests give a made-up one. */
  host?: HostFacts;
}

let thisHost: HostFacts | undefined;
/** This host's facts (read lazily, once per process). */
export function localHost(): HostFacts {
  return (thisHost ??= linuxHost(() => detectCgroups()));
}

const RLIM_INFINITY = (1n << 64n) - 1n;

/**
 * An rlimit value for the core. JSON numbers are doubles: RLIM_INFINITY
 * (18446744073709551615, what clients send for "unlimited") arrives as 2^64;
 * anything from there up means unlimited.
 */
export function rlimitValue(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b >= RLIM_INFINITY ? RLIM_INFINITY : b;
}

/**
 * linux.memoryPolicy as set_mempolicy(2) arguments: mode with its flags, the
 * kernel's maxnode (bits + 1) and the node mask in 64-bit words (validated
 * by spec/validate.ts). Applied to each process before exec, and inherited.
 */
export function memoryPolicyOp(mp: LinuxMemoryPolicy): PlanOp {
  let mode = MEMPOLICY_MODES[mp.mode]!;
  for (const f of mp.flags ?? []) mode |= MEMPOLICY_FLAGS[f]!;
  const nodes = parseIdList(mp.nodes ?? "") ?? [];
  if (nodes.length === 0) return { op: "mempolicy", mode, maxnode: 0, words: [] };
  const words: bigint[] = new Array(Math.floor(Math.max(...nodes) / 64) + 1).fill(0n);
  for (const n of nodes) words[Math.floor(n / 64)]! |= 1n << BigInt(n % 64);
  return { op: "mempolicy", mode, maxnode: words.length * 64 + 1, words };
}

/** The core's operations for a process (shared by create and exec). */
export function processOps(proc: Process, spec: Spec, host: HostFacts, field = "process"): PlanOp[] {
  const ops: PlanOp[] = [];
  // the pty's slave becomes the user's (as runc's stdio: the tty group devpts gave it stays)
  if (proc.terminal) ops.push({ op: "terminal", rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0, uid: proc.user?.uid ?? 0 });
  for (const [i, r] of (proc.rlimits ?? []).entries()) {
    const n = RLIMIT_NUMBERS[r.type];
    if (n === undefined) throw new RuntimeError(`${field}.rlimits[${i}].type: unknown rlimit ${JSON.stringify(r.type)}`);
    ops.push({ op: "rlimit", resource: n, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard), label: `${field}.rlimits[${i}] (${r.type})` });
  }
  const mp = spec.linux?.memoryPolicy;
  if (mp) ops.push(memoryPolicyOp(mp));
  if (proc.ioPriority) {
    const cls = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 }[proc.ioPriority.class as string];
    if (!cls) throw new RuntimeError(`${field}.ioPriority.class: unknown class ${JSON.stringify(proc.ioPriority.class)}`);
    ops.push({ op: "ioprio", value: (cls << 13) | (proc.ioPriority.priority & 0x1fff) });
  }
  if (proc.scheduler) {
    const s = proc.scheduler;
    const policy = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 }[s.policy as string];
    if (policy === undefined) throw new RuntimeError(`${field}.scheduler.policy: unknown policy ${JSON.stringify(s.policy)}`);
    const FLAGS: Record<string, number> = {
      SCHED_FLAG_RESET_ON_FORK: 1,
      SCHED_FLAG_RECLAIM: 2,
      SCHED_FLAG_DL_OVERRUN: 4,
      SCHED_FLAG_KEEP_POLICY: 8,
      SCHED_FLAG_KEEP_PARAMS: 16,
      SCHED_FLAG_UTIL_CLAMP_MIN: 32,
      SCHED_FLAG_UTIL_CLAMP_MAX: 64,
    };
    let flags = 0;
    for (const f of s.flags ?? []) flags |= FLAGS[f as string] ?? 0;
    ops.push({
      op: "sched",
      policy,
      priority: s.priority ?? 0,
      nice: s.nice ?? 0,
      flags,
      runtime: s.runtime ?? 0,
      deadline: s.deadline ?? 0,
      period: s.period ?? 0,
    });
  }
  if (proc.apparmorProfile) {
    if (!host.apparmor)
      throw new RuntimeError(`${field}.apparmorProfile: AppArmor is not enabled on this host (requested profile ${JSON.stringify(proc.apparmorProfile)})`);
    ops.push({ op: "lsm-exec", file: host.apparmorExecAttr, content: `exec ${proc.apparmorProfile}` });
  }
  if (proc.selinuxLabel) {
    if (!host.selinux)
      throw new RuntimeError(`${field}.selinuxLabel: SELinux is not enabled on this host (requested label ${JSON.stringify(proc.selinuxLabel)})`);
    ops.push({ op: "lsm-exec", file: "/proc/self/attr/exec", content: proc.selinuxLabel });
  }
  if (proc.user.umask !== undefined) ops.push({ op: "umask", mask: proc.user.umask });
  if (proc.noNewPrivileges) ops.push({ op: "no-new-privs" });
  ops.push({ op: "user", uid: proc.user.uid, gid: proc.user.gid });
  const groups = proc.user.additionalGids ?? [];
  if (groups.length > 0 || !newNs(spec, "user")) ops.push({ op: "groups", gids: groups });
  ops.push(capsOp(proc.capabilities, host.lastCap));
  ops.push({ op: "cwd", path: proc.cwd });
  for (const e of proc.env ?? []) ops.push({ op: "env", entry: e });
  // an environment without HOME gets the user's home from the container's /etc/passwd, else "/"
  // (not in the runtime-spec, but runc and crun do it, and Docker's and ctr's containers rely on it)
  if (!(proc.env ?? []).some((e) => e.startsWith("HOME="))) ops.push({ op: "home", uid: proc.user.uid, fallback: "/" });
  ops.push({ op: "args", argv: proc.args! });
  return ops;
}

function hookOps(phase: "createContainer" | "startContainer", hooks: Hook[] | undefined): PlanOp[] {
  return (hooks ?? []).map((h) => ({ op: "hook", phase, timeout: h.timeout ?? 0, path: h.path, args: h.args ?? [], env: h.env ?? [] }));
}

/** The v1 `tasks` files of the cgroups this process (and so the core) is in:
 * a core that stays as the container's parent moves back there, so that it
 * is not counted against the container's limits. (On cgroup2 the core never
 * joins: the container process is born in its cgroup.) */
export function returnOps(host: HostFacts): PlanOp[] {
  const layout = host.cgroups;
  const files = new Set<string>();
  for (const [ctrl, m] of Object.entries(layout.v1)) {
    const own = layout.own[ctrl];
    if (m && own !== undefined) files.add(`${m.mountpoint}${own === "/" ? "" : own.slice(m.root === "/" ? 0 : m.root.length)}/tasks`);
  }
  return [...files].filter((f) => host.exists(f)).map((f) => ({ op: "cgroup-return", tasks: f }));
}

/**
 * Placing the container process in its cgroup. v1: the core (one thread)
 * joins each hierarchy by writing 0 to `tasks` before it clones; moving just
 * the calling thread spares the kernel's global threadgroup lock, whose
 * write side waits for an RCU grace period (about 10 ms per container on a
 * small host) when cgroup.procs is used. cgroup2: the child is cloned
 * straight into its cgroup (CLONE_INTO_CGROUP), which takes no such lock;
 * the core falls back to writing the child's pid on kernels without clone3.
 */
function cgroupOps(cg: Cgroup, mustExist: boolean, host: HostFacts): PlanOp[] {
  const pl = cg.placement();
  const ok = (d: string) => !mustExist || host.exists(d);
  const ops: PlanOp[] = pl.v1.filter(ok).map((d) => ({ op: "cgroup-join", tasks: `${d}/tasks` }));
  if (pl.v2 && ok(pl.v2)) ops.push({ op: "cgroup-into", dir: pl.v2, need: pl.v2Optional ? "optional" : "required" });
  return ops;
}

/**
 * exec --cgroup [CONTROLLERS:]PATH (runc's): the process goes to PATH below the
 * container's cgroup, in the named v1 controllers' hierarchies (comma-separated)
 * or, without a prefix, in every hierarchy left; the sub-cgroup must exist.
 */
function subCgroupOps(cg: Cgroup, subs: string[], host: HostFacts): PlanOp[] {
  const named = new Map<string, string>();
  let all: string | undefined;
  for (const s of subs) {
    const i = s.indexOf(":");
    const [ctrls, path] = i < 0 ? ["", s] : [s.slice(0, i), s.slice(i + 1)];
    if (!path || path.startsWith("/") || path.split("/").includes(".."))
      throw new RuntimeError(`--cgroup ${s}: the path must be relative, below the container's cgroup`);
    if (!ctrls) all = path;
    else for (const c of ctrls.split(",")) named.set(c, path);
  }
  const layout = host.cgroups;
  const pl = cg.placement();
  const used = new Set<string>();
  const below = (d: string, sub: string | undefined) => {
    if (sub === undefined) return d;
    const t = `${d}/${sub}`;
    if (!host.exists(t)) throw new RuntimeError(`--cgroup: no sub-cgroup ${t}`);
    return t;
  };
  const ops: PlanOp[] = [];
  for (const d of pl.v1.filter((x) => host.exists(x))) {
    const ctrls = Object.entries(layout.v1)
      .filter(([, m]) => d.startsWith(`${m.mountpoint}/`))
      .map(([c]) => c);
    const c = ctrls.find((x) => named.has(x));
    if (c) used.add(c);
    ops.push({ op: "cgroup-join", tasks: `${below(d, c ? named.get(c) : all)}/tasks` });
  }
  const unknown = [...named.keys()].filter((c) => !used.has(c));
  if (unknown.length)
    throw new RuntimeError(
      `--cgroup: no ${unknown.join(", ")} controller hierarchy for this container${pl.v1.length ? "" : " (cgroup v2: give the path alone)"}`,
    );
  // a hybrid host's cgroup2 side (hugetlb alone) may lack the sub-cgroup: the container's own then
  if (pl.v2 && host.exists(pl.v2))
    ops.push({
      op: "cgroup-into",
      dir: pl.v2Optional && all && !host.exists(`${pl.v2}/${all}`) ? pl.v2 : below(pl.v2, all),
      need: pl.v2Optional ? "optional" : "required",
    });
  return ops;
}

/** The plan for `create`. */
export function createPlan(inp: PlanInput): PlanOp[] {
  const { spec, bundle } = inp;
  const host = inp.host ?? localHost();
  const linux = spec.linux ?? {};
  if (!spec.process) throw new RuntimeError("config.json: process is required to create a container");
  // linux.mountLabel is a security setting: refused where it cannot be applied, never dropped (as process.selinuxLabel)
  if (linux.mountLabel && !host.selinux)
    throw new RuntimeError(`linux.mountLabel: SELinux is not enabled on this host (requested label ${JSON.stringify(linux.mountLabel)})`);
  if (linux.intelRdt) {
    const mounted = host.resctrl;
    throw new RuntimeError(
      `linux.intelRdt: berth does not support Intel RDT (resctrl)${mounted ? "" : ", and this host has no resctrl file system mounted"}; remove linux.intelRdt`,
    );
  }
  const userns = newNs(spec, "user");
  // in a user namespace, new or joined: device nodes cannot be made, sysfs
  // and devpts follow its rules, and a bind mount's source is opened by the
  // core before it enters the namespace, where the host's root has no rights
  // (a source only it may read); a rootless berth has none to use there
  const inUserns = hasNs(spec, "user");
  const preopen = inUserns && !inp.rootless;
  const ops: PlanOp[] = [{ op: "mode", mode: "create" }];
  if (inp.foreground) ops.push({ op: "foreground" });
  if (inp.cgroup) ops.push(...cgroupOps(inp.cgroup, false, host));
  if (inp.foreground && inp.cgroup) ops.push(...returnOps(host));
  if (spec.process.terminal) {
    if (!inp.consoleSocket) throw new RuntimeError("process.terminal is true: --console-socket is required");
    ops.push({ op: "console-socket", path: inp.consoleSocket });
  } else if (inp.consoleSocket) {
    throw new RuntimeError("--console-socket was given but process.terminal is false");
  }
  if (inp.pidfdSocket) ops.push({ op: "pidfd-socket", path: inp.pidfdSocket });
  if (inp.stateDir !== undefined) ops.push({ op: "exec-fifo", dir: inp.stateDir, name: "exec.fifo" });
  // join existing namespaces: the user namespace first, so the others are entered with its rights
  const joins = (linux.namespaces ?? []).filter((n) => n.path);
  joins.sort((a, b) => (a.type === "user" ? -1 : b.type === "user" ? 1 : 0));
  for (const n of joins) {
    if (!host.exists(n.path!)) throw new RuntimeError(`linux.namespaces: ${n.type} namespace path ${n.path} does not exist`);
    ops.push({ op: "ns-join", type: n.type, path: n.path! });
  }
  const fresh = (linux.namespaces ?? []).filter((n) => !n.path).map((n) => n.type);
  if (fresh.length) ops.push({ op: "ns-new", types: fresh });
  if (userns) {
    let uid = mapText(linux.uidMappings),
      gid = mapText(linux.gidMappings);
    if (!uid) uid = `0 ${host.uid} 1\n`;
    if (!gid) gid = `0 ${host.gid} 1\n`;
    if (inp.rootless) ops.push({ op: "unprivileged" }, { op: "setgroups", value: "deny" });
    ops.push({ op: "uidmap", map: uid }, { op: "gidmap", map: gid });
  }
  if (linux.timeOffsets) {
    const text = Object.entries(linux.timeOffsets)
      .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`)
      .join("");
    ops.push({ op: "timens-offsets", offsets: text });
  }
  if (spec.hostname !== undefined && spec.hostname !== "") ops.push({ op: "hostname", name: spec.hostname });
  if (spec.domainname !== undefined && spec.domainname !== "") ops.push({ op: "domainname", name: spec.domainname });
  if (spec.process.oomScoreAdj !== undefined) ops.push({ op: "oom-score-adj", score: spec.process.oomScoreAdj });
  if (linux.personality) {
    const dom = { LINUX: 0x0000, LINUX32: 0x0008 }[linux.personality.domain as string];
    if (dom === undefined) throw new RuntimeError(`linux.personality.domain: unknown ${JSON.stringify(linux.personality.domain)}`);
    ops.push({ op: "personality", domain: dom });
  }
  const rootfs = resolve(bundle, spec.root!.path);
  if (!host.isDirectory(rootfs)) throw new RuntimeError(`root.path: ${rootfs} is not a directory`);
  // the rootfs becomes a mount point in place, and a mount is never placed on
  // a link (as runc, which refuses it too; crun follows it)
  if (host.isSymlink(rootfs)) throw new RuntimeError(`root.path: ${rootfs} is a symbolic link (give the directory it points to)`);
  ops.push({ op: "rootfs", path: rootfs });
  if (linux.rootfsPropagation) {
    const p = PROPAGATION[linux.rootfsPropagation];
    if (!p) throw new RuntimeError(`linux.rootfsPropagation: unknown ${JSON.stringify(linux.rootfsPropagation)}`);
    ops.push({ op: "rootfs-propagation", flags: p[0] | MS.REC });
  }
  // no mount namespace: the runtime's is shared (config-linux.md: "If a
  // namespace type is not specified in the namespaces array, the container
  // MUST inherit the runtime namespace of that type"); the core keeps the
  // container's mounts under one bind of the rootfs, detached at delete
  if (sharesMountNs(spec)) {
    // the runtime's mount namespace belongs to the runtime's user namespace: from another, nothing can be mounted there
    if (hasNs(spec, "user"))
      throw new RuntimeError(
        "linux.namespaces: a container in a user namespace needs a mount namespace of its own (without one it would share the runtime's, where it cannot mount)",
      );
    ops.push({ op: "shared-mount-ns" });
  } else if (inp.noPivot) ops.push({ op: "no-pivot" });
  if (!inp.noNewKeyring) ops.push({ op: "session-keyring", name: `_ses.${inp.id}` });

  // mounts, in order
  let idmapSlot = 0;
  // what is mounted at /dev last: a file system of its own gets the default
  // devices; one bound from elsewhere (the host's /dev, say) gets nothing made
  // in it (runc neither), or a node made for the container would replace the
  // source's own, on the host
  let devMount: "fs" | "bind" | undefined;
  let devpts = false;
  // read-only file system mounts that get something made inside them (a
  // later mount's mount point, /dev's nodes): made read-only at the end
  const laterReadonly: string[] = [];
  const mounts = spec.mounts ?? [];
  const holds = (dest: string, i: number) =>
    dest === "/dev" || mounts.slice(i + 1).some((n) => n.destination.startsWith(dest.endsWith("/") ? dest : `${dest}/`));
  for (const [i, m] of mounts.entries()) {
    const field = `mounts[${i}]`;
    const o = parseMountOptions(m.options, field);
    const type = m.type ?? (o.bind ? "bind" : "");
    const dest = m.destination;
    if (!isAbsolute(dest)) throw new RuntimeError(`${field}.destination: must be absolute, got ${JSON.stringify(dest)}`);
    const procRefusal = procMountRefusal(dest, type, !!(o.bind || type === "bind"), resolve(bundle, m.source ?? ""));
    if (procRefusal) throw new RuntimeError(`${field}.destination: ${procRefusal}`);
    if (dest === "/dev") devMount = type === "bind" || o.bind ? "bind" : "fs";
    if (dest === "/dev/pts" && type === "devpts") devpts = true;
    if (type === "cgroup" || type === "cgroup2") {
      ops.push(...cgroupMountOps(spec, m, o, inp.cgroup, inUserns, host));
      continue;
    }
    const idmapped = o.idmap !== "" || !!m.uidMappings?.length;
    if (idmapped && !(o.bind || type === "bind")) throw new RuntimeError(`${field}: only bind mounts can be idmapped (type ${JSON.stringify(type)})`);
    if (o.bind || type === "bind") {
      const src = resolve(bundle, m.source ?? "");
      if (!m.source || !host.exists(src)) throw new RuntimeError(`${field}.source: ${m.source ? src : "(none)"} does not exist`);
      const isDir = host.isDirectory(src);
      if (idmapped) {
        // the mapping: the mount's own, else the container's user namespace's
        const uid = mapText(m.uidMappings?.length ? m.uidMappings : userns ? linux.uidMappings : undefined);
        const gid = mapText(m.gidMappings?.length ? m.gidMappings : userns ? linux.gidMappings : undefined);
        if (!uid || !gid) throw new RuntimeError(`${field}: ${o.idmap || "idmap"} needs uidMappings and gidMappings, on the mount or on a new user namespace`);
        const slot = idmapSlot++;
        ops.push(idmapTreeOp(slot, src, o, o.idmap === "ridmap", uid, gid));
        ops.push(mountOp("idmapped", String(slot), dest, { propagation: o.propagation, propRecursive: o.propRecursive ? 1 : 0, mkkind: isDir ? 1 : 2 }));
        continue;
      }
      if (preopen) {
        // an idmap-tree without maps: the tree alone, opened before any namespace is joined
        const slot = idmapSlot++;
        ops.push(idmapTreeOp(slot, src, o, false, "", ""));
        ops.push(mountOp("idmapped", String(slot), dest, { propagation: o.propagation, propRecursive: o.propRecursive ? 1 : 0, mkkind: isDir ? 1 : 2 }));
        continue;
      }
      ops.push(
        mountOp(o.bind || "bind", src, dest, {
          attrSet: o.set,
          attrClr: o.clr,
          attrRecursive: o.recursiveAttrs ? 1 : 0,
          propagation: o.propagation,
          propRecursive: o.propRecursive ? 1 : 0,
          mkkind: isDir ? 1 : 2,
        }),
      );
      continue;
    }
    if (!type) throw new RuntimeError(`${field}.type: required for a mount that is not a bind mount`);
    if (type === "sysfs" && inUserns && !newNs(spec, "network")) {
      // sysfs cannot be mounted from a user namespace that does not own the network namespace
      ops.push(mountOp("rbind", "/sys", dest, { attrSet: o.set | ATTR.NOSUID | ATTR.NODEV | ATTR.NOEXEC, attrRecursive: 1, mkkind: 3 }));
      continue;
    }
    let data = o.data;
    if (type === "devpts" && inUserns) data = data.filter((d) => !d.startsWith("gid="));
    // the mounts berth makes get the label as their context (proc and sysfs keep the kernel's)
    if (linux.mountLabel && type !== "proc" && type !== "sysfs") data = [...data, `context="${linux.mountLabel}"`];
    const copyup = data.includes("tmpcopyup");
    data = data.filter((d) => d !== "tmpcopyup" && d !== "notmpcopyup");
    let set = o.set;
    if (set & ATTR.RDONLY && holds(dest, i)) {
      set &= ~ATTR.RDONLY;
      laterReadonly.push(dest);
    }
    // proc and sysfs: on a plain directory of the rootfs (never through a
    // symlink there), and the mount kept for the masks and read-only paths below it
    const mkkind = type === "proc" || type === "sysfs" ? 3 : 1;
    ops.push(
      mountOp(copyup ? "fs-copyup" : "fs", m.source ?? type, dest, {
        fstype: type,
        attrSet: set,
        attrClr: o.clr,
        propagation: o.propagation,
        propRecursive: o.propRecursive ? 1 : 0,
        data: data.join(","),
        mkkind,
      }),
    );
  }
  // devices
  const devOps = (path: string, type: PlanOpOf<"mkdev">["type"], major: number, minor: number, mode: number, uid: number, gid: number): PlanOp =>
    inUserns ? { op: "bind-dev", path, source: path } : { op: "mkdev", path, type, major, minor, mode, uid, gid };
  if (devMount === "fs") {
    for (const [path, ma, mi] of DEFAULT_DEVICES) {
      if ((linux.devices ?? []).some((d) => d.path === path)) continue;
      ops.push(devOps(path, "c", ma, mi, 0o666, 0, 0));
    }
    const links: [string, string][] = [
      ["/proc/self/fd", "/dev/fd"],
      ["/proc/self/fd/0", "/dev/stdin"],
      ["/proc/self/fd/1", "/dev/stdout"],
      ["/proc/self/fd/2", "/dev/stderr"],
    ];
    if (host.kcore) links.push(["/proc/kcore", "/dev/core"]);
    if (devpts) links.push(["pts/ptmx", "/dev/ptmx"]);
    for (const [target, link] of links) ops.push({ op: "symlink", target, link });
    ops.push({ op: "mkdir", path: "/dev/shm", mode: 0o1777 });
  }
  for (const [i, d] of (linux.devices ?? []).entries()) {
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined))
      throw new RuntimeError(`linux.devices[${i}]: major and minor are required for type ${d.type}`);
    if (devMount === "bind" && (d.path === "/dev" || d.path.startsWith("/dev/"))) continue;
    ops.push(devOps(d.path, d.type as PlanOpOf<"mkdev">["type"], d.major ?? 0, d.minor ?? 0, d.fileMode ?? 0o666, d.uid ?? 0, d.gid ?? 0));
  }
  ops.push({ op: "mkdir", path: spec.process.cwd, mode: 0o755 });
  for (const dest of laterReadonly) ops.push({ op: "mount-readonly", path: dest });
  ops.push(...hookOps("createContainer", spec.hooks?.createContainer));
  ops.push(...hookOps("startContainer", spec.hooks?.startContainer));
  for (const p of linux.maskedPaths ?? []) ops.push({ op: "mask", path: p });
  for (const p of linux.readonlyPaths ?? []) ops.push({ op: "readonly", path: p });
  for (const [k, v] of Object.entries(linux.sysctl ?? {})) {
    if (!/^[a-zA-Z0-9_.\-/]+$/.test(k) || k.includes("..")) throw new RuntimeError(`linux.sysctl: bad key ${JSON.stringify(k)}`);
    ops.push({ op: "sysctl", key: k.replaceAll("/", "."), value: v });
  }
  if (inp.loopbackUp) {
    if (!newNs(spec, "network")) throw new RuntimeError("loopback-up needs a new network namespace (linux.namespaces: network without a path)");
    ops.push({ op: "loopback-up" });
  }
  if (spec.root?.readonly) ops.push({ op: "root-readonly" });
  ops.push(...processOps(spec.process, spec, host));
  ops.push(...seccompOps(linux.seccomp, { ociVersion: spec.ociVersion ?? OCI_VERSION, id: inp.id, status: "creating", bundle, annotations: spec.annotations }));
  return ops;
}

/** The plan for `exec`: join every namespace of the running container. */
export function execPlan(inp: {
  spec: Spec;
  id: string;
  bundle: string;
  pid: number;
  namespaces: Record<string, string>;
  process: Process;
  cgroup?: Cgroup;
  consoleSocket?: string;
  pidfdSocket?: string;
  foreground: boolean;
  subCgroups?: string[];
  host?: HostFacts;
}): PlanOp[] {
  const host = inp.host ?? localHost();
  const ops: PlanOp[] = [{ op: "mode", mode: "exec" }];
  if (inp.foreground) ops.push({ op: "foreground" });
  if (inp.subCgroups?.length && !inp.cgroup?.exists()) throw new RuntimeError("--cgroup: the container has no cgroup of its own");
  if (inp.cgroup) ops.push(...(inp.subCgroups?.length ? subCgroupOps(inp.cgroup, inp.subCgroups, host) : cgroupOps(inp.cgroup, true, host)));
  if (inp.foreground && inp.cgroup) ops.push(...returnOps(host));
  if (inp.process.terminal) {
    if (!inp.consoleSocket) throw new RuntimeError("process.terminal is true: --console-socket is required");
    ops.push({ op: "console-socket", path: inp.consoleSocket });
  }
  if (inp.pidfdSocket) ops.push({ op: "pidfd-socket", path: inp.pidfdSocket });
  const PROC_NAME: Record<string, string> = { pid: "pid", network: "net", mount: "mnt", ipc: "ipc", uts: "uts", user: "user", cgroup: "cgroup", time: "time" };
  const types = Object.keys(inp.namespaces).sort((a, b) => (a === "user" ? -1 : b === "user" ? 1 : a === "mount" ? 1 : b === "mount" ? -1 : 0));
  for (const t of types) ops.push({ op: "ns-join", type: t as NsType, path: `/proc/${inp.pid}/ns/${PROC_NAME[t]}` });
  if (sharesMountNs(inp.spec)) ops.push({ op: "chroot", path: resolve(inp.bundle, inp.spec.root!.path) });
  // process.execCPUAffinity (exec only, not the init): "initial" for the core before it joins the
  // container's cgroup, "final" for the process once there; an empty list leaves the affinity alone
  for (const k of ["initial", "final"] as const) {
    const cpus = parseIdList(inp.process.execCPUAffinity?.[k] ?? "", CPU_LIMIT) ?? [];
    if (cpus.length > 0) ops.push({ op: "cpu-affinity", which: k, cpus });
  }
  ops.push(...processOps(inp.process, inp.spec, host));
  ops.push(
    ...seccompOps(inp.spec.linux?.seccomp, {
      ociVersion: inp.spec.ociVersion ?? OCI_VERSION,
      id: inp.id,
      status: "running",
      bundle: inp.bundle,
      annotations: inp.spec.annotations,
    }),
  );
  return ops;
}

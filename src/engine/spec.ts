// The OCI bundle of an engine container: config.json from the runtime's
// defaults, the image's process (Entrypoint/Cmd, Env, WorkingDir, User) and
// the flags of `run`, in the conventions of Docker.
import { defaultSeccompProfile } from "../security/profile.ts";
import { detectCgroups } from "../cgroups/index.ts";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, posix } from "node:path";
import { constants as osConstants } from "node:os";
import { defaultSpec, ALL_CAPABILITIES } from "../spec/defaults.ts";
import { CAPABILITY_NUMBERS } from "../spec/constants.ts";
import type { LinuxCapabilities, LinuxDevice, LinuxResources, LinuxSeccomp, Mount, Spec } from "../spec/types.ts";
import { validateConfig } from "../spec/validate.ts";
import { groupId, imageToProcess, type ImageProcess } from "../image/config.ts";
import { resolveInRoot } from "../image/rootpath.ts";
import type { ImageConfig } from "../image/types.ts";
import { EngineUsageError } from "./args.ts";
import { majorMinor } from "../linux/sys.ts";
import type { HealthFlags } from "./health.ts";

/** Docker's default capability set. */
export const ENGINE_CAPABILITIES: readonly string[] = Object.freeze([
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
]);

export interface VolumeSpec {
  /** The host directory (for a named volume: filled in when the container is made). */
  source: string;
  destination: string;
  readonly: boolean;
  /** A named volume (`-v NAME:/path`), kept by the engine under ROOT/volumes. */
  name?: string;
  /** Made for one of the image's VOLUMEs (a random name): removed by `rm -v` and with `--rm`. */
  anonymous?: boolean;
}

export interface TmpfsSpec {
  destination: string;
  options: string[];
}

/** What `run` was asked for (already parsed; values validated by the functions below). */
export interface ContainerOptions {
  /** Command after the image (replaces Cmd). */
  cmd?: string[];
  entrypoint?: string[];
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  tty: boolean;
  interactive: boolean;
  volumes: VolumeSpec[];
  tmpfs: TmpfsSpec[];
  readOnly: boolean;
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  capAdd: string[];
  capDrop: string[];
  /** A seccomp profile (from --security-opt seccomp=FILE); null = unconfined; undefined = none given. */
  seccomp?: LinuxSeccomp | null;
  noNewPrivileges: boolean;
  /** --restart: what the container's monitor does when the container exits. */
  restart?: RestartPolicy;
  /** --ulimit TYPE=SOFT[:HARD] */
  ulimits?: Ulimit[];
  /** --sysctl KEY=VALUE (namespaced sysctls only; the runtime checks them) */
  sysctls?: Record<string, string>;
  /** --init: an init (Debian's tini or catatonit, static) runs as PID 1, the command as its child; the path of that binary on the host */
  init?: string;
  /** -l/--label KEY=VALUE */
  labels?: Record<string, string>;
  /** --shm-size: bytes of /dev/shm */
  shmSize?: number;
  /** --stop-signal (else the image's StopSignal) */
  stopSignal?: string;
  /** --stop-timeout: seconds `stop` waits before SIGKILL (else 10) */
  stopTimeout?: number;
  /** --device HOST[:CONTAINER[:PERMISSIONS]] */
  devices?: DeviceSpec[];
  /** --group-add: supplementary groups (numbers or names in the image's /etc/group) */
  groupAdd?: string[];
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** --memory-swap: memory plus swap, bytes; -1 unlimited */
  memorySwap?: number;
  memoryReservation?: number;
  /** --health-cmd, --health-interval, ..., --no-healthcheck */
  health?: HealthFlags;
  /** --privileged: every capability, no seccomp filter, no masked or read-only paths, /sys and cgroups writable, every host device */
  privileged?: boolean;
  /** --cgroupns: a cgroup namespace of the container's own, or the host's; else defaultCgroupns() */
  cgroupns?: CgroupnsMode;
  /** --add-host NAME:IP, --dns, --dns-search, --dns-option */
  addHosts?: [string, string][];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

export interface Ulimit {
  type: string;
  soft: number;
  hard: number;
}

export interface DeviceSpec {
  host: string;
  container: string;
  permissions: string;
}

const ULIMITS = [
  "as",
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
];

/** --ulimit TYPE=SOFT[:HARD] (Docker's names: nofile, nproc, core, ...; -1 is unlimited). */
export function parseUlimit(s: string): Ulimit {
  const m = /^([a-z]+)=(-1|\d+)(?::(-1|\d+))?$/.exec(s);
  if (!m || !ULIMITS.includes(m[1]!)) throw new EngineUsageError(`--ulimit ${JSON.stringify(s)}: want TYPE=SOFT[:HARD], TYPE one of ${ULIMITS.join(", ")}`);
  // -1: unlimited (RLIM_INFINITY; see rlimitValue in src/runtime/plan.ts)
  const num = (v: string) => (v === "-1" ? 2 ** 64 : Number(v));
  const soft = num(m[2]!),
    hard = m[3] === undefined ? soft : num(m[3]);
  if (soft > hard) throw new EngineUsageError(`--ulimit ${JSON.stringify(s)}: the soft limit exceeds the hard one`);
  return { type: m[1]!, soft, hard };
}

/** --device HOST[:CONTAINER[:PERMISSIONS]] (permissions: some of r, w, m; default rwm). */
export function parseDevice(s: string): DeviceSpec {
  const parts = s.split(":");
  if (parts.length > 3 || !isAbsolute(parts[0] ?? ""))
    throw new EngineUsageError(`--device ${JSON.stringify(s)}: want HOST-PATH[:CONTAINER-PATH[:PERMISSIONS]]`);
  let container = parts[0]!,
    permissions = "rwm";
  if (parts.length === 2 && /^[rwm]+$/.test(parts[1]!)) permissions = parts[1]!;
  else if (parts.length >= 2) container = parts[1]!;
  if (parts.length === 3) permissions = parts[2]!;
  if (!isAbsolute(container)) throw new EngineUsageError(`--device ${JSON.stringify(s)}: the container path must be absolute`);
  if (!/^[rwm]+$/.test(permissions)) throw new EngineUsageError(`--device ${JSON.stringify(s)}: permissions are some of r, w and m`);
  return { host: parts[0]!, container: posix.normalize(container), permissions };
}

/** KEY=VALUE pairs of --sysctl, --label. */
export function parsePairs(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new EngineUsageError(`${flag} ${JSON.stringify(kv)}: want KEY=VALUE`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure:N: at most N restarts (0: no limit). */
  maxRetries: number;
}

/** --restart no | on-failure[:N] | always | unless-stopped (Docker's and Podman's). */
export function parseRestart(s: string): RestartPolicy {
  const m = /^(no|on-failure|always|unless-stopped)(?::(\d+))?$/.exec(s);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure")) {
    throw new EngineUsageError(`--restart ${JSON.stringify(s)}: want no, on-failure[:MAX-RETRIES], always or unless-stopped`);
  }
  return { name: m[1] as RestartPolicy["name"], maxRetries: Number(m[2] ?? 0) };
}

/**
 * Whether a container that exited with CODE starts again: never after a stop
 * or rm asked for by the user; on-failure only for a non-zero code, up to its
 * maximum; always and unless-stopped after any exit. (With no daemon, no
 * policy restarts containers after a reboot: see docs/engine.md.)
 */
export function shouldRestart(p: RestartPolicy | undefined, code: number, restarts: number, stoppedByUser: boolean): boolean {
  if (!p || p.name === "no" || stoppedByUser) return false;
  if (p.name === "on-failure") return code !== 0 && (p.maxRetries === 0 || restarts < p.maxRetries);
  return true;
}

/** Docker's back-off between restarts: 100 ms doubling to a minute; back to 100 ms after 10 s of running. */
export function restartDelay(previous: number, ranMs: number): number {
  if (previous === 0 || ranMs >= 10_000) return 100;
  return Math.min(previous * 2, 60_000);
}

export function parseVolume(s: string): VolumeSpec {
  const parts = s.split(":");
  if (parts.length < 2 || parts.length > 3)
    throw new EngineUsageError(`--volume ${JSON.stringify(s)}: want HOST-PATH:CONTAINER-PATH[:ro|rw] or NAME:CONTAINER-PATH[:ro|rw]`);
  const [source, destination, mode = "rw"] = parts as [string, string, string?];
  const named = !isAbsolute(source);
  if (named && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source)) {
    throw new EngineUsageError(
      `--volume ${JSON.stringify(s)}: ${JSON.stringify(source)} is neither an absolute host path nor a volume name (letters, digits and _ . -, starting with a letter or digit)`,
    );
  }
  if (!isAbsolute(destination)) throw new EngineUsageError(`--volume ${JSON.stringify(s)}: the container path must be absolute`);
  if (destination === "/") throw new EngineUsageError(`--volume ${JSON.stringify(s)}: cannot mount over the container's /`);
  let readonly = false;
  for (const o of mode.split(",")) {
    if (o === "ro") readonly = true;
    else if (o === "rw" || o === "z" || o === "Z") readonly = o === "rw" ? false : readonly;
    else throw new EngineUsageError(`--volume ${JSON.stringify(s)}: unknown option ${JSON.stringify(o)} (want ro or rw)`);
  }
  if (named) return { source: "", name: source, destination: posix.normalize(destination), readonly };
  return { source: posix.normalize(source), destination: posix.normalize(destination), readonly };
}

const TMPFS_OPTION = /^(ro|rw|nosuid|suid|nodev|dev|noexec|exec|(size|mode|uid|gid|nr_inodes|nr_blocks)=[0-9a-zA-Z%]+)$/;
export function parseTmpfs(s: string): TmpfsSpec {
  const i = s.indexOf(":");
  const destination = i < 0 ? s : s.slice(0, i);
  const opts =
    i < 0
      ? []
      : s
          .slice(i + 1)
          .split(",")
          .filter((o) => o !== "");
  if (!isAbsolute(destination)) throw new EngineUsageError(`--tmpfs ${JSON.stringify(s)}: the container path must be absolute`);
  for (const o of opts) if (!TMPFS_OPTION.test(o)) throw new EngineUsageError(`--tmpfs ${JSON.stringify(s)}: unknown option ${JSON.stringify(o)}`);
  return { destination: posix.normalize(destination), options: opts };
}

export function normalizeCap(c: string, flag: string): string {
  const up = c.trim().toUpperCase();
  if (up === "ALL") return "ALL";
  const name = up.startsWith("CAP_") ? up : `CAP_${up}`;
  if (!ALL_CAPABILITIES.includes(name)) throw new EngineUsageError(`${flag}: unknown capability ${JSON.stringify(c)}`);
  return name;
}

function capabilitySet(add: string[], drop: string[]): string[] {
  let caps = new Set<string>(ENGINE_CAPABILITIES);
  if (drop.includes("ALL")) caps = new Set();
  for (const c of drop) caps.delete(c);
  if (add.includes("ALL")) for (const c of ALL_CAPABILITIES) caps.add(c);
  for (const c of add) if (c !== "ALL") caps.add(c);
  return [...caps].sort();
}

/**
 * Reads a seccomp profile: the OCI `linux.seccomp` form, or Docker's profile
 * form (archMap, syscalls with names/action/args; entries conditioned on
 * includes/excludes are kept only when they have no conditions).
 */
export function readSeccompProfile(file: string): LinuxSeccomp {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new EngineUsageError(`--security-opt seccomp=${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new EngineUsageError(`--security-opt seccomp=${file}: not a JSON object`);
  const p = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (Array.isArray(p.architectures)) out.architectures = p.architectures;
  else if (Array.isArray(p.archMap)) {
    out.architectures = (p.archMap as Array<{ architecture?: string; subArchitectures?: string[] }>)
      .flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])])
      .filter((a) => typeof a === "string");
  }
  if (Array.isArray(p.flags)) out.flags = p.flags;
  if (Array.isArray(p.syscalls)) {
    const sys: unknown[] = [];
    for (const s of p.syscalls as Array<Record<string, unknown>>) {
      if (!s || typeof s !== "object") {
        sys.push(s);
        continue;
      }
      const cond = (x: unknown) => x && typeof x === "object" && Object.keys(x).length > 0;
      if (cond(s.includes) || cond(s.excludes)) continue;
      const { includes: _i, excludes: _e, comment: _c, name, ...rest } = s;
      if (rest.names === undefined && typeof name === "string") rest.names = [name];
      sys.push(rest);
    }
    out.syscalls = sys;
  }
  // validated with the whole config (errors name linux.seccomp.*)
  return out as unknown as LinuxSeccomp;
}

export interface BundleInput {
  image: ImageConfig;
  rootfs: string;
  opts: ContainerOptions;
  hostname: string;
  /** The network namespace to join; undefined = the host's (network host). */
  netnsPath?: string;
  /** Without netnsPath: a new network namespace of the container's own ("none"), else the host's. */
  ownNetns?: boolean;
  /** Files to bind-mount onto /etc/resolv.conf, /etc/hosts, /etc/hostname. */
  networkFiles?: { resolvConf: string; hosts: string; hostname: string };
  annotations: Record<string, string>;
  cgroupsPath: string;
}

/** The process of the container, with Docker's rules; throws with a clear message (unknown user...). */
export function containerProcess(image: ImageConfig, rootfs: string, o: ContainerOptions): ImageProcess {
  try {
    return imageToProcess(image, { cmd: o.cmd, entrypoint: o.entrypoint, env: o.env, workdir: o.workdir, user: o.user }, rootfs);
  } catch (e) {
    throw new EngineUsageError((e as Error).message);
  }
}

/** mkdir -p of `path` inside `root`, symlinks resolved as if root were "/". */
function mkdirInRoot(root: string, path: string): void {
  let parent = root;
  let cur = "";
  for (const part of path.split("/").filter((x) => x !== "" && x !== ".")) {
    cur = `${cur}/${part}`;
    const host = resolveInRoot(root, cur);
    if (host === undefined) {
      if (part === "..") throw new EngineUsageError(`--workdir ${path}: must not climb out with ..`);
      const made = posix.join(parent, part);
      mkdirSync(made, { mode: 0o755 });
      parent = made;
    } else {
      if (!statSync(host).isDirectory()) throw new EngineUsageError(`working directory ${path}: ${cur} is not a directory in the image`);
      parent = host;
    }
  }
}

/** The capabilities berth itself may hand on (its bounding set): all of them for --privileged. */
function hostCapabilities(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  const mask = m ? BigInt(`0x${m[1]}`) : 0n;
  return ALL_CAPABILITIES.filter((c) => {
    const n = CAPABILITY_NUMBERS[c as keyof typeof CAPABILITY_NUMBERS];
    return n !== undefined && ((mask >> BigInt(n)) & 1n) === 1n;
  });
}

/** The devices the runtime itself provides in every container's /dev. */
const BUILTIN_DEVICES = new Set(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/console", "/dev/ptmx"]);

/** Every character and block device under the host's /dev (not pts, shm, mqueue), for --privileged. */
function hostDevices(): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // a directory under /dev that cannot be listed (or went meanwhile) adds no devices
    }
    for (const n of names) {
      const p = `${dir}/${n}`;
      if (["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/.lxc", "/dev/.udev"].includes(p) || BUILTIN_DEVICES.has(p)) continue;
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue; // removed since the listing
      }
      if (st.isDirectory()) walk(p);
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        out.push({
          path: p,
          type: st.isCharacterDevice() ? "c" : "b",
          ...majorMinor(st.rdev),
          fileMode: st.mode & 0o777,
          uid: st.uid,
          gid: st.gid,
        });
      }
    }
  };
  walk("/dev");
  return out;
}

/** Where --init's binary appears in the container. */
export const INIT_PATH = "/dev/init";

/** Statically linked inits from Debian's packages (tini, catatonit): they run in any image. */
const INIT_CANDIDATES = ["/usr/bin/tini-static", "/usr/bin/catatonit", "/usr/libexec/podman/catatonit"];

/** The init for --init: --init-path, else the first installed of Debian's static ones. */
export function findInit(given?: string): string {
  if (given !== undefined) {
    if (!given.startsWith("/") || !existsSync(given) || !statSync(given).isFile())
      throw new EngineUsageError(`--init-path ${JSON.stringify(given)}: not an absolute path of a file`);
    return given;
  }
  const hit = INIT_CANDIDATES.find((c) => existsSync(c));
  if (!hit) throw new EngineUsageError("--init needs a static init: install Debian's tini (tini-static) or catatonit, or give --init-path");
  return hit;
}

/** The cgroup resources the options ask for (run's flags; update's too). */
export function optionResources(
  o: Pick<ContainerOptions, "memory" | "memorySwap" | "memoryReservation" | "cpus" | "cpuShares" | "cpusetCpus" | "cpusetMems" | "pidsLimit">,
): LinuxResources {
  const resources: LinuxResources = {};
  if (o.memory !== undefined || o.memorySwap !== undefined || o.memoryReservation !== undefined) {
    resources.memory = {
      ...(o.memory !== undefined ? { limit: o.memory } : {}),
      ...(o.memorySwap !== undefined ? { swap: o.memorySwap } : {}),
      ...(o.memoryReservation !== undefined ? { reservation: o.memoryReservation } : {}),
    };
  }
  const cpu = {
    ...(o.cpus !== undefined ? { quota: Math.round(o.cpus * 100_000), period: 100_000 } : {}),
    ...(o.cpuShares !== undefined ? { shares: o.cpuShares } : {}),
    ...(o.cpusetCpus !== undefined ? { cpus: o.cpusetCpus } : {}),
    ...(o.cpusetMems !== undefined ? { mems: o.cpusetMems } : {}),
  };
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;
  if (o.pidsLimit !== undefined) resources.pids = { limit: o.pidsLimit };
  return resources;
}

export type CgroupnsMode = "private" | "host";

/**
 * Docker's and Podman's default cgroup namespace mode: a private one on a pure
 * cgroup v2 host, the host's on v1 and hybrid hosts (there a container sees its
 * own cgroups bound at /sys/fs/cgroup/<hierarchy>, as with runc spec).
 */
export function defaultCgroupns(): CgroupnsMode {
  return detectCgroups().mode === "v2" ? "private" : "host";
}

export function buildSpec(inp: BundleInput, proc: ImageProcess): Spec {
  const o = inp.opts;
  const spec = defaultSpec({ cgroupns: (o.cgroupns ?? defaultCgroupns()) === "private" });
  if (proc.args.length === 0) throw new EngineUsageError("no command given and the image has neither Entrypoint nor Cmd");
  // Docker creates a missing working directory
  if (proc.cwd !== "/") mkdirInRoot(inp.rootfs, proc.cwd);
  const caps = o.privileged ? hostCapabilities().filter((c) => !o.capDrop.includes(c)) : capabilitySet(o.capAdd, o.capDrop);
  const capabilities: LinuxCapabilities = { bounding: caps, effective: caps, permitted: caps };
  if (proc.user.uid === 0) capabilities.inheritable = o.privileged ? caps : [];
  const gids = [...proc.user.additionalGids];
  for (const g of o.groupAdd ?? []) {
    try {
      const id = groupId(g, inp.rootfs);
      if (!gids.includes(id)) gids.push(id);
    } catch (e) {
      throw new EngineUsageError(`--group-add: ${(e as Error).message}`);
    }
  }
  let rlimits = spec.process!.rlimits ?? [];
  for (const u of o.ulimits ?? []) {
    const type = `RLIMIT_${u.type.toUpperCase()}` as (typeof rlimits)[number]["type"];
    rlimits = [...rlimits.filter((r) => r.type !== type), { type, soft: u.soft, hard: u.hard }];
  }
  spec.process = {
    terminal: o.tty,
    user: { uid: proc.user.uid, gid: proc.user.gid, ...(gids.length ? { additionalGids: gids } : {}) },
    args: proc.args,
    env: proc.env.some((e) => e.startsWith("HOSTNAME=")) ? proc.env : [...proc.env, `HOSTNAME=${inp.hostname}`],
    cwd: proc.cwd,
    capabilities,
    rlimits,
    noNewPrivileges: o.noNewPrivileges,
  };
  if (o.tty) {
    if (!proc.env.some((e) => e.startsWith("TERM="))) spec.process.env!.push("TERM=xterm");
    const cols = process.stdout.columns,
      rows = process.stdout.rows;
    if (cols && rows) spec.process.consoleSize = { width: cols, height: rows };
  }
  spec.root = { path: inp.rootfs, readonly: o.readOnly };
  spec.hostname = inp.hostname;
  const mounts: Mount[] = (spec.mounts ?? []).map((m) =>
    m.destination === "/dev/shm" && o.shmSize !== undefined
      ? { ...m, options: [...(m.options ?? []).filter((x) => !x.startsWith("size=")), `size=${Math.max(1, Math.floor(o.shmSize / 1024))}k`] }
      : m,
  );
  if (inp.networkFiles) {
    const f = inp.networkFiles;
    for (const [dest, src] of [
      ["/etc/resolv.conf", f.resolvConf],
      ["/etc/hosts", f.hosts],
      ["/etc/hostname", f.hostname],
    ] as const) {
      mounts.push({ destination: dest, type: "bind", source: src, options: ["rbind", "rprivate", "nosuid", "nodev", "noexec"] });
    }
  }
  for (const t of o.tmpfs) {
    const opts = t.options.length ? t.options : ["rw", "noexec", "nosuid", "nodev"];
    mounts.push({ destination: t.destination, type: "tmpfs", source: "tmpfs", options: opts });
  }
  for (const v of o.volumes) {
    if (!v.source) throw new Error(`volume ${v.name}: not resolved to a directory`);
    if (!existsSync(v.source)) mkdirSync(v.source, { recursive: true, mode: 0o755 });
    statSync(v.source);
    mounts.push({ destination: v.destination, type: "bind", source: v.source, options: ["rbind", "rprivate", ...(v.readonly ? ["ro"] : [])] });
  }
  if (o.init) {
    // read-only on the container's /dev (a tmpfs: nothing is written into its root file system)
    mounts.push({ destination: INIT_PATH, type: "bind", source: o.init, options: ["rbind", "rprivate", "ro", "nosuid", "nodev"] });
    spec.process!.args = [INIT_PATH, "--", ...proc.args];
  }
  spec.mounts = mounts;
  const linux = spec.linux!;
  linux.namespaces = (linux.namespaces ?? []).flatMap((n) => {
    if (n.type !== "network") return [n];
    if (inp.netnsPath) return [{ type: "network" as const, path: inp.netnsPath }];
    return inp.ownNetns ? [{ type: "network" as const }] : [];
  });
  const resources = { ...(linux.resources ?? {}), ...optionResources(o) };
  for (const d of o.devices ?? []) {
    let st;
    try {
      st = statSync(d.host);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new EngineUsageError(`--device ${d.host}: ${code === "ENOENT" || code === "ENOTDIR" ? "no such device on the host" : (e as Error).message}`);
    }
    const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
    if (!type) throw new EngineUsageError(`--device ${d.host}: not a character or block device`);
    const { major, minor } = majorMinor(st.rdev);
    linux.devices = [...(linux.devices ?? []), { path: d.container, type, major, minor, fileMode: st.mode & 0o777, uid: 0, gid: 0 }];
    resources.devices = [...(resources.devices ?? []), { allow: true, type, major, minor, access: d.permissions }];
  }
  if (o.sysctls && Object.keys(o.sysctls).length > 0) linux.sysctl = { ...(linux.sysctl ?? {}), ...o.sysctls };
  if (o.privileged) {
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
    spec.mounts = spec.mounts!.map((m) =>
      m.destination === "/sys" || m.destination === "/sys/fs/cgroup" ? { ...m, options: (m.options ?? []).filter((x) => x !== "ro").concat("rw") } : m,
    );
    resources.devices = [{ allow: true, access: "rwm" }];
    const taken = new Set((linux.devices ?? []).map((d) => d.path));
    linux.devices = [...(linux.devices ?? []), ...hostDevices().filter((d) => !taken.has(d.path))];
  }
  linux.resources = resources;
  linux.cgroupsPath = inp.cgroupsPath;
  // no --security-opt seccomp=...: berth's default profile (for the capabilities the container holds); none when privileged
  if (o.seccomp) linux.seccomp = o.seccomp;
  else if (o.seccomp === undefined && !o.privileged) linux.seccomp = defaultSeccompProfile(spec.process?.capabilities?.bounding ?? []);
  spec.annotations = inp.annotations;
  try {
    return validateConfig(spec, "the container's configuration");
  } catch (e) {
    throw new EngineUsageError((e as Error).message);
  }
}

/** "SIGTERM", "TERM", "15" -> 15. */
export function signalNumber(s: string, flag = "signal"): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw new EngineUsageError(`${flag}: invalid signal ${s}`);
    return n;
  }
  const up = s.toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  const n = (osConstants.signals as Record<string, number>)[name];
  if (n === undefined) throw new EngineUsageError(`${flag}: unknown signal ${JSON.stringify(s)}`);
  return n;
}

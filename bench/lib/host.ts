// What host we are on: cgroup layout, versions, /dev/kvm; and the private mount
// namespace the whole benchmark runs in on a hybrid cgroup host.
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { cpus, hostname, release, totalmem } from "node:os";
import { run, which } from "./util.ts";

export type CgroupLayout = "v1" | "v2" | "hybrid";

interface MountEntry {
  point: string;
  fstype: string;
}

function mounts(): MountEntry[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const f = l.split(" ");
      const sep = f.indexOf("-");
      return { point: f[4]!, fstype: f[sep + 1]! };
    });
}

export function cgroupLayout(): CgroupLayout {
  const ms = mounts();
  const root = ms.filter((m) => m.point === "/sys/fs/cgroup").pop();
  if (root?.fstype === "cgroup2") return "v2";
  const hasV1 = ms.some((m) => m.fstype === "cgroup");
  const hasV2 = ms.some((m) => m.fstype === "cgroup2");
  return hasV1 && hasV2 ? "hybrid" : "v1";
}

/** The cgroup2 mounts beside v1 controllers (a "hybrid" host), e.g. /sys/fs/cgroup/unified. */
export function hybridV2Mounts(): string[] {
  if (cgroupLayout() !== "hybrid") return [];
  return mounts()
    .filter((m) => m.fstype === "cgroup2")
    .map((m) => m.point);
}

export const NS_ENV = "BERTH_BENCH_PRIVATE_NS";

/**
 * crun 1.8 refuses a hybrid host ("cgroups in hybrid mode not supported"). Rather
 * than wrapping each runtime call in `unshare -m` (which adds the cost of unshare +
 * sh + umount to every call), the whole benchmark re-runs itself once in a private
 * mount namespace where the cgroup2 mount is unmounted: every runtime then sees a
 * pure v1 host and pays nothing extra. Nothing changes outside that namespace.
 * Returns the child's exit code when it re-ran itself, null when we are the child
 * (or nothing needed hiding).
 */
export async function reexecInPrivateNamespace(): Promise<number | null> {
  if (process.env[NS_ENV]) return null;
  const hide = hybridV2Mounts();
  if (hide.length === 0) return null;
  // A throwaway tmpfs goes where the cgroup2 mount was: crun 1.8 creates a directory
  // per container in every /sys/fs/cgroup/* entry, and these must not land on the
  // host's /sys/fs/cgroup tmpfs underneath the (hidden) cgroup2 mount.
  const script = hide.map((m) => `umount '${m}' && mount -t tmpfs -o mode=0755,size=512m berth-bench-hidden '${m}'`).join(" && ") + ' && exec "$@"';
  const argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", process.execPath, ...process.argv.slice(1)];
  const child = Bun.spawn(argv, {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, [NS_ENV]: hide.join(",") },
  });
  const fwd = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on("SIGINT", fwd("SIGINT"));
  process.on("SIGTERM", fwd("SIGTERM"));
  return await child.exited;
}

// ---- cgroup files of a container --------------------------------------------------

export class Cgroups {
  constructor(readonly layout: CgroupLayout) {}

  private memDir(path: string): string {
    const p = path.replace(/^\/+/, "");
    return this.layout === "v2" ? `/sys/fs/cgroup/${p}` : `/sys/fs/cgroup/memory/${p}`;
  }

  /** Bytes charged to the cgroup (memory.usage_in_bytes or memory.current). */
  memoryCharge(path: string): number {
    const f = this.layout === "v2" ? "memory.current" : "memory.usage_in_bytes";
    return Number(readFileSync(`${this.memDir(path)}/${f}`, "utf8").trim());
  }

  /** The memory limit in bytes (Infinity when unlimited). */
  memoryLimit(path: string): number {
    const f = this.layout === "v2" ? "memory.max" : "memory.limit_in_bytes";
    const s = readFileSync(`${this.memDir(path)}/${f}`, "utf8").trim();
    if (s === "max") return Infinity;
    const n = Number(s);
    return n >= 2 ** 62 ? Infinity : n;
  }

  /** Every directory of cgroup PARENT (relative path), in all hierarchies. */
  dirs(parent: string): string[] {
    const p = parent.replace(/^\/+/, "");
    if (!p) return [];
    if (this.layout === "v2") return existsSync(`/sys/fs/cgroup/${p}`) ? [`/sys/fs/cgroup/${p}`] : [];
    const out: string[] = [];
    for (const m of mounts()) {
      if (m.fstype !== "cgroup" || !m.point.startsWith("/sys/fs/cgroup/")) continue;
      const d = `${m.point}/${p}`;
      if (existsSync(d) && !out.includes(d)) out.push(d);
    }
    return out;
  }

  /** PIDs in the subtree of PARENT. */
  pids(parent: string): number[] {
    const out = new Set<number>();
    const walk = (d: string) => {
      try {
        for (const l of readFileSync(`${d}/cgroup.procs`, "utf8").split("\n")) if (l) out.add(Number(l));
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(`${d}/${e.name}`);
      } catch {}
    };
    for (const d of this.dirs(parent)) walk(d);
    return [...out];
  }

  /** Removes the (empty) subtree PARENT that this benchmark created; returns what could not be removed. */
  removeTree(parent: string): string[] {
    const left: string[] = [];
    const rm = (d: string) => {
      try {
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rm(`${d}/${e.name}`);
        rmdirSync(d);
      } catch {
        if (existsSync(d)) left.push(d);
      }
    };
    for (const d of this.dirs(parent)) {
      // a frozen cgroup (v1 freezer) keeps its tasks: thaw it first
      try {
        if (statSync(`${d}/freezer.state`).isFile()) Bun.write(`${d}/freezer.state`, "THAWED");
      } catch {}
      rm(d);
    }
    return left;
  }
}

// ---- description -------------------------------------------------------------------------

function version(argv: string[], pick: (s: string) => string | undefined = (s) => s.split("\n")[0]): string {
  const r = run(argv, { stdout: true, timeoutMs: 10000 });
  if (r.code !== 0) return "n/a";
  return (pick(r.stdout) ?? "n/a").trim();
}

export interface HostInfo {
  hostname: string;
  kernel: string;
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  cgroups: CgroupLayout;
  cgroupNote: string;
  kvm: string;
  versions: Record<string, string>;
}

export function describeHost(hostLayout: CgroupLayout, hidden: string[]): HostInfo {
  let os = "unknown";
  try {
    os = /PRETTY_NAME="?([^"\n]*)/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {}
  const versions: Record<string, string> = {
    bun: Bun.version,
    busybox: version(["busybox"], (s) => /BusyBox v[^\s]+/.exec(s)?.[0]),
  };
  const runc = which("runc");
  if (runc) versions.runc = version([runc, "--version"]);
  const crun = which("crun");
  if (crun) versions.crun = version([crun, "--version"]);
  const qemu = which("qemu-system-x86_64");
  if (qemu) versions.qemu = version([qemu, "--version"]);
  const ctd = which("containerd");
  if (ctd) versions.containerd = version([ctd, "--version"], (s) => s.split(" ").slice(1).join(" "));
  let kvm = "absent";
  if (existsSync("/dev/kvm")) kvm = "present";
  const cgroupNote =
    hostLayout === "hybrid"
      ? `hybrid: v1 controllers under /sys/fs/cgroup/<controller> plus cgroup2 at ${hidden.join(", ") || "?"}; ` +
        `the benchmark runs in a private mount namespace where that cgroup2 mount is replaced by an empty tmpfs, so every runtime sees pure v1 at no per-call cost`
      : hostLayout;
  return {
    hostname: hostname(),
    kernel: release(),
    os,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cgroups: hostLayout,
    cgroupNote,
    kvm,
    versions,
  };
}

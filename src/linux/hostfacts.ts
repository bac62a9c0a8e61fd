// What the planner needs to know about the host, as one value: the cgroup
// layout, which paths exist, berth's ids, the last capability, the LSMs and
// kernel features. createPlan and the capability masks read the host only
// through it, so that a test can give them a made-up host (fakeHost) and pin
// the plan of a config without root and without touching the host.
import { existsSync, lstatSync, readFileSync, statSync } from "./fs.ts";

/** The cgroup hierarchies as this process sees them (src/cgroups' CgroupLayout has this shape). */
export interface HostCgroups {
  mode: "v1" | "v2" | "hybrid" | "none";
  /** v1 hierarchies by controller; co-mounted controllers share a mount. */
  v1: Record<string, { mountpoint: string; root: string }>;
  /** This process's own cgroup per v1 controller ("" for the cgroup2 hierarchy). */
  own: Record<string, string>;
}

export interface HostFacts {
  readonly cgroups: HostCgroups;
  /** berth's own user and group ids (the host side of a default user namespace mapping). */
  readonly uid: number;
  readonly gid: number;
  /** The highest capability the kernel knows (/proc/sys/kernel/cap_last_cap). */
  readonly lastCap: number;
  /** AppArmor is enabled; the attribute file an exec label is written to. */
  readonly apparmor: boolean;
  readonly apparmorExecAttr: string;
  readonly selinux: boolean;
  /** /proc/kcore exists (a container's /dev/core links to it). */
  readonly kcore: boolean;
  /** a resctrl file system is mounted (Intel RDT). */
  readonly resctrl: boolean;
  /** Whether a host path exists (rootfs, bind sources, namespace paths, cgroup directories). */
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  /** Whether PATH itself (its last component) is a symbolic link. */
  isSymlink(path: string): boolean;
}

/** The last capability when cap_last_cap cannot be read (CAP_CHECKPOINT_RESTORE, Linux 5.9). */
const LAST_CAP_FALLBACK = 40;

/**
 * This host, each fact read when first asked (most plans need few of them).
 * `cgroups` comes from the caller (the detection lives in src/cgroups).
 */
export function linuxHost(cgroups: () => HostCgroups): HostFacts {
  const once = <T>(f: () => T): (() => T) => {
    let v: { value: T } | undefined;
    return () => (v ??= { value: f() }).value;
  };
  const lastCap = once(() => {
    try {
      return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      return LAST_CAP_FALLBACK; // no /proc (a chroot without it): the capabilities of the oldest kernel berth runs on
    }
  });
  return {
    // asked each time: the detection keeps what may be kept (src/cgroups/detect.ts; the agent's callers differ)
    get cgroups() {
      return cgroups();
    },
    get uid() {
      return process.getuid?.() ?? 0;
    },
    get gid() {
      return process.getgid?.() ?? 0;
    },
    get lastCap() {
      return lastCap();
    },
    get apparmor() {
      return existsSync("/sys/kernel/security/apparmor");
    },
    get apparmorExecAttr() {
      return existsSync("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec";
    },
    get selinux() {
      return existsSync("/sys/fs/selinux/enforce");
    },
    get kcore() {
      return existsSync("/proc/kcore");
    },
    get resctrl() {
      return existsSync("/sys/fs/resctrl/schemata");
    },
    exists: existsSync,
    isDirectory(path: string) {
      try {
        return statSync(path).isDirectory();
      } catch {
        // missing, unreadable, a link loop: not a directory the plan can use,
        // and the caller reports that naming the field (root.path, mounts[i].source)
        return false;
      }
    },
    isSymlink(path: string) {
      try {
        return lstatSync(path).isSymbolicLink();
      } catch {
        // missing or unreadable: not a link (the caller's next check names the field)
        return false;
      }
    },
  };
}

/**
 * A made-up host for tests of the planner: `dirs` and `files` are the paths
 * that exist; everything else takes a typical Linux host's value unless given.
 */
export function fakeHost(
  f: Partial<Omit<HostFacts, "exists" | "isDirectory" | "isSymlink">> & { dirs?: string[]; files?: string[]; links?: string[] } = {},
): HostFacts {
  const dirs = new Set(f.dirs ?? []),
    files = new Set(f.files ?? []),
    links = new Set(f.links ?? []);
  return {
    cgroups: f.cgroups ?? { mode: "v2", v1: {}, own: { "": "/" } },
    uid: f.uid ?? 0,
    gid: f.gid ?? 0,
    lastCap: f.lastCap ?? LAST_CAP_FALLBACK,
    apparmor: f.apparmor ?? false,
    apparmorExecAttr: f.apparmorExecAttr ?? "/proc/self/attr/apparmor/exec",
    selinux: f.selinux ?? false,
    kcore: f.kcore ?? true,
    resctrl: f.resctrl ?? false,
    exists: (p) => dirs.has(p) || files.has(p),
    isDirectory: (p) => dirs.has(p),
    isSymlink: (p) => links.has(p),
  };
}

// Finds out how the host mounts cgroups, from /proc/self/mountinfo, and where the
// calling process sits in each hierarchy, from /proc/self/cgroup.
import { openSync, readFileSync } from "../linux/fs.ts";
import { caller, type Caller } from "../linux/caller.ts";
import { mountsChanged } from "../linux/sys.ts";

export type CgroupMode = "v1" | "v2" | "hybrid" | "none";

export interface CgroupMount {
  /** Where it is mounted. */
  mountpoint: string;
  /** The cgroup the mount's root shows (the mountinfo "root" field), usually "/". */
  root: string;
}

export interface CgroupLayout {
  /** "v2": only cgroup2; "v1": only v1 hierarchies; "hybrid": v1 controllers plus a cgroup2 mount. */
  mode: CgroupMode;
  /** The cgroup2 mount, if any. */
  unified?: CgroupMount;
  /** Controllers the cgroup2 root offers (cgroup.controllers of its mount root). */
  unifiedControllers: string[];
  /** v1 hierarchies by controller ("cpu", "memory", "name=systemd"...). Co-mounted controllers share a mount. */
  v1: Record<string, CgroupMount>;
  /** The calling process's own cgroup: per v1 controller, and "" for the cgroup2 hierarchy. */
  own: Record<string, string>;
}

/** Undoes the octal escapes (\040 etc.) mountinfo uses in paths. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): { unified?: CgroupMount; v1: Record<string, CgroupMount> } {
  let unified: CgroupMount | undefined;
  const v1: Record<string, CgroupMount> = {};
  for (const line of text.split("\n")) {
    if (!line) continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    const fstype = post[0];
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const root = unescapeMount(pre[3] ?? "/");
    const mountpoint = unescapeMount(pre[4] ?? "");
    const m: CgroupMount = { mountpoint, root };
    if (fstype === "cgroup2") {
      // A later mount over the same place hides an earlier one; prefer a mount of the root.
      if (!unified || (unified.root !== "/" && root === "/")) unified = m;
      continue;
    }
    const superOpts = (post[2] ?? "").split(",");
    for (const opt of superOpts) {
      if (
        opt === "rw" ||
        opt === "ro" ||
        opt.startsWith("release_agent=") ||
        opt === "noprefix" ||
        opt === "clone_children" ||
        opt === "xattr" ||
        opt === "cpuset_v2_mode" ||
        opt === "none"
      )
        continue;
      const prev = v1[opt];
      if (!prev || (prev.root !== "/" && root === "/")) v1[opt] = m;
    }
  }
  return { unified, v1 };
}

export function parseProcCgroup(text: string): Record<string, string> {
  const own: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line) continue;
    const a = line.indexOf(":");
    const b = line.indexOf(":", a + 1);
    if (a < 0 || b < 0) continue;
    const ctrls = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (line.slice(0, a) === "0" && ctrls === "") own[""] = path;
    else for (const c of ctrls.split(",")) if (c) own[c] = path;
  }
  return own;
}

/** The named v1 controllers that limit resources (name=* hierarchies are not controllers). */
function realControllers(v1: Record<string, CgroupMount>): string[] {
  return Object.keys(v1).filter((c) => !c.startsWith("name="));
}

let detected: CgroupLayout | undefined;

/**
 * The host's cgroup layout and this process's place in it. Without arguments
 * it reads /proc once per process (cgroup mounts and a process's own cgroups
 * do not change under a running berth; mountinfo grows with every container).
 */
export function detectCgroups(mountinfo?: string, procCgroup?: string): CgroupLayout {
  if (mountinfo === undefined && procCgroup === undefined) {
    const c = caller();
    if (c?.pid !== undefined) return callerCgroups(c);
    return (detected ??= detectFrom(readFileSync("/proc/self/mountinfo", "utf8"), readFileSync("/proc/self/cgroup", "utf8")));
  }
  return detectFrom(mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8"), procCgroup ?? readFileSync("/proc/self/cgroup", "utf8"));
}

/**
 * The agent's (src/agent/) answer for the call in progress: a long-running
 * process cannot assume that the mounts stay as they were, and its callers
 * are in cgroups of their own. The layout is read again when the mount
 * table has changed (poll(2) on /proc/self/mountinfo reports POLLPRI after
 * a mount or unmount: a cheap check per call, where reading it all costs
 * about half a millisecond); the caller's own cgroups are its front door's
 * (its child, in its cgroups), read once per call.
 */
function callerCgroups(c: Caller): CgroupLayout {
  const mine = c.memo as { cgroups?: CgroupLayout };
  if (mine.cgroups) return mine.cgroups;
  if (mountinfoWatch < 0) mountinfoWatch = openSync("/proc/self/mountinfo", "r");
  // a change since the last check (or since the watch was opened, before the first read)
  if (!hostLayout || mountsChanged(mountinfoWatch)) hostLayout = detectFrom(readFileSync("/proc/self/mountinfo", "utf8"), "");
  return (mine.cgroups = { ...hostLayout, own: parseProcCgroup(readFileSync(`/proc/${c.pid}/cgroup`, "utf8")) });
}

let mountinfoWatch = -1;
let hostLayout: CgroupLayout | undefined;

function detectFrom(mountinfo: string, procCgroup: string): CgroupLayout {
  const mi = mountinfo;
  const pc = procCgroup;
  const { unified, v1 } = parseMountinfo(mi);
  let unifiedControllers: string[] = [];
  if (unified) {
    try {
      unifiedControllers = readFileSync(`${unified.mountpoint}/cgroup.controllers`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      unifiedControllers = []; // a mount of cgroup2 that has no such file: no controllers
    }
  }
  const hasV1 = realControllers(v1).length > 0;
  const mode: CgroupMode = hasV1 ? (unified ? "hybrid" : "v1") : unified ? "v2" : "none";
  return { mode, unified, unifiedControllers, v1, own: parseProcCgroup(pc) };
}

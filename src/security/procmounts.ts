// Mounts over /proc that could redirect the runtime's own writes there
// (sysctls, oom_score_adj, labels) or hide what masks must cover: refused, as
// runc refuses them. The core writes through a procfs instance of its own
// anyway (core/proc.c); this keeps configs from relying on such mounts.
import { readFileSync } from "../linux/fs.ts";
import { normalize } from "../linux/path.ts";

/** Files under /proc a mount may cover (what lxcfs emulates), as runc allows. */
const PROC_FILES_MOUNTABLE = [
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/proc/loadavg",
  "/proc/slabinfo",
  "/proc/pressure/cpu",
  "/proc/pressure/io",
  "/proc/pressure/memory",
  "/proc/sys/kernel/ns_last_pid",
];

/** Whether PATH (absolute, without symlinks) is where a whole proc file system is mounted. */
function isProcRoot(path: string): boolean {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((l) => {
        const f = l.split(" ");
        const sep = f.indexOf("-");
        const point = (f[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
        return f[3] === "/" && point === path && sep > 0 && f[sep + 1] === "proc";
      });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false; // no proc mounted here to compare with
    throw e;
  }
}

/**
 * Why a mount at DEST (of TYPE; a bind of SOURCE when BIND) is refused, or
 * undefined when it is not: /proc itself takes a proc file system (or a bind
 * of a procfs root), below it only the files of PROC_FILES_MOUNTABLE.
 */
export function procMountRefusal(dest: string, type: string, bind: boolean, source: string): string | undefined {
  const d = normalize(dest);
  if (d !== "/proc" && !d.startsWith("/proc/")) return undefined;
  if (d === "/proc") {
    if (bind ? isProcRoot(source) : type === "proc") return undefined;
    return `only a proc file system can be mounted at /proc, not ${bind ? `a bind of ${source}` : `type ${JSON.stringify(type)}`}`;
  }
  if (PROC_FILES_MOUNTABLE.includes(d)) return undefined;
  return `${d} is inside /proc: a mount there could redirect the runtime's writes under /proc (sysctls, oomScoreAdj) or what masks cover; only ${PROC_FILES_MOUNTABLE.join(", ")} may be mounted over (as with runc)`;
}

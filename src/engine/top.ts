// A container's processes (top): every process of its cgroup, as ps -ef
// shows them, read from /proc.
import { readFileSync } from "node:fs";
import { userNames } from "../image/config.ts";
import { majorMinor } from "../linux/sys.ts";
import { errnoCode } from "../linux/libc.ts";
import type { Engine } from "./engine.ts";
import { EngineError } from "./store.ts";

/** CPU time as ps shows it: [DD-]HH:MM:SS. */
function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60);
  const hms = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

/** A terminal's name from its device number (stat's tty_nr), "?" for none. */
function ttyName(nr: number): string {
  if (nr === 0) return "?";
  const { major, minor } = majorMinor(nr);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 5 && minor === 1) return "console";
  return `${major}:${minor}`;
}

export interface TopRow {
  /** the user's name in the container (its /etc/passwd), else the uid */
  user: string;
  uid: number;
  pid: number;
  ppid: number;
  c: number;
  stime: string;
  tty: string;
  time: string;
  cmd: string;
}

/** One process's row, from /proc; undefined if it is gone. */
function topRow(pid: number, now: number, bootTime: number, hz: number): Omit<TopRow, "user"> | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const cpu = (Number(f[11]) + Number(f[12])) / hz;
    const started = bootTime + Number(f[19]) / hz;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").split("\0").join(" ");
    const at = new Date(started * 1000);
    const today = new Date(now * 1000).toDateString() === at.toDateString();
    const stime = today ? at.toTimeString().slice(0, 5) : at.toDateString().slice(4, 10);
    return {
      uid,
      pid,
      ppid: Number(f[1]),
      c: Math.floor((cpu / Math.max(now - started, 1e-3)) * 100),
      stime,
      tty: ttyName(Number(f[4])),
      time: cpuTime(cpu),
      cmd: cmdline || `[${comm}]`,
    };
  } catch (err) {
    // the process has exited meanwhile
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ESRCH") return undefined;
    throw err;
  }
}

/** The processes of a running (or paused) container, by pid. */
export function containerProcesses(e: Engine, ref: string): TopRow[] {
  const c = e.containers.get(ref);
  const st = e.status(c);
  if (st !== "running" && st !== "paused") throw new EngineError(`container ${c.name} is not running`);
  const pids = e.runtime.processes(c.id).sort((a, b) => a - b);
  const bootTime = Number(/^btime (\d+)/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0);
  const hz = 100; // USER_HZ: /proc reports clock ticks in units of 1/100 s on Linux
  const now = Date.now() / 1000;
  const names = userNames(c.rootfs);
  const rows: TopRow[] = [];
  for (const pid of pids) {
    const r = topRow(pid, now, bootTime, hz);
    if (r) rows.push({ user: names.get(r.uid) ?? String(r.uid), ...r });
  }
  return rows;
}

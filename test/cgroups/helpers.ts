// Shared by the cgroup tests: the lane, cgroups and processes cleaned up after each test.
import { existsSync, readFileSync } from "node:fs";
import { detectCgroups, openCgroup, type Cgroup, type OpenOptions } from "../../src/cgroups/index.ts";
import type { Subprocess } from "bun";

// These tests drive berth's cgroup library in-process: the differential lane's
// BERTH_TEST_RUNTIME (another runtime binary) does not apply to them.
if (process.env.BERTH_TEST_RUNTIME)
  console.error("(test/cgroups tests berth's cgroup library in-process: BERTH_TEST_RUNTIME does not apply, these run berth's code)");

export const layout = detectCgroups();
/** The backend this host gets: 2 on a pure cgroup v2 host, else 1. */
export const lane: 1 | 2 = layout.mode === "v2" ? 2 : 1;
export const isV1 = lane === 1;
export const isV2 = lane === 2;
export const isRoot = process.getuid?.() === 0;
export const noCgroups = layout.mode === "none" || !isRoot;

const cgroups: Cgroup[] = [];
const procs: Subprocess[] = [];
let seq = 0;

export function uniqueId(tag: string): string {
  return `t-${tag}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens and creates a cgroup that is removed after the test. */
export function newCgroup(tag: string, extra: Partial<OpenOptions> = {}): Cgroup {
  const cg = openCgroup({ id: uniqueId(tag), ...extra });
  cgroups.push(cg);
  cg.create();
  return cg;
}

/** Tracks a cgroup opened elsewhere for clean-up. */
export function track(cg: Cgroup): Cgroup {
  cgroups.push(cg);
  return cg;
}

type Piped = Subprocess<"pipe", "pipe", "pipe">;

/**
 * Starts `cmd` so that it runs only once inside the cgroup: a shell waits for a
 * line on stdin, is moved in, then execs the command (stdin stays connected).
 */
export function spawnIn(cg: Cgroup, cmd: string[]): Piped {
  const p = Bun.spawn(["sh", "-c", 'read _go; exec "$@"', "sh", ...cmd], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  procs.push(p);
  cg.addProcess(p.pid);
  p.stdin.write("\n");
  p.stdin.flush();
  return p;
}

export function spawnPlain(cmd: string[]): Piped {
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  procs.push(p);
  return p;
}

/** Reads a process's stdout line by line. */
export function lines(p: Piped): () => Promise<string | undefined> {
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return async () => {
    for (;;) {
      const i = buf.indexOf("\n");
      if (i >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return l;
      }
      const { value, done } = await reader.read();
      if (done) return buf ? ((buf = ""), buf) : undefined;
      buf += dec.decode(value);
    }
  };
}

export function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const st = procState(pid);
  return st !== undefined && st !== "Z" && st !== "X";
}

/** Polls cond every 10 ms until it holds or ms pass; returns whether it held. */
export async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await Bun.sleep(10);
  }
  return cond();
}

/** Reads a file of the cgroup (v1: in the hierarchy whose directory contains `ctrl`). */
export function readCg(cg: Cgroup, file: string): string {
  const ctrl = file.split(".")[0]!;
  const dirs = cg.dirs();
  const d = cg.version === 2 ? dirs[0]! : (dirs.find((x) => existsSync(`${x}/${file}`)) ?? dirs.find((x) => x.includes(`/${ctrl}/`))!);
  return readFileSync(`${d}/${file}`, "utf8").trim();
}

/** Kills and removes everything the test made; call from afterEach. */
export async function cleanup(): Promise<void> {
  for (const p of procs.splice(0)) {
    try {
      p.kill(9);
    } catch {
      // gone
    }
  }
  for (const cg of cgroups.splice(0).reverse()) {
    try {
      if (cg.exists()) {
        if (cg.frozen()) cg.thaw();
        cg.kill(9);
        await until(() => cg.pids().length === 0, 3000);
        cg.destroy(3000);
      }
    } catch (e) {
      console.error(`cleanup of cgroup ${cg.path} failed: ${String(e)}`);
    }
  }
}

// Small helpers shared by the benchmark: process spawning with timing, statistics,
// the few libc calls Bun does not expose (subreaper, waitpid), file helpers.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";

export function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- statistics -----------------------------------------------------------------

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function min(xs: number[]): number {
  return xs.length ? Math.min(...xs) : NaN;
}

export function max(xs: number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

// ---- processes --------------------------------------------------------------------

let defaultErrFile = `/tmp/berth-bench-${process.pid}.stderr`;

/** Where run() keeps a command's stderr unless told otherwise (inside the scratch directory). */
let defaultErrFileSet = false;

export function setDefaultErrFile(path: string): void {
  defaultErrFile = path;
  defaultErrFileSet = true;
}

export interface RunResult {
  code: number;
  ms: number; // wall time from spawn to exit, measured here
  stdout: string;
  stderr: string;
  timedOut: boolean; // killed by opts.timeoutMs
}

/**
 * Runs a command to completion and times it. stdout is captured only when asked
 * (a piped stdout would also be held open by a detached container); stderr goes
 * to a scratch file so that a container that inherits it cannot keep us waiting.
 */
export function run(
  argv: string[],
  opts: { stdout?: boolean; errFile?: string; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): RunResult {
  const errFile = opts.errFile ?? defaultErrFile;
  const errFd = openSync(errFile, "w");
  let r: ReturnType<typeof Bun.spawnSync>;
  const t0 = performance.now();
  try {
    r = Bun.spawnSync(argv, {
      stdin: "ignore",
      stdout: opts.stdout ? "pipe" : "ignore",
      stderr: errFd,
      cwd: opts.cwd,
      env: opts.env ?? (process.env as Record<string, string>),
      timeout: opts.timeoutMs,
    });
  } catch (e) {
    closeSync(errFd);
    return { code: 127, ms: performance.now() - t0, stdout: "", stderr: String(e), timedOut: false };
  }
  const ms = performance.now() - t0;
  closeSync(errFd);
  let stderr = "";
  try {
    stderr = readFileSync(errFile, "utf8");
    if (!opts.errFile && !defaultErrFileSet) rmSync(errFile, { force: true });
  } catch {}
  const timedOut = opts.timeoutMs !== undefined && ms >= opts.timeoutMs - 20;
  const code = timedOut ? 124 : (r.exitCode ?? (r.signalCode ? 128 : 255));
  if (timedOut) stderr = `timed out after ${Math.round(opts.timeoutMs! / 1000)} s${stderr ? ": " + stderr : ""}`;
  return { code, ms, stdout: opts.stdout && r.stdout ? r.stdout.toString() : "", stderr, timedOut };
}

/** Runs and throws with the command's own error text when it fails. */
export function must(argv: string[], what: string, opts: Parameters<typeof run>[1] = {}): RunResult {
  const r = run(argv, opts);
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${firstLines(r.stderr || r.stdout)}`);
  return r;
}

/** The first meaningful line(s) of an error output, short enough for a table note. */
export function firstLines(s: string, n = 2): string {
  const lines = s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const out = lines.slice(0, n).join(" / ");
  return out.length > 300 ? out.slice(0, 297) + "..." : out || "(no error output)";
}

export function which(name: string, extra: string[] = []): string | null {
  const dirs = [...extra, ...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = d.endsWith("/") ? d + name : `${d}/${name}`;
    try {
      const st = statSync(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {}
  }
  return null;
}

// ---- libc: child subreaper and waitpid --------------------------------------------------

const PR_SET_CHILD_SUBREAPER = 36;
let libc: ReturnType<typeof openLibc> | null = null;

function openLibc() {
  return dlopen("libc.so.6", {
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    kill: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  });
}

function lib() {
  libc ??= openLibc();
  return libc.symbols;
}

/**
 * Makes this process the subreaper of everything it starts: a container whose
 * runtime has exited (create + start) is re-parented to us, not to PID 1 (which
 * reaps late on these hosts), so we see its exit at once with waitpid().
 */
export function becomeSubreaper(): boolean {
  return lib().prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) === 0;
}

/** Blocks until PID (our child, or orphan re-parented to us) exits; true if we reaped it. */
export function waitPid(pid: number): boolean {
  const st = new Int32Array(1);
  for (;;) {
    const r = lib().waitpid(pid, ptr(st), 0);
    if (r === pid) return true;
    if (r < 0) return false; // ECHILD: not ours, or already reaped
  }
}

/** Reaps PID if it has exited, without blocking. */
export function reapNoHang(pid: number): boolean {
  const st = new Int32Array(1);
  return lib().waitpid(pid, ptr(st), 1 /* WNOHANG */) === pid;
}

export function killPid(pid: number, sig: number): void {
  lib().kill(pid, sig);
}

// ---- /proc and memory ---------------------------------------------------------------

export function memAvailableKiB(): number {
  const m = /MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** VmRSS and Pss (KiB) of a process; NaN when it is gone. */
export function procMem(pid: number): { rss: number; pss: number } {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const rss = /^Rss:\s+(\d+)/m.exec(s);
    const pss = /^Pss:\s+(\d+)/m.exec(s);
    return { rss: rss ? Number(rss[1]) : NaN, pss: pss ? Number(pss[1]) : NaN };
  } catch {
    return { rss: NaN, pss: NaN };
  }
}

export function allPids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

export function readPidFile(path: string): number {
  const n = Number(readFileSync(path, "utf8").trim());
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad pid file ${path}`);
  return n;
}

export function rmrf(path: string): void {
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
}

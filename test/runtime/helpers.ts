// Shared by the runtime tests: real containers driven through the berth CLI
// (the release binary dist/berth, rebuilt when the sources are newer), a
// busybox bundle per test, and a clean-up that runs even when a test fails and
// then checks that nothing was left behind (state, cgroups, processes, mounts).
//
// The differential lane: BERTH_TEST_RUNTIME=/usr/sbin/runc (or any other
// runc-compatible binary) runs the same tests, with the same bundles, against
// that runtime instead. A test of something only berth has is marked
// `berthOnly("why")`, one where the other runtime differs on purpose
// `deliberateDifference("why")`; both are skipped there with the reason in the
// test's name, never silently. berth's own error wording is checked with
// `berthSays` (under another runtime: only that it said something).
import { expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  openSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { detectCgroups } from "../../src/cgroups/index.ts";
import { defaultSpec } from "../../src/spec/defaults.ts";
import type { Spec } from "../../src/spec/types.ts";
import { startAgent, type Agent } from "../agent/agent.ts";

export const REPO = resolve(import.meta.dir, "../..");
/** The runc-compatible runtime under test in the differential lane; undefined: berth itself. */
export const OTHER_RUNTIME: string | undefined = process.env.BERTH_TEST_RUNTIME ? resolve(process.env.BERTH_TEST_RUNTIME) : undefined;
/** The runtime binary the tests drive: dist/berth, or BERTH_TEST_RUNTIME. */
export const BERTH = OTHER_RUNTIME ?? join(REPO, "dist/berth");
/** BERTH_TEST_AGENT=1: each test's calls go through the front door to a warm `berth agent` for its --root. */
export const TEST_AGENT = !!process.env.BERTH_TEST_AGENT && !OTHER_RUNTIME;
/** The runtime's name as it starts its error lines ("berth", "runc", "crun"). */
export const RUNTIME_NAME = OTHER_RUNTIME ? OTHER_RUNTIME.slice(OTHER_RUNTIME.lastIndexOf("/") + 1) : "berth";

/** Skip reason (for ctest's `skip`) of a test of something berth has and the other runtime of the lane lacks. */
export function berthOnly(why: string): string | false {
  return OTHER_RUNTIME ? `berth only: ${why}` : false;
}

/** Skip reason of a test where the other runtime behaves differently on purpose; `why` names berth's choice and its reason. */
export function deliberateDifference(why: string): string | false {
  return OTHER_RUNTIME ? `deliberate difference from ${RUNTIME_NAME}: ${why}` : false;
}

const notedChecks = new Set<string>();
/** Runs `check` (some assertions of a test; await it when it is async) on berth only; under another
 * runtime it says on stderr which check it left out and why. */
export function onlyOnBerth<T>(why: string, check: () => T): T | undefined {
  if (!OTHER_RUNTIME) return check();
  if (!notedChecks.has(why)) console.error(`(check left out under ${RUNTIME_NAME}: ${why})`);
  notedChecks.add(why);
  return undefined;
}

/** Asserts berth's own wording of an error; another runtime words its errors its own way, so there only that it said something. */
export function berthSays(stderr: string, msg: string | RegExp): void {
  if (OTHER_RUNTIME) expect(stderr.trim()).not.toBe("");
  else if (typeof msg === "string") expect(stderr).toContain(msg);
  else expect(stderr).toMatch(msg);
}
export const BUSYBOX = "/bin/busybox";
export type { Spec };

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.isFile()) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let built = false;
/** Builds dist/berth (and the core) when they are missing or older than the sources (not needed for another runtime). */
export function ensureBuilt(): void {
  if (built || OTHER_RUNTIME) return;
  const bin = existsSync(BERTH) ? statSync(BERTH).mtimeMs : 0;
  const core = existsSync(join(REPO, "dist/berth-core")) ? statSync(join(REPO, "dist/berth-core")).mtimeMs : 0;
  const src = Math.max(newestMtime(join(REPO, "src")), newestMtime(join(REPO, "core")));
  if (bin < src || core < newestMtime(join(REPO, "core"))) {
    const r = spawnSync("bash", [join(REPO, "scripts/build.sh")], { cwd: REPO, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`scripts/build.sh failed:\n${r.stdout}\n${r.stderr}`);
  }
  built = true;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let seq = 0;
export function uniqueId(tag: string): string {
  return `rt-${tag}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 7)}`;
}

let templateSpec: Spec | undefined;
/** The default config.json, as `berth spec` writes it (for another runtime too: the same bundle for both). */
function defaultConfig(): Spec {
  if (!templateSpec && OTHER_RUNTIME) {
    // what `berth spec` writes on this host (a cgroup namespace only on a pure v2 host)
    templateSpec = defaultSpec({ cgroupns: detectCgroups().mode === "v2" });
    // crun 1.8 takes only 1.0.x bundles ("unknown version specified")
    if (RUNTIME_NAME === "crun") templateSpec.ociVersion = "1.0.2";
  }
  if (!templateSpec) {
    ensureBuilt();
    const d = mkdtempSync(join(tmpdir(), "berth-spec-"));
    try {
      execFileSync(BERTH, ["spec", "--bundle", d]);
      templateSpec = JSON.parse(readFileSync(join(d, "config.json"), "utf8")) as Spec;
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }
  return structuredClone(templateSpec);
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: Spec;
  /** Writes config (after edits) to config.json. */
  write(): void;
}

/** Every cgroup directory a container id could have on this host (berth's default /berth/ID; runc's
 * default is ID below the caller's own cgroup, crun's /ID). */
export function cgroupDirs(id: string): string[] {
  const out: string[] = [];
  const base = "/sys/fs/cgroup";
  if (!existsSync(base)) return out;
  const own = OTHER_RUNTIME ? ownCgroups() : new Map<string, string>();
  const add = (dir: string, hierarchy: string) => {
    out.push(join(dir, "berth", id));
    if (!OTHER_RUNTIME) return;
    out.push(join(dir, id));
    const mine = own.get(hierarchy);
    if (mine && mine !== "/") out.push(join(dir, mine, id));
  };
  add(base, "");
  for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) add(join(base, e.name), e.name);
  return out;
}

/** This process's cgroup in each hierarchy, keyed by the hierarchy's directory name under /sys/fs/cgroup ("" for a pure v2 host). */
function ownCgroups(): Map<string, string> {
  const m = new Map<string, string>();
  const pure = existsSync("/sys/fs/cgroup/cgroup.controllers");
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, ctrls, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (ctrls === "") m.set(pure ? "" : "unified", path);
    else for (const c of [ctrls, ...ctrls!.split(",")]) m.set(c.replace(/^name=/, ""), path);
  }
  return m;
}

/** True while some process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const st = s.slice(s.lastIndexOf(")") + 2)[0];
    return st !== "Z" && st !== "X";
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean, ms = 5000, step = 10): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await Bun.sleep(step);
  }
  return cond();
}

/** Per-test context: its temp dirs, its --root, the containers it made. */
export class Ctx {
  readonly root: string;
  private readonly dirs: string[] = [];
  private readonly ids = new Set<string>();
  private readonly pids: number[] = [];
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  private readonly agent?: Agent;

  constructor() {
    ensureBuilt();
    this.root = this.tempDir("root");
    if (TEST_AGENT) this.agent = startAgent(this.root, join(this.tempDir("agent"), "agent.log"));
  }

  tempDir(tag = "tmp"): string {
    const d = mkdtempSync(join(tmpdir(), `berth-rt-${tag}-`));
    chmodSync(d, 0o755);
    this.dirs.push(d);
    return d;
  }

  /** A fresh container id, deleted after the test. */
  id(tag = "c"): string {
    const id = uniqueId(tag);
    this.ids.add(id);
    return id;
  }

  /** A pid to SIGKILL after the test if it still runs. */
  trackPid(pid: number): void {
    this.pids.push(pid);
  }

  defer(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  /** A busybox bundle: rootfs with /bin/busybox and its applets, /etc/passwd and /etc/group, config.json from `berth spec` with terminal off and `args`. */
  bundle(args: string[] = ["true"], edit?: (c: Spec) => void): Bundle {
    const dir = this.tempDir("bundle");
    const rootfs = join(dir, "rootfs");
    for (const d of ["bin", "etc", "tmp", "root", "home/user", "proc", "sys", "dev"]) mkdirSync(join(rootfs, d), { recursive: true, mode: 0o755 });
    chmodSync(join(rootfs, "tmp"), 0o1777);
    copyFileSync(BUSYBOX, join(rootfs, "bin/busybox"));
    chmodSync(join(rootfs, "bin/busybox"), 0o755);
    for (const a of applets()) if (a !== "busybox") symlinkSync("busybox", join(rootfs, "bin", a));
    writeFileSync(
      join(rootfs, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    );
    writeFileSync(join(rootfs, "etc/group"), "root:x:0:\ntty:x:5:\nuser:x:1000:\nextra:x:2000:user\nnogroup:x:65534:\n");
    const config = defaultConfig();
    config.process!.terminal = false;
    config.process!.args = args;
    edit?.(config);
    const b: Bundle = {
      dir,
      rootfs,
      config,
      write: () => writeFileSync(join(dir, "config.json"), JSON.stringify(b.config, null, 2)),
    };
    b.write();
    return b;
  }

  /** Runs berth with --root. Output goes to files (a detached container keeps
   * berth's stdout and stderr open); extra fds become fds 3, 4, ...; env adds to the environment */
  async berth(
    args: string[],
    o: { stdin?: string; fds?: number[]; timeoutMs?: number; cwd?: string; root?: boolean; env?: Record<string, string> } = {},
  ): Promise<Result> {
    const argv = [BERTH, ...(o.root === false ? [] : ["--root", this.root]), ...args];
    const n = ++this.calls;
    const outPath = join(this.outDir(), `${n}.out`),
      errPath = join(this.outDir(), `${n}.err`);
    const out = openSync(outPath, "w+"),
      err = openSync(errPath, "w+");
    // stdin from a file: a call that stops reading early (an input it refuses) meets no broken pipe here
    let input: number | undefined;
    if (o.stdin !== undefined) {
      const inPath = join(this.outDir(), `${n}.in`);
      writeFileSync(inPath, o.stdin);
      input = openSync(inPath, "r");
    }
    try {
      const p = Bun.spawn(argv, {
        stdio: [input ?? "ignore", out, err, ...(o.fds ?? [])] as never,
        cwd: o.cwd ?? REPO,
        ...(o.env ? { env: { ...process.env, ...o.env } } : {}),
      });
      const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 20000);
      const code = await p.exited;
      clearTimeout(timer);
      return { code, stdout: readFileSync(outPath, "utf8"), stderr: readFileSync(errPath, "utf8") };
    } finally {
      closeSync(out);
      closeSync(err);
      if (input !== undefined) closeSync(input);
    }
  }

  private calls = 0;
  private out?: string;
  private outDir(): string {
    return (this.out ??= this.tempDir("out"));
  }

  /** `berth run` of a bundle (foreground); returns its output and exit code. */
  async run(b: Bundle, id = this.id("run"), extra: string[] = []): Promise<Result> {
    return this.berth(["run", "--bundle", b.dir, ...extra, id]);
  }

  /** Runs `args` in a fresh busybox container (config edited by `edit`). */
  async sh(script: string, edit?: (c: Spec) => void): Promise<Result> {
    return this.run(this.bundle(["sh", "-c", script], edit));
  }

  /** The container's live state JSON (throws with berth's error if none). */
  async state(id: string): Promise<Record<string, unknown>> {
    const r = await this.berth(["state", id]);
    if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  /** Deletes what the test made and returns what was left behind. */
  async cleanup(): Promise<string[]> {
    const left: string[] = [];
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        left.push(`clean-up step failed: ${(e as Error).message}`);
      }
    }
    const pids: number[] = [...this.pids];
    for (const id of this.ids) {
      const st = join(this.root, id, "state.json");
      // (crun keeps its state in ROOT/ID/status)
      if (existsSync(st) || (OTHER_RUNTIME && existsSync(join(this.root, id)))) {
        try {
          // berth's state.json has pid, runc's init_process_pid
          const saved = JSON.parse(readFileSync(st, "utf8")) as { pid?: number; init_process_pid?: number };
          pids.push(saved.pid ?? saved.init_process_pid ?? 0);
        } catch {
          /* half-written state is reported below */
        }
        await this.berth(["delete", "--force", id]);
      }
    }
    for (const pid of pids) {
      if (pid > 0 && alive(pid)) {
        left.push(`process ${pid} still runs`);
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    for (const id of this.ids) {
      if (existsSync(join(this.root, id))) left.push(`state dir ${id} left under --root`);
      for (const d of cgroupDirs(id)) {
        if (existsSync(d)) {
          left.push(`cgroup ${d} left`);
          removeCgroup(d);
        }
      }
    }
    for (const pid of processesRootedIn(this.dirs)) {
      left.push(`process ${pid} with its root in a test directory`);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    for (const d of this.dirs) {
      for (const line of mounts.split("\n")) {
        const mp = line.split(" ")[4];
        if (mp && (mp === d || mp.startsWith(d + "/"))) {
          left.push(`mount ${mp} left on the host`);
          spawnSync("umount", ["-l", mp]);
        }
      }
    }
    await this.agent?.stop();
    for (const d of this.dirs.reverse()) rmSync(d, { recursive: true, force: true });
    return left;
  }
}

/** Live processes whose root directory (a container's rootfs) lies in one of dirs. */
export function processesRootedIn(dirs: string[]): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    let root: string;
    try {
      root = readlinkSync(`/proc/${n}/root`);
    } catch {
      continue;
    }
    if (dirs.some((d) => root === d || root.startsWith(d + "/")) && alive(Number(n))) out.push(Number(n));
  }
  return out;
}

function removeCgroup(d: string): void {
  try {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(d, e.name));
    rmSync(d, { recursive: false, force: true });
  } catch {
    /* best effort */
  }
  try {
    spawnSync("rmdir", [d]);
  } catch {
    /* best effort */
  }
}

let appletList: string[] | undefined;
function applets(): string[] {
  appletList ??= execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter((a) => /^[A-Za-z0-9_.\-[\]]+$/.test(a));
  return appletList;
}

/** A test with a Ctx that is cleaned up afterwards, even when the test fails; leftovers fail the test. */
export function ctest(name: string, fn: (c: Ctx) => Promise<void>, timeoutMs = 30000, opts: { skip?: string | false } = {}): void {
  (opts.skip ? test.skip : test)(
    opts.skip ? `${name} (skipped: ${opts.skip})` : name,
    async () => {
      const c = new Ctx();
      let err: unknown;
      try {
        await fn(c);
      } catch (e) {
        err = e;
      }
      const left = await c.cleanup();
      if (err) throw err;
      if (left.length) throw new Error(`left behind: ${left.join("; ")}`);
    },
    timeoutMs,
  );
}

/** Asserts a command succeeded, showing its stderr when not. */
export function ok(r: Result, what = "berth"): Result {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Lines of "key=value" output turned into a map. */
export function kv(out: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const l of out.split("\n")) {
    const i = l.indexOf("=");
    if (i > 0) m[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return m;
}

/** A field of /proc/self/status-like text. */
export function statusField(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:\\s*(.*)$`, "m").exec(text);
  return m?.[1]?.trim();
}

/** The kernel is User-mode Linux (the cgroup v2 lane): it lacks time namespaces and 32-bit personalities. */
export const UML_KERNEL: string | false = (() => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").includes("User Mode Linux") ? "a User-mode Linux kernel has no such feature" : false;
  } catch {
    return false;
  }
})();

/** Live berth-core processes (the core is started before the config is validated). */
export function cores(): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      // the core as started, or re-executed from its sealed copy (comm is the memfd's name)
      if (/\((berth-core|memfd:berth-cor)\) [^ZX]/.test(stat)) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** `create` must fail with one stderr line matching `msg` (berth's wording; another runtime: any), leaving nothing for `id`. */
export async function createFails(c: Ctx, bundleDir: string, msg: RegExp, id = c.id("bad")): Promise<string> {
  const before = new Set(cores());
  const r = await c.berth(["create", "--bundle", bundleDir, id]);
  // no berth-core is left (another runtime has none: berth's of other tests on the host do not count there)
  if (!OTHER_RUNTIME) expect(await waitFor(() => cores().every((p) => before.has(p)), 2000)).toBe(true);
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split("\n");
  if (!OTHER_RUNTIME) {
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^berth: /);
  }
  berthSays(lines[0]!, msg);
  expect(r.stdout).toBe("");
  expect(readdirSync(c.root).filter((n) => n.includes(id))).toEqual([]);
  for (const d of cgroupDirs(id)) expect(existsSync(d)).toBe(false);
  const list = await c.berth(["list", "-q"]);
  expect(list.stdout).not.toContain(id);
  return lines[0]!;
}

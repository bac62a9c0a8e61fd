// Test helpers for the CLI tests: a busybox bundle made offline, berth run as
// a subprocess with its own --root, and clean-up that leaves nothing behind.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../../src/spec/defaults.ts";
import { DOOR, startAgent, type Agent } from "../agent/agent.ts";
import type { Spec } from "../../src/spec/types.ts";

import { OTHER_RUNTIME, REPO, RUNTIME_NAME, TEST_AGENT, cgroupDirs as allCgroupDirs, uniqueId, type Result } from "../runtime/helpers.ts";

// the differential lane's markers: BERTH_TEST_RUNTIME runs these tests against another runtime (see ../runtime/helpers.ts)
export { berthOnly, berthSays, deliberateDifference, onlyOnBerth, OTHER_RUNTIME, RUNTIME_NAME } from "../runtime/helpers.ts";
export { REPO, uniqueId, type Result };

/** The cgroup directories of a container that exist. */
export function cgroupDirs(id: string): string[] {
  return allCgroupDirs(id).filter((d) => existsSync(d));
}
const BUN = join(REPO, "node_modules/.bin/bun");
const MAIN = join(REPO, "src/cli/main.ts");

/** Builds the core if it is missing or older than its sources (not needed for another runtime). */
export function ensureCore(): void {
  if (OTHER_RUNTIME) return;
  const core = join(REPO, "build/berth-core");
  const newest = Math.max(...readdirSync(join(REPO, "core")).map((f) => statSync(join(REPO, "core", f)).mtimeMs));
  if (!existsSync(core) || statSync(core).mtimeMs < newest) {
    const r = Bun.spawnSync(["bash", join(REPO, "scripts/build.sh")], { stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("build failed");
  }
}

export function makeRootfs(dir: string): string {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc", "root"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  const list = Bun.spawnSync(["/bin/busybox", "--list"])
    .stdout.toString()
    .split("\n")
    .filter((a) => a && a !== "busybox");
  for (const a of list) symlinkSync("busybox", join(rootfs, "bin", a));
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nnobody:x:65534:\n");
  return rootfs;
}

export interface Bundle {
  dir: string;
  root: string;
  spec: Spec;
  write(): void;
}

/** A temp dir holding a bundle (rootfs + config.json) and a state root. */
export function makeBundle(args: string[], edit?: (s: Spec) => void): Bundle {
  const dir = mkdtempSync(join(tmpdir(), "berth-cli-"));
  makeRootfs(dir);
  const spec = defaultSpec();
  if (RUNTIME_NAME === "crun") spec.ociVersion = "1.0.2"; // crun 1.8 takes only 1.0.x bundles
  spec.process!.terminal = false;
  spec.process!.args = args;
  edit?.(spec);
  const b: Bundle = {
    dir,
    root: join(dir, "state"),
    spec,
    write: () => writeFileSync(join(dir, "config.json"), JSON.stringify(b.spec, null, 2)),
  };
  b.write();
  bundleRoots.add(b.root);
  return b;
}

/** The command line that starts the runtime under test: berth from its sources, or BERTH_TEST_RUNTIME. */
export function runtimeArgv(): string[] {
  return OTHER_RUNTIME ? [OTHER_RUNTIME] : [BUN, MAIN];
}

/** Runs `berth --root ROOT ARGS` (from the sources: what dist/berth is built from; in the
 * differential lane, the BERTH_TEST_RUNTIME binary).
 * Output goes through files, not pipes: a detached container keeps its stdio
 * open, and a pipe would not reach end-of-file until the container exits. */
export function berth(root: string, args: string[], opts: { cwd?: string; stdin?: string; global?: string[]; argv?: string[] } = {}): Result {
  // the agent lane: every call on a bundle's root through the front door to a
  // warm agent for it (stopped by the bundle's clean-up)
  if (TEST_AGENT && !opts.argv && bundleRoots.has(root)) {
    startAgentFor(root);
    opts = { ...opts, argv: [DOOR] };
  }
  const dir = mkdtempSync(join(tmpdir(), "berth-out-"));
  try {
    const out = openSync(join(dir, "out"), "w+");
    const err = openSync(join(dir, "err"), "w+");
    const r = Bun.spawnSync([...(opts.argv ?? runtimeArgv()), "--root", root, ...(opts.global ?? []), ...args], {
      cwd: opts.cwd,
      stdin: opts.stdin !== undefined ? Buffer.from(opts.stdin) : "ignore",
      stdout: out,
      stderr: err,
    });
    closeSync(out);
    closeSync(err);
    return { code: r.exitCode ?? 128, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Warm agents started by berthViaAgent, by state directory. */
const agents = new Map<string, Agent>();

/**
 * `berth --root ROOT ARGS` through the front door (dist/berth) to a warm
 * agent for ROOT, started on first use and stopped with the bundle
 * (cleanup): the agent lane runs the CLI's runc-compatibility cases so.
 */
export function berthViaAgent(root: string, args: string[]): Result {
  startAgentFor(root);
  return berth(root, args, { argv: [DOOR] });
}

/** The state directories of the bundles makeBundle made (cleanup stops their agents). */
const bundleRoots = new Set<string>();
/** The directory of each agent's log, by state directory (removed when the agent stops). */
const agentLogs = new Map<string, string>();

function startAgentFor(root: string): void {
  if (agents.has(root)) return;
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "berth-agent-"));
  agentLogs.set(root, dir);
  agents.set(root, startAgent(root, join(dir, "agent.log")));
}

function stopAgentSync(a: Agent): void {
  const gone = () => {
    try {
      return readFileSync(`/proc/${a.pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
    } catch {
      return true;
    }
  };
  process.kill(a.pid, "SIGTERM");
  const end = Date.now() + 5000;
  while (!gone() && Date.now() < end) Bun.sleepSync(10);
  if (!gone()) process.kill(a.pid, "SIGKILL");
  rmSync(a.socket, { force: true });
}

/** Stops ROOT's agent, if one was started, and removes its log. */
function stopAgentFor(root: string): void {
  const a = agents.get(root);
  if (!a) return;
  agents.delete(root);
  stopAgentSync(a);
  const dir = agentLogs.get(root);
  agentLogs.delete(root);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Removes every container of a bundle's root, its agent if any, and the temp dir; checks no cgroup is left. */
export function cleanup(b: Bundle): void {
  if (existsSync(b.root)) {
    for (const id of readdirSync(b.root).filter((n) => !n.startsWith("."))) berth(b.root, ["delete", "--force", id]);
  }
  stopAgentFor(b.root);
  bundleRoots.delete(b.root);
  rmSync(b.dir, { recursive: true, force: true });
}

/** Bundles made by one test file; cleanupAll() (from afterEach) removes them all. */
export function bundleTracker() {
  let made: Bundle[] = [];
  return {
    bundle(args: string[], edit?: (s: Spec) => void): Bundle {
      const b = makeBundle(args, edit);
      made.push(b);
      return b;
    },
    cleanupAll(): void {
      for (const b of made) cleanup(b);
      made = [];
    },
  };
}

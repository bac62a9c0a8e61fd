// The command line as runc's users and callers write it, run against berth
// and, where installed, runc 1.1 with the same cases:
// - every flag `runc CMD --help` lists is accepted (e.g. `update --cpu-share`,
//   runc's singular), and `-h`/`--help` on any command prints its help, exit 0;
// - `--debug` without `--log` prints debug lines on stderr (runc: logrus to stderr);
// - `exec --ignore-paused` and `exec --cgroup` do what runc's do, not nothing:
//   a paused container refuses an exec with runc's wording unless
//   --ignore-paused (the process then starts when the container is resumed),
//   and --cgroup [CONTROLLER:]PATH puts the process in an existing sub-cgroup;
// - `--pid-file` in a directory that does not exist fails and leaves nothing
//   (runc opens the file where it is told, making no directories).
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { HAVE_RUNC, RUNC, RUNTIMES, type Cli } from "./peers.ts";
import { berth, bundleTracker, ensureCore, uniqueId, type Bundle } from "./helpers.ts";

/** a pure cgroup v2 host (the v2 lane under User-mode Linux) */
const PURE_V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

beforeAll(ensureCore);

const tracker = bundleTracker();
afterEach(tracker.cleanupAll);

const runtimes = RUNTIMES;

const COMMANDS = ["create", "run", "start", "state", "kill", "delete", "list", "exec", "ps", "pause", "resume", "update", "events", "features", "spec"];

/** The long flag names a help text lists ("--name value, -n value  ..."). */
function flagNames(help: string): string[] {
  return [...help.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]!).filter((n) => n !== "help");
}

function running(cli: Cli, b: Bundle, id: string): number {
  mkdirSync(b.root, { recursive: true });
  const r = cli(b.root, ["run", "-d", "--bundle", b.dir, id]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(cli(b.root, ["state", id]).stdout).pid;
}

describe("flags and help (berth)", () => {
  test("-h and --help on every command: its usage and flags, exit 0; every flag runc's help lists is one of berth's", () => {
    const b = tracker.bundle(["true"]);
    for (const cmd of COMMANDS) {
      // a bare `berth run`/`berth create` is the engine's (images; its -h is --hostname): a bundle makes it the runtime's
      // and a bare `berth ps` is the engine's list: an id makes it runc's
      const bundle = cmd === "run" || cmd === "create" ? ["--bundle", b.dir] : [];
      const after = cmd === "ps" ? ["some-id"] : [];
      for (const h of ["-h", "--help"]) {
        const r = berth(b.root, [cmd, ...bundle, h, ...after]);
        expect([cmd, h, r.code, r.stderr]).toEqual([cmd, h, 0, ""]);
        expect(r.stdout).toContain(`Usage: berth ${cmd}`);
      }
      if (!HAVE_RUNC) continue;
      const ours = berth(b.root, [cmd, ...bundle, "--help", ...after]).stdout;
      const theirs = Bun.spawnSync([RUNC, cmd, "--help"]).stdout.toString();
      for (const f of flagNames(theirs)) expect([cmd, f, ours.includes(`--${f}`)]).toEqual([cmd, f, true]);
    }
  });

  test("--debug without --log: debug lines on stderr", () => {
    const b = tracker.bundle(["true"]);
    mkdirSync(b.root, { recursive: true });
    const r = berth(b.root, ["create", "--bundle", b.dir, uniqueId("dbg")], { global: ["--debug"] });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/level=debug msg="berth /);
    expect(r.stderr).toMatch(/level=debug msg="create: /);
    // and without --debug, none
    const q = berth(b.root, ["state", "nosuch"]);
    expect(q.stderr).not.toContain("level=debug");
  });

  test("update --cpu-share (runc's name) sets the shares; RDT schemas are refused, not ignored", () => {
    const b = tracker.bundle(["sleep", "60"]);
    const id = uniqueId("shr");
    const pid = running(berth, b, id);
    expect(berth(b.root, ["update", "--cpu-share", "512", id]).code).toBe(0);
    const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
    if (PURE_V2) {
      // cgroup v2: the shares become cpu.weight by the runtime-spec's conversion (1 + ((512 - 2) * 9999) / 262142)
      const rel = lines.find((l) => l.startsWith("0::"))!.slice(3);
      expect(readFileSync(`/sys/fs/cgroup${rel}/cpu.weight`, "utf8").trim()).toBe("20");
    } else {
      const cpu = lines.find((l) => /:cpu[,:]|,cpu[,:]/.test(l))!.split(":")[2]!;
      const dir = ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"].find((d) => existsSync(d + cpu + "/cpu.shares"));
      expect(dir).toBeDefined();
      expect(readFileSync(`${dir}${cpu}/cpu.shares`, "utf8").trim()).toBe("512");
    }
    const r = berth(b.root, ["update", "--l3-cache-schema", "L3:0=f", id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--l3-cache-schema");
  });

  test("exec --process-label: refused clearly where SELinux is off (not ignored)", () => {
    if (existsSync("/sys/fs/selinux/enforce")) return;
    const b = tracker.bundle(["sleep", "60"]);
    const id = uniqueId("lbl");
    running(berth, b, id);
    const r = berth(b.root, ["exec", "--process-label", "system_u:system_r:container_t:s0", id, "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("SELinux");
  });
});

for (const [name, cli] of runtimes) {
  describe(`exec and --pid-file as runc's (${name})`, () => {
    test("exec into a paused container: refused unless --ignore-paused, which starts the process at resume", async () => {
      const b = tracker.bundle(["sleep", "60"]);
      const id = uniqueId("igp");
      running(cli, b, id);
      expect(cli(b.root, ["pause", id]).code).toBe(0);
      const r = cli(b.root, ["exec", id, "true"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("cannot exec in a paused container (use --ignore-paused to override)");
      const bin = name === "runc" ? [RUNC] : [join(import.meta.dir, "../../node_modules/.bin/bun"), join(import.meta.dir, "../../src/cli/main.ts")];
      const p = Bun.spawn([...bin, "--root", b.root, "exec", "--ignore-paused", id, "echo", "ran"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      await Bun.sleep(1500);
      // frozen with the container until it is resumed
      expect(p.exitCode).toBeNull();
      expect(cli(b.root, ["resume", id]).code).toBe(0);
      expect(await p.exited).toBe(0);
      expect(await new Response(p.stdout).text()).toBe("ran\n");
    }, 30_000);

    test("exec --cgroup [CONTROLLER:]PATH: the process joins an existing sub-cgroup; a missing one is an error", () => {
      const b = tracker.bundle(["sleep", "60"]);
      const id = uniqueId("scg");
      const pid = running(cli, b, id);
      // v1: the pids hierarchy's sub-cgroup, named as CONTROLLER:PATH; v2: the one hierarchy's, PATH alone
      const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
      const rel = PURE_V2 ? lines.find((l) => l.startsWith("0::"))!.slice(3) : lines.find((l) => /^\d+:pids:/.test(l))!.split(":")[2]!;
      const sub = PURE_V2 ? `/sys/fs/cgroup${rel}/sub` : `/sys/fs/cgroup/pids${rel}/sub`;
      mkdirSync(sub);
      try {
        const r = cli(b.root, ["exec", "--cgroup", PURE_V2 ? "sub" : "pids:sub", id, "cat", "/proc/self/cgroup"]);
        expect(r.code).toBe(0);
        // inside the container's cgroup namespace, the sub-cgroup shows as /sub
        expect(r.stdout).toMatch(PURE_V2 ? /^0::.*\/sub$/m : /^\d+:pids:.*\/sub$/m);
        expect(cli(b.root, ["exec", "--cgroup", "nosuch", id, "true"]).code).not.toBe(0);
      } finally {
        rmdirSync(sub);
      }
    });

    test("--pid-file in a directory that does not exist: the command fails and leaves no container and no directory", () => {
      const b = tracker.bundle(["sleep", "60"]);
      mkdirSync(b.root, { recursive: true });
      const missing = join(b.dir, "no", "such");
      const id = uniqueId("pidf");
      expect(cli(b.root, ["run", "-d", "--pid-file", join(missing, "p.pid"), "--bundle", b.dir, id]).code).not.toBe(0);
      expect(existsSync(join(b.dir, "no"))).toBe(false);
      expect(cli(b.root, ["state", id]).code).not.toBe(0);
      expect(cli(b.root, ["create", "--pid-file", join(missing, "p.pid"), "--bundle", b.dir, id]).code).not.toBe(0);
      expect(existsSync(join(b.dir, "no"))).toBe(false);
      expect(cli(b.root, ["state", id]).code).not.toBe(0);
    });
  });
}

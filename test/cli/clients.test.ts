// What containerd's runc shim, Podman's conmon and Docker send to the runtime,
// fixed here so it stays working without the clients (each test names the
// client that revealed the behaviour).
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth, berthSays, bundleTracker, cgroupDirs, ensureCore, onlyOnBerth, uniqueId } from "./helpers.ts";

beforeAll(ensureCore);

const tracker = bundleTracker();
afterEach(tracker.cleanupAll);
const bundle = tracker.bundle;
const uid = uniqueId;

function waitFor(cond: () => boolean, ms = 5000): void {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    Bun.sleepSync(10);
  }
}

describe("containerd (runc v2 shim)", () => {
  test("errors go to --log as JSON lines with --log-format json", () => {
    const b = bundle(["true"]);
    const log = join(b.dir, "log.json");
    const r = berth(b.root, ["create", "--bundle", join(b.dir, "missing"), "c1"], { global: ["--log", log, "--log-format", "json"] });
    expect(r.code).not.toBe(0);
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const err = lines.find((l) => l.level === "error");
    berthSays(err.msg, "does not exist");
    expect(typeof err.time).toBe("string");
    expect(existsSync(join(b.root, "c1"))).toBe(false);
  });

  test("create --pid-file, exec --process --detach --pid-file, ps --format json, kill --all", () => {
    const b = bundle(["sleep", "60"]);
    const id = uid("ctrd");
    const pidFile = join(b.dir, "init.pid");
    expect(berth(b.root, ["create", "--bundle", b.dir, "--pid-file", pidFile, id]).code).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    expect(berth(b.root, ["start", id]).code).toBe(0);
    const proc = join(b.dir, "process.json");
    writeFileSync(proc, JSON.stringify({ ...b.spec.process, args: ["sleep", "61"] }));
    const execPid = join(b.dir, "e1.pid");
    const e = berth(b.root, ["exec", "--process", proc, "--detach", "--pid-file", execPid, id]);
    expect(e.stderr).toBe("");
    expect(e.code).toBe(0);
    const epid = Number(readFileSync(execPid, "utf8"));
    // the exec'd process shares the init's pid namespace
    expect(readlinkSync(`/proc/${epid}/ns/pid`)).toBe(readlinkSync(`/proc/${pid}/ns/pid`));
    const ps = JSON.parse(berth(b.root, ["ps", "--format", "json", id]).stdout) as number[];
    expect(ps).toContain(pid);
    expect(ps).toContain(epid);
    expect(berth(b.root, ["kill", "--all", id, "9"]).code).toBe(0);
    waitFor(() => JSON.parse(berth(b.root, ["state", id]).stdout).status === "stopped");
    expect(berth(b.root, ["delete", id]).code).toBe(0);
    expect(cgroupDirs(id)).toEqual([]);
  });

  test("delete --force of a container that is already gone succeeds", () => {
    const b = bundle(["true"]);
    mkdirSync(b.root, { recursive: true });
    expect(berth(b.root, ["delete", "--force", "never-was"]).code).toBe(0);
    expect(berth(b.root, ["delete", "never-was"]).code).not.toBe(0);
  });
  test("each container gets a session keyring of its own unless --no-new-keyring", () => {
    const b = bundle(["sleep", "30"]);
    const a = uid("kr"),
      c = uid("kr");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, a]).code).toBe(0);
    expect(berth(b.root, ["run", "-d", "--no-new-keyring", "--bundle", b.dir, c]).code).toBe(0);
    const keys = readFileSync("/proc/keys", "utf8");
    expect(keys).toContain(`_ses.${a}:`);
    expect(keys).not.toContain(`_ses.${c}:`);
  });
});

describe("Podman (conmon)", () => {
  test("exec with flag values before the id reaches the runtime, not the engine", () => {
    const b = bundle(["sleep", "60"]);
    const id = uid("pm");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    const proc = join(b.dir, "exec-process");
    writeFileSync(proc, JSON.stringify({ ...b.spec.process, args: ["sh", "-c", "exit 3"] }));
    const r = berth(b.root, ["exec", "--pid-file", join(b.dir, "exec_pid"), "--process", proc, id]);
    expect(r.code).toBe(3);
  });

  test("tmpfs with tmpcopyup keeps the image's files", () => {
    const b = bundle(["cat", "/etc/seed"], (s) => {
      s.mounts!.push({ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["rw", "tmpcopyup", "mode=755"] });
    });
    writeFileSync(join(b.dir, "rootfs/etc/seed"), "from the image\n");
    const r = berth(b.root, ["run", "--bundle", b.dir, uid("copyup")]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("from the image\n");
  });

  test("sysctls are set even when /proc/sys is a readonly path", () => {
    const b = bundle(["cat", "/proc/sys/net/ipv4/ping_group_range"], (s) => {
      s.linux!.sysctl = { "net.ipv4.ping_group_range": "0 0" };
    });
    expect(b.spec.linux!.readonlyPaths).toContain("/proc/sys");
    const r = berth(b.root, ["run", "--bundle", b.dir, uid("sysctl")]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split(/\s+/)).toEqual(["0", "0"]);
  });

  test("a non-root user keeps exactly the configured capabilities (ambient ones survive exec)", () => {
    const b = bundle(["sh", "-c", "id -u; grep -E '^Cap(Bnd|Eff)' /proc/self/status"], (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = {
        bounding: ["CAP_KILL", "CAP_CHOWN"],
        effective: ["CAP_KILL"],
        permitted: ["CAP_KILL"],
        inheritable: ["CAP_KILL"],
        ambient: ["CAP_KILL"],
      };
    });
    const r = berth(b.root, ["run", "--bundle", b.dir, uid("caps")]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000\nCapEff:\t0000000000000020\nCapBnd:\t0000000000000021\n");
  });

  test("update --resources=FILE (with '=') changes the memory limit live", () => {
    const b = bundle(["sleep", "60"]);
    const id = uid("upd");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    const res = join(b.dir, "res.json");
    writeFileSync(res, JSON.stringify({ memory: { limit: 128 * 1024 * 1024 } }));
    const r = berth(b.root, ["update", `--resources=${res}`, id]);
    expect(r.stderr).toBe("");
    const dir = cgroupDirs(id).find((d) => d.includes("/memory/") || existsSync(join(d, "memory.max")))!;
    const file = existsSync(join(dir, "memory.max")) ? "memory.max" : "memory.limit_in_bytes";
    expect(readFileSync(join(dir, file), "utf8").trim()).toBe(String(128 * 1024 * 1024));
  });

  test("--version names the runtime and the spec version", () => {
    const r = berth("/nonexistent", ["--version"]);
    expect(r.code).toBe(0);
    // what Podman reads: the first line names the runtime and its version, a "spec:" line the spec's
    expect(r.stdout).toMatch(/^\S+ version \S+\n/);
    expect(r.stdout).toMatch(/^spec: 1\.\d+\.\d+/m);
    onlyOnBerth("berth's --version has these two lines only (runc adds commit, go and libseccomp lines)", () =>
      expect(r.stdout).toMatch(/^berth version \d+\.\d+\.\d+\nspec: 1\.\d+\.\d+\n$/),
    );
  });
});

describe("Docker", () => {
  test("pause shows as paused in state, resume as running", () => {
    const b = bundle(["sleep", "60"]);
    const id = uid("dk");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    expect(berth(b.root, ["pause", id]).code).toBe(0);
    expect(JSON.parse(berth(b.root, ["state", id]).stdout).status).toBe("paused");
    expect(berth(b.root, ["pause", id]).code).not.toBe(0);
    expect(berth(b.root, ["resume", id]).code).toBe(0);
    expect(JSON.parse(berth(b.root, ["state", id]).stdout).status).toBe("running");
  });

  test("features is the runtime-spec features document", () => {
    const f = JSON.parse(berth("/nonexistent", ["features"]).stdout);
    expect(f.ociVersionMin).toMatch(/^1\./);
    expect(f.hooks).toContain("createRuntime");
    expect(f.linux.namespaces).toContain("pid");
    expect(f.linux.seccomp.enabled).toBe(true);
  });
});

// Resources through the runtime CLI (issue 3): limits from config.json seen
// inside, live update, pause/resume, ps, events (stats and OOM), and bad input
// that leaves the container as it was. Runs on the host (cgroup v1 here) and
// in the cgroup v2 lane.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth, bundleTracker, cgroupDirs, ensureCore, onlyOnBerth, runtimeArgv, uniqueId } from "./helpers.ts";

beforeAll(ensureCore);

const tracker = bundleTracker();
afterEach(tracker.cleanupAll);
const bundle = tracker.bundle;
const uid = uniqueId;
const MiB = 1024 * 1024;

/** The file holding a memory figure in the container's cgroup, v1 or v2. */
function memFile(id: string, v1: string, v2: string): string {
  for (const d of cgroupDirs(id)) {
    if (existsSync(join(d, v2))) return join(d, v2);
    if (existsSync(join(d, v1))) return join(d, v1);
  }
  throw new Error(`no ${v1}/${v2} for ${id}`);
}

describe("resources", () => {
  test("memory and pids limits from config.json are visible inside the container", () => {
    const b = bundle(
      [
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null",
      ],
      (s) => {
        s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * MiB }, pids: { limit: 20 } };
      },
    );
    const r = berth(b.root, ["run", "--bundle", b.dir, uid("lim")]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual([String(64 * MiB), "20"]);
  });

  test("a fork bomb stops at pids.max and the container still answers", () => {
    // the loop runs in a subshell (a failed fork ends it); the count uses builtins only
    const script =
      "(i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done) 2>/dev/null; echo started; c=0; for p in /proc/[0-9]*; do c=$((c+1)); done; echo $c";
    const b = bundle(["sh", "-c", script], (s) => {
      s.linux!.resources = { ...s.linux!.resources, pids: { limit: 16 } };
    });
    const r = berth(b.root, ["run", "--bundle", b.dir, uid("bomb")]);
    expect(r.stdout).toContain("started");
    const count = Number(r.stdout.trim().split("\n").pop());
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(16);
  });

  test("a live update raises the memory limit of the running container", () => {
    const b = bundle(["sleep", "60"], (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 32 * MiB } };
    });
    const id = uid("live");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    const f = memFile(id, "memory.limit_in_bytes", "memory.max");
    expect(readFileSync(f, "utf8").trim()).toBe(String(32 * MiB));
    const r = berth(b.root, ["update", "--memory", "96m", "--pids-limit", "50", id]);
    expect(r.stderr).toBe("");
    expect(readFileSync(f, "utf8").trim()).toBe(String(96 * MiB));
    const pids = cgroupDirs(id)
      .map((d) => join(d, "pids.max"))
      .find(existsSync)!;
    expect(readFileSync(pids, "utf8").trim()).toBe("50");
  });

  test("update with bad input names the field and leaves the limits as they were", () => {
    const b = bundle(["sleep", "60"], (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 48 * MiB } };
    });
    const id = uid("bad");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    const f = memFile(id, "memory.limit_in_bytes", "memory.max");
    const res = join(b.dir, "res.json");
    writeFileSync(res, JSON.stringify({ memory: { limit: 64 * MiB }, bogus: { x: 1 } }));
    onlyOnBerth("berth refuses unknown fields in update -r's file; runc's JSON decoding ignores them (and applies the rest)", () => {
      const bogus = berth(b.root, ["update", "-r", res, id]);
      expect(bogus.code).not.toBe(0);
      expect(bogus.stderr).toContain("bogus");
    });
    let r = berth(b.root, ["update", "--memory", "4k", id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("memory");
    r = berth(b.root, ["update", "--pids-limit", "many", id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("pids-limit");
    expect(readFileSync(f, "utf8").trim()).toBe(String(48 * MiB));
    expect(JSON.parse(berth(b.root, ["state", id]).stdout).status).toBe("running");
  });

  test("pause freezes every process, ps lists them, events --stats reports figures", () => {
    const b = bundle(["sh", "-c", "sleep 60 & sleep 60 & wait"]);
    const id = uid("ps");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length < 3; i++) {
      pids = JSON.parse(berth(b.root, ["ps", "--format", "json", id]).stdout);
      Bun.sleepSync(20);
    }
    expect(pids.length).toBe(3);
    expect(berth(b.root, ["pause", id]).code).toBe(0);
    for (const p of pids) expect(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]![0]).toMatch(/[DST]/);
    const ev = JSON.parse(berth(b.root, ["events", "--stats", id]).stdout);
    expect(ev.type).toBe("stats");
    expect(ev.data.pids.current).toBe(3);
    expect(ev.data.memory.usage.usage).toBeGreaterThan(0);
    expect(berth(b.root, ["resume", id]).code).toBe(0);
    expect(JSON.parse(berth(b.root, ["state", id]).stdout).status).toBe("running");
  });

  test("a memory hog is OOM-killed inside its own cgroup and reported as an OOM event", async () => {
    const b = bundle(["sh", "-c", "sleep 1.5; tail /dev/zero"], (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 24 * MiB, swap: 24 * MiB } };
    });
    const id = uid("oom");
    expect(berth(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
    const ev = Bun.spawn([...runtimeArgv(), "--root", b.root, "events", "--interval", "100ms", id], { stdout: "pipe", stderr: "pipe" });
    // berth's events ends when the container stops; runc's goes on: read until the oom event
    const timer = setTimeout(() => ev.kill(), 20000);
    let out = "";
    const dec = new TextDecoder();
    for await (const chunk of ev.stdout) {
      out += dec.decode(chunk);
      if (out.includes('"oom"') && out.endsWith("\n")) break;
    }
    ev.kill();
    clearTimeout(timer);
    await ev.exited;
    const events = out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(events.some((e) => e.type === "oom" && e.id === id)).toBe(true);
    let status = "";
    for (let i = 0; i < 250 && status !== "stopped"; i++, Bun.sleepSync(20)) status = JSON.parse(berth(b.root, ["state", id]).stdout).status;
    expect(status).toBe("stopped");
  }, 30000);

  test("--systemd-cgroup without systemd as PID 1 is a clear error and leaves nothing", () => {
    if (readFileSync("/proc/1/comm", "utf8").trim() === "systemd") return;
    const b = bundle(["true"]);
    const id = uid("sd");
    const r = berth(b.root, ["run", "--bundle", b.dir, id], { global: ["--systemd-cgroup"] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("systemd");
    expect(existsSync(join(b.root, id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
  });
});

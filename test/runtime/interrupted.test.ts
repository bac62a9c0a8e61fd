// A `create` killed with SIGKILL at any moment must not block its id: what it
// made (the state directory, the exec fifo, cgroups in every hierarchy, the
// lock file, the core and the init) is listed and removed by `delete --force`,
// and a new `create` with that id then works. containerd's shim, conmon and
// kubelet all retry with the same id after a runtime that was killed or timed
// out (runc's delete removes a half-made container's directory the same way).
import { describe, expect } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { alive, BERTH, berthOnly, cgroupDirs, ctest, ok, TEST_AGENT, waitFor, type Bundle, type Ctx } from "./helpers.ts";

// the pause points are read by the process that runs the create: with the warm agent, not the front door killed here
const pausable = TEST_AGENT
  ? "a call with BERTH_TRACE_PAUSE is left to the Bun berth by the agent (a pause would hold every call): the same test as without the agent"
  : berthOnly("BERTH_TRACE_PAUSE is berth's");

/** The points of berth's create, in order (src/linux/trace.ts labels). */
const STEPS = [
  "create: read config",
  "create: core spawned",
  "create: validated",
  "create: directory made",
  "create: recorded",
  "create: cgroup made",
  "create: cgroup ready",
  "create: plan built",
  "create: pid",
  "create: pid recorded",
  "create: ready",
];

/** PID and every process below it. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const s = readFileSync(`/proc/${n}/stat`, "utf8");
      const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(n)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** Starts `create`, kills it with SIGKILL (at STEP, or after DELAY ms); returns the processes it had made. */
async function killedCreate(c: Ctx, b: Bundle, id: string, at: { step?: string; delay?: number }): Promise<number[]> {
  const err = join(c.tempDir("err"), "err");
  const fd = openSync(err, "w+");
  const p = Bun.spawn([BERTH, "--root", c.root, "create", "--bundle", b.dir, id], {
    stdio: ["ignore", "ignore", fd],
    env: { ...process.env, ...(at.step ? { BERTH_TRACE_PAUSE: at.step } : {}) },
  });
  closeSync(fd);
  if (at.step) {
    const paused = await waitFor(() => readFileSync(err, "utf8").includes(`[paused] ${at.step}`), 10000, 5);
    if (!paused) p.kill("SIGKILL");
    expect({ step: at.step, paused, stderr: readFileSync(err, "utf8") }).toEqual({ step: at.step, paused: true, stderr: `[paused] ${at.step}\n` });
    if (at.step === "create: recorded") {
      // while the create runs, the container is listed as creating
      const l = await c.berth(["list"]);
      expect(l.stdout).toMatch(new RegExp(`^${id}\\s+0\\s+creating\\s`, "m"));
      // the runtime-spec's state: creating, and no pid before there is one
      const st = JSON.parse(ok(await c.berth(["state", id])).stdout) as Record<string, unknown>;
      expect({ status: st.status, pid: st.pid }).toEqual({ status: "creating", pid: undefined });
    }
  } else if (at.delay) await Bun.sleep(at.delay);
  const made = descendants(p.pid);
  p.kill("SIGKILL");
  await p.exited;
  return made;
}

/** After delete --force: nothing of ID is left, and the id can be used again. */
async function expectGone(c: Ctx, b: Bundle, id: string, made: number[], what: string): Promise<void> {
  const del = await c.berth(["delete", "--force", id]);
  expect({ what, code: del.code, stderr: del.stderr }).toEqual({ what, code: 0, stderr: "" });
  expect({ what, left: readdirSync(c.root).filter((n) => n.includes(id)) }).toEqual({ what, left: [] });
  expect({ what, cgroups: cgroupDirs(id).filter((d) => existsSync(d)) }).toEqual({ what, cgroups: [] });
  // the core exits when berth's end of its socket closes; the init is killed through its cgroup
  expect({ what, alive: (await waitFor(() => made.every((p) => !alive(p)), 3000)) ? [] : made.filter(alive) }).toEqual({ what, alive: [] });
  ok(await c.berth(["create", "--bundle", b.dir, id]), `create after ${what}`);
  ok(await c.berth(["delete", "--force", id]), `delete after ${what}`);
}

describe("a create killed half-way", () => {
  ctest(
    "killed at each step of create: delete --force removes it all, and the id is free again",
    async (c) => {
      const b = c.bundle(["true"]);
      const seenFrom = STEPS.indexOf("create: recorded");
      // under User-mode Linux (the v2 lane) each call is several times slower:
      // there a sample of the steps, the first record's among them
      const v2lane = process.env.BERTH_CGROUP_LANE === "v2";
      for (const [i, step] of STEPS.entries()) {
        if (v2lane && i % 3 !== 0 && i !== seenFrom) continue;
        const id = c.id("kstep");
        const made = await killedCreate(c, b, id, { step });
        // from its first record on, the container is listed (stopped: its creator is gone)
        const l = await c.berth(["list"]);
        if (i >= seenFrom) expect({ step, list: l.stdout }).toEqual({ step, list: expect.stringMatching(new RegExp(`^${id}\\s+0\\s+stopped\\s`, "m")) });
        else expect({ step, list: l.stdout.includes(id) }).toEqual({ step, list: false });
        await expectGone(c, b, id, made, step);
      }
    },
    120000,
    { skip: pausable },
  );

  ctest(
    "killed after 0 to 60 ms: delete --force removes it all, and the id is free again",
    async (c) => {
      const b = c.bundle(["true"]);
      for (let delay = 0; delay <= 60; delay += 5) {
        const id = c.id("kms");
        const made = await killedCreate(c, b, id, { delay });
        await expectGone(c, b, id, made, `${delay} ms`);
      }
    },
    120000, // about 47 s in the v2 lane (User-mode Linux)
    // runc 1.1 on this hybrid host: delete -f after a killed create left the cgroups (cpuset alone, or all) in 2 of 30 trials
    { skip: berthOnly("a create killed half-way is cleaned up completely (runc 1.1 sometimes leaves its cgroups)") },
  );

  ctest(
    "delete without --force of a create whose berth was killed",
    async (c) => {
      const b = c.bundle(["true"]);
      const id = c.id("knf");
      const made = await killedCreate(c, b, id, { step: "create: pid recorded" });
      // stopped, so a plain delete (what containerd's shim does after a failed create) cleans it
      const st = JSON.parse(ok(await c.berth(["state", id])).stdout) as { status: string };
      expect(st.status).toBe("stopped");
      ok(await c.berth(["delete", id]));
      expect(readdirSync(c.root).filter((n) => n.includes(id))).toEqual([]);
      expect(cgroupDirs(id).filter((d) => existsSync(d))).toEqual([]);
      expect(await waitFor(() => made.every((p) => !alive(p)), 3000)).toBe(true);
    },
    30000,
    { skip: pausable },
  );
});

// Where the container's processes land in the cgroup tree: the init and every
// exec'd process in the container's cgroup in each hierarchy (v1 through
// `tasks`, cgroup2 through CLONE_INTO_CGROUP), and the berth-core that waits
// for a foreground container back in berth's own cgroups.
import { describe, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { ctest, ok, waitFor, type Ctx } from "./helpers.ts";

const PARENT = "berth-place-test";

/** "controllers:path" per hierarchy ("" for cgroup2), from /proc/PID/cgroup. */
function cgroupsOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.slice(l.indexOf(":") + 1));
}

function ppid(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
}

/** Removes the test's parent cgroup in every hierarchy (the containers' own are removed by delete). */
function removeParent(c: Ctx): void {
  c.defer(() => {
    const base = "/sys/fs/cgroup";
    const dirs = [join(base, PARENT), ...readdirSync(base).map((h) => join(base, h, PARENT))];
    for (const d of dirs) {
      try {
        if (existsSync(d)) rmdirSync(d);
      } catch {
        /* still in use by a parallel run */
      }
    }
  });
}

describe("cgroup placement", () => {
  ctest("the init and exec'd processes are in the container's cgroup in every hierarchy; an exec joins its cgroup namespace", async (c) => {
    removeParent(c);
    const id = c.id("place");
    const want = `/${PARENT}/${id}`;
    const b = c.bundle(["sleep", "60"], (cfg) => {
      cfg.root!.readonly = false;
      cfg.linux!.cgroupsPath = want;
      if (!cfg.linux!.namespaces!.some((n) => n.type === "cgroup")) cfg.linux!.namespaces!.push({ type: "cgroup" });
    });
    ok(await c.run(b, id, ["-d"]));
    const init = Number((await c.state(id)).pid);
    const inits = cgroupsOf(init);
    expect(inits.length).toBe(cgroupsOf(process.pid).length);
    for (const l of inits) expect(l).toBe(`${l.split(":")[0]}:${want}`);

    const pidFile = join(c.tempDir("pid"), "exec.pid");
    ok(await c.berth(["exec", "--detach", "--pid-file", pidFile, id, "sh", "-c", "cat /proc/self/cgroup > /tmp/cg.tmp; mv /tmp/cg.tmp /tmp/cg; sleep 60"]));
    const execPid = Number(readFileSync(pidFile, "utf8"));
    for (const l of cgroupsOf(execPid)) expect(l).toBe(`${l.split(":")[0]}:${want}`);
    const seen = join(b.rootfs, "tmp/cg");
    expect(await waitFor(() => existsSync(seen))).toBe(true);
    for (const l of readFileSync(seen, "utf8").trim().split("\n")) expect(l).toEndWith(":/");
    ok(await c.berth(["delete", "--force", id]));
  });

  ctest("the core waiting for a foreground container is not in the container's cgroup", async (c) => {
    removeParent(c);
    const id = c.id("fg");
    const want = `/${PARENT}/${id}`;
    const b = c.bundle(["sleep", "60"], (cfg) => (cfg.linux!.cgroupsPath = want));
    const run = c.run(b, id);
    const running = async () => {
      const r = await c.berth(["state", id]);
      return r.code === 0 && JSON.parse(r.stdout).status === "running";
    };
    let up = false;
    for (let i = 0; i < 500 && !up; i++) up = (await running()) || (await Bun.sleep(10), false);
    expect(up).toBe(true);
    const init = Number((await c.state(id)).pid);
    for (const l of cgroupsOf(init)) expect(l).toBe(`${l.split(":")[0]}:${want}`);
    const core = ppid(init);
    for (const l of cgroupsOf(core)) expect(l.endsWith(want)).toBe(false);
    ok(await c.berth(["kill", id, "KILL"]));
    expect((await run).code).toBe(137);
  });
});

// What the agent keeps about the host, and what it reads again (it serves
// for days, and each call comes from a caller of its own): the cgroup
// layout is read again once the mount table changes (a cgroup hierarchy
// mounted or unmounted), and a call's own cgroups are its caller's (its front
// door's), not the agent's. Checked in this test process, made to answer as
// the agent does (a caller source with a pid).
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { detectCgroups } from "../../src/cgroups/detect.ts";
import { setCallerSource, type Caller } from "../../src/linux/caller.ts";

const root = process.geteuid?.() === 0;
const REPO = resolve(import.meta.dir, "../..");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  setCallerSource(() => undefined);
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A call from the process PID, as the agent's caller source names it. */
function callFrom(pid: number): void {
  const c = { pid, memo: {}, cwd: "/", env: {}, umask: 0o22, stdio: [0, 1, 2] } as unknown as Caller;
  setCallerSource(() => c);
}

test.skipIf(!root || !existsSync("/sys/fs/cgroup/pids/cgroup.procs"))("a cgroup hierarchy unmounted while the agent runs is not seen by the next call", () => {
  // in a mount namespace of its own (nothing else on the host sees the unmount)
  const script = `
    import { detectCgroups } from ${JSON.stringify(join(REPO, "src/cgroups/detect.ts"))};
    import { setCallerSource } from ${JSON.stringify(join(REPO, "src/linux/caller.ts"))};
    const call = () => { const c = { pid: process.pid, memo: {} }; setCallerSource(() => c); };
    const seen = [];
    call();
    seen.push(!!detectCgroups().v1.pids);
    Bun.spawnSync(["umount", "-l", detectCgroups().v1.pids.mountpoint]);
    seen.push(!!detectCgroups().v1.pids);
    call();
    seen.push(!!detectCgroups().v1.pids);
    console.log(JSON.stringify(seen));`;
  const p = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", process.execPath, "-e", script], { stderr: "inherit" });
  // the call in progress keeps what it found; the next one reads the mounts again
  expect(p.stdout.toString().trim()).toBe("[true,true,false]");
});

test.skipIf(!root || !existsSync("/sys/fs/cgroup/unified/cgroup.procs"))("a call's own cgroups are its caller's, not the agent's", () => {
  const cg = `/sys/fs/cgroup/unified/berth-hostfacts-${process.pid}`;
  mkdirSync(cg);
  cleanups.push(() => rmdirSync(cg));
  const p = Bun.spawn(["sh", "-c", `echo $$ > ${cg}/cgroup.procs && exec sleep 30`]);
  cleanups.push(() => {
    p.kill(9);
    return p.exited;
  });
  const end = Date.now() + 5000;
  while (!readFileSync(`/proc/${p.pid}/cgroup`, "utf8").includes("berth-hostfacts") && Date.now() < end) Bun.sleepSync(5);
  callFrom(p.pid);
  expect(detectCgroups().own[""]).toBe(`/berth-hostfacts-${process.pid}`);
  callFrom(process.pid);
  expect(detectCgroups().own[""]).not.toBe(`/berth-hostfacts-${process.pid}`);
});

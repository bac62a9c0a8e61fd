import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { openCgroup } from "../../src/cgroups/index.ts";
import { alive, cleanup, newCgroup, noCgroups, procState, spawnIn, spawnPlain, until } from "./helpers.ts";

afterEach(cleanup);

test.skipIf(noCgroups)("create is idempotent; processes join; pids lists the cgroup and its children", async () => {
  const cg = newCgroup("pids");
  cg.create();
  expect(cg.exists()).toBe(true);
  // processes in two child cgroups (on v2 only leaves may hold processes once
  // controllers are enabled below a cgroup), as a container's own nested cgroups would be
  const first = openCgroup({ id: "x", cgroupsPath: `${cg.path}/first` });
  first.create();
  const a = spawnPlain(["sleep", "30"]);
  first.addProcess(a.pid);
  const child = openCgroup({ id: "x", cgroupsPath: `${cg.path}/nested` });
  child.create();
  const b = spawnPlain(["sleep", "30"]);
  child.addProcess(b.pid);
  expect(cg.pids()).toEqual([a.pid, b.pid].sort((x, y) => x - y));
  expect(child.pids()).toEqual([b.pid]);
  expect(cg.stats().pids.current).toBe(2);
});

test.skipIf(noCgroups)("freeze stops every process, thaw resumes them", async () => {
  const cg = newCgroup("freeze");
  const dir = mkdtempSync(`${tmpdir()}/berth-freeze-`);
  try {
    const f = `${dir}/count`;
    const p = spawnIn(cg, ["sh", "-c", `i=0; while :; do i=$((i+1)); echo $i > ${f}; done`]);
    expect(await until(() => existsSync(f) && readFileSync(f, "utf8").trim() !== "")).toBe(true);
    cg.freeze();
    expect(cg.frozen()).toBe(true);
    // a frozen task sleeps in the freezer: never running
    expect(procState(p.pid)).not.toBe("R");
    const before = readFileSync(f, "utf8");
    await Bun.sleep(200);
    expect(readFileSync(f, "utf8")).toBe(before);
    cg.thaw();
    expect(cg.frozen()).toBe(false);
    expect(await until(() => readFileSync(f, "utf8") !== before)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.skipIf(noCgroups)("kill signals every process, also nested and frozen ones", async () => {
  const cg = newCgroup("kill");
  const procs = [spawnIn(cg, ["sleep", "30"]), spawnIn(cg, ["sh", "-c", "sleep 30 & sleep 30 & wait"])];
  expect(await until(() => cg.pids().length === 4)).toBe(true);
  const outside = spawnPlain(["sleep", "30"]);
  cg.kill(15);
  for (const p of procs) expect(await p.exited).not.toBe(0);
  expect(await until(() => cg.pids().length === 0)).toBe(true);
  expect(alive(outside.pid)).toBe(true);

  const q = spawnIn(cg, ["sleep", "30"]);
  expect(await until(() => cg.pids().length === 1)).toBe(true);
  cg.freeze();
  cg.kill(9);
  expect(await q.exited).not.toBe(0);
  expect(q.signalCode).toBe("SIGKILL");
  if (cg.frozen()) cg.thaw();
});

test.skipIf(noCgroups)("destroy waits for the cgroup to empty, removes every directory, and is fine when gone", async () => {
  const cg = newCgroup("destroy");
  const nested = openCgroup({ id: "x", cgroupsPath: `${cg.path}/a/b` });
  nested.create();
  const p = spawnIn(nested, ["sleep", "30"]);
  expect(await until(() => cg.pids().length === 1)).toBe(true);
  // still has a process: destroy refuses (it kills nothing) and leaves everything in place
  expect(() => cg.destroy(200)).toThrow(/still has processes/);
  expect(alive(p.pid)).toBe(true);
  cg.kill(9);
  await p.exited;
  cg.destroy();
  expect(cg.exists()).toBe(false);
  for (const d of cg.dirs()) expect(existsSync(d)).toBe(false);
  cg.destroy(); // already gone: no error
});

import { afterEach, expect, test } from "bun:test";
import { cleanup, alive, isV1, lines, newCgroup, noCgroups, readCg, spawnIn, spawnPlain, until } from "./helpers.ts";
import type { Cgroup } from "../../src/cgroups/index.ts";

afterEach(cleanup);
const MiB = 1024 * 1024;
const FIXTURE = `${import.meta.dir}/fixtures/alloc.ts`;

function pidsMaxEvents(cg: Cgroup): number {
  const m = /max\s+(\d+)/.exec(readCg(cg, "pids.events"));
  return m ? Number(m[1]) : 0;
}

test.skipIf(noCgroups)("a fork bomb is stopped by pids.max without harming the host", async () => {
  const cg = newCgroup("bomb");
  const LIMIT = 24;
  cg.apply({ pids: { limit: LIMIT } });
  const bystander = spawnPlain(["sleep", "30"]);
  // a bounded bomb: every call forks two more, 2^9 processes wanted in all
  spawnIn(cg, ["sh", "-c", 'b() { if [ "$1" -gt 0 ]; then b $(($1-1)) & b $(($1-1)) & fi; sleep 20; }; b 8']);
  expect(await until(() => pidsMaxEvents(cg) > 0, 15000)).toBe(true);
  expect(cg.stats().pids.current).toBeLessThanOrEqual(LIMIT);
  expect(cg.pids().length).toBeLessThanOrEqual(LIMIT);
  // the host still forks, and a process outside is untouched
  const probe = spawnPlain(["sh", "-c", "echo alive"]);
  expect(await new Response(probe.stdout).text()).toBe("alive\n");
  expect(alive(bystander.pid)).toBe(true);
  cg.kill(9);
  expect(await until(() => cg.pids().length === 0)).toBe(true);
});

test.skipIf(noCgroups)("a memory hog is OOM-killed inside its cgroup and counted; its neighbour lives", async () => {
  const hogCg = newCgroup("hog");
  const limit = 32 * MiB;
  // no swap either (where swap is accounted), so the limit really bites
  const swapAccounted = !isV1 || readCgExists(hogCg, "memory.memsw.limit_in_bytes");
  hogCg.apply({ memory: swapAccounted ? { limit, swap: limit } : { limit } });
  const neighbourCg = newCgroup("neighbour");
  const neighbour = spawnIn(neighbourCg, ["sleep", "30"]);
  expect(hogCg.oomKillCount()).toBe(0);
  // tail keeps the current "line" in memory: /dev/zero has no newline, so it grows without end
  const hog = spawnIn(hogCg, ["tail", "/dev/zero"]);
  await hog.exited;
  expect(hog.signalCode).toBe("SIGKILL");
  expect(await until(() => hogCg.oomKillCount() >= 1)).toBe(true);
  expect(hogCg.stats().memory.usage.max).toBeGreaterThan(limit / 2);
  expect(alive(neighbour.pid)).toBe(true);
  expect(neighbourCg.oomKillCount()).toBe(0);
});

function readCgExists(cg: Cgroup, file: string): boolean {
  try {
    readCg(cg, file);
    return true;
  } catch {
    return false;
  }
}

test.skipIf(noCgroups)("raising the memory limit live lets the same process allocate more", async () => {
  const cg = newCgroup("grow");
  cg.apply({ memory: { limit: 512 * MiB } });
  const p = spawnIn(cg, [process.execPath, FIXTURE]);
  const next = lines(p);
  expect(await next()).toBe("ready");
  const usage = () => cg.stats().memory.usage.usage;
  const base = usage();
  // a limit only 48 MiB above what it uses now; 16 MiB more fits
  const low = base + 48 * MiB;
  cg.update({ memory: { limit: low } });
  p.stdin.write("16\n");
  p.stdin.flush();
  expect(await next()).toBe("ok 16");
  // raise it, then allocate well past the old limit: same process, no restart
  cg.update({ memory: { limit: low + 160 * MiB } });
  p.stdin.write("96\n");
  p.stdin.flush();
  expect(await next()).toBe("ok 112");
  expect(usage()).toBeGreaterThan(low);
  expect(p.exitCode).toBeNull();
  expect(cg.oomKillCount()).toBe(0);
});

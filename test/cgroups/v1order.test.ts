// cgroup v1 values that depend on each other, set in an order the kernel
// accepts: memory and memory+swap, the real-time period and runtime, and
// cpuset's cpus and mems along the path (runc's fs driver does the same; its
// callers, e.g. `docker update --memory -1`, rely on it).
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { openCgroup } from "../../src/cgroups/index.ts";
import { cleanup, isV1, layout, newCgroup, noCgroups, readCg, spawnIn, track, uniqueId, until } from "./helpers.ts";

afterEach(cleanup);

const v1 = !noCgroups && isV1;
const memDir = layout.v1["memory"]?.mountpoint;
const cpuDir = layout.v1["cpu"]?.mountpoint;
const cpusetDir = layout.v1["cpuset"]?.mountpoint;
// memory+swap exists only with swap accounting; rt_* only with CONFIG_RT_GROUP_SCHED
const hasMemsw = !!memDir && existsSync(`${memDir}/memory.memsw.limit_in_bytes`);
const hasRt = !!cpuDir && existsSync(`${cpuDir}/cpu.rt_runtime_us`);
const UNLIMITED = /^9223372036854\d{6}$/; // v1's "no limit", rounded to a page

test.skipIf(!(v1 && hasMemsw))("update --memory -1 while a swap limit is set lifts both (memsw is raised first)", () => {
  const cg = newCgroup("memsw");
  cg.apply({ memory: { limit: 64 << 20, swap: 128 << 20 } });
  cg.update({ memory: { limit: -1 } });
  expect(readCg(cg, "memory.limit_in_bytes")).toMatch(UNLIMITED);
  expect(readCg(cg, "memory.memsw.limit_in_bytes")).toMatch(UNLIMITED);
  // and back down: memory first, then memory+swap
  cg.update({ memory: { limit: 32 << 20, swap: 48 << 20 } });
  expect(readCg(cg, "memory.limit_in_bytes")).toBe(String(32 << 20));
  expect(readCg(cg, "memory.memsw.limit_in_bytes")).toBe(String(48 << 20));
  // both raised past the old memory+swap: memsw first
  cg.update({ memory: { limit: 96 << 20, swap: 192 << 20 } });
  expect(readCg(cg, "memory.limit_in_bytes")).toBe(String(96 << 20));
  expect(readCg(cg, "memory.memsw.limit_in_bytes")).toBe(String(192 << 20));
});

// A real-time group directly below the root: a new group under /berth would get
// no rt bandwidth from its parent (whose rt_runtime_us is 0).
test.skipIf(!(v1 && hasRt))("the real-time period can go below the runtime in force (runtime is lowered first)", () => {
  const cg = newCgroup("rt", { cgroupsPath: `/${uniqueId("rt")}` });
  cg.apply({ cpu: { realtimePeriod: 100000, realtimeRuntime: 50000 } });
  cg.update({ cpu: { realtimePeriod: 40000, realtimeRuntime: 20000 } });
  expect(readCg(cg, "cpu.rt_period_us")).toBe("40000");
  expect(readCg(cg, "cpu.rt_runtime_us")).toBe("20000");
  // raising both: the period first
  cg.update({ cpu: { realtimePeriod: 200000, realtimeRuntime: 100000 } });
  expect(readCg(cg, "cpu.rt_period_us")).toBe("200000");
  expect(readCg(cg, "cpu.rt_runtime_us")).toBe("100000");
  // a runtime above the period stays an error that names the field
  expect(() => cg.update({ cpu: { realtimePeriod: 10000, realtimeRuntime: 20000 } })).toThrow(/linux\.resources\.cpu\.realtime(Period|Runtime)/);
});

test.skipIf(!(v1 && !!cpusetDir))("a container below an existing cpuset parent with no cpus or mems gets the nearest ancestor's", async () => {
  const parentPath = `/${uniqueId("cpuset")}`;
  // the parent, made by someone else: empty cpuset.cpus and cpuset.mems (clone_children is off)
  mkdirSync(`${cpusetDir}${parentPath}`);
  track(openCgroup({ id: "parent", cgroupsPath: parentPath }));
  expect(readFileSync(`${cpusetDir}${parentPath}/cpuset.cpus`, "utf8").trim()).toBe("");
  const cg = newCgroup("cpuset", { cgroupsPath: `${parentPath}/mid/ctr` });
  const want = readFileSync(`${cpusetDir}/cpuset.cpus`, "utf8").trim();
  for (const d of [parentPath, `${parentPath}/mid`, `${parentPath}/mid/ctr`]) {
    expect(readFileSync(`${cpusetDir}${d}/cpuset.cpus`, "utf8").trim()).toBe(want);
    expect(readFileSync(`${cpusetDir}${d}/cpuset.mems`, "utf8").trim()).not.toBe("");
  }
  // a process can join (an empty cpuset refuses it with ENOSPC)
  const p = spawnIn(cg, ["sleep", "30"]);
  expect(await until(() => cg.pids().includes(p.pid))).toBe(true);
});

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { blkioToIoWeight, CgroupError, sharesToWeight } from "../../src/cgroups/index.ts";
import { cleanup, isV1, isV2, lines, newCgroup, noCgroups, readCg, spawnIn } from "./helpers.ts";

afterEach(cleanup);
const MiB = 1024 * 1024;
const FIXTURE = `${import.meta.dir}/fixtures/alloc.ts`;

function thrown(f: () => void): CgroupError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CgroupError);
    return e as CgroupError;
  }
  throw new Error("expected a CgroupError, nothing was thrown");
}

/** A block device of this machine as "major:minor", if it has one. */
function blockDevice(): string | undefined {
  try {
    for (const n of readdirSync("/sys/block")) {
      const dev = readFileSync(`/sys/block/${n}/dev`, "utf8").trim();
      if (!n.startsWith("zram")) return dev;
    }
  } catch {
    // no /sys/block
  }
  return undefined;
}

test("v1 values are converted for v2 the way OCI runtimes do", () => {
  expect(sharesToWeight(2)).toBe(1);
  expect(sharesToWeight(1024)).toBe(39);
  expect(sharesToWeight(262144)).toBe(10000);
  expect(blkioToIoWeight(10)).toBe(1);
  expect(blkioToIoWeight(500)).toBe(4950);
  expect(blkioToIoWeight(1000)).toBe(10000);
});

describe.skipIf(noCgroups)("apply and read back", () => {
  test.skipIf(!isV1)("v1: memory, cpu, cpuset, pids files", () => {
    const cg = newCgroup("apply1");
    cg.apply({
      memory: { limit: 64 * MiB, reservation: 32 * MiB },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
      pids: { limit: 10 },
    });
    expect(Number(readCg(cg, "memory.limit_in_bytes"))).toBe(64 * MiB);
    expect(Number(readCg(cg, "memory.soft_limit_in_bytes"))).toBe(32 * MiB);
    expect(readCg(cg, "cpu.shares")).toBe("512");
    expect(readCg(cg, "cpu.cfs_quota_us")).toBe("50000");
    expect(readCg(cg, "cpu.cfs_period_us")).toBe("100000");
    expect(readCg(cg, "cpuset.cpus")).toBe("0");
    expect(readCg(cg, "pids.max")).toBe("10");
    const s = cg.stats();
    expect(s.memory.usage.limit).toBe(64 * MiB);
    expect(s.pids.limit).toBe(10);
  });

  test.skipIf(!isV2)("v2: converted values, swap, unified keys", () => {
    const cg = newCgroup("apply2");
    // (the v2 lane's UML kernel has no cpuset controller)
    const hasCpuset = existsSync(`${cg.dirs()[0]}/cpuset.cpus`);
    cg.apply({
      memory: { limit: 64 * MiB, swap: 96 * MiB, reservation: 16 * MiB },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, ...(hasCpuset ? { cpus: "0" } : {}) },
      pids: { limit: 10 },
      unified: { "memory.high": String(60 * MiB) },
    });
    expect(readCg(cg, "memory.max")).toBe(String(64 * MiB));
    expect(readCg(cg, "memory.swap.max")).toBe(String(32 * MiB));
    expect(readCg(cg, "memory.low")).toBe(String(16 * MiB));
    expect(readCg(cg, "memory.high")).toBe(String(60 * MiB));
    expect(readCg(cg, "cpu.weight")).toBe("39");
    expect(readCg(cg, "cpu.max")).toBe("50000 100000");
    expect(readCg(cg, "cpu.max.burst")).toBe("1000");
    if (hasCpuset) expect(readCg(cg, "cpuset.cpus")).toBe("0");
    expect(readCg(cg, "pids.max")).toBe("10");
    expect(cg.stats().memory.usage.limit).toBe(64 * MiB);
  });

  test("block I/O throttling for a device of this machine", () => {
    const dev = blockDevice();
    if (!dev) return; // no block device (e.g. the v2 lane's guest has none)
    const [major, minor] = dev.split(":").map(Number) as [number, number];
    const cg = newCgroup("blkio");
    cg.apply({ blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 1048576 }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] } });
    if (isV1) {
      expect(readCg(cg, "blkio.throttle.read_bps_device")).toContain(`${dev} 1048576`);
      expect(readCg(cg, "blkio.throttle.write_iops_device")).toContain(`${dev} 100`);
    } else {
      const line = readCg(cg, "io.max");
      expect(line).toContain(`${dev} rbps=1048576`);
      expect(line).toContain("wiops=100");
    }
  });

  test("live update changes values; later fields failing leave earlier ones as they were", () => {
    const cg = newCgroup("upd");
    cg.apply({ cpu: { quota: 50000, period: 100000 }, pids: { limit: 10 } });
    const quota = () => (isV1 ? readCg(cg, "cpu.cfs_quota_us") : readCg(cg, "cpu.max").split(" ")[0]);
    const period = () => (isV1 ? readCg(cg, "cpu.cfs_period_us") : readCg(cg, "cpu.max").split(" ")[1]);
    cg.update({ cpu: { quota: 20000 }, pids: { limit: 20 } });
    expect(quota()).toBe("20000");
    expect(period()).toBe("100000");
    expect(readCg(cg, "pids.max")).toBe("20");
    // memory and cpu.shares are written before cpu.period, which the kernel refuses: both go back
    const low = () => (isV1 ? readCg(cg, "memory.soft_limit_in_bytes") : readCg(cg, "memory.low"));
    const weight = () => (isV1 ? readCg(cg, "cpu.shares") : readCg(cg, "cpu.weight"));
    const low0 = low(),
      weight0 = weight();
    const e = thrown(() => cg.update({ memory: { reservation: 8 * MiB }, cpu: { shares: 256, period: 10 } }));
    expect(e.field).toBe("linux.resources.cpu.period");
    expect(low()).toBe(low0);
    expect(weight()).toBe(weight0);
    expect(quota()).toBe("20000");
    expect(readCg(cg, "pids.max")).toBe("20");
  });
});

describe.skipIf(noCgroups)("bad input", () => {
  test("an unknown unified key is refused by name, nothing changed", () => {
    const cg = newCgroup("badkey");
    cg.apply({ pids: { limit: 10 } });
    const e = thrown(() => cg.update({ pids: { limit: 11 }, unified: { "memory.bogus": "1" } }));
    expect(e.message).toContain("linux.resources.unified.memory.bogus");
    expect(readCg(cg, "pids.max")).toBe("10");
    expect(thrown(() => cg.apply({ unified: { "../cgroup.procs": "1" } })).field).toBe("linux.resources.unified.../cgroup.procs");
    expect(thrown(() => cg.apply({ unified: { "cgroup.procs": "1" } })).message).toContain("cgroup core files");
  });

  test("a value the kernel refuses names the field; the old value stays", () => {
    const cg = newCgroup("refuse");
    cg.apply({ cpu: { quota: 50000, period: 100000 } });
    const e = thrown(() => cg.update({ cpu: { period: 10 } }));
    expect(e.field).toBe("linux.resources.cpu.period");
    expect(e.message).toMatch(/refused|EINVAL/);
    const period = isV1 ? readCg(cg, "cpu.cfs_period_us") : readCg(cg, "cpu.max").split(" ")[1];
    expect(period).toBe("100000");
  });

  test("values of the wrong type or range are refused before anything is written", () => {
    const cg = newCgroup("types");
    cg.apply({ pids: { limit: 10 } });
    expect(thrown(() => cg.update({ pids: { limit: 12 }, memory: { limit: "1G" as unknown as number } })).field).toBe("linux.resources.memory.limit");
    expect(thrown(() => cg.update({ cpu: { shares: 1 } })).field).toBe("linux.resources.cpu.shares");
    expect(thrown(() => cg.update({ cpu: { cpus: "0-a" } })).field).toBe("linux.resources.cpu.cpus");
    expect(thrown(() => cg.update({ hugepageLimits: [{ pageSize: "2M", limit: 1 }] })).field).toBe("linux.resources.hugepageLimits[0].pageSize");
    expect(thrown(() => cg.update({ devices: [{ allow: true, type: "x" as "a" }] })).field).toBe("linux.resources.devices[0].type");
    expect(readCg(cg, "pids.max")).toBe("10");
  });

  test.skipIf(!isV2)("v2: v1-only settings are refused by name", () => {
    const cg = newCgroup("v1only");
    expect(thrown(() => cg.apply({ memory: { swappiness: 10 } })).field).toBe("linux.resources.memory.swappiness");
    expect(thrown(() => cg.apply({ cpu: { realtimeRuntime: 1000 } })).field).toBe("linux.resources.cpu.realtimeRuntime");
    expect(thrown(() => cg.apply({ network: { classID: 1 } })).field).toBe("linux.resources.network");
    expect(thrown(() => cg.apply({ memory: { swap: 10 * MiB } })).field).toBe("linux.resources.memory.swap");
    expect(thrown(() => cg.apply({ memory: { useHierarchy: false } })).field).toBe("linux.resources.memory.useHierarchy");
    cg.apply({ memory: { useHierarchy: true } }); // always so on v2
  });

  test.skipIf(!isV1)("v1: memory.useHierarchy is written; a value the kernel refuses is named", () => {
    const cg = newCgroup("hier");
    cg.apply({ memory: { useHierarchy: true } });
    expect(readCg(cg, "memory.use_hierarchy")).toBe("1");
    // kernels since 5.16 only allow hierarchical accounting
    let refused: CgroupError | undefined;
    try {
      cg.apply({ memory: { useHierarchy: false } });
    } catch (e) {
      refused = e as CgroupError;
    }
    if (refused) expect(refused.field).toBe("linux.resources.memory.useHierarchy");
    else expect(readCg(cg, "memory.use_hierarchy")).toBe("0");
  });

  test.skipIf(!isV1)("v1: a controller this host does not mount is named", () => {
    const cg = newCgroup("nomount");
    const missing = ["net_cls", "rdma"].filter((c) => !existsSync(`/sys/fs/cgroup/${c}`));
    if (missing.includes("net_cls")) expect(thrown(() => cg.apply({ network: { classID: 1 } })).message).toContain("net_cls cgroup controller is not mounted");
    if (missing.includes("rdma")) expect(thrown(() => cg.apply({ rdma: { mlx5_0: { hcaHandles: 1 } } })).field).toBe("linux.resources.rdma.mlx5_0");
  });

  test("memory limit below current usage on update: refused, old limit and process intact", async () => {
    const cg = newCgroup("below");
    cg.apply({ memory: { limit: 512 * MiB } });
    const p = spawnIn(cg, [process.execPath, FIXTURE]);
    const next = lines(p);
    expect(await next()).toBe("ready");
    p.stdin.write("40\n");
    p.stdin.flush();
    expect(await next()).toBe("ok 40");
    const e = thrown(() => cg.update({ memory: { limit: 4 * MiB } }));
    expect(e.field).toBe("linux.resources.memory.limit");
    expect(e.message).toContain("below the current usage");
    expect(Number(readCg(cg, isV1 ? "memory.limit_in_bytes" : "memory.max"))).toBe(512 * MiB);
    expect(p.exitCode).toBeNull();
    expect(cg.oomKillCount()).toBe(0);
  });
});

// hugetlb limits are in force, whichever hierarchy holds the controller: v1,
// cgroup v2, or (hybrid host) the cgroup2 mount beside the v1 controllers,
// where the controller must first be turned on in the levels above.
import { afterEach, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cleanup, layout, newCgroup, noCgroups, spawnIn } from "./helpers.ts";

afterEach(cleanup);

const NR = "/proc/sys/vm/nr_hugepages";
const python = spawnSync("python3", ["-c", "import mmap"]).status === 0;
const hugetlb = !!layout.v1["hugetlb"] || layout.unifiedControllers.includes("hugetlb");
const pages2M = existsSync("/sys/kernel/mm/hugepages/hugepages-2048kB") && existsSync(NR);

// Maps two 2 MiB huge pages and touches them one after the other; a page the
// cgroup may not have is charged at the fault and kills the process (SIGBUS).
const TOUCH = [
  "import mmap",
  "m = mmap.mmap(-1, 4 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)",
  "m[0] = 1; print('one', flush=True)",
  "m[2 << 20] = 1; print('two', flush=True)",
].join("\n");

test.skipIf(noCgroups || !hugetlb || !pages2M || !python)("a 2MB hugetlb limit of one page lets one page be used, not two", async () => {
  // the pool needs two free pages for the test; put the host's count back after
  const before = Number(readFileSync(NR, "utf8").trim());
  const free = () => Number(/HugePages_Free:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  try {
    if (free() < 2) writeFileSync(NR, String(before + 2 - free()));
    expect(free()).toBeGreaterThanOrEqual(2);
    for (const [limit, want] of [
      [2 << 20, "one\n"],
      [4 << 20, "one\ntwo\n"],
    ] as const) {
      const cg = newCgroup("huge");
      cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit }] });
      const p = spawnIn(cg, ["python3", "-c", TOUCH]);
      const out = await new Response(p.stdout).text();
      const code = await p.exited;
      expect(out).toBe(want);
      expect(code === 0).toBe(want.includes("two"));
    }
  } finally {
    writeFileSync(NR, String(before));
  }
});

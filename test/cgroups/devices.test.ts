import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { deviceAllowed, normalizeDeviceRules, type Cgroup, type CgroupDeviceRule } from "../../src/cgroups/index.ts";
import { attachDeviceFilter, countDevicePrograms, deviceProgram } from "../../src/cgroups/devices-bpf.ts";
import { ACC_MKNOD, ACC_READ, ACC_WRITE } from "../../src/cgroups/devices.ts";
import { cleanup, isV1, isV2, layout, newCgroup, noCgroups, spawnIn } from "./helpers.ts";

afterEach(cleanup);

const DEVS: [string, number][] = [
  ["null", 3],
  ["zero", 5],
  ["full", 7],
]; // char 1:N

/** Runs a probe inside the cgroup: which of /dev/{null,zero,full} open for r and w, and mknod c 1:3. */
async function probe(cg: Cgroup): Promise<Record<string, boolean>> {
  const dir = mkdtempSync(`${tmpdir()}/berth-dev-`);
  try {
    const script = [
      ...DEVS.map(
        ([d]) =>
          `if (exec 3</dev/${d}) 2>/dev/null; then echo "${d}.r 1"; else echo "${d}.r 0"; fi; ` +
          `if (exec 3>/dev/${d}) 2>/dev/null; then echo "${d}.w 1"; else echo "${d}.w 0"; fi`,
      ),
      `if mknod ${dir}/n c 1 3 2>/dev/null; then echo "mknod 1"; else echo "mknod 0"; fi`,
    ].join("\n");
    const p = spawnIn(cg, ["sh", "-c", script]);
    const out = await new Response(p.stdout).text();
    await p.exited;
    const res: Record<string, boolean> = {};
    for (const l of out.trim().split("\n")) {
      const [k, v] = l.split(" ");
      res[k!] = v === "1";
    }
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expected(rules: CgroupDeviceRule[]): Record<string, boolean> {
  const n = normalizeDeviceRules(rules);
  const res: Record<string, boolean> = {};
  for (const [d, minor] of DEVS) {
    res[`${d}.r`] = deviceAllowed(n, "c", 1, minor, ACC_READ);
    res[`${d}.w`] = deviceAllowed(n, "c", 1, minor, ACC_WRITE);
  }
  res["mknod"] = deviceAllowed(n, "c", 1, 3, ACC_MKNOD);
  return res;
}

const ONLY_NULL: CgroupDeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
];
const ALL_BUT_ZERO_W: CgroupDeviceRule[] = [
  { allow: true, access: "rwm" },
  { allow: false, type: "c", major: 1, minor: 5, access: "w" },
];
// last match wins, per access bit: 1:7 may be read but not written or created
const LAYERED: CgroupDeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, access: "rwm" },
  { allow: false, type: "c", major: 1, minor: 7, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 7, access: "r" },
  { allow: false, type: "b", access: "rwm" },
];

describe("rule semantics (the reference the eBPF program follows)", () => {
  test("default deny; last matching rule wins per access bit; wildcards", () => {
    expect(expected(ONLY_NULL)).toEqual({ "null.r": true, "null.w": true, "zero.r": false, "zero.w": false, "full.r": false, "full.w": false, mknod: true });
    expect(expected(ALL_BUT_ZERO_W)).toEqual({ "null.r": true, "null.w": true, "zero.r": true, "zero.w": false, "full.r": true, "full.w": true, mknod: true });
    expect(expected(LAYERED)).toEqual({ "null.r": true, "null.w": true, "zero.r": true, "zero.w": true, "full.r": true, "full.w": false, mknod: true });
    expect(deviceAllowed(normalizeDeviceRules([]), "c", 1, 3, ACC_READ)).toBe(false);
    const rw = normalizeDeviceRules([
      { allow: true, type: "c", major: 1, minor: 3, access: "r" },
      { allow: true, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    expect(deviceAllowed(rw, "c", 1, 3, ACC_READ | ACC_WRITE)).toBe(true);
    expect(deviceAllowed(rw, "c", 1, 3, ACC_READ | ACC_MKNOD)).toBe(false);
  });
  test("generated program: whole instructions, ends in exit", () => {
    const prog = deviceProgram(normalizeDeviceRules(LAYERED));
    expect(prog.byteLength % 8).toBe(0);
    expect(prog[prog.byteLength - 8]).toBe(0x95);
  });
});

describe.skipIf(noCgroups)("enforcement by the kernel", () => {
  test.skipIf(!isV1)("v1 devices controller", async () => {
    for (const rules of [ONLY_NULL, ALL_BUT_ZERO_W]) {
      const cg = newCgroup("dev1");
      cg.apply({ devices: rules });
      expect(await probe(cg)).toEqual(expected(rules));
    }
  });

  test.skipIf(!isV2)("v2: the eBPF program, attached by apply and replaced by update", async () => {
    const cg = newCgroup("dev2");
    cg.apply({ devices: ONLY_NULL });
    expect(await probe(cg)).toEqual(expected(ONLY_NULL));
    cg.update({ devices: LAYERED });
    expect(countDevicePrograms(cg.dirs()[0]!)).toBe(1);
    expect(await probe(cg)).toEqual(expected(LAYERED));
    cg.update({ devices: ALL_BUT_ZERO_W });
    expect(countDevicePrograms(cg.dirs()[0]!)).toBe(1);
    expect(await probe(cg)).toEqual(expected(ALL_BUT_ZERO_W));
  });

  // a process loads each rule set's program once and attaches it wherever the
  // same rules apply: the same rules again keep it (attaching a program twice
  // to one cgroup is refused by the kernel, and must not end with none), and
  // a cgroup that goes takes nothing from the others
  test.skipIf(!(isV2 || (isV1 && layout.unified)))("eBPF: one program for the same rules, kept when applied again, shared by two cgroups", async () => {
    const a = newCgroup("devsa"),
      b = newCgroup("devsb");
    const dirOf = (cg: Cgroup) => (isV2 ? cg.dirs()[0]! : cg.dirs().find((d) => d.startsWith(layout.unified!.mountpoint + "/"))!);
    const rules = normalizeDeviceRules(LAYERED);
    for (let i = 0; i < 3; i++) {
      attachDeviceFilter(dirOf(a), rules);
      expect(countDevicePrograms(dirOf(a))).toBe(1);
      expect(await probe(a)).toEqual(expected(LAYERED));
    }
    attachDeviceFilter(dirOf(b), rules);
    expect(countDevicePrograms(dirOf(b))).toBe(1);
    a.destroy();
    expect(await probe(b)).toEqual(expected(LAYERED));
    attachDeviceFilter(dirOf(b), normalizeDeviceRules(ONLY_NULL));
    expect(countDevicePrograms(dirOf(b))).toBe(1);
    expect(await probe(b)).toEqual(expected(ONLY_NULL));
  });

  // on a hybrid host the cgroup2 mount takes device programs too: test the eBPF side there
  test.skipIf(!(isV1 && layout.unified))("hybrid: the eBPF program on the cgroup2 mount", async () => {
    const cg = newCgroup("devh");
    const dir = cg.dirs().find((d) => d.startsWith(layout.unified!.mountpoint + "/"))!;
    expect(dir).toBeDefined();
    for (const rules of [ONLY_NULL, LAYERED, ALL_BUT_ZERO_W]) {
      attachDeviceFilter(dir, normalizeDeviceRules(rules));
      expect(countDevicePrograms(dir)).toBe(1);
      expect(await probe(cg)).toEqual(expected(rules));
    }
  });
});

import { describe, expect, test, afterEach } from "bun:test";
import { existsSync } from "node:fs";
import {
  CgroupError,
  detectCgroups,
  expandSlice,
  openCgroup,
  parseMountinfo,
  parseProcCgroup,
  systemdPath,
  systemdRunning,
  type CgroupLayout,
} from "../../src/cgroups/index.ts";
import { tryRead } from "../../src/cgroups/common.ts";
import { cleanup, layout, noCgroups, uniqueId, track } from "./helpers.ts";

afterEach(cleanup);

const HYBRID = `
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const PURE_V2 = `
25 30 0:23 / /sys rw - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe("parseMountinfo", () => {
  test("hybrid: v1 controllers (co-mounted ones share a mount) and the cgroup2 mount", () => {
    const m = parseMountinfo(HYBRID);
    expect(m.v1["cpu"]!.mountpoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(m.v1["cpuacct"]!.mountpoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(m.v1["memory"]!.mountpoint).toBe("/sys/fs/cgroup/memory");
    expect(m.v1["name=systemd"]!.mountpoint).toBe("/sys/fs/cgroup/systemd");
    expect(m.v1["xattr"]).toBeUndefined();
    expect(m.unified).toEqual({ mountpoint: "/sys/fs/cgroup/unified", root: "/" });
  });
  test("pure v2: no v1 hierarchies", () => {
    const m = parseMountinfo(PURE_V2);
    expect(Object.keys(m.v1)).toEqual([]);
    expect(m.unified!.mountpoint).toBe("/sys/fs/cgroup");
  });
  test("escaped mount points and non-root mounts; a root mount wins over a subtree mount", () => {
    const m = parseMountinfo(
      "50 1 0:40 /a/b /mnt/my\\040cg rw - cgroup cgroup rw,pids\n" +
        "51 1 0:40 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n" +
        "52 1 0:41 /x /other rw - cgroup cgroup rw,freezer\n",
    );
    expect(m.v1["pids"]).toEqual({ mountpoint: "/sys/fs/cgroup/pids", root: "/" });
    expect(m.v1["freezer"]).toEqual({ mountpoint: "/other", root: "/x" });
    expect(parseMountinfo("50 1 0:40 /a/b /mnt/my\\040cg rw - cgroup cgroup rw,pids\n").v1["pids"]!.mountpoint).toBe("/mnt/my cg");
  });
});

test("parseProcCgroup reads v1 controllers and the v2 entry", () => {
  const own = parseProcCgroup("12:cpu,cpuacct:/a\n4:memory:/b/c\n1:name=systemd:/s\n0::/u\n");
  expect(own).toEqual({ cpu: "/a", cpuacct: "/a", memory: "/b/c", "name=systemd": "/s", "": "/u" });
});

test("detectCgroups on this host matches what is mounted", () => {
  const l = detectCgroups();
  if (process.env.BERTH_CGROUP_LANE === "v2") expect(l.mode).toBe("v2");
  if (l.mode === "v2") {
    expect(existsSync(`${l.unified!.mountpoint}/cgroup.controllers`)).toBe(true);
    expect(Object.keys(l.v1).filter((c) => !c.startsWith("name="))).toEqual([]);
  } else if (l.mode === "v1" || l.mode === "hybrid") {
    for (const m of Object.values(l.v1)) expect(existsSync(`${m.mountpoint}/cgroup.procs`)).toBe(true);
    expect(l.mode === "hybrid").toBe(l.unified !== undefined);
  }
  expect(typeof l.own[l.mode === "v2" ? "" : Object.keys(l.v1)[0]!]).toBe("string");
});

describe("cgroupsPath", () => {
  const fake: CgroupLayout = {
    mode: "v2",
    unified: { mountpoint: "/sys/fs/cgroup", root: "/" },
    unifiedControllers: ["memory"],
    v1: {},
    own: { "": "/user.slice/me" },
  };
  test("absent: /berth/<id>; absolute: as given; relative: under the caller's own cgroup", () => {
    expect(openCgroup({ id: "abc", layout: fake }).path).toBe("/berth/abc");
    expect(openCgroup({ id: "abc", cgroupsPath: "/x//y/", layout: fake }).path).toBe("/x/y");
    expect(openCgroup({ id: "abc", cgroupsPath: "kids/k1", layout: fake }).path).toBe("/user.slice/me/kids/k1");
    expect(openCgroup({ id: "abc", cgroupsPath: "/x/y", layout: fake }).dirs()).toEqual(["/sys/fs/cgroup/x/y"]);
  });
  test("v1: a relative path resolves per hierarchy", () => {
    const v1: CgroupLayout = {
      mode: "v1",
      unifiedControllers: [],
      v1: { memory: { mountpoint: "/m", root: "/" }, pids: { mountpoint: "/p", root: "/" } },
      own: { memory: "/a", pids: "/b" },
    };
    const cg = openCgroup({ id: "i", cgroupsPath: "c", layout: v1 });
    expect(cg.dirs().sort()).toEqual(["/m/a/c", "/p/b/c"]);
  });
  test("bad paths and ids are refused, naming the field", () => {
    expect(() => openCgroup({ id: "abc", cgroupsPath: "/a/../b", layout: fake })).toThrow(/linux\.cgroupsPath: .*\.\./);
    expect(() => openCgroup({ id: "a/b", layout: fake })).toThrow(CgroupError);
    expect(() => openCgroup({ id: "abc", cgroupsPath: "/", layout: fake })).toThrow(/root cgroup/);
    expect(() => openCgroup({ id: "abc", cgroupsPath: "system.slice:berth:abc", layout: fake })).toThrow(/systemd cgroup driver/);
  });
  test("systemd driver: slice expansion; a clear error where systemd is not PID 1", () => {
    expect(expandSlice("a-b-c.slice")).toBe("/a.slice/a-b.slice/a-b-c.slice");
    expect(systemdPath("machine.slice:berth:abc", "abc")).toBe("/machine.slice/berth-abc.scope");
    expect(systemdPath(undefined, "abc")).toBe("/system.slice/berth-abc.scope");
    expect(() => systemdPath("/abs/path", "abc")).toThrow(/slice:prefix:name/);
    if (!systemdRunning()) {
      expect(() => openCgroup({ id: "abc", systemd: true, cgroupsPath: "system.slice:berth:abc", layout: fake })).toThrow(/systemd is not running as PID 1/);
    }
  });
});

test.skipIf(noCgroups)("a relative cgroupsPath resolves below the caller's own cgroup (created on v2)", () => {
  const l = layout;
  const ownKey = l.mode === "v2" ? "" : "memory" in l.v1 ? "memory" : Object.keys(l.v1)[0]!;
  const cg = track(openCgroup({ id: "x", cgroupsPath: `berth-rel-${uniqueId("rel")}` }));
  const own = l.own[ownKey]!;
  expect(cg.path.startsWith(own === "/" ? "/berth-rel-" : `${own}/berth-rel-`)).toBe(true);
  // on a v1/hybrid host the caller's own cgroups belong to someone else: do not add children there
  if (l.mode !== "v2") return;
  cg.create();
  expect(cg.exists()).toBe(true);
  cg.destroy();
  expect(cg.exists()).toBe(false);
});

describe("reading control files", () => {
  test("a missing file reads as absent; any other error is reported, not taken for absent", () => {
    expect(tryRead("/sys/fs/cgroup/no-such-control-file")).toBeUndefined();
    expect(tryRead("/proc/self/status/x")).toBeUndefined(); // ENOTDIR: no such file either
    expect(() => tryRead("/sys/fs/cgroup")).toThrow("EISDIR");
  });
});

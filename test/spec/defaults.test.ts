import { describe, expect, test } from "bun:test";
import {
  ALL_CAPABILITIES,
  CAPABILITY_NUMBERS,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  NAMESPACE_TYPES,
  RLIMIT_NUMBERS,
  baseFeatures,
  defaultSpec,
} from "../../src/spec/defaults.ts";
import { validateConfig } from "../../src/spec/validate.ts";

describe("defaultSpec", () => {
  test("runs sh on a terminal in a read-only rootfs with the default capabilities", () => {
    const s = defaultSpec();
    expect(s.ociVersion).toMatch(/^1\.\d+\.\d+$/);
    expect(s.root).toEqual({ path: "rootfs", readonly: true });
    expect(s.process?.terminal).toBe(true);
    expect(s.process?.args).toEqual(["sh"]);
    expect(s.process?.cwd).toBe("/");
    expect(s.process?.user).toEqual({ uid: 0, gid: 0 });
    expect(s.process?.env?.some((e) => e.startsWith("PATH=/"))).toBe(true);
    const caps = s.process!.capabilities!;
    for (const set of [caps.bounding, caps.effective, caps.permitted]) expect(set).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    expect(caps.ambient).toBeUndefined();
    expect(caps.inheritable).toBeUndefined();
    expect(s.process?.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
    expect(s.process?.noNewPrivileges).toBe(true);
  });

  test("has the standard mounts, masked/readonly paths and namespaces", () => {
    const s = defaultSpec();
    const byDest = new Map(s.mounts!.map((m) => [m.destination, m]));
    expect([...byDest.keys()]).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);
    expect(byDest.get("/proc")!.type).toBe("proc");
    expect(byDest.get("/dev")!.type).toBe("tmpfs");
    expect(byDest.get("/dev/pts")!.type).toBe("devpts");
    expect(byDest.get("/dev/pts")!.options).toContain("gid=5");
    expect(byDest.get("/dev/shm")!.type).toBe("tmpfs");
    expect(byDest.get("/dev/mqueue")!.type).toBe("mqueue");
    expect(byDest.get("/sys")!.type).toBe("sysfs");
    expect(byDest.get("/sys")!.options).toContain("ro");
    expect(byDest.get("/sys/fs/cgroup")!.type).toBe("cgroup");
    expect(s.linux!.maskedPaths).toEqual([...DEFAULT_MASKED_PATHS]);
    expect(s.linux!.readonlyPaths).toEqual([...DEFAULT_READONLY_PATHS]);
    expect(DEFAULT_MASKED_PATHS).toContain("/proc/kcore");
    expect(DEFAULT_READONLY_PATHS).toContain("/proc/sys");
    expect(s.linux!.namespaces!.map((n) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount", "cgroup"]);
    expect(s.linux!.resources?.devices).toEqual([{ allow: false, access: "rwm" }]);
    expect(s.linux!.uidMappings).toBeUndefined();
  });

  test("rootless: user namespace mapping the caller, no network namespace, /sys bound, no devpts gid", () => {
    const s = defaultSpec({ rootless: true });
    const types = s.linux!.namespaces!.map((n) => n.type);
    expect(types).toContain("user");
    expect(types).not.toContain("network");
    expect(s.linux!.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
    expect(s.linux!.gidMappings).toEqual([{ containerID: 0, hostID: process.getgid!(), size: 1 }]);
    const sys = s.mounts!.find((m) => m.destination === "/sys")!;
    expect(sys.options).toContain("rbind");
    expect(sys.source).toBe("/sys");
    expect(s.mounts!.find((m) => m.destination === "/dev/pts")!.options!.some((o) => o.startsWith("gid="))).toBe(false);
    expect(s.mounts!.find((m) => m.type === "cgroup")).toBeUndefined();
    expect(s.linux!.resources).toBeUndefined();
    expect(validateConfig(s)).toBe(s);
  });

  test("each call returns a fresh object; the exported lists are not shared", () => {
    const a = defaultSpec();
    a.process!.capabilities!.bounding!.push("CAP_SYS_ADMIN");
    a.linux!.maskedPaths!.push("/x");
    a.mounts!.pop();
    const b = defaultSpec();
    expect(b.process!.capabilities!.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(b.linux!.maskedPaths).toEqual([...DEFAULT_MASKED_PATHS]);
    expect(b.mounts!.length).toBe(7);
    expect(Object.isFrozen(DEFAULT_MASKED_PATHS)).toBe(true);
  });
});

describe("name tables", () => {
  test("capabilities: CAP_CHOWN=0 .. CAP_CHECKPOINT_RESTORE=40, dense and unique", () => {
    expect(CAPABILITY_NUMBERS.CAP_CHOWN).toBe(0);
    expect(CAPABILITY_NUMBERS.CAP_NET_ADMIN).toBe(12);
    expect(CAPABILITY_NUMBERS.CAP_SYS_ADMIN).toBe(21);
    expect(CAPABILITY_NUMBERS.CAP_AUDIT_WRITE).toBe(29);
    expect(CAPABILITY_NUMBERS.CAP_BPF).toBe(39);
    expect(CAPABILITY_NUMBERS.CAP_CHECKPOINT_RESTORE).toBe(40);
    expect(ALL_CAPABILITIES.length).toBe(41);
    expect(ALL_CAPABILITIES.map((n) => CAPABILITY_NUMBERS[n])).toEqual([...Array(41).keys()]);
    for (const c of DEFAULT_CAPABILITIES) expect(ALL_CAPABILITIES).toContain(c);
  });

  test("the table covers every capability this kernel has", async () => {
    const last = Number((await Bun.file("/proc/sys/kernel/cap_last_cap").text()).trim());
    expect(Number.isInteger(last)).toBe(true);
    expect(ALL_CAPABILITIES.length).toBeGreaterThanOrEqual(last + 1);
  });

  test("rlimits: RLIMIT_CPU=0 .. RLIMIT_RTTIME=15", () => {
    expect(RLIMIT_NUMBERS.RLIMIT_CPU).toBe(0);
    expect(RLIMIT_NUMBERS.RLIMIT_NPROC).toBe(6);
    expect(RLIMIT_NUMBERS.RLIMIT_NOFILE).toBe(7);
    expect(RLIMIT_NUMBERS.RLIMIT_AS).toBe(9);
    expect(RLIMIT_NUMBERS.RLIMIT_RTTIME).toBe(15);
    expect(Object.values(RLIMIT_NUMBERS).sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
  });

  test("namespace types", () => {
    expect([...NAMESPACE_TYPES].sort()).toEqual(["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]);
  });
});

describe("baseFeatures", () => {
  test("lists the vocabulary the validator accepts", () => {
    const f = baseFeatures();
    expect(f.ociVersionMin).toBe("1.0.0");
    expect(f.ociVersionMax).toBe(defaultSpec().ociVersion);
    expect(f.hooks).toContain("createRuntime");
    expect(f.linux!.namespaces).toContain("time");
    expect(f.linux!.capabilities!.length).toBe(ALL_CAPABILITIES.length);
    expect(f.linux!.seccomp!.actions).toContain("SCMP_ACT_NOTIFY");
    expect(f.linux!.seccomp!.operators).toContain("SCMP_CMP_MASKED_EQ");
    expect(f.linux!.seccomp!.archs).toContain("SCMP_ARCH_X86_64");
    expect(f.linux!.seccomp!.knownFlags).toContain("SECCOMP_FILTER_FLAG_LOG");
    f.linux!.namespaces!.pop();
    expect(baseFeatures().linux!.namespaces!.length).toBe(8);
  });
});

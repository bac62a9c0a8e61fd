import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  parseConfig,
  SpecError,
  validateConfig,
  validateProcess,
  validateResources,
  validateState,
  formatPath,
  sysctlNamespace,
  unknownCapabilities,
} from "../../src/spec/validate.ts";
import { defaultSpec } from "../../src/spec/defaults.ts";
import { baseConfig, expectSpecError } from "./helpers.ts";

const NO_PROCESS = { requireProcess: false };

describe("valid documents", () => {
  test("the default spec and the rootless default spec pass", () => {
    const s = defaultSpec();
    expect(validateConfig(s)).toBe(s);
    expect(validateConfig(defaultSpec({ rootless: true }))).toBeDefined();
  });

  test("a full config using most fields passes and is not modified", () => {
    const cfg = baseConfig();
    cfg.domainname = "example.org";
    cfg.annotations = { "org.example.key": "value" };
    cfg.hooks = {
      prestart: [{ path: "/usr/bin/true" }],
      createRuntime: [{ path: "/usr/bin/hook", args: ["hook", "create"], env: ["A=1"], timeout: 5 }],
      createContainer: [],
      startContainer: [{ path: "/bin/true" }],
      poststart: [{ path: "/bin/true" }],
      poststop: [{ path: "/bin/true" }],
    };
    cfg.process.consoleSize = { height: 24, width: 80 };
    cfg.process.user = { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [5, 10] };
    cfg.process.capabilities.ambient = ["CAP_KILL"];
    cfg.process.capabilities.inheritable = ["CAP_KILL"];
    // biome-ignore lint/correctness/noPrecisionLoss: configs write RLIM_INFINITY as 2^64-1, which a double cannot hold exactly
    cfg.process.rlimits.push({ type: "RLIMIT_NPROC", hard: 18446744073709551615, soft: 100 });
    cfg.process.apparmorProfile = "berth-default";
    cfg.process.selinuxLabel = "system_u:system_r:container_t:s0";
    cfg.process.oomScoreAdj = 100;
    cfg.process.scheduler = { policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] };
    cfg.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 4 };
    cfg.mounts.push({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"] });
    cfg.linux.namespaces.push({ type: "time" });
    cfg.linux.timeOffsets = { monotonic: { secs: 100, nanosecs: 5 }, boottime: { secs: -3 } };
    cfg.linux.devices = [
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/myfifo", type: "p" },
    ];
    cfg.linux.cgroupsPath = "/berth/test";
    cfg.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000000", "fs.mqueue.msg_max": "20", "net/ipv4/conf/eth0.100/forwarding": "0" };
    cfg.linux.resources = {
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      ],
      memory: { limit: 104857600, reservation: 52428800, swap: 209715200, swappiness: 10, disableOOMKiller: false },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0", burst: 0, idle: 0 },
      pids: { limit: 100 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      network: { classID: 1048577, priorities: [{ name: "eth0", priority: 5 }] },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      unified: { "memory.high": "90M", "io.weight": "default 100", "hugetlb.2MB.max": "0" },
    };
    cfg.linux.seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      syscalls: [
        { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, valueTwo: 0, op: "SCMP_CMP_EQ" }] },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      ],
    };
    cfg.linux.rootfsPropagation = "rslave";
    cfg.linux.mountLabel = "system_u:object_r:container_file_t:s0";
    cfg.linux.personality = { domain: "LINUX" };
    cfg.linux.intelRdt = { closID: "guaranteed_group", l3CacheSchema: "L3:0=7f0;1=1f", enableCMT: true };
    const before = JSON.stringify(cfg);
    const spec = validateConfig(cfg);
    expect(spec.linux?.resources?.pids?.limit).toBe(100);
    expect(JSON.stringify(cfg)).toBe(before);
  });

  test("unknown top-level and linux keys are ignored (extensions)", () => {
    const cfg = baseConfig();
    cfg.vendorExtension = { anything: [1, 2] };
    cfg.windows = { layerFolders: [] };
    cfg.linux.somethingNew = true;
    cfg.process.futureField = "x";
    expect(validateConfig(cfg)).toBeDefined();
  });

  test("process may be omitted only with requireProcess:false", () => {
    const cfg = baseConfig();
    delete cfg.process;
    expectSpecError(() => validateConfig(cfg), "process", "required");
    expect(validateConfig(cfg, "config.json", NO_PROCESS).process).toBeUndefined();
  });
});

describe("top level", () => {
  test("the document must be an object", () => {
    expectSpecError(() => validateConfig([1, 2]), "", "expected object, got array");
    expectSpecError(() => validateConfig(null), "", "expected object, got null");
  });

  test("ociVersion: required, a string, SemVer, major version 1", () => {
    const cfg = baseConfig();
    delete cfg.ociVersion;
    expectSpecError(() => validateConfig(cfg), "ociVersion", "required");
    cfg.ociVersion = 1;
    expectSpecError(() => validateConfig(cfg), "ociVersion", "expected string, got integer 1");
    cfg.ociVersion = "1.0";
    expectSpecError(() => validateConfig(cfg), "ociVersion", "SemVer", '"1.0"');
    cfg.ociVersion = "2.0.0";
    expectSpecError(() => validateConfig(cfg), "ociVersion", "unsupported version", "major version must be 1");
    cfg.ociVersion = "1.0.2-dev";
    expect(validateConfig(cfg).ociVersion).toBe("1.0.2-dev");
  });

  test("root.path is required and non-empty", () => {
    const cfg = baseConfig();
    cfg.root = {};
    expectSpecError(() => validateConfig(cfg), "root.path", "required");
    cfg.root = { path: "" };
    expectSpecError(() => validateConfig(cfg), "root.path", "non-empty");
    delete cfg.root;
    expectSpecError(() => validateConfig(cfg), "root", "required");
  });

  test("hostname and domainname need a UTS namespace", () => {
    const cfg = baseConfig();
    cfg.linux.namespaces = cfg.linux.namespaces.filter((n: any) => n.type !== "uts");
    expectSpecError(() => validateConfig(cfg), "hostname", "UTS namespace");
    cfg.hostname = "";
    cfg.domainname = "x.org";
    expectSpecError(() => validateConfig(cfg), "domainname", "UTS namespace");
  });

  test("annotations values must be strings", () => {
    const cfg = baseConfig();
    cfg.annotations = { "a.b": 1 };
    expectSpecError(() => validateConfig(cfg), 'annotations["a.b"]', "expected string");
  });

  test("the error names a custom source", () => {
    const cfg = baseConfig();
    cfg.process.cwd = "tmp";
    const err = expectSpecError(() => validateConfig(cfg, "/bundles/x/config.json"), "process.cwd");
    expect(err.source).toBe("/bundles/x/config.json");
    expect(err.message.startsWith("/bundles/x/config.json: process.cwd: ")).toBe(true);
  });
});

describe("process", () => {
  test("args must be present and non-empty", () => {
    const cfg = baseConfig();
    cfg.process.args = [];
    expectSpecError(() => validateConfig(cfg), "process.args", "must not be empty");
    delete cfg.process.args;
    expectSpecError(() => validateConfig(cfg), "process.args", "required");
    cfg.process.args = ["sh", 3];
    expectSpecError(() => validateConfig(cfg), "process.args[1]", "expected string, got integer 3");
  });

  test("cwd must be absolute", () => {
    const cfg = baseConfig();
    cfg.process.cwd = "relative/dir";
    expectSpecError(() => validateConfig(cfg), "process.cwd", "absolute path", '"relative/dir"');
  });

  test("user uid/gid must be 32-bit unsigned integers", () => {
    const cfg = baseConfig();
    cfg.process.user.uid = -1;
    expectSpecError(() => validateConfig(cfg), "process.user.uid", ">= 0");
    cfg.process.user.uid = 2 ** 32;
    expectSpecError(() => validateConfig(cfg), "process.user.uid", "<= 4294967295");
    cfg.process.user = { uid: 0 };
    expectSpecError(() => validateConfig(cfg), "process.user.gid", "required");
  });

  test("env entries are NAME=value", () => {
    const cfg = baseConfig();
    cfg.process.env.push("NOVALUE");
    expectSpecError(() => validateConfig(cfg), "process.env[2]", "NAME=value");
  });

  test("rlimits: RLIMIT_* types, no duplicates, soft <= hard", () => {
    const cfg = baseConfig();
    cfg.process.rlimits = [{ type: "NOFILE", hard: 1, soft: 1 }];
    expectSpecError(() => validateConfig(cfg), "process.rlimits[0].type", 'unknown rlimit type "NOFILE"', "RLIMIT_NOFILE");
    cfg.process.rlimits = [
      { type: "RLIMIT_NOFILE", hard: 10, soft: 10 },
      { type: "RLIMIT_NOFILE", hard: 20, soft: 20 },
    ];
    expectSpecError(() => validateConfig(cfg), "process.rlimits[1].type", "duplicate rlimit RLIMIT_NOFILE", "process.rlimits[0]");
    cfg.process.rlimits = [{ type: "RLIMIT_CORE", hard: 10, soft: 20 }];
    expectSpecError(() => validateConfig(cfg), "process.rlimits[0].soft", "exceeds hard limit");
    cfg.process.rlimits = [{ type: "RLIMIT_CORE", soft: 20 }];
    expectSpecError(() => validateConfig(cfg), "process.rlimits[0].hard", "required");
  });

  test("capability names must look like CAP_*", () => {
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) {
      const cfg = baseConfig();
      cfg.process.capabilities[set] = ["CAP_KILL", "net_admin"];
      expectSpecError(() => validateConfig(cfg), `process.capabilities.${set}[1]`, "capability name", '"net_admin"');
    }
  });

  test("unknownCapabilities reports well-formed names the kernel does not have", () => {
    expect(unknownCapabilities(["CAP_KILL", "CAP_FLY", "CAP_BPF"])).toEqual(["CAP_FLY"]);
  });

  test("scheduler: policy, realtime priority, deadline parameters", () => {
    const cfg = baseConfig();
    cfg.process.scheduler = { policy: "SCHED_FAST" };
    expectSpecError(() => validateConfig(cfg), "process.scheduler.policy", 'unknown scheduler policy "SCHED_FAST"');
    cfg.process.scheduler = { policy: "SCHED_RR" };
    expectSpecError(() => validateConfig(cfg), "process.scheduler.priority", "1..99");
    cfg.process.scheduler = { policy: "SCHED_OTHER", priority: 5 };
    expectSpecError(() => validateConfig(cfg), "process.scheduler.priority", "must be 0");
    cfg.process.scheduler = { policy: "SCHED_DEADLINE" };
    expectSpecError(() => validateConfig(cfg), "process.scheduler.runtime", "required");
    cfg.process.scheduler = { policy: "SCHED_DEADLINE", runtime: 10, deadline: 5 };
    expectSpecError(() => validateConfig(cfg), "process.scheduler.runtime", "must not exceed deadline");
    cfg.process.scheduler = { policy: "SCHED_DEADLINE", runtime: 10, deadline: 20, period: 30 };
    expect(validateConfig(cfg)).toBeDefined();
  });

  test("ioPriority, oomScoreAdj, umask ranges", () => {
    let cfg = baseConfig();
    cfg.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 8 };
    expectSpecError(() => validateConfig(cfg), "process.ioPriority.priority", "<= 7");
    cfg = baseConfig();
    cfg.process.ioPriority = { class: "BE", priority: 1 };
    expectSpecError(() => validateConfig(cfg), "process.ioPriority.class", 'unknown I/O priority class "BE"');
    cfg = baseConfig();
    cfg.process.oomScoreAdj = -1001;
    expectSpecError(() => validateConfig(cfg), "process.oomScoreAdj", ">= -1000");
    cfg = baseConfig();
    cfg.process.user.umask = 0o10000;
    expectSpecError(() => validateConfig(cfg), "process.user.umask", "<= 4095");
  });

  test("NUL bytes in args or env are rejected", () => {
    const cfg = baseConfig();
    cfg.process.args = ["sh", "a\0b"];
    expectSpecError(() => validateConfig(cfg), "process.args[1]", "NUL");
  });
});

describe("mounts and hooks", () => {
  test("a relative mount destination is read relative to /; it is required; type and options are strings", () => {
    // config.md (runtime-spec 1.1 on): "it MAY be a relative path, in which case it MUST be interpreted as relative to "/""
    let cfg = baseConfig();
    cfg.mounts[2].destination = "dev/pts";
    expect(validateConfig(cfg).mounts![2]!.destination).toBe("/dev/pts");
    cfg = baseConfig();
    cfg.mounts[2].destination = "";
    expectSpecError(() => validateConfig(cfg), "mounts[2].destination", "non-empty");
    cfg = baseConfig();
    delete cfg.mounts[0].destination;
    expectSpecError(() => validateConfig(cfg), "mounts[0].destination", "required");
    cfg = baseConfig();
    cfg.mounts[1].type = 5;
    expectSpecError(() => validateConfig(cfg), "mounts[1].type", "expected string");
    cfg = baseConfig();
    cfg.mounts[1].options = "nosuid,nodev";
    expectSpecError(() => validateConfig(cfg), "mounts[1].options", "expected array");
    cfg = baseConfig();
    cfg.mounts[1].options = ["nosuid", true];
    expectSpecError(() => validateConfig(cfg), "mounts[1].options[1]", "expected string, got boolean");
  });

  test("idmapped mounts need both uid and gid mappings", () => {
    const cfg = baseConfig();
    cfg.mounts.push({ destination: "/x", type: "bind", source: "/y", options: ["bind"], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
    expectSpecError(() => validateConfig(cfg), "mounts[7]", "both uidMappings and gidMappings");
  });

  test("hook path must be absolute, timeout positive", () => {
    const cfg = baseConfig();
    cfg.hooks = { poststop: [{ path: "cleanup.sh" }] };
    expectSpecError(() => validateConfig(cfg), "hooks.poststop[0].path", "absolute path");
    cfg.hooks = { createRuntime: [{ path: "/bin/x", timeout: 0 }] };
    expectSpecError(() => validateConfig(cfg), "hooks.createRuntime[0].timeout", ">= 1");
    cfg.hooks = { startContainer: [{ args: ["x"] }] };
    expectSpecError(() => validateConfig(cfg), "hooks.startContainer[0].path", "required");
  });
});

describe("linux", () => {
  test("namespaces: known types, no duplicates, absolute paths", () => {
    let cfg = baseConfig();
    cfg.linux.namespaces[2] = { type: "foo" };
    expectSpecError(
      () => validateConfig(cfg),
      "linux.namespaces[2].type",
      'config.json: linux.namespaces[2].type: unknown namespace "foo" (allowed: pid, network, mount, ipc, uts, user, cgroup, time)',
    );
    cfg = baseConfig();
    cfg.linux.namespaces.push({ type: "pid", path: "/proc/1/ns/pid" });
    expectSpecError(() => validateConfig(cfg), "linux.namespaces[6].type", 'duplicate namespace "pid"', "linux.namespaces[0]");
    cfg = baseConfig();
    cfg.linux.namespaces[1] = { type: "network", path: "run/netns/x" };
    expectSpecError(() => validateConfig(cfg), "linux.namespaces[1].path", "absolute path");
    cfg.linux.namespaces[1] = { type: "network", path: "/run/netns/x" };
    expect(validateConfig(cfg)).toBeDefined();
  });

  test('an empty namespace path means "create" (as Go clients write it)', () => {
    const cfg = baseConfig();
    cfg.linux.namespaces.push({ type: "time", path: "" });
    cfg.linux.timeOffsets = { monotonic: { secs: 1 } };
    expect(validateConfig(cfg)).toBeDefined();
    cfg.linux.namespaces[6].path = "/proc/1/ns/time";
    expectSpecError(() => validateConfig(cfg), "linux.timeOffsets", "joined by path");
  });

  test("uid/gid mappings require a user namespace", () => {
    let cfg = baseConfig();
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    expectSpecError(() => validateConfig(cfg), "linux.uidMappings", "user namespace");
    cfg = baseConfig();
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    expectSpecError(() => validateConfig(cfg), "linux.gidMappings", "user namespace");
    cfg = baseConfig();
    cfg.linux.namespaces.push({ type: "user", path: "/proc/123/ns/user" });
    expect(validateConfig(cfg)).toBeDefined();
    // A new user namespace without mappings is left to the runtime (it maps the caller).
    cfg.linux.namespaces[6] = { type: "user" };
    expect(validateConfig(cfg)).toBeDefined();
  });

  test("ID mappings: size >= 1, within 32 bits, no overlapping container ranges", () => {
    const cfg = baseConfig();
    cfg.linux.namespaces.push({ type: "user" });
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 0 }];
    expectSpecError(() => validateConfig(cfg), "linux.uidMappings[0].size", ">= 1");
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 4294967000, size: 1000 }];
    expectSpecError(() => validateConfig(cfg), "linux.uidMappings[0]", "exceeds the 32-bit");
    cfg.linux.uidMappings = [
      { containerID: 0, hostID: 1000, size: 10 },
      { containerID: 5, hostID: 2000, size: 10 },
    ];
    expectSpecError(() => validateConfig(cfg), "linux.uidMappings[1]", "overlaps linux.uidMappings[0]");
  });

  test("timeOffsets need a new time namespace and known clocks", () => {
    const cfg = baseConfig();
    cfg.linux.timeOffsets = { monotonic: { secs: 5 } };
    expectSpecError(() => validateConfig(cfg), "linux.timeOffsets", "time namespace");
    cfg.linux.namespaces.push({ type: "time", path: "/proc/1/ns/time" });
    expectSpecError(() => validateConfig(cfg), "linux.timeOffsets", "joined by path");
    cfg.linux.namespaces[6] = { type: "time" };
    cfg.linux.timeOffsets = { realtime: { secs: 5 } };
    expectSpecError(() => validateConfig(cfg), "linux.timeOffsets.realtime", 'unknown clock "realtime"');
    cfg.linux.timeOffsets = { boottime: { nanosecs: 1e9 } };
    expectSpecError(() => validateConfig(cfg), "linux.timeOffsets.boottime.nanosecs", "<= 999999999");
  });

  test("memoryPolicy: known modes and flags, node lists that parse, nodes only where the mode takes them", () => {
    const cfg = baseConfig();
    cfg.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "0-3,7", flags: ["MPOL_F_STATIC_NODES"] };
    validateConfig(cfg);
    cfg.linux.memoryPolicy = { mode: "MPOL_FOO", nodes: "0" };
    expectSpecError(() => validateConfig(cfg), "linux.memoryPolicy.mode", 'unknown mode "MPOL_FOO"');
    cfg.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_NOPE"] };
    expectSpecError(() => validateConfig(cfg), "linux.memoryPolicy.flags[0]", 'unknown flag "MPOL_F_NOPE"');
    cfg.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "3-1" };
    expectSpecError(() => validateConfig(cfg), "linux.memoryPolicy.nodes", "not a node list");
    cfg.linux.memoryPolicy = { mode: "MPOL_INTERLEAVE" };
    expectSpecError(() => validateConfig(cfg), "linux.memoryPolicy.nodes", "required with MPOL_INTERLEAVE");
    cfg.linux.memoryPolicy = { mode: "MPOL_LOCAL", nodes: "0" };
    expectSpecError(() => validateConfig(cfg), "linux.memoryPolicy.nodes", "must be empty with MPOL_LOCAL");
    cfg.linux.memoryPolicy = { mode: "MPOL_PREFERRED" };
    validateConfig(cfg);
  });

  test("netDevices: device names the kernel accepts, one container name per device, a network namespace", () => {
    const cfg = baseConfig();
    cfg.linux.netDevices = { eth1: {}, enp0s1: { name: "eth2" } };
    validateConfig(cfg);
    cfg.linux.netDevices = { "a/b": {} };
    expectSpecError(() => validateConfig(cfg), 'linux.netDevices["a/b"]', "not a network device name");
    cfg.linux.netDevices = { eth1: { name: "a-name-longer-than-15" } };
    expectSpecError(() => validateConfig(cfg), 'linux.netDevices["eth1"].name', "not a network device name");
    cfg.linux.netDevices = { eth1: { name: "eth9" }, eth9: {} };
    expectSpecError(() => validateConfig(cfg), 'linux.netDevices["eth9"].name', 'also the container\'s name for linux.netDevices["eth1"]');
    cfg.linux.netDevices = { eth1: {} };
    cfg.linux.namespaces = cfg.linux.namespaces.filter((n: { type: string }) => n.type !== "network");
    expectSpecError(() => validateConfig(cfg), "linux.netDevices", "needs a network namespace");
  });

  test("sysctl: well-formed keys, string values, and only namespaced ones", () => {
    const cfg = baseConfig();
    cfg.linux.sysctl = { "net..x": "1" };
    expectSpecError(() => validateConfig(cfg), 'linux.sysctl["net..x"]', "invalid key", "sysctl name");
    cfg.linux.sysctl = { "../../etc/passwd": "1" };
    expectSpecError(() => validateConfig(cfg), 'linux.sysctl["../../etc/passwd"]', "invalid key");
    cfg.linux.sysctl = { "net.ipv4.ip_forward": 1 };
    expectSpecError(() => validateConfig(cfg), 'linux.sysctl["net.ipv4.ip_forward"]', "expected string, got integer 1");
    cfg.linux.sysctl = { "vm.swappiness": "10" };
    expectSpecError(() => validateConfig(cfg), 'linux.sysctl["vm.swappiness"]', "not isolated by any namespace");
    cfg.linux.sysctl = { "net.core.somaxconn": "1024" };
    cfg.linux.namespaces = cfg.linux.namespaces.filter((n: any) => n.type !== "network");
    expectSpecError(() => validateConfig(cfg), 'linux.sysctl["net.core.somaxconn"]', "requires a network namespace");
  });

  test("sysctlNamespace classifies keys in dotted and slashed form", () => {
    expect(sysctlNamespace("kernel.shmmax")).toBe("ipc");
    expect(sysctlNamespace("fs/mqueue/queues_max")).toBe("ipc");
    expect(sysctlNamespace("net.ipv6.conf.all.disable_ipv6")).toBe("network");
    expect(sysctlNamespace("kernel.domainname")).toBe("uts");
    expect(sysctlNamespace("kernel.pid_max")).toBeNull();
  });

  test("devices: type c, b, u or p; major/minor unless p; no duplicates", () => {
    const cfg = baseConfig();
    cfg.linux.devices = [{ path: "/dev/x", type: "x", major: 1, minor: 1 }];
    expectSpecError(() => validateConfig(cfg), "linux.devices[0].type", 'unknown device type "x" (allowed: c, b, u, p)');
    cfg.linux.devices = [{ path: "/dev/x", type: "c", minor: 1 }];
    expectSpecError(() => validateConfig(cfg), "linux.devices[0].major", 'required for device type "c"');
    cfg.linux.devices = [{ path: "/dev/x", type: "b", major: 8 }];
    expectSpecError(() => validateConfig(cfg), "linux.devices[0].minor", 'required for device type "b"');
    cfg.linux.devices = [{ path: "dev/x", type: "p" }];
    expectSpecError(() => validateConfig(cfg), "linux.devices[0].path", "absolute path");
    cfg.linux.devices = [
      { path: "/dev/x", type: "p" },
      { path: "/dev/x", type: "u", major: 1, minor: 5 },
    ];
    expectSpecError(() => validateConfig(cfg), "linux.devices[1].path", 'duplicate device "/dev/x"');
  });

  test("cgroupsPath must be a string without .. components", () => {
    const cfg = baseConfig();
    cfg.linux.cgroupsPath = 42;
    expectSpecError(() => validateConfig(cfg), "linux.cgroupsPath", "expected string");
    cfg.linux.cgroupsPath = "/berth/../../escape";
    expectSpecError(() => validateConfig(cfg), "linux.cgroupsPath", '".."');
    cfg.linux.cgroupsPath = "system.slice:berth:abc";
    expect(validateConfig(cfg)).toBeDefined();
  });

  test("maskedPaths, readonlyPaths absolute; rootfsPropagation and personality enums", () => {
    let cfg = baseConfig();
    cfg.linux.maskedPaths.push("proc/kcore");
    expectSpecError(() => validateConfig(cfg), `linux.maskedPaths[${cfg.linux.maskedPaths.length - 1}]`, "absolute path");
    cfg = baseConfig();
    cfg.linux.readonlyPaths[0] = "";
    expectSpecError(() => validateConfig(cfg), "linux.readonlyPaths[0]", "absolute path");
    cfg = baseConfig();
    cfg.linux.rootfsPropagation = "bogus";
    expectSpecError(() => validateConfig(cfg), "linux.rootfsPropagation", 'unknown rootfs propagation "bogus"');
    cfg = baseConfig();
    cfg.linux.personality = { domain: "LINUX64" };
    expectSpecError(() => validateConfig(cfg), "linux.personality.domain", "unknown personality domain");
  });

  test("seccomp: SCMP_ACT_* actions, SCMP_CMP_* ops, SCMP_ARCH_* arches, flags", () => {
    const cfg = baseConfig();
    cfg.linux.seccomp = { defaultAction: "ALLOW" };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.defaultAction", 'unknown seccomp action "ALLOW"', "SCMP_ACT_ALLOW");
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["x86_64"] };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.architectures[0]", 'unknown seccomp architecture "x86_64"');
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", flags: ["TSYNC"] };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.flags[0]", 'unknown seccomp flag "TSYNC"');
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_KILL", args: [{ index: 0, value: 1, op: "==" }] }] };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.syscalls[0].args[0].op", 'unknown seccomp operator "=="', "SCMP_CMP_EQ");
    cfg.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_KILL", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }],
    };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.syscalls[0].args[0].index", "<= 5");
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_KILL" }] };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.syscalls[0].names", "must not be empty");
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_KILL_PROCESS", errnoRet: 1 }] };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.syscalls[0].errnoRet", "only allowed with SCMP_ACT_ERRNO");
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_KILL", defaultErrnoRet: 1 };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.defaultErrnoRet", "only allowed with SCMP_ACT_ERRNO");
  });

  test("seccomp notify needs a listener and cannot be the default", () => {
    const cfg = baseConfig();
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_NOTIFY" };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.defaultAction", "cannot be the default action");
    cfg.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }] };
    expectSpecError(() => validateConfig(cfg), "linux.seccomp.listenerPath", "required because linux.seccomp.syscalls[0].action is SCMP_ACT_NOTIFY");
    cfg.linux.seccomp.listenerPath = "/run/agent.sock";
    expect(validateConfig(cfg)).toBeDefined();
  });
});

describe("linux.resources", () => {
  test("unknown keys are errors naming the key, at every level", () => {
    let cfg = baseConfig();
    cfg.linux.resources.memroy = { limit: 1 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memroy", "unknown field", "memory");
    cfg = baseConfig();
    cfg.linux.resources.memory = { limt: 1 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memory.limt", "unknown field", "limit");
    cfg = baseConfig();
    cfg.linux.resources.cpu = { quotaUs: 1 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.cpu.quotaUs", "unknown field");
    cfg = baseConfig();
    cfg.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1, burst: 2 }] };
    expectSpecError(() => validateConfig(cfg), "linux.resources.blockIO.throttleReadBpsDevice[0].burst", "unknown field");
  });

  test("numbers must be numbers in range", () => {
    let cfg = baseConfig();
    cfg.linux.resources.memory = { limit: "100M" };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memory.limit", 'expected integer, got string "100M"');
    cfg = baseConfig();
    cfg.linux.resources.memory = { limit: -2 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memory.limit", ">= -1");
    cfg = baseConfig();
    cfg.linux.resources.cpu = { shares: 1.5 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.cpu.shares", "expected integer, got number 1.5");
    cfg = baseConfig();
    cfg.linux.resources.memory = { swappiness: 101 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memory.swappiness", "<= 100");
    cfg = baseConfig();
    cfg.linux.resources.pids = {};
    expectSpecError(() => validateConfig(cfg), "linux.resources.pids.limit", "required");
    cfg = baseConfig();
    cfg.linux.resources.blockIO = { weight: 70000 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.blockIO.weight", "<= 65535");
  });

  test("strings with formats: cpus, hugepage size, device access, unified keys", () => {
    let cfg = baseConfig();
    cfg.linux.resources.cpu = { cpus: "0-a" };
    expectSpecError(() => validateConfig(cfg), "linux.resources.cpu.cpus", "cpu list");
    cfg = baseConfig();
    cfg.linux.resources.hugepageLimits = [{ pageSize: "2M", limit: 1 }];
    expectSpecError(() => validateConfig(cfg), "linux.resources.hugepageLimits[0].pageSize", "page size");
    cfg = baseConfig();
    cfg.linux.resources.devices = [{ allow: true, access: "rwx" }];
    expectSpecError(() => validateConfig(cfg), "linux.resources.devices[0].access", "r, w and m");
    cfg = baseConfig();
    cfg.linux.resources.devices = [{ access: "rwm" }];
    expectSpecError(() => validateConfig(cfg), "linux.resources.devices[0].allow", "required");
    cfg = baseConfig();
    cfg.linux.resources.unified = { "../../cgroup.procs": "1" };
    expectSpecError(() => validateConfig(cfg), 'linux.resources.unified["../../cgroup.procs"]', "invalid key", "cgroup v2 file name");
  });

  test("cross-field rules: swap >= limit, reservation <= limit, type a has no numbers, unique page sizes", () => {
    let cfg = baseConfig();
    cfg.linux.resources.memory = { limit: 200, swap: 100 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memory.swap", "below the memory limit");
    cfg.linux.resources.memory = { limit: 200, swap: -1 };
    expect(validateConfig(cfg)).toBeDefined();
    cfg = baseConfig();
    cfg.linux.resources.memory = { limit: 100, reservation: 200 };
    expectSpecError(() => validateConfig(cfg), "linux.resources.memory.reservation", "above the memory limit");
    cfg = baseConfig();
    cfg.linux.resources.devices = [{ allow: true, type: "a", major: 1 }];
    expectSpecError(() => validateConfig(cfg), "linux.resources.devices[0]", 'type "a"');
    cfg = baseConfig();
    cfg.linux.resources.hugepageLimits = [
      { pageSize: "2MB", limit: 1 },
      { pageSize: "2MB", limit: 2 },
    ];
    expectSpecError(() => validateConfig(cfg), "linux.resources.hugepageLimits[1].pageSize", "duplicate page size 2MB");
  });
});

describe("parseConfig", () => {
  test("parses and validates", () => {
    const spec = parseConfig(JSON.stringify(defaultSpec()));
    expect(spec.process?.args).toEqual(["sh"]);
  });

  test("a leading byte-order mark is accepted", () => {
    expect(parseConfig(`\uFEFF${JSON.stringify(defaultSpec())}`).ociVersion).toBe(defaultSpec().ociVersion);
  });

  test("syntax errors name source, line and column", () => {
    expectSpecError(
      () => parseConfig('{\n  "ociVersion": "1.0.0",\n  root: {}\n}'),
      "",
      "config.json: invalid JSON at line 3, column 3",
      "property name in double quotes",
    );
    expectSpecError(() => parseConfig('{"a": [1, 2,]}', "/b/config.json"), "", "/b/config.json: invalid JSON at line 1, column 13", "trailing comma");
    expectSpecError(() => parseConfig(""), "", "line 1, column 1", "end of input");
    expectSpecError(() => parseConfig('{"a": 1} x'), "", "line 1, column 10", "after the end");
    expectSpecError(() => parseConfig('{"a": "b'), "", "line 1, column 7", "unterminated string");
    expectSpecError(() => parseConfig('{"a": 01}'), "", "invalid number");
  });

  test("validation errors after parsing carry the same source", () => {
    const cfg = baseConfig();
    cfg.linux.namespaces[0].type = "pidd";
    expectSpecError(() => parseConfig(JSON.stringify(cfg), "bundle/config.json"), "linux.namespaces[0].type", "bundle/config.json: linux.namespaces[0].type");
  });
});

describe("validateProcess, validateResources, validateState", () => {
  test("validateProcess checks a process document with paths relative to it", () => {
    const proc = baseConfig().process;
    expect(validateProcess(proc)).toBe(proc);
    proc.cwd = "tmp";
    expectSpecError(() => validateProcess(proc), "cwd", "process.json: cwd: must be an absolute path");
    proc.cwd = "/";
    proc.rlimits.push({ type: "RLIMIT_NOFILE", hard: 1, soft: 1 });
    expectSpecError(() => validateProcess(proc, "p.json"), "rlimits[1].type", "p.json: rlimits[1].type: duplicate rlimit");
    expectSpecError(() => validateProcess("sh"), "", "expected object");
  });

  test("validateResources checks an update document and rejects unknown keys", () => {
    const r = { memory: { limit: 1 << 20, swap: -1 }, cpu: { quota: -1, period: 100000 }, pids: { limit: 0 }, unified: { "pids.max": "max" } };
    expect(validateResources(r)).toBe(r);
    expectSpecError(() => validateResources({ memory: { limit: 1 }, cpus: "1" }), "cpus", "resources.json: cpus: unknown field");
    expectSpecError(() => validateResources({ cpu: { quota: 1000, period: 0 } }), "cpu.period", "must be > 0");
  });

  test("validateState checks a state document", () => {
    const s = { ociVersion: "1.2.1", id: "c1", status: "running", pid: 1234, bundle: "/run/b", annotations: {} };
    expect(validateState(s)).toBe(s as any);
    expectSpecError(
      () => validateState({ ...s, status: "paused" }),
      "status",
      'unknown container status "paused" (allowed: creating, created, running, stopped)',
    );
    expectSpecError(() => validateState({ ...s, pid: undefined }), "pid", 'required when status is "running"');
    expect(validateState({ ...s, status: "stopped", pid: undefined }).status).toBe("stopped");
    expectSpecError(() => validateState({ ...s, bundle: "b" }), "bundle", "absolute path");
  });
});

describe("SpecError and paths", () => {
  test("SpecError carries source, path and detail", () => {
    const e = new SpecError("config.json", "linux.sysctl", "bad");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("SpecError");
    expect(e.message).toBe("config.json: linux.sysctl: bad");
    expect(new SpecError("x.json", "", "whole").message).toBe("x.json: whole");
  });

  test("formatPath renders indices and quotes keys that are not identifiers", () => {
    const data = { linux: { namespaces: [{}, {}, { type: "x" }], sysctl: { "net.core.x": "1" } }, "0": { a: 1 } };
    expect(formatPath(["linux", "namespaces", "2", "type"], data)).toBe("linux.namespaces[2].type");
    expect(formatPath(["linux", "sysctl", "net.core.x"], data)).toBe('linux.sysctl["net.core.x"]');
    expect(formatPath(["0", "a"], data)).toBe('["0"].a');
    expect(formatPath([])).toBe("");
  });
});

describe("configs written by other runtimes", () => {
  for (const tool of ["runc", "crun"]) {
    for (const rootless of [false, true]) {
      test.skipIf(!Bun.which(tool))(`\`${tool} spec${rootless ? " --rootless" : ""}\` validates`, () => {
        const dir = mkdtempSync(join(tmpdir(), "berth-spec-"));
        try {
          const r = Bun.spawnSync([tool, "spec", ...(rootless ? ["--rootless"] : [])], { cwd: dir, stderr: "pipe" });
          expect(r.exitCode).toBe(0);
          const text = readFileSync(join(dir, "config.json"), "utf8");
          const spec = parseConfig(text, `${tool} spec`);
          expect(spec.process?.args?.length).toBeGreaterThan(0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }
});

// The planner without root and without the host: createPlan and execPlan
// given a made-up host (fakeHost: HostFacts of src/linux/hostfacts.ts), their
// plans pinned for representative configs. "TypeScript decides, the core
// executes": what the core is told to do is checked here, op by op; the
// runtime tests check that the core does it. The whole file runs a second
// time as nobody (setpriv), which shows that planning needs no privilege
// (runc's specconv tests run without root in the same way).
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import type { Cgroup } from "../../src/cgroups/index.ts";
import type { PlanOp, PlanOpName, PlanOpOf } from "../../src/linux/planops.ts";
import { fakeHost, type HostFacts } from "../../src/linux/hostfacts.ts";
import { createPlan, execPlan } from "../../src/runtime/plan.ts";
import { defaultSpec } from "../../src/spec/defaults.ts";
import type { Spec } from "../../src/spec/types.ts";

const RDONLY = 0x1,
  NOSUID = 0x2,
  NODEV = 0x4,
  NOEXEC = 0x8;
const REC = 0x4000,
  PRIVATE = 1 << 18,
  SLAVE = 1 << 19,
  SHARED = 1 << 20;

const B = "/b";
/** A host with the bundle's rootfs, the given sources, and cgroup v2. */
function host(extra: NonNullable<Parameters<typeof fakeHost>[0]> = {}): HostFacts {
  return fakeHost({ ...extra, dirs: [`${B}/rootfs`, "/src/dir", ...(extra.dirs ?? [])], files: ["/src/file", ...(extra.files ?? [])] });
}

function spec(f: (s: Spec) => void = () => {}): Spec {
  const s = defaultSpec();
  s.process!.terminal = false;
  f(s);
  return s;
}

const named = (ops: PlanOp[], ...names: PlanOpName[]) => ops.filter((o) => names.includes(o.op));
/** The ops called N, with their type. */
const only = <N extends PlanOpName>(ops: PlanOp[], name: N) => ops.filter((o): o is PlanOpOf<N> => o.op === name);
/** A mount op as the planner writes it: the fields not given are 0 or empty, a directory target. */
const mount = (kind: PlanOpOf<"mount">["kind"], source: string, target: string, f: Partial<PlanOpOf<"mount">> = {}): PlanOpOf<"mount"> => ({
  op: "mount",
  kind,
  source,
  target,
  fstype: "",
  attrSet: 0,
  attrClr: 0,
  attrRecursive: 0,
  propagation: 0,
  propRecursive: 0,
  data: "",
  mkkind: 1,
  ...f,
});
const plan = (s: Spec, h: HostFacts = host(), more: Partial<Parameters<typeof createPlan>[0]> = {}) =>
  createPlan({ spec: s, bundle: B, id: "c1", host: h, ...more });

describe("createPlan on a made-up host", () => {
  test("the default config: namespaces, rootfs, its mounts in order, /dev's nodes and links, masks, caps", () => {
    const ops = plan(spec());
    expect(ops[0]).toEqual({ op: "mode", mode: "create" });
    expect(named(ops, "ns-new")).toEqual([{ op: "ns-new", types: ["pid", "network", "ipc", "uts", "mount", "cgroup"] }]);
    expect(named(ops, "rootfs")).toEqual([{ op: "rootfs", path: `${B}/rootfs` }]);
    expect(only(ops, "mount").map((o) => [o.kind, o.target, o.fstype])).toEqual([
      ["fs", "/proc", "proc"],
      ["fs", "/dev", "tmpfs"],
      ["fs", "/dev/pts", "devpts"],
      ["fs", "/dev/shm", "tmpfs"],
      ["fs", "/dev/mqueue", "mqueue"],
      ["fs", "/sys", "sysfs"],
      ["fs", "/sys/fs/cgroup", "cgroup2"], // v2 host with a cgroup namespace: a fresh cgroup2
    ]);
    // /sys is read-only and /sys/fs/cgroup is mounted below it: made read-only at the end
    expect(named(ops, "mount-readonly")).toEqual([{ op: "mount-readonly", path: "/sys" }]);
    expect(only(ops, "mkdev").map((o) => o.path)).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    expect(only(ops, "symlink").map((o) => o.link)).toEqual(["/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/core", "/dev/ptmx"]);
    expect(named(ops, "mask").length).toBeGreaterThan(5);
    expect(named(ops, "root-readonly")).toEqual([{ op: "root-readonly" }]);
    expect(ops.at(-1)?.op === "args" || named(ops, "args").length === 1).toBe(true);
  });

  test("a host without /proc/kcore gets no /dev/core link", () => {
    expect(only(plan(spec(), host({ kcore: false })), "symlink").map((o) => o.link)).not.toContain("/dev/core");
  });

  test("/dev bound from elsewhere, last: no default node, link or linux.devices node is made in it", () => {
    const ops = plan(
      spec((s) => {
        s.mounts!.push({ destination: "/dev", type: "bind", source: "/src/dir", options: ["rbind"] });
        s.linux!.devices = [
          { path: "/dev/mynull", type: "c", major: 1, minor: 3 },
          { path: "/mydev/null", type: "c", major: 1, minor: 3 },
        ];
      }),
    );
    // the tmpfs of the default config is mounted first, then the bind over it
    expect(
      only(ops, "mount")
        .filter((o) => o.target === "/dev")
        .map((o) => o.kind),
    ).toEqual(["fs", "rbind"]);
    expect(only(ops, "mkdev").map((o) => o.path)).toEqual(["/mydev/null"]);
    expect(only(ops, "symlink")).toEqual([]);
  });

  test("bind mounts: flags, propagation, directory or file target, recursive attributes", () => {
    const ops = plan(
      spec((s) => {
        s.mounts!.push(
          { destination: "/data", type: "bind", source: "/src/dir", options: ["rbind", "ro", "rprivate"] },
          { destination: "/etc/x.conf", source: "/src/file", options: ["bind", "nosuid", "rnodev", "shared"] },
        );
        s.linux!.rootfsPropagation = "rslave";
      }),
    );
    expect(named(ops, "rootfs-propagation")).toEqual([{ op: "rootfs-propagation", flags: SLAVE | REC }]);
    const binds = only(ops, "mount").filter((o) => o.kind === "bind" || o.kind === "rbind");
    expect(binds).toEqual([
      mount("rbind", "/src/dir", "/data", { attrSet: RDONLY, propagation: PRIVATE, propRecursive: 1 }),
      mount("bind", "/src/file", "/etc/x.conf", { attrSet: NOSUID | NODEV, attrRecursive: 1, propagation: SHARED, mkkind: 2 }),
    ]);
  });

  test("a read-only tmpfs with a mount below it is made read-only after that mount", () => {
    const ops = plan(
      spec((s) => {
        s.mounts!.push(
          { destination: "/opt", type: "tmpfs", source: "tmpfs", options: ["ro", "mode=755"] },
          { destination: "/opt/d", type: "bind", source: "/src/dir", options: ["bind"] },
        );
      }),
    );
    const opt = only(ops, "mount").find((o) => o.target === "/opt")!;
    expect(opt.attrSet).toBe(0); // mounted writable first
    expect(only(ops, "mount-readonly").map((o) => o.path)).toEqual(["/sys", "/opt"]);
  });

  test("refusals name the field: missing source, relative rootfs target missing, namespace path", () => {
    expect(() => plan(spec((s) => s.mounts!.push({ destination: "/x", type: "bind", source: "/nope", options: ["bind"] })))).toThrow(
      "mounts[7].source: /nope does not exist",
    );
    expect(() => plan(spec(), fakeHost())).toThrow(`root.path: ${B}/rootfs is not a directory`);
    expect(() => plan(spec((s) => s.linux!.namespaces!.push({ type: "ipc", path: "/proc/1/ns/ipc" }) && undefined))).toThrow(
      "ipc namespace path /proc/1/ns/ipc does not exist",
    );
  });

  test("idmapped mounts: the mount's own mapping, or the user namespace's", () => {
    const s = spec((s) => {
      s.mounts!.push({
        destination: "/m",
        type: "bind",
        source: "/src/dir",
        options: ["rbind", "idmap"],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 10 }],
        gidMappings: [{ containerID: 0, hostID: 2000, size: 10 }],
      });
    });
    const ops = plan(s);
    expect(named(ops, "idmap-tree")).toEqual([
      {
        op: "idmap-tree",
        slot: 0,
        source: "/src/dir",
        recursive: 1,
        attrSet: 0,
        attrClr: 0,
        attrRecursive: 0,
        idmapRecursive: 0,
        uidMap: "0 1000 10\n",
        gidMap: "0 2000 10\n",
      },
    ]);
    expect(only(ops, "mount").find((o) => o.target === "/m")).toEqual(mount("idmapped", "0", "/m"));
    // without maps on the mount and no user namespace: refused by name
    expect(() => plan(spec((s) => s.mounts!.push({ destination: "/m", type: "bind", source: "/src/dir", options: ["bind", "idmap"] })))).toThrow(
      "mounts[7]: idmap needs uidMappings and gidMappings",
    );
    expect(() => plan(spec((s) => s.mounts!.push({ destination: "/m", type: "tmpfs", source: "tmpfs", options: ["idmap"] })))).toThrow(
      "only bind mounts can be idmapped",
    );
  });

  test("a user namespace (root berth): maps, sources opened before joining, devices bound, devpts without gid=", () => {
    const ops = plan(
      spec((s) => {
        s.linux!.namespaces!.push({ type: "user" });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.mounts!.push({ destination: "/data", type: "bind", source: "/src/dir", options: ["bind"] });
      }),
    );
    expect(named(ops, "uidmap", "gidmap", "unprivileged", "setgroups")).toEqual([
      { op: "uidmap", map: "0 100000 65536\n" },
      { op: "gidmap", map: "0 100000 65536\n" },
    ]);
    expect(named(ops, "idmap-tree")).toEqual([
      { op: "idmap-tree", slot: 0, source: "/src/dir", recursive: 0, attrSet: 0, attrClr: 0, attrRecursive: 0, idmapRecursive: 0, uidMap: "", gidMap: "" },
    ]);
    expect(named(ops, "mkdev")).toEqual([]);
    expect(only(ops, "bind-dev").map((o) => o.path)).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    const devpts = only(ops, "mount").find((o) => o.target === "/dev/pts")!;
    expect(devpts.data).toContain("mode=");
    expect(devpts.data).not.toContain("gid=");
  });

  test("rootless: setgroups denied before the maps, the default mapping is berth's own ids, sources not preopened", () => {
    const s = defaultSpec({ rootless: true });
    s.process!.terminal = false;
    delete s.linux!.uidMappings;
    delete s.linux!.gidMappings;
    s.mounts!.push({ destination: "/data", type: "bind", source: "/src/dir", options: ["bind"] });
    const ops = plan(s, host({ uid: 1000, gid: 1001, dirs: ["/sys"] }), { rootless: true });
    expect(named(ops, "uidmap", "gidmap", "unprivileged", "setgroups")).toEqual([
      { op: "unprivileged" },
      { op: "setgroups", value: "deny" },
      { op: "uidmap", map: "0 1000 1\n" },
      { op: "gidmap", map: "0 1001 1\n" },
    ]);
    expect(named(ops, "idmap-tree")).toEqual([]);
    // no network namespace of its own: /sys is the host's, bound (rbind, read-only)
    expect(only(ops, "mount").find((o) => o.target === "/sys")).toMatchObject({ kind: "rbind", source: "/sys" });
  });

  test("devices: linux.devices made (or bound in a user namespace), major and minor required", () => {
    const fuse = { path: "/dev/fuse", type: "c" as const, major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 };
    const ops = plan(spec((s) => (s.linux!.devices = [fuse])));
    expect(only(ops, "mkdev").find((o) => o.path === "/dev/fuse")).toEqual({
      op: "mkdev",
      path: "/dev/fuse",
      type: "c",
      major: 10,
      minor: 229,
      mode: 0o600,
      uid: 0,
      gid: 0,
    });
    expect(() => plan(spec((s) => (s.linux!.devices = [{ path: "/dev/x", type: "c" }])))).toThrow("linux.devices[0]: major and minor are required for type c");
  });

  test("cgroup mount on a v1 host: a tmpfs, each hierarchy's own cgroup bound, co-mounted names linked", () => {
    const v1 = {
      mode: "v1" as const,
      v1: {
        cpu: { mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/" },
        cpuacct: { mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/" },
        memory: { mountpoint: "/sys/fs/cgroup/memory", root: "/" },
      },
      own: {},
    };
    const cg = {
      dirs: () => ["/sys/fs/cgroup/cpu,cpuacct/berth/c1", "/sys/fs/cgroup/memory/berth/c1"],
      placement: () => ({ v1: [], v2Optional: false }),
    } as unknown as Cgroup;
    const s = spec((s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "cgroup")));
    const ops = plan(s, host({ cgroups: v1 }), { cgroup: cg });
    const at = ops.findIndex((o) => o.op === "mount" && o.target === "/sys/fs/cgroup");
    expect(ops.slice(at, at + 5)).toEqual([
      mount("fs", "tmpfs", "/sys/fs/cgroup", { fstype: "tmpfs", attrSet: NOSUID | NODEV | NOEXEC, data: "mode=755" }),
      mount("bind", "/sys/fs/cgroup/cpu,cpuacct/berth/c1", "/sys/fs/cgroup/cpu,cpuacct", { attrSet: RDONLY | NOSUID | NODEV | NOEXEC, attrRecursive: 1 }),
      { op: "symlink", target: "cpu,cpuacct", link: "/sys/fs/cgroup/cpu" },
      { op: "symlink", target: "cpu,cpuacct", link: "/sys/fs/cgroup/cpuacct" },
      mount("bind", "/sys/fs/cgroup/memory/berth/c1", "/sys/fs/cgroup/memory", { attrSet: RDONLY | NOSUID | NODEV | NOEXEC, attrRecursive: 1 }),
    ]);
  });

  test("LSMs and capabilities follow the host: AppArmor absent refused, present labelled; capabilities above the last one skipped", () => {
    const withProfile = spec((s) => (s.process!.apparmorProfile = "p"));
    expect(() => plan(withProfile)).toThrow("process.apparmorProfile: AppArmor is not enabled on this host");
    expect(named(plan(withProfile, host({ apparmor: true, apparmorExecAttr: "/proc/self/attr/exec" })), "lsm-exec")).toEqual([
      { op: "lsm-exec", file: "/proc/self/attr/exec", content: "exec p" },
    ]);
    expect(() => plan(spec((s) => (s.linux!.mountLabel = "l")))).toThrow("linux.mountLabel: SELinux is not enabled on this host");
    const caps = spec((s) => (s.process!.capabilities = { bounding: ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"] }));
    expect(only(plan(caps, host({ lastCap: 40 })), "caps")[0]?.bounding).toBe(1n | (1n << 40n));
    expect(only(plan(caps, host({ lastCap: 39 })), "caps")[0]?.bounding).toBe(1n);
  });
});

describe("execPlan on a made-up host", () => {
  const s = spec();
  const base = { spec: s, id: "c1", bundle: B, pid: 42, process: { ...s.process!, args: ["true"] }, foreground: false };
  test("joins the user namespace first and the mount namespace last", () => {
    const ops = execPlan({ ...base, namespaces: { mount: "", pid: "", user: "", network: "" }, host: host() });
    expect(named(ops, "ns-join")).toEqual([
      { op: "ns-join", type: "user", path: "/proc/42/ns/user" },
      { op: "ns-join", type: "pid", path: "/proc/42/ns/pid" },
      { op: "ns-join", type: "network", path: "/proc/42/ns/net" },
      { op: "ns-join", type: "mount", path: "/proc/42/ns/mnt" },
    ]);
    expect(named(ops, "args")).toEqual([{ op: "args", argv: ["true"] }]);
  });
  test("--cgroup: a missing sub-cgroup refused, an existing one joined", () => {
    const cg = { exists: () => true, placement: () => ({ v1: [], v2: "/sys/fs/cgroup/berth/c1", v2Optional: false }) } as unknown as Cgroup;
    expect(() => execPlan({ ...base, namespaces: {}, cgroup: cg, subCgroups: ["sub"], host: host({ dirs: ["/sys/fs/cgroup/berth/c1"] }) })).toThrow(
      "--cgroup: no sub-cgroup /sys/fs/cgroup/berth/c1/sub",
    );
    const ops = execPlan({
      ...base,
      namespaces: {},
      cgroup: cg,
      subCgroups: ["sub"],
      host: host({ dirs: ["/sys/fs/cgroup/berth/c1", "/sys/fs/cgroup/berth/c1/sub"] }),
    });
    expect(named(ops, "cgroup-into")).toEqual([{ op: "cgroup-into", dir: "/sys/fs/cgroup/berth/c1/sub", need: "required" }]);
  });
});

// Planning needs no privilege: the same file as nobody (uid 65534), without
// any capability. Skipped in that run itself, and where setpriv is missing.
const asNobody = process.env.BERTH_PLAN_TEST_UNPRIVILEGED === "1";
test.skipIf(asNobody || process.getuid?.() !== 0)("the plan tests pass as an unprivileged user", () => {
  const r = spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all", process.execPath, "test", import.meta.path], {
    env: { ...process.env, BERTH_PLAN_TEST_UNPRIVILEGED: "1", HOME: "/tmp" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return; // no setpriv (util-linux) on this host
  const out = `${r.stdout}${r.stderr}`;
  expect(out).toMatch(/\b0 fail\b/);
  expect(out).toMatch(/\b1[0-9] pass\b/);
  expect(r.status).toBe(0);
});
if (asNobody) test("runs as nobody", () => expect(process.geteuid?.()).toBe(65534));

// Container escapes of the published runtime advisories, replayed against
// berth as hostile configs and images. Each test performs the attack for real
// and harmlessly: on a copy of the berth install, on fs.lease-break-time (a
// host-global value nothing here depends on, restored afterwards), on
// temporary directories.
import { beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { berthOnly, berthSays, ctest, ok, REPO, waitFor, type Ctx, type Result } from "../runtime/helpers.ts";

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

let thief = "",
  swapper = "",
  chrootEscape = "";
beforeAll(() => {
  // static programs: the thief runs in a busybox rootfs
  const build = (name: string) => {
    const out = join(REPO, `build/test-${name}`);
    const src = join(import.meta.dir, `fixtures/${name}.c`);
    const r = spawnSync("gcc", ["-static", "-O", "-Wall", "-o", out, src], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`compiling ${src}: ${r.stderr}`);
    return out;
  };
  thief = build("exe-thief");
  swapper = build("swapper");
  chrootEscape = build("chroot-escape");
});

/** A copy of the berth install (the executable and its core) in a temporary directory: the attacks overwrite this one. */
function installCopy(c: Ctx): { dir: string; berth: string; files: string[] } {
  const dir = c.tempDir("install");
  const files: string[] = [];
  for (const name of readdirSync(join(REPO, "dist"))) {
    const from = join(REPO, "dist", name);
    if (!statSync(from).isFile()) continue;
    copyFileSync(from, join(dir, name));
    chmodSync(join(dir, name), statSync(from).mode & 0o7777);
    files.push(join(dir, name));
  }
  return { dir, berth: join(dir, "berth"), files };
}

/** Runs the copied berth with --root; its output goes to files (a detached container keeps them open). */
function spawnCopy(c: Ctx, berth: string, args: string[], stdin: "pipe" | "ignore" = "ignore") {
  const env = { ...process.env };
  delete env.BERTH_CORE;
  const dir = c.tempDir("out");
  const out = openSync(join(dir, "out"), "w+"),
    err = openSync(join(dir, "err"), "w+");
  const p = Bun.spawn([berth, "--root", c.root, ...args], { stdio: [stdin, out, err], env, cwd: REPO });
  c.trackPid(p.pid);
  const done: Promise<Result> = p.exited.then((code) => {
    closeSync(out);
    closeSync(err);
    return { code, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  });
  return { p, done };
}

describe("the runtime binary (CVE-2019-5736)", () => {
  ctest(
    "a container running /proc/self/exe, watched by a container in the host's PID namespace, cannot overwrite berth",
    async (c) => {
      const inst = installCopy(c);
      const before = inst.files.map(sha);
      // the attacker: default capabilities, the host's PID namespace, looking for berth-core
      const a = c.bundle(["/thief", "berth-core", "8", "/out"], (cfg) => {
        cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== "pid");
        cfg.root!.readonly = false;
      });
      copyFileSync(thief, join(a.rootfs, "thief"));
      chmodSync(join(a.rootfs, "thief"), 0o755);
      const out = join(a.rootfs, "out");
      spawnSync("mkdir", ["-p", out]);
      const aId = c.id("thief");
      ok(await spawnCopy(c, inst.berth, ["run", "-d", "--bundle", a.dir, aId]).done);
      expect(await waitFor(() => existsSync(join(out, "ready")), 5000)).toBe(true);
      // victim 1: a foreground run whose program is the runtime itself, kept
      // waiting on its stdin (the core's plan channel) while the attacker looks
      const v1 = c.bundle(["/proc/self/exe", "0", "unsealed"]);
      const r1 = spawnCopy(c, inst.berth, ["run", "--bundle", v1.dir, c.id("self")], "pipe");
      await waitFor(() => existsSync(join(out, "grabbed")), 3000);
      r1.p.stdin!.end();
      await r1.done;
      // victim 2: a program that is a script whose interpreter is /proc/self/exe
      const v2 = c.bundle(["/evil"]);
      writeFileSync(join(v2.rootfs, "evil"), "#!/proc/self/exe\n", { mode: 0o755 });
      for (let i = 0; i < 5; i++) await spawnCopy(c, inst.berth, ["run", "--bundle", v2.dir, c.id("script")]).done;
      expect(await waitFor(() => existsSync(join(out, "result")), 15000)).toBe(true);
      const result = readFileSync(join(out, "result"), "utf8").trim();
      expect(result).toEndWith("wrote=0");
      expect(inst.files.map(sha)).toEqual(before);
    },
    60000,
    { skip: berthOnly("it attacks a copy of berth's own install") },
  );
});

describe("exec --cap (CVE-2022-29162)", () => {
  ctest("the capability is not inheritable: a non-root process and its children do not keep it", async (c) => {
    const id = c.id("cap");
    ok(await c.run(c.bundle(["sleep", "30"]), id, ["-d"]));
    const caps = (user: string[]) => c.berth(["exec", ...user, "--cap", "CAP_NET_RAW", id, "sh", "-c", "grep ^Cap /proc/self/status"]);
    const bit = (text: string, key: string) => BigInt(`0x${text.match(new RegExp(`^${key}:\\s*(\\w+)`, "m"))![1]}`);
    const NET_RAW = 1n << 13n;
    // root: the capability is there to use, and only in the sets runc gives it
    const root = ok(await caps([])).stdout;
    expect(bit(root, "CapEff") & NET_RAW).toBe(NET_RAW);
    expect(bit(root, "CapInh")).toBe(0n);
    expect(bit(root, "CapAmb")).toBe(0n);
    // a non-root process (and so any child of it) gets nothing through exec
    const user = ok(await caps(["--user", "1000:1000"])).stdout;
    expect(bit(user, "CapInh")).toBe(0n);
    expect(bit(user, "CapAmb")).toBe(0n);
    expect(bit(user, "CapPrm") & NET_RAW).toBe(0n);
  });
});

describe("the waiting init (CVE-2024-21626)", () => {
  ctest("between create and start the init holds no descriptor of a host directory, and exec --cwd cannot use one", async (c) => {
    const id = c.id("fds");
    ok(await c.berth(["create", "--bundle", c.bundle(["sleep", "30"]).dir, id]));
    const pid = (await c.state(id)).pid as number;
    const fds = readdirSync(`/proc/${pid}/fd`);
    // runc and crun keep the exec fifo (and stdio) alone; a directory of the
    // host (the state directory ROOT/ID) would let /proc/1/fd/N/.. walk the host
    // (a directory of the container's own /proc is no way out: berth keeps /proc/1/fd to open the fifo through)
    const ownProc = statSync(`/proc/${pid}/root/proc`).dev;
    const dirs = fds.filter((n) => {
      try {
        const st = statSync(`/proc/${pid}/fd/${n}`);
        return st.isDirectory() && st.dev !== ownProc;
      } catch {
        return false;
      }
    });
    expect(dirs.map((n) => readlinkSync(`/proc/${pid}/fd/${n}`))).toEqual([]);
    // from inside: no descriptor of the init, nor of the exec's own runtime process, is a way out
    for (const n of new Set([...fds, "3", "4", "5", "6", "7"])) {
      for (const cwd of [`/proc/1/fd/${n}`, `/proc/self/fd/${n}`]) {
        // refused (not a directory), or a directory of the container's own: never ROOT/ID, whose parent lists the container ids
        const r = await c.berth(["exec", "--cwd", cwd, id, "sh", "-c", "ls -a . .. ../.. 2>&1"]);
        expect(r.stdout).not.toContain(id);
        expect(r.stdout).not.toContain(c.root.split("/").pop()!);
      }
    }
    ok(await c.berth(["delete", "--force", id]));
  });
});

describe("sysctls (CVE-2025-52881)", () => {
  const LEASE = "/proc/sys/fs/lease-break-time";
  /** A directory holding ip_forward as a symlink to a host-global sysctl. */
  function hostile(c: Ctx): string {
    const d = c.tempDir("ipv4");
    symlinkSync(LEASE, join(d, "ip_forward"));
    return d;
  }

  ctest("a config's mount over /proc/sys/net/ipv4 is refused (as runc); the host's sysctl is unchanged", async (c) => {
    const before = readFileSync(LEASE, "utf8");
    c.defer(() => writeFileSync(LEASE, before));
    const value = before.trim() === "1" ? "2" : "1";
    const b = c.bundle(["true"], (cfg) => {
      cfg.mounts!.push({ destination: "/proc/sys/net/ipv4", type: "bind", source: hostile(c), options: ["rbind"] });
      cfg.linux!.sysctl = { "net.ipv4.ip_forward": value };
    });
    const r = await c.run(b);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr, /mounts\[\d+\]\.destination: .*\/proc\/sys\/net\/ipv4 is inside \/proc/);
    expect(readFileSync(LEASE, "utf8")).toBe(before);
  });

  ctest("a mount reaching /proc/sys/net/ipv4 through a symlink in the image cannot redirect a sysctl", async (c) => {
    const before = readFileSync(LEASE, "utf8");
    c.defer(() => writeFileSync(LEASE, before));
    const value = before.trim() === "1" ? "0" : "1";
    const b = c.bundle(["cat", "/proc/sys/net/ipv4/ip_forward"], (cfg) => {
      // the destination is a symlink in the rootfs: the config alone does not show /proc
      cfg.mounts!.push({ destination: "/ipv4", type: "bind", source: hostile(c), options: ["rbind"] });
      cfg.linux!.sysctl = { "net.ipv4.ip_forward": value };
    });
    symlinkSync("/proc/sys/net/ipv4", join(b.rootfs, "ipv4"));
    const r = await c.run(b);
    // the write went to the container's own net.ipv4.ip_forward (or the run failed); never to the host's lease-break-time
    expect(readFileSync(LEASE, "utf8")).toBe(before);
    if (r.code === 0) expect(r.stdout.trim()).toBe(before.trim());
  });
});

describe("proc and sysfs in the rootfs (CVE-2019-19921, CVE-2023-27561)", () => {
  for (const dir of ["proc", "sys"]) {
    ctest(`a rootfs whose /${dir} is a symlink is refused`, async (c) => {
      const b = c.bundle(["true"]);
      rmdirSync(join(b.rootfs, dir));
      mkdirSync(join(b.rootfs, "elsewhere"));
      symlinkSync("/elsewhere", join(b.rootfs, dir));
      const r = await c.run(b);
      expect(r.code).not.toBe(0);
      berthSays(r.stderr, `/${dir} in the rootfs is not a directory`);
      expect(readdirSync(join(b.rootfs, "elsewhere"))).toEqual([]);
    });
  }
});

describe("masks against a racing rootfs", () => {
  ctest(
    "/proc swapped with a symlink while 20 containers start: each is refused or gets every mask and read-only path",
    async (c) => {
      // the owner of the rootfs (a shared volume) keeps exchanging /proc (a
      // directory) and /proc-alt (a symlink to /elsewhere); masks and read-only
      // paths re-resolved after pivot_root missed the real procfs in 23 of 30
      // containers before berth applied them on the mount it made
      const check = [
        "for d in /proc /proc-alt /elsewhere; do",
        "  [ -e $d/sysrq-trigger ] && (exec 3>>$d/sysrq-trigger) 2>/dev/null && echo writable=$d/sysrq-trigger",
        "  [ -e $d/sys/fs/lease-break-time ] && (exec 3>>$d/sys/fs/lease-break-time) 2>/dev/null && echo writable=$d/sys",
        '  [ -e $d/kcore ] && [ "$(head -c 1 $d/kcore | wc -c)" != 0 ] && echo readable=$d/kcore',
        "done; echo done",
      ].join("\n");
      const b = c.bundle(["sh", "-c", check]);
      mkdirSync(join(b.rootfs, "elsewhere"));
      symlinkSync("/elsewhere", join(b.rootfs, "proc-alt"));
      const sw = Bun.spawn([swapper, join(b.rootfs, "proc"), join(b.rootfs, "proc-alt"), "30"], { stdout: "pipe", stderr: "inherit" });
      c.trackPid(sw.pid);
      c.defer(() => sw.kill("SIGKILL"));
      let refused = 0,
        ran = 0;
      for (let i = 0; i < 20; i++) {
        const r = await c.run(b);
        if (r.code !== 0) {
          berthSays(r.stderr, "/proc in the rootfs is not a directory");
          refused++;
          continue;
        }
        ran++;
        expect(r.stdout.trim().split("\n")).toEqual(["done"]);
      }
      sw.kill("SIGKILL");
      await sw.exited;
      expect(refused + ran).toBe(20);
    },
    120000,
    { skip: berthOnly("runc 1.1.5 loses this race: one of its containers got a writable /proc/sys (the masked-path race later runc releases fixed)") },
  );
});

describe("namespace files", () => {
  ctest(
    "every namespace path is opened in the runtime's own namespaces, before a joined mount namespace's /proc can stand in",
    async (c) => {
      // a mount namespace (kept by a bind of its nsfs file) whose /proc is an empty tmpfs
      const keep = c.tempDir("mntns");
      const sh = (cmd: string) => {
        const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
      };
      sh(`mount --bind ${keep} ${keep} && mount --make-private ${keep} && touch ${keep}/mnt`);
      c.defer(() => sh(`umount ${keep}/mnt 2>/dev/null; umount ${keep}`));
      sh(`unshare --mount=${keep}/mnt --propagation private mount -t tmpfs fakeproc /proc`);
      const a = c.id("nsA");
      ok(await c.run(c.bundle(["sleep", "30"]), a, ["-d"]));
      const pidA = (await c.state(a)).pid as number;
      // the mount namespace comes first in the list: /proc/PID/ns/net must still be the host's
      const r = await c.sh("readlink /proc/self/ns/net", (cfg) => {
        cfg.linux!.namespaces = [
          { type: "mount", path: `${keep}/mnt` },
          { type: "network", path: `/proc/${pidA}/ns/net` },
          ...cfg.linux!.namespaces!.filter((n) => n.type !== "mount" && n.type !== "network"),
        ];
      });
      ok(r);
      expect(r.stdout.trim()).toBe(readlinkSync(`/proc/${pidA}/ns/net`));
    },
    30000,
    { skip: berthOnly("runc 1.1 reads /proc/self/mountinfo in a joined mount namespace, which fails here before any namespace file") },
  );
});

describe("--no-pivot (runc's --no-pivot with the host's full /proc left in the mount namespace)", () => {
  ctest("the host is out of reach: `..`, /proc/1/root, the descriptors, a chroot escape; a user namespace in it cannot mount a fresh procfs", async (c) => {
    // a user with CAP_SYS_CHROOT (Docker's default set has it); not root, so
    // that it may map itself in a user namespace of its own
    const b = c.bundle(
      [
        "sh",
        "-c",
        [
          "echo root=$(stat -c %d:%i /)",
          "echo dotdot=$(stat -c %d:%i /../../..)",
          "echo proc1=$(stat -c %d:%i /proc/1/root/..)",
          'for f in /proc/self/fd/*; do [ -d "$f" ] && echo "dirfd=$(readlink $f)"; done',
          "/chroot-escape /esc",
          // the kernel lets a user namespace mount procfs only where a full one is in its mount namespace
          "unshare -U -r -m -p -f sh -c 'echo userns=ok; mkdir -p /tmp/p; mount -t proc proc /tmp/p 2>/dev/null && echo procfs=mounted || echo procfs=refused'",
        ].join("; "),
      ],
      (cfg) => {
        cfg.process!.user = { uid: 1000, gid: 1000 };
        const caps = ["CAP_SYS_CHROOT"];
        cfg.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
        cfg.root!.readonly = false;
      },
    );
    copyFileSync(chrootEscape, join(b.rootfs, "chroot-escape"));
    chmodSync(join(b.rootfs, "chroot-escape"), 0o755);
    mkdirSync(join(b.rootfs, "esc"));
    const r = ok(await c.run(b, c.id("nopivot"), ["--no-pivot"]));
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/[= ]/, 2) as [string, string]),
    );
    expect(got.root).toMatch(/^\d+:\d+$/);
    expect(got).toEqual({ root: got.root, dotdot: got.root, proc1: got.root, before: got.root, after: got.root, userns: "ok", procfs: "refused" });
  });
});

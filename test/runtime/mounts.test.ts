// The root, mounts, /dev, masked and read-only paths, checked from inside.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berthOnly, createFails, ctest, kv, ok, onlyOnBerth, UML_KERNEL, type Ctx, type Spec } from "./helpers.ts";

/** The mountinfo line (inside) for a mount point, from `cat /proc/self/mountinfo` output. */
function mountLine(mountinfo: string, mp: string): string | undefined {
  return mountinfo
    .split("\n")
    .filter((l) => l.split(" ")[4] === mp)
    .pop();
}
function mountOpts(mountinfo: string, mp: string): string[] {
  const l = mountLine(mountinfo, mp);
  return l ? l.split(" ")[5]!.split(",") : [];
}

/** A host mount made by the test (removed after it). */
function hostMount(c: Ctx, args: string[], target: string): void {
  const r = spawnSync("mount", [...args, target], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mount ${args.join(" ")} ${target}: ${r.stderr}`);
  c.defer(() => {
    spawnSync("umount", ["-l", target]);
  });
}

describe("root", () => {
  ctest("root.readonly makes / read-only; without it / is writable", async (c) => {
    const script = "touch /probe 2>&1 && echo wrote; awk '$5 == \"/\"' /proc/self/mountinfo";
    const ro = ok(await c.sh(script, (cfg) => (cfg.root!.readonly = true)));
    expect(ro.stdout).toContain("Read-only file system");
    expect(ro.stdout).not.toContain("wrote");
    expect(mountOpts(ro.stdout, "/")).toContain("ro");
    const rw = ok(await c.sh(script, (cfg) => (cfg.root!.readonly = false)));
    expect(rw.stdout).toContain("wrote");
  });

  ctest("--no-pivot: the rootfs is moved to / and chrooted into", async (c) => {
    const b = c.bundle(["sh", "-c", "echo root=$(awk '$5 == \"/\" {print $4}' /proc/self/mountinfo | tail -1); ls /bin/busybox"]);
    const r = ok(await c.run(b, c.id("nopivot"), ["--no-pivot"]));
    expect(r.stdout).toContain("/bin/busybox");
    // the root mount is the rootfs directory of the host's filesystem
    expect(r.stdout).toMatch(/root=\/.*rootfs/);
  });

  ctest("rootfsPropagation: private, slave and shared show in the root's mountinfo", async (c) => {
    const fields = async (prop: NonNullable<NonNullable<Spec["linux"]>["rootfsPropagation"]>) => {
      const r = ok(await c.sh("awk '$5 == \"/\"' /proc/self/mountinfo", (cfg) => (cfg.linux!.rootfsPropagation = prop)));
      // optional fields sit between the mount options and the "-" separator
      const parts = r.stdout.trim().split(" ");
      return parts.slice(6, parts.indexOf("-")).join(" ");
    };
    expect(await fields("private")).toBe("");
    expect(await fields("rprivate")).toBe("");
    const shared = await fields("shared");
    onlyOnBerth("runc 1.1 leaves the root mount private with rootfsPropagation shared", () => expect(shared).toMatch(/^shared:\d+$/));
    // slave of a private root: the kernel shows no master, it simply stops receiving
    expect(await fields("rslave")).not.toMatch(/shared/);
  });

  ctest("mounts made in the container do not propagate to a shared host mount holding the bundle", async (c) => {
    const shared = c.tempDir("shared");
    hostMount(c, ["--bind", shared], shared);
    spawnSync("mount", ["--make-shared", shared]);
    const hostLine = () =>
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .find((l) => l.split(" ")[4] === shared) ?? "";
    expect(hostLine()).toMatch(/ shared:\d+ /);
    for (const prop of [undefined, "rshared" as const]) {
      const b = c.bundle(["sleep", "30"], (cfg) => {
        cfg.mounts!.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
        if (prop) cfg.linux!.rootfsPropagation = prop;
      });
      // the rootfs lives inside the shared host mount
      const rootfs = join(shared, `rootfs-${prop ?? "default"}`);
      spawnSync("cp", ["-a", b.rootfs, rootfs]);
      b.config.root!.path = rootfs;
      b.write();
      const id = c.id("prop");
      ok(await c.run(b, id, ["-d"]));
      const during = readFileSync("/proc/self/mountinfo", "utf8");
      expect(during.split("\n").filter((l) => (l.split(" ")[4] ?? "").startsWith(rootfs))).toEqual([]);
      ok(await c.berth(["delete", "--force", id]));
      // the host's mount keeps its propagation
      expect(hostLine()).toMatch(/ shared:\d+ /);
    }
  });
});

describe("mounts", () => {
  ctest("bind mounts: ro, nosuid/nodev/noexec, a single file, rbind with submounts, rro", async (c) => {
    const host = c.tempDir("src");
    writeFileSync(join(host, "hello"), "hello from the host\n");
    writeFileSync(join(host, "script"), "#!/bin/sh\necho ran\n");
    chmodSync(join(host, "script"), 0o755);
    mkdirSync(join(host, "sub"));
    hostMount(c, ["-t", "tmpfs", "-o", "size=1m", "tmpfs"], join(host, "sub"));
    writeFileSync(join(host, "sub", "deep"), "deep\n");
    const file = join(c.tempDir("file"), "single.txt");
    writeFileSync(file, "just one file\n");
    const script = [
      "echo ro_read=$(cat /ro/hello)",
      "touch /ro/x 2>/dev/null && echo ro_write=yes || echo ro_write=no",
      "/flags/script >/dev/null 2>&1 && echo exec=yes || echo exec=no",
      "echo file=$(cat /etc/single.txt)",
      "echo bind_sub=$(cat /plain/sub/deep 2>/dev/null || echo missing)",
      "echo rbind_sub=$(cat /rec/sub/deep)",
      "touch /rec/sub/w 2>/dev/null && echo rbind_ro_sub_write=yes || echo rbind_ro_sub_write=no",
      "touch /rro/sub/w 2>/dev/null && echo rro_sub_write=yes || echo rro_sub_write=no",
      "echo ---; cat /proc/self/mountinfo",
    ].join("; ");
    const r = ok(
      await c.sh(script, (cfg) => {
        cfg.mounts!.push(
          { destination: "/ro", type: "bind", source: host, options: ["bind", "ro"] },
          { destination: "/flags", type: "bind", source: host, options: ["bind", "nosuid", "nodev", "noexec"] },
          { destination: "/etc/single.txt", type: "bind", source: file, options: ["bind", "ro"] },
          { destination: "/plain", source: host, options: ["bind"] },
          { destination: "/rec", source: host, options: ["rbind", "ro"] },
          { destination: "/rro", source: host, options: ["rbind", "rro"] },
        );
      }),
    );
    const v = kv(r.stdout.split("---")[0]!);
    const mi = r.stdout.split("---")[1]!;
    expect(v.ro_read).toBe("hello from the host");
    expect(v.ro_write).toBe("no");
    expect(mountOpts(mi, "/ro")).toContain("ro");
    expect(v.exec).toBe("no");
    expect(mountOpts(mi, "/flags")).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec"]));
    expect(v.file).toBe("just one file");
    // bind is not recursive: the tmpfs under sub/ is not there
    expect(v.bind_sub).toBe("missing");
    expect(v.rbind_sub).toBe("deep");
    // plain ro on an rbind covers the top mount only; rro covers every submount
    expect(v.rbind_ro_sub_write).toBe("yes");
    expect(v.rro_sub_write).toBe("no");
    expect(mountOpts(mi, "/rro/sub")).toContain("ro");
    // nothing was written into the host's files through the read-only mounts
    expect(readFileSync(join(host, "hello"), "utf8")).toBe("hello from the host\n");
  });

  ctest("tmpfs with size and mode; proc, sysfs, devpts, mqueue and cgroup mounts", async (c) => {
    const script = [
      "echo mode=$(stat -c %a /scratch)",
      "echo blocks=$(df -k /scratch | tail -1 | awk '{print $2}')",
      "dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null && echo big=fits || echo big=nospace",
      "echo proc=$(cat /proc/1/comm)",
      "echo sysfs=$(cat /sys/kernel/mm/transparent_hugepage/enabled >/dev/null 2>&1 && echo yes; ls /sys/class | grep -c .)",
      // v1: one directory per controller; v2: one hierarchy with every controller's files
      "echo cg_mem=$(ls /sys/fs/cgroup/memory/ /sys/fs/cgroup/ 2>/dev/null | grep -c '^memory.limit_in_bytes$\\|^memory.max$')",
      "echo cg_pids=$(ls /sys/fs/cgroup/pids/ /sys/fs/cgroup/ 2>/dev/null | grep -c '^pids.max$')",
      "echo ---; cat /proc/self/mountinfo",
    ].join("; ");
    const r = ok(
      await c.sh(script, (cfg) => {
        cfg.mounts!.push({ destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=1770", "nosuid"] });
      }),
    );
    const v = kv(r.stdout.split("---")[0]!);
    const mi = r.stdout.split("---")[1]!;
    expect(v.mode).toBe("1770");
    expect(v.blocks).toBe("1024");
    expect(v.big).toBe("nospace");
    expect(v.proc).toBe("sh");
    const fstype = (mp: string) => mountLine(mi, mp)?.split(" - ")[1]?.split(" ")[0];
    expect(fstype("/proc")).toBe("proc");
    expect(fstype("/sys")).toBe("sysfs");
    expect(mountOpts(mi, "/sys")).toContain("ro");
    expect(fstype("/dev/pts")).toBe("devpts");
    expect(fstype("/dev/mqueue")).toBe("mqueue");
    expect(fstype("/dev")).toBe("tmpfs");
    expect(fstype("/scratch")).toBe("tmpfs");
    expect(v.cg_mem).toBe("1");
    expect(v.cg_pids).toBe("1");
    expect(fstype("/sys/fs/cgroup/memory") ?? fstype("/sys/fs/cgroup")).toMatch(/^cgroup2?$/);
  });

  ctest("the container's own cgroup is what its cgroup mount shows", async (c) => {
    const id = c.id("cgm");
    const b = c.bundle(["sh", "-c", "{ cat /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null || cat /sys/fs/cgroup/cgroup.procs; } | wc -l; sleep 0.1"]);
    const r = ok(await c.run(b, id));
    // its own cgroup holds sh and the pipeline: not the host's hundreds of processes
    expect(Number(r.stdout.trim())).toBeGreaterThan(0);
    expect(Number(r.stdout.trim())).toBeLessThan(6);
  });

  // config.md (runtime-spec 1.1 on): a relative destination is deprecated, and "MUST be interpreted as relative to "/"" (runc and crun do)
  ctest("a relative mount destination is mounted relative to /", async (c) => {
    const r = ok(
      await c.sh("awk '$5 == \"/rel/tmp\" {print $9}' /proc/self/mountinfo", (cfg) =>
        cfg.mounts!.push({ destination: "rel/tmp", type: "tmpfs", source: "tmpfs" }),
      ),
    );
    expect(r.stdout.trim()).toBe("tmpfs");
  });

  // config-linux.md mountLabel: a security setting is applied or refused, never dropped (runc applies it as
  // context= and so fails without SELinux; berth ignored it)
  ctest("linux.mountLabel without SELinux: a clear error and nothing left", async (c) => {
    if (existsSync("/sys/fs/selinux/enforce")) return; // this host has it: the label would be applied instead
    await createFails(
      c,
      c.bundle(["true"], (cfg) => (cfg.linux!.mountLabel = "system_u:object_r:container_file_t:s0")).dir,
      /linux\.mountLabel: SELinux is not enabled/,
      c.id("mlabel"),
    );
  });
});

describe("idmapped mounts", () => {
  /** A host directory with a file of host root's, one of uid 1000's. */
  function volume(c: Ctx): string {
    const dir = join(c.tempDir("idmap"), "vol");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "byroot"), "r\n");
    writeFileSync(join(dir, "byuser"), "u\n");
    chownSync(join(dir, "byuser"), 1000, 1000);
    return dir;
  }
  const userns = (cfg: Spec) => {
    cfg.linux!.namespaces!.push({ type: "user" });
    cfg.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    cfg.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const listing = "stat -c '%n %u:%g' /data/byroot /data/byuser; id -u; echo new > /data/fromctr && echo wrote";

  ctest(
    "idmap with the container's user namespace mapping: host files keep their owners inside, new files are written as them",
    async (c) => {
      const vol = volume(c);
      // the container's root (host uid 100000) cannot create /data in the image: it is there
      const bundle = (options: string[]) => {
        const b = c.bundle(["sh", "-c", listing], (cfg) => {
          userns(cfg);
          cfg.mounts!.push({ destination: "/data", type: "bind", source: vol, options });
        });
        mkdirSync(join(b.rootfs, "data"));
        return b;
      };
      const r = ok(await c.run(bundle(["bind", "idmap"])));
      expect(r.stdout).toBe("/data/byroot 0:0\n/data/byuser 1000:1000\n0\nwrote\n");
      // on the host, the container's root wrote as the volume's root, not as 100000
      expect(statSync(join(vol, "fromctr")).uid).toBe(0);
      // the same mount without idmap: the files belong to nobody inside, and root cannot write
      const plain = await c.run(bundle(["bind"]));
      expect(plain.stdout).toContain("/data/byroot 65534:65534\n/data/byuser 65534:65534\n");
      expect(plain.stdout).not.toContain("wrote");
    },
    30000,
    { skip: UML_KERNEL || berthOnly("idmapped mounts (runtime-spec 1.2) are not in runc 1.1") },
  );

  ctest(
    "a mount's own mappings, without a user namespace; ridmap with ro",
    async (c) => {
      const vol = volume(c);
      const r = ok(
        await c.sh("stat -c '%n %u:%g' /data/byroot /data/byuser; touch /data/x 2>&1 || true", (cfg) => {
          cfg.mounts!.push({
            destination: "/data",
            type: "bind",
            source: vol,
            options: ["rbind", "ridmap", "ro"],
            uidMappings: [{ containerID: 0, hostID: 1234, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: 4321, size: 1 }],
          });
        }),
      );
      // ids outside the mapping show as the overflow id
      expect(r.stdout).toBe("/data/byroot 1234:4321\n/data/byuser 65534:65534\ntouch: /data/x: Read-only file system\n");
    },
    30000,
    { skip: UML_KERNEL || berthOnly("idmapped mounts (runtime-spec 1.2) are not in runc 1.1") },
  );

  ctest(
    "idmap without any mapping, or on a mount that is not a bind mount: a clear error, nothing left",
    async (c) => {
      const vol = volume(c);
      const noMap = await c.sh("true", (cfg) => cfg.mounts!.push({ destination: "/data", type: "bind", source: vol, options: ["bind", "idmap"] }));
      expect(noMap.code).not.toBe(0);
      expect(noMap.stderr).toMatch(/mounts\[\d+\]: idmap needs uidMappings and gidMappings/);
      const tmpfs = await c.sh("true", (cfg) => cfg.mounts!.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["idmap"] }));
      expect(tmpfs.code).not.toBe(0);
      expect(tmpfs.stderr).toContain("only bind mounts can be idmapped");
    },
    30000,
    { skip: berthOnly("idmapped mounts (runtime-spec 1.2) are not in runc 1.1") },
  );
});

describe("/dev", () => {
  ctest("default devices, links, /dev/shm and linux.devices", async (c) => {
    const script = [
      "for d in null zero full random urandom tty; do echo $d=$(stat -c '%F %t:%T %a' /dev/$d); done",
      "for l in fd stdin stdout stderr ptmx; do echo link_$l=$(readlink /dev/$l); done",
      "echo shm=$(stat -c '%F %a' /dev/shm)",
      "echo mine=$(stat -c '%F %t:%T %a %u:%g' /dev/mynull)",
      "echo pipe=$(stat -c '%F' /dev/mypipe)",
      "echo x > /dev/mynull && echo mine_write=ok",
      "echo zero=$(head -c 4 /dev/zero | od -An -tx1 | tr -d ' ')",
      "echo full=$(echo x 2>&1 > /dev/full | grep -c 'No space')",
      "echo ls=$(ls /dev | tr '\\n' ' ')",
    ].join("; ");
    const r = ok(
      await c.sh(script, (cfg) => {
        cfg.linux!.devices = [
          { path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o640, uid: 0, gid: 5 },
          { path: "/dev/mypipe", type: "p" },
        ];
      }),
    );
    const v = kv(r.stdout);
    expect(v.null).toBe("character special file 1:3 666");
    expect(v.zero).toBe("00000000");
    expect(v.full).toBe("1");
    expect(v.random).toBe("character special file 1:8 666");
    expect(v.urandom).toBe("character special file 1:9 666");
    expect(v.tty).toBe("character special file 5:0 666");
    expect(v.link_fd).toBe("/proc/self/fd");
    expect(v.link_stdin).toBe("/proc/self/fd/0");
    expect(v.link_stdout).toBe("/proc/self/fd/1");
    expect(v.link_stderr).toBe("/proc/self/fd/2");
    expect(v.link_ptmx).toBe("pts/ptmx");
    expect(v.shm).toBe("directory 1777");
    expect(v.mine).toBe("character special file 1:3 640 0:5");
    expect(v.pipe).toBe("fifo");
    expect(v.mine_write).toBe("ok");
    // no host devices leak in (e.g. disks)
    expect(v.ls).not.toMatch(/\b(vda|sda|nvme0|kmsg|mem)\b/);
  });

  // A /dev bound from elsewhere (e.g. the host's own, as -v /dev:/dev asks) is
  // used as it is: a device node made for the container there would replace
  // the source directory's own (on the host, through the bind; in a user
  // namespace by a plain file). Here the source is a scratch directory that
  // stands for the host's /dev, with a "node" of its own at a linux.devices path.
  ctest("a /dev bound from elsewhere gets no device node made in it", async (c) => {
    const hostDev = c.tempDir("hostdev");
    writeFileSync(join(hostDev, "mynull"), "the source's own file\n");
    // the masks (maskedPaths) need a null device in the container's /dev, as on a host's
    expect(spawnSync("mknod", ["-m", "666", join(hostDev, "null"), "c", "1", "3"]).status).toBe(0);
    const r = ok(
      await c.sh("cat /dev/mynull; ls /dev | tr '\\n' ' '", (cfg) => {
        cfg.mounts = (cfg.mounts ?? []).filter((m) => !m.destination.startsWith("/dev"));
        cfg.mounts.push({ destination: "/dev", type: "bind", source: hostDev, options: ["rbind", "rw"] });
        cfg.linux!.devices = [{ path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
      }),
    );
    expect(r.stdout).toContain("the source's own file");
    // the source keeps its own file, and gets nothing else
    expect(statSync(join(hostDev, "mynull")).isFile()).toBe(true);
    expect(readFileSync(join(hostDev, "mynull"), "utf8")).toBe("the source's own file\n");
    expect(spawnSync("ls", ["-A", hostDev], { encoding: "utf8" }).stdout.trim().split("\n")).toEqual(["mynull", "null"]);
  });
});

describe("device access", () => {
  // runc: linux.resources.devices alone decides access; a listed device gets only its node
  ctest(
    "a listed device gets the access the config's rules give (here read only); one they do not name is not usable",
    async (c) => {
      // opening is enough (": >" writes nothing): fuse (10:229) and kmsg (1:11) are no runtime's default
      // devices (tun, 10:200, is one of runc's)
      const script = [
        "(: < /dev/ro) 2>/dev/null && echo ro_read=allowed || echo ro_read=denied",
        "(: > /dev/ro) 2>/dev/null && echo ro_write=allowed || echo ro_write=denied",
        "(: > /dev/rw) 2>/dev/null && echo rw_write=allowed || echo rw_write=denied",
      ].join("; ");
      const r = ok(
        await c.sh(script, (cfg) => {
          cfg.linux!.devices = [
            { path: "/dev/ro", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
            { path: "/dev/rw", type: "c", major: 1, minor: 11, fileMode: 0o666, uid: 0, gid: 0 },
          ];
          cfg.linux!.resources = {
            ...(cfg.linux!.resources ?? {}),
            devices: [
              { allow: false, access: "rwm" },
              { allow: true, type: "c", major: 10, minor: 229, access: "r" },
            ],
          };
        }),
      );
      expect(kv(r.stdout)).toEqual({ ro_read: "allowed", ro_write: "denied", rw_write: "denied" });
    },
    30000,
    { skip: UML_KERNEL ? "the UML kernel has no fuse or tun driver" : false },
  );
});

describe("masked and read-only paths", () => {
  ctest("maskedPaths hide files and directories; readonlyPaths cannot be written", async (c) => {
    const b = c.bundle([], (cfg) => {
      cfg.linux!.maskedPaths = [...cfg.linux!.maskedPaths!, "/secret", "/etc/secret.txt", "/does/not/exist"];
      cfg.linux!.readonlyPaths = [...cfg.linux!.readonlyPaths!, "/data", "/not/there"];
      cfg.root!.readonly = false;
    });
    mkdirSync(join(b.rootfs, "secret"));
    writeFileSync(join(b.rootfs, "secret/key"), "TOPSECRET\n");
    writeFileSync(join(b.rootfs, "etc/secret.txt"), "TOPSECRET\n");
    mkdirSync(join(b.rootfs, "data"));
    b.config.process!.args = [
      "sh",
      "-c",
      [
        "echo dir=$(ls -A /secret | wc -l)",
        "echo file=$(cat /etc/secret.txt | wc -c)",
        "echo kcore=$(head -c 16 /proc/kcore | wc -c)",
        "echo keys=$(cat /proc/keys | wc -c)",
        "echo acpi=$(ls -A /proc/acpi 2>/dev/null | wc -l)",
        "touch /secret/new 2>/dev/null && echo dir_write=yes || echo dir_write=no",
        "touch /data/new 2>/dev/null && echo ro_write=yes || echo ro_write=no",
        "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys_write=yes || echo sys_write=no",
        "echo x > /proc/sysrq-trigger 2>/dev/null && echo sysrq=yes || echo sysrq=no",
        "touch /elsewhere && echo rw_write=yes",
      ].join("; "),
    ];
    b.write();
    const v = kv(ok(await c.run(b)).stdout);
    expect(v.dir).toBe("0");
    expect(v.file).toBe("0");
    expect(v.kcore).toBe("0");
    expect(v.keys).toBe("0");
    expect(v.acpi).toBe("0");
    expect(v.dir_write).toBe("no");
    expect(v.ro_write).toBe("no");
    expect(v.sys_write).toBe("no");
    expect(v.sysrq).toBe("no");
    expect(v.rw_write).toBe("yes");
    // the image's files are unchanged underneath
    expect(readFileSync(join(b.rootfs, "secret/key"), "utf8")).toBe("TOPSECRET\n");
  });
});

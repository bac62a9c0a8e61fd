// The process's settings, checked from inside: sysctl, rlimits, oomScoreAdj,
// user/groups/umask, capabilities, noNewPrivileges, seccomp, personality,
// ioPriority, scheduler, and the LSM labels this host cannot give.
import { beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berthOnly, berthSays, createFails, ctest, kv, ok, statusField, type Ctx, type Spec, UML_KERNEL, waitFor } from "./helpers.ts";

// a seccomp agent (C, libseccomp): Bun cannot receive file descriptors over a socket
let seccompAgent = "";
beforeAll(() => {
  seccompAgent = join(import.meta.dir, "../../build/test-seccomp-agent");
  const src = join(import.meta.dir, "fixtures/seccomp-agent.c");
  const r = spawnSync("gcc", ["-O", "-Wall", "-o", seccompAgent, src, "-lseccomp"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`compiling ${src}: ${r.stderr}`);
});

const CAP = { CHOWN: 0, DAC_OVERRIDE: 1, KILL: 5, SETUID: 7, NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_ADMIN: 21, AUDIT_WRITE: 29 };
const mask = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n);
const hex = (s: string | undefined) => BigInt(`0x${s ?? "x"}`);

describe("kernel parameters and limits", () => {
  ctest("sysctl, rlimits (lowered) and oomScoreAdj (raised) take effect", async (c) => {
    const hostForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    const hostInitOom = readFileSync("/proc/1/oom_score_adj", "utf8");
    const r = ok(
      await c.sh(
        [
          "echo forward=$(cat /proc/sys/net/ipv4/ip_forward)",
          "echo rmid=$(cat /proc/sys/kernel/shm_rmid_forced)",
          "echo soft=$(ulimit -n); echo hard=$(ulimit -Hn)",
          "echo core=$(ulimit -c)",
          "echo limits=$(grep 'Max open files' /proc/self/limits | tr -s ' ')",
          "echo oom=$(cat /proc/self/oom_score_adj)",
        ].join("; "),
        (cfg) => {
          cfg.linux!.sysctl = { "net.ipv4.ip_forward": hostForward === "1" ? "0" : "1", "kernel/shm_rmid_forced": "1" };
          cfg.process!.rlimits = [
            { type: "RLIMIT_NOFILE", soft: 100, hard: 200 },
            { type: "RLIMIT_CORE", soft: 0, hard: 0 },
          ];
          cfg.process!.oomScoreAdj = 567;
        },
      ),
    );
    const v = kv(r.stdout);
    expect(v.forward).toBe(hostForward === "1" ? "0" : "1");
    expect(v.rmid).toBe("1");
    expect(v.soft).toBe("100");
    expect(v.hard).toBe("200");
    expect(v.core).toBe("0");
    expect(v.limits).toBe("Max open files 100 200 files");
    expect(v.oom).toBe("567");
    // the host's values are untouched
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(hostForward);
    // the container's pid 1 is not the host's: the host's init keeps its score
    expect(readFileSync("/proc/1/oom_score_adj", "utf8")).toBe(hostInitOom);
  });

  ctest("an rlimit of 18446744073709551615 (RLIM_INFINITY, how clients write unlimited) is unlimited", async (c) => {
    // RLIMIT_CORE: its hard limit is unlimited on the host, so no CAP_SYS_RESOURCE is needed
    const b = c.bundle(["sh", "-c", "echo soft=$(ulimit -c) hard=$(ulimit -Hc)"], (cfg) => {
      cfg.process!.rlimits = [{ type: "RLIMIT_CORE", soft: 987654321, hard: 987654321 }];
    });
    // the exact text a Go client writes: a JSON number no double holds
    const p = join(b.dir, "config.json");
    writeFileSync(p, readFileSync(p, "utf8").replaceAll("987654321", "18446744073709551615"));
    const r = ok(await c.berth(["run", "--bundle", b.dir, c.id("inf")]));
    expect(r.stdout.trim()).toBe("soft=unlimited hard=unlimited");
  });

  ctest("an rlimit above the host's hard limit fails create with an error naming it, leaving nothing", async (c) => {
    const b = c.bundle(["true"], (cfg) => {
      cfg.process!.rlimits = [
        { type: "RLIMIT_CORE", soft: 0, hard: 0 },
        { type: "RLIMIT_NOFILE", soft: 1 << 30, hard: 1 << 30 },
      ];
    });
    await createFails(c, b.dir, /process\.rlimits\[1\] \(RLIMIT_NOFILE\)/, c.id("rlim"));
  });
});

describe("user", () => {
  ctest("uid, gid, additionalGids and umask", async (c) => {
    const r = ok(
      await c.sh(
        "echo id=$(id); echo groups=$(grep Groups: /proc/self/status | cut -f2); echo umask=$(umask); touch /tmp/f; echo mode=$(stat -c %a /tmp/f); echo home=$(pwd)",
        (cfg) => {
          cfg.process!.user = { uid: 1000, gid: 1000, additionalGids: [2000, 3000], umask: 0o077 };
          cfg.process!.cwd = "/home/user";
          cfg.root!.readonly = false;
        },
      ),
    );
    const v = kv(r.stdout);
    expect(v.id).toBe("uid=1000(user) gid=1000(user) groups=2000(extra),3000");
    expect(v.groups!.trim().split(/\s+/)).toEqual(["2000", "3000"]);
    expect(v.umask).toBe("0077");
    expect(v.mode).toBe("600");
    expect(v.home).toBe("/home/user");
  });

  ctest("a root process without additionalGids gets no supplementary groups from the host", async (c) => {
    const r = ok(await c.sh("grep Groups: /proc/self/status | cut -f2"));
    expect(r.stdout.trim()).toBe("");
  });
});

describe("capabilities and privileges", () => {
  ctest("the default set: effective, permitted and bounding as configured, nothing inheritable or ambient", async (c) => {
    const r = ok(await c.sh("cat /proc/self/status"));
    const want = mask(CAP.KILL, CAP.NET_BIND_SERVICE, CAP.AUDIT_WRITE);
    expect(hex(statusField(r.stdout, "CapEff"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapPrm"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapBnd"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapInh"))).toBe(0n);
    expect(hex(statusField(r.stdout, "CapAmb"))).toBe(0n);
    expect(statusField(r.stdout, "NoNewPrivs")).toBe("1");
  });

  ctest("all five sets for a non-root user: ambient capabilities survive exec", async (c) => {
    const r = ok(
      await c.sh("cat /proc/self/status; chown 0 /tmp/owned 2>&1 || true", (cfg) => {
        cfg.process!.user = { uid: 1000, gid: 1000 };
        const set = ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"];
        cfg.process!.capabilities = { bounding: [...set, "CAP_KILL"], effective: set, permitted: set, inheritable: set, ambient: set };
        cfg.process!.noNewPrivileges = false;
      }),
    );
    const want = mask(CAP.NET_BIND_SERVICE, CAP.NET_RAW);
    expect(hex(statusField(r.stdout, "CapAmb"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapInh"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapEff"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapPrm"))).toBe(want);
    expect(hex(statusField(r.stdout, "CapBnd"))).toBe(want | mask(CAP.KILL));
    expect(statusField(r.stdout, "NoNewPrivs")).toBe("0");
    expect(statusField(r.stdout, "Uid")!.split(/\s+/)).toEqual(["1000", "1000", "1000", "1000"]);
  });

  ctest("without CAP_SYS_ADMIN or CAP_CHOWN, root in the container cannot mount or chown", async (c) => {
    const r = ok(await c.sh("mount -t tmpfs none /mnt 2>&1; echo mount=$?; chown 1000 /tmp 2>&1; echo chown=$?", (cfg) => (cfg.root!.readonly = false)));
    const v = kv(r.stdout);
    expect(v.mount).not.toBe("0");
    expect(v.chown).not.toBe("0");
  });
});

describe("seccomp", () => {
  const allowAll = (extra: NonNullable<Spec["linux"]>["seccomp"]) => (cfg: Spec) => {
    cfg.root!.readonly = false;
    cfg.linux!.seccomp = extra;
  };

  ctest("errno rules, with and without argument conditions", async (c) => {
    const r = ok(
      await c.sh(
        [
          "mkdir /tmp/d 2>&1; echo mkdir=$?",
          "touch /tmp/f; chmod 640 /tmp/f; echo chmod640=$?",
          "chmod 777 /tmp/f 2>&1; echo chmod777=$?",
          "echo mode=$(stat -c %a /tmp/f)",
        ].join("; "),
        allowAll({
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          syscalls: [
            { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
            { names: ["chmod", "fchmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, value: 0o777, op: "SCMP_CMP_EQ" }] },
            { names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 2, value: 0o777, op: "SCMP_CMP_EQ" }] },
          ],
        }),
      ),
    );
    expect(r.stdout).toContain("Operation not permitted");
    const v = kv(r.stdout);
    expect(v.mkdir).toBe("1");
    expect(v.chmod640).toBe("0");
    expect(v.chmod777).toBe("1");
    expect(r.stdout).toContain("Permission denied");
    expect(v.mode).toBe("640");
  });

  ctest("defaultAction errno with an allow list", async (c) => {
    const allowed = [
      "execve",
      "brk",
      "arch_prctl",
      "mmap",
      "munmap",
      "mprotect",
      "read",
      "write",
      "writev",
      "open",
      "openat",
      "close",
      "fstat",
      "newfstatat",
      "stat",
      "lstat",
      "statx",
      "getpid",
      "getuid",
      "geteuid",
      "getgid",
      "getegid",
      "rt_sigaction",
      "rt_sigprocmask",
      "rt_sigreturn",
      "exit",
      "exit_group",
      "set_tid_address",
      "set_robust_list",
      "rseq",
      "prlimit64",
      "getrandom",
      "access",
      "faccessat",
      "faccessat2",
      "close_range",
      "ioctl",
      "fcntl",
      "getcwd",
      "readlink",
      "uname",
      "lseek",
      "dup2",
      "dup3",
      // what runc 1.1 (Go) calls between loading the filter and execve
      "fstatfs",
      "futex",
      "sched_yield",
      "nanosleep",
      "tgkill",
      "gettid",
      "getppid",
      "sigaltstack",
      "madvise",
      "epoll_pwait",
      "epoll_ctl",
      "getdents64",
    ];
    const b = c.bundle(["/bin/mkdir", "/tmp/denied"], (cfg) => {
      cfg.root!.readonly = false;
      cfg.linux!.seccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls: [{ names: allowed, action: "SCMP_ACT_ALLOW" }] };
    });
    const r = await c.run(b);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/denied': Operation not permitted");
    expect(existsSync(join(b.rootfs, "tmp/denied"))).toBe(false);
  });

  ctest("kill and kill_process end the process with SIGSYS", async (c) => {
    for (const action of ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"] as const) {
      const b = c.bundle(["uname", "-m"], (cfg) => {
        cfg.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["uname"], action }] };
      });
      const r = await c.run(b);
      expect(r.stdout).toBe("");
      expect(r.code).toBe(128 + 31);
    }
  });

  ctest("trap raises SIGSYS; trace without a tracer fails the call with ENOSYS; log allows it", async (c) => {
    const rule = (action: "SCMP_ACT_TRAP" | "SCMP_ACT_LOG") => (cfg: Spec) => {
      cfg.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["uname"], action }] };
    };
    // no SIGSYS handler in busybox: the signal ends it
    const trap = await c.run(c.bundle(["uname", "-m"], rule("SCMP_ACT_TRAP")));
    expect(trap.stdout).toBe("");
    expect(trap.code).toBe(128 + 31);
    // SCMP_ACT_TRACE with no ptracer attached: the kernel skips the call and returns ENOSYS
    const trace = await c.run(
      c.bundle(["mkdir", "/tmp/traced"], (cfg) => {
        cfg.root!.readonly = false;
        cfg.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_TRACE", errnoRet: 1 }] };
      }),
    );
    expect(trace.code).toBe(1);
    expect(trace.stderr).toContain("Function not implemented");
    const logged = ok(await c.run(c.bundle(["uname", "-m"], rule("SCMP_ACT_LOG"))));
    expect(logged.stdout.trim()).toBe("x86_64");
  });

  ctest("SCMP_ACT_NOTIFY: the listener gets the container process state and the descriptor, and answers the calls", async (c) => {
    const dir = c.tempDir("agent");
    const sock = join(dir, "agent.sock"),
      out = join(dir, "agent.out");
    const agent = Bun.spawn([seccompAgent, sock, out], { stdout: "ignore", stderr: "pipe" });
    c.defer(() => {
      agent.kill(9);
    });
    expect(await waitFor(() => existsSync(sock))).toBe(true);
    const id = c.id("notify");
    const b = c.bundle(["sh", "-c", "mkdir /tmp/nd && echo mkdir-ok; test -d /tmp/nd && echo exists || echo absent"], (cfg) => {
      cfg.root!.readonly = false;
      cfg.annotations = { "org.example/key": "v" };
      cfg.linux!.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: sock,
        listenerMetadata: "hello-agent",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" as never }],
      };
    });
    const r = ok(await c.run(b, id));
    // the agent answered "success" without making the directory
    expect(r.stdout).toBe("mkdir-ok\nabsent\n");
    expect(existsSync(join(b.rootfs, "tmp/nd"))).toBe(false);
    expect(await waitFor(() => existsSync(out) && /^nr \d+$/m.test(readFileSync(out, "utf8")))).toBe(true);
    const [json, ...calls] = readFileSync(out, "utf8").trim().split("\n");
    const st = JSON.parse(json!);
    expect(st.fds).toEqual(["seccompFd"]);
    expect(st.metadata).toBe("hello-agent");
    expect(st.state.id).toBe(id);
    expect(st.state.bundle).toBe(b.dir);
    expect(st.state.annotations).toEqual({ "org.example/key": "v" });
    expect(st.pid).toBeGreaterThan(0);
    expect(st.state.pid).toBe(st.pid);
    expect(calls.length).toBeGreaterThan(0);
    for (const l of calls) expect(["nr 83", "nr 258"]).toContain(l); // mkdir, mkdirat on x86_64
  });

  ctest("SCMP_ACT_NOTIFY for an exec'd process: the listener gets that process's state and answers its calls", async (c) => {
    const dir = c.tempDir("agent");
    const sock = join(dir, "agent.sock");
    /** An agent on SOCK for one connection (the agent takes one); a later one replaces it at the path. */
    const agent = async (out: string) => {
      const p = Bun.spawn([seccompAgent, sock, out], { stdout: "ignore", stderr: "pipe" });
      c.defer(() => {
        p.kill(9);
      });
      expect(await waitFor(() => existsSync(sock))).toBe(true);
    };
    const outInit = join(dir, "init.out"),
      outExec = join(dir, "exec.out");
    await agent(outInit);
    const id = c.id("notifyx");
    const b = c.bundle(["sleep", "60"], (cfg) => {
      cfg.root!.readonly = false;
      cfg.linux!.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: sock,
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" as never }],
      };
    });
    ok(await c.run(b, id, ["-d"]));
    expect(await waitFor(() => existsSync(outInit))).toBe(true);
    rmSync(sock);
    await agent(outExec);
    const r = ok(await c.berth(["exec", id, "sh", "-c", "mkdir /tmp/ex && echo mkdir-ok; test -d /tmp/ex && echo exists || echo absent"]));
    expect(r.stdout).toBe("mkdir-ok\nabsent\n");
    expect(await waitFor(() => existsSync(outExec) && /^nr \d+$/m.test(readFileSync(outExec, "utf8")))).toBe(true);
    const st = JSON.parse(readFileSync(outExec, "utf8").split("\n")[0]!);
    expect(st.fds).toEqual(["seccompFd"]);
    expect(st.state.id).toBe(id);
    // the exec'd process's own pid, not the init's
    expect(st.pid).not.toBe((await c.state(id)).pid);
    expect(st.pid).toBeGreaterThan(0);
  });

  ctest("SCMP_ACT_NOTIFY with no listener at listenerPath: create fails naming it, nothing left", async (c) => {
    const id = c.id("nolisten");
    const b = c.bundle(["true"], (cfg) => {
      cfg.linux!.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: join(c.tempDir("none"), "absent.sock"),
        syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" as never }],
      };
    });
    const r = await c.run(b, id);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr, "linux.seccomp.listenerPath");
    expect((await c.berth(["state", id])).code).not.toBe(0);
  });
});

describe("personality, I/O priority, scheduler", () => {
  ctest(
    "personality LINUX32 makes uname -m say i686",
    async (c) => {
      const r32 = ok(await c.sh("uname -m", (cfg) => (cfg.linux!.personality = { domain: "LINUX32" })));
      expect(r32.stdout.trim()).toBe("i686");
      const r64 = ok(await c.sh("uname -m", (cfg) => (cfg.linux!.personality = { domain: "LINUX" })));
      expect(r64.stdout.trim()).toBe("x86_64");
    },
    30000,
    { skip: UML_KERNEL || berthOnly("linux.personality (runtime-spec 1.1) is not in runc 1.1") },
  );

  ctest(
    "ioPriority and scheduler (SCHED_BATCH with nice, SCHED_IDLE)",
    async (c) => {
      const script = "echo io=$(ionice -p $$); echo policy=$(cut -d' ' -f41 /proc/$$/stat); echo nice=$(cut -d' ' -f19 /proc/$$/stat)";
      const a = kv(
        ok(
          await c.sh(script, (cfg) => {
            cfg.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 7 };
            cfg.process!.scheduler = { policy: "SCHED_BATCH", nice: 5 };
          }),
        ).stdout,
      );
      expect(a.io).toBe("best-effort: prio 7");
      expect(a.policy).toBe("3");
      expect(a.nice).toBe("5");
      const b = kv(
        ok(
          await c.sh(script, (cfg) => {
            cfg.process!.ioPriority = { class: "IOPRIO_CLASS_IDLE", priority: 0 };
            cfg.process!.scheduler = { policy: "SCHED_IDLE" };
          }),
        ).stdout,
      );
      expect(b.io).toBe("idle");
      expect(b.policy).toBe("5");
    },
    30000,
    { skip: berthOnly("process.ioPriority and process.scheduler (runtime-spec 1.2) are not in runc 1.1") },
  );
});

describe("memory policy", () => {
  // numa_maps shows each mapping's policy; the process's own applies to its program's mappings
  const NUMA = existsSync("/proc/self/numa_maps");
  const MEMPOLICY = berthOnly("linux.memoryPolicy (runtime-spec 1.3) is not in runc 1.1");
  const policyOf = async (c: Ctx, mp: NonNullable<NonNullable<Spec["linux"]>["memoryPolicy"]>) =>
    ok(await c.sh("grep -m1 /bin/busybox /proc/self/numa_maps", (cfg) => (cfg.linux!.memoryPolicy = mp))).stdout.split(" ")[1];

  ctest(
    "linux.memoryPolicy: bind, interleave, preferred, local and a mode flag take effect",
    async (c) => {
      expect(await policyOf(c, { mode: "MPOL_BIND", nodes: "0" })).toBe("bind:0");
      expect(await policyOf(c, { mode: "MPOL_INTERLEAVE", nodes: "0" })).toBe("interleave:0");
      expect(await policyOf(c, { mode: "MPOL_PREFERRED", nodes: "0" })).toBe("prefer:0");
      expect(await policyOf(c, { mode: "MPOL_LOCAL" })).toBe("local");
      expect(await policyOf(c, { mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_STATIC_NODES"] })).toBe("bind=static:0");
      // exec'd processes get it too
      const id = c.id("mpol");
      ok(
        await c.berth([
          "run",
          "-d",
          "--bundle",
          c.bundle(["sleep", "60"], (cfg) => (cfg.linux!.memoryPolicy = { mode: "MPOL_INTERLEAVE", nodes: "0" })).dir,
          id,
        ]),
      );
      expect(ok(await c.berth(["exec", id, "grep", "-m1", "/bin/busybox", "/proc/self/numa_maps"])).stdout.split(" ")[1]).toBe("interleave:0");
    },
    30000,
    { skip: (!NUMA && "no NUMA support in this kernel (no /proc/self/numa_maps)") || MEMPOLICY },
  );

  ctest(
    "a node the host does not have: create fails naming linux.memoryPolicy, nothing left",
    async (c) => {
      const b = c.bundle(["true"], (cfg) => (cfg.linux!.memoryPolicy = { mode: "MPOL_BIND", nodes: "1000" }));
      await createFails(c, b.dir, /linux\.memoryPolicy/, c.id("mpolbad"));
    },
    30000,
    { skip: MEMPOLICY },
  );
});

describe("security labels this host cannot give", () => {
  for (const [field, value] of [
    ["apparmorProfile", "berth-test"],
    ["selinuxLabel", "system_u:system_r:container_t:s0"],
  ] as const) {
    ctest(`process.${field} without the LSM: a clear error and nothing left`, async (c) => {
      const lsm = field === "apparmorProfile" ? "/sys/kernel/security/apparmor" : "/sys/fs/selinux/enforce";
      if (existsSync(lsm)) return; // this host has it: the label would be applied instead
      const b = c.bundle(["true"], (cfg) => {
        cfg.process![field] = value;
      });
      await createFails(c, b.dir, new RegExp(`process\\.${field}`), c.id("lsm"));
    });
  }
});

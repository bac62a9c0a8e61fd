// Conformance with the runtime-spec and with what runc's callers expect, for
// the process's set-up: each test names the spec sentence or the caller
// behaviour it checks. Observable behaviour only, so that the same tests can
// run against runc.
import { describe, expect } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createFails, ctest, ok, statusField, type Spec } from "./helpers.ts";

type Hook = NonNullable<NonNullable<Spec["hooks"]>["prestart"]>[number];

const STATUS = "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status";

describe("defaults of the field", () => {
  // `runc spec` and `crun spec` write ambient capabilities and no inheritable
  // set; the kernel raises an ambient capability only if it is permitted and
  // inheritable, and runc and crun leave such a capability out rather than fail.
  ctest("the capabilities of runc spec's bundle: ambient ones that are not inheritable are left out", async (c) => {
    const three = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    const r = ok(await c.sh(STATUS, (cfg) => (cfg.process!.capabilities = { bounding: three, effective: three, permitted: three, ambient: three })));
    expect(statusField(r.stdout, "CapAmb")).toBe("0000000000000000");
    expect(statusField(r.stdout, "CapEff")).toBe("0000000020000420");
  });

  ctest("an ambient capability that is permitted and inheritable is raised, also for a non-root user", async (c) => {
    const r = ok(
      await c.sh(STATUS, (cfg) => {
        cfg.process!.user = { uid: 1000, gid: 1000 };
        cfg.process!.capabilities = { bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL", "CAP_CHOWN"] };
      }),
    );
    expect(statusField(r.stdout, "CapAmb")).toBe("0000000000000020");
    expect(statusField(r.stdout, "CapEff")).toBe("0000000000000020");
  });

  // config.md, process.noNewPrivileges: the container gets no_new_privs only
  // when it is true. libseccomp sets it on every filter load unless told not
  // to; setuid programs (su, ping) then fail in every container with a profile.
  const profile = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["acct"], action: "SCMP_ACT_ERRNO" }] } as NonNullable<NonNullable<Spec["linux"]>["seccomp"]>;
  for (const user of [0, 1000]) {
    ctest(`a seccomp profile without noNewPrivileges leaves no_new_privs off (uid ${user})`, async (c) => {
      const r = ok(
        await c.sh(STATUS, (cfg) => {
          cfg.process!.noNewPrivileges = false;
          cfg.process!.user = { uid: user, gid: user };
          cfg.linux!.seccomp = profile;
        }),
      );
      expect(statusField(r.stdout, "NoNewPrivs")).toBe("0");
      expect(statusField(r.stdout, "Seccomp")).toBe("2");
    });
  }

  ctest("noNewPrivileges true with a seccomp profile sets no_new_privs", async (c) => {
    const r = ok(
      await c.sh(STATUS, (cfg) => {
        cfg.process!.noNewPrivileges = true;
        cfg.process!.user = { uid: 1000, gid: 1000 };
        cfg.linux!.seccomp = profile;
      }),
    );
    expect(statusField(r.stdout, "NoNewPrivs")).toBe("1");
    expect(statusField(r.stdout, "Seccomp")).toBe("2");
  });

  // libseccomp refuses two conditions on one argument in one rule; runc and
  // crun add each condition as a rule of its own (either one matching), and
  // profiles in the field rely on it.
  ctest("two seccomp conditions on the same argument act as separate rules", async (c) => {
    const r = await c.sh("linux32 true; echo linux32=$?; uname -m >/dev/null; echo plain=$?", (cfg) => {
      cfg.linux!.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 0, value: 8, op: "SCMP_CMP_EQ" }, // PER_LINUX32
            { index: 0, value: 0x0200000, op: "SCMP_CMP_EQ" }, // ADDR_NO_RANDOMIZE
          ],
        }],
      };
    });
    ok(r);
    expect(r.stdout).toContain("linux32=1");
    expect(r.stdout).toContain("plain=0");
  });
});

describe("errors that vanish: everything that can fail does so at create", () => {
  // runtime.md, lifecycle step 2: "If the runtime is unable to create the
  // environment specified in the config.json, it MUST generate an error";
  // runc reports these from create, and its callers (containerd, Podman) rely
  // on create failing rather than on the container dying after start.
  ctest("an rlimit above the host's hard limit (no CAP_SYS_RESOURCE)", async (c) => {
    const hard = Number(readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+\d+\s+(\d+)/m)?.[1] ?? 0);
    const b = c.bundle(["true"], (cfg) => (cfg.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: hard + 10000, hard: hard + 10000 }]));
    await createFails(c, b.dir, /process\.rlimits\[0\]/);
  });

  ctest("an I/O priority the kernel refuses", async (c) => {
    const b = c.bundle(["true"], (cfg) => (cfg.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 8 }));
    await createFails(c, b.dir, /process\.ioPriority/);
  });

  ctest("a scheduler the kernel refuses", async (c) => {
    // SCHED_DEADLINE needs a runtime of at least 1024 ns
    const b = c.bundle(["true"], (cfg) => (cfg.process!.scheduler = { policy: "SCHED_DEADLINE", runtime: 100, deadline: 1000000, period: 1000000 }));
    await createFails(c, b.dir, /process\.scheduler/);
  });

  ctest("an unknown personality domain", async (c) => {
    const b = c.bundle(["true"], (cfg) => (cfg.linux!.personality = { domain: "LINUX64" as never }));
    await createFails(c, b.dir, /linux\.personality/);
  });

  ctest("capabilities the kernel refuses to set (inheritable outside the bounding set)", async (c) => {
    const b = c.bundle(["true"], (cfg) => (cfg.process!.capabilities = { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], inheritable: ["CAP_SYS_ADMIN"] }));
    await createFails(c, b.dir, /process\.capabilities/);
  });

  ctest("a user the container's user namespace does not map", async (c) => {
    const b = c.bundle(["true"], (cfg) => {
      cfg.linux!.namespaces!.push({ type: "user" });
      cfg.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
      cfg.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
      cfg.process!.user = { uid: 0, gid: 4242 };
    });
    await createFails(c, b.dir, /process\.user\.gid/);
  });

  ctest("a seccomp rule libseccomp cannot compile", async (c) => {
    const b = c.bundle(["true"], (cfg) => {
      cfg.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["acct"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }] };
    });
    await createFails(c, b.dir, /linux\.seccomp/);
  });

  ctest("a program the container's user may not execute", async (c) => {
    const b = c.bundle(["/bin/busybox", "true"], (cfg) => (cfg.process!.user = { uid: 1000, gid: 1000 }));
    const { chmodSync } = await import("node:fs");
    chmodSync(join(b.rootfs, "bin/busybox"), 0o700);
    await createFails(c, b.dir, /\/bin\/busybox/);
  });
});

describe("lifecycle and hooks", () => {
  /** A host hook that appends its phase and the status it was given to DIR/log. */
  const logHook = (dir: string, phase: string, exit = 0): Hook => ({
    path: "/bin/sh",
    args: ["sh", "-c", `s=$(cat); s=\${s#*\\"status\\":\\"}; echo "${phase} \${s%%\\"*}" >> ${dir}/log; exit ${exit}`],
  });

  // runtime.md (1.2, the version `berth features` declares), State: "created:
  // the runtime has finished the create operation (after step 2 in the
  // lifecycle)"; prestart, createRuntime and createContainer are steps 3 to 5,
  // startContainer step 7 (runc 1.1 passes "creating" to the first two).
  ctest("each hook gets the status of its lifecycle step", async (c) => {
    const out = c.tempDir("hooks");
    const b = c.bundle(["true"], (cfg) => {
      cfg.hooks = {
        prestart: [logHook(out, "prestart")],
        createRuntime: [logHook(out, "createRuntime")],
        createContainer: [logHook(out, "createContainer")],
        startContainer: [{ path: "/bin/sh", args: ["sh", "-c", 's=$(cat); s=${s#*\\"status\\":\\"}; echo "startContainer ${s%%\\"*}" > /tmp/log'] }],
        poststart: [logHook(out, "poststart")],
        poststop: [logHook(out, "poststop")],
      };
      cfg.root!.readonly = false;
    });
    const id = c.id("status");
    ok(await c.berth(["create", "--bundle", b.dir, id]));
    ok(await c.berth(["start", id]));
    for (let i = 0; i < 300 && (await c.state(id)).status !== "stopped"; i++) await Bun.sleep(10);
    ok(await c.berth(["delete", id]));
    expect(readFileSync(join(out, "log"), "utf8").trim().split("\n")).toEqual([
      "prestart created", "createRuntime created", "createContainer created", "poststart running", "poststop stopped",
    ]);
    expect(readFileSync(join(b.rootfs, "tmp/log"), "utf8").trim()).toBe("startContainer created");
  });

  // runtime.md 1.2, lifecycle steps 9 and 13: "If any poststart [poststop]
  // hook fails, the runtime MUST log a warning, but the remaining hooks and
  // lifecycle continue as if the hook had succeeded."
  ctest("a failing poststart or poststop hook is a warning, and the phase's other hooks still run", async (c) => {
    const out = c.tempDir("hooks");
    const b = c.bundle(["sleep", "30"], (cfg) => {
      cfg.hooks = {
        poststart: [logHook(out, "poststart-1", 3), logHook(out, "poststart-2")],
        poststop: [logHook(out, "poststop-1", 4), logHook(out, "poststop-2")],
      };
    });
    const id = c.id("warn");
    ok(await c.berth(["create", "--bundle", b.dir, id]));
    const start = ok(await c.berth(["start", id]));
    expect(start.stderr).toMatch(/warning: poststart hook \/bin\/sh: failed with status 3/);
    expect((await c.state(id)).status).toBe("running");
    const del = ok(await c.berth(["delete", "--force", id]));
    expect(del.stderr).toMatch(/warning: poststop hook \/bin\/sh: failed with status 4/);
    expect(readFileSync(join(out, "log"), "utf8").trim().split("\n")).toEqual([
      "poststart-1 running", "poststart-2 running", "poststop-1 stopped", "poststop-2 stopped",
    ]);
    expect(existsSync(join(c.root, id))).toBe(false);
  });
});

// berth run by an unprivileged user (rootless): a user namespace maps the
// user to root inside; where the user may not make cgroups and the config
// asks for no limits, the container goes without one (as with runc), and what
// needs a cgroup says so. berth runs here through setpriv as a uid with no
// capabilities and no passwd entry.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BERTH, berthSays, cgroupDirs, ctest, type Ctx, type Result } from "./helpers.ts";

const UID = 47011;

/** berth as UID, with --root ROOT (detached: output not kept, so a detached container holds no pipe of ours). */
function asUser(root: string, args: string[], detached = false): Result {
  const r = spawnSync("setpriv", [`--reuid=${UID}`, `--regid=${UID}`, "--clear-groups", "--inh-caps=-all", "--", BERTH, "--root", root, ...args], {
    encoding: "utf8",
    timeout: 20000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdio: detached ? ["ignore", "ignore", "ignore"] : "pipe",
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Why this kernel cannot run the test (no unprivileged user namespaces), or false. */
const CANNOT: string | false = (() => {
  const r = spawnSync("setpriv", [`--reuid=${UID}`, `--regid=${UID}`, "--clear-groups", "--", "unshare", "--user", "--map-root-user", "true"]);
  return r.status === 0 ? false : "this kernel does not let an unprivileged user make a user namespace";
})();

/** A rootless bundle (`berth spec --rootless`) running ARGS, and a state root, both usable by UID. */
function setup(c: Ctx, args: string[], edit?: (cfg: Record<string, any>) => void): { dir: string; root: string } {
  const b = c.bundle(args);
  const tmp = c.tempDir("spec");
  expect(spawnSync(BERTH, ["spec", "--rootless", "--bundle", tmp]).status).toBe(0);
  const cfg = JSON.parse(readFileSync(join(tmp, "config.json"), "utf8"));
  cfg.root = { path: b.rootfs, readonly: true };
  cfg.process.args = args;
  cfg.process.terminal = false;
  cfg.linux.uidMappings = [{ containerID: 0, hostID: UID, size: 1 }];
  cfg.linux.gidMappings = [{ containerID: 0, hostID: UID, size: 1 }];
  edit?.(cfg);
  writeFileSync(join(b.dir, "config.json"), JSON.stringify(cfg));
  const root = c.tempDir("rootless-root");
  chownSync(root, UID, UID);
  return { dir: b.dir, root };
}

describe("rootless", () => {
  ctest(
    "run as an unprivileged user: root inside is the user outside, no cgroup, nothing left",
    async (c) => {
      const { dir, root } = setup(c, ["sh", "-c", "echo uid=$(id -u); cat /proc/self/uid_map"]);
      const id = c.id("rl");
      const r = asUser(root, ["run", "--bundle", dir, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("uid=0\n");
      expect(r.stdout.replace(/\s+/g, " ")).toContain(`0 ${UID} 1`);
      expect(existsSync(join(root, id))).toBe(false);
      expect(cgroupDirs(id).filter(existsSync)).toEqual([]);
    },
    30000,
    { skip: CANNOT },
  );

  ctest(
    "run -d, exec, state, list (owned by the user), kill, delete; pause and update say why they cannot",
    async (c) => {
      const { dir, root } = setup(c, ["sleep", "60"]);
      const id = c.id("rld");
      expect(asUser(root, ["run", "-d", "--bundle", dir, id], true).code).toBe(0);
      const st = JSON.parse(asUser(root, ["state", id]).stdout);
      expect(st.status).toBe("running");
      expect(readFileSync(`/proc/${st.pid}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\s+${UID}\\s`, "m"));
      expect(asUser(root, ["exec", id, "id", "-u"]).stdout).toBe("0\n");
      expect(JSON.parse(asUser(root, ["list", "--format", "json"]).stdout)[0].owner).toBe(`#${UID}`);
      for (const cmd of [
        ["pause", id],
        ["update", "--memory", "100M", id],
      ]) {
        const r = asUser(root, cmd);
        expect(r.code).not.toBe(0);
        berthSays(r.stderr, "no cgroup: berth ran rootless");
      }
      expect(asUser(root, ["kill", id, "KILL"]).code).toBe(0);
      for (let i = 0; i < 100 && JSON.parse(asUser(root, ["state", id]).stdout).status !== "stopped"; i++) await Bun.sleep(20);
      expect(asUser(root, ["delete", id]).code).toBe(0);
      expect(existsSync(join(root, id))).toBe(false);
    },
    30000,
    { skip: CANNOT },
  );

  ctest(
    "a memory limit without a cgroup the user may make is a clear error, and nothing is left",
    async (c) => {
      const { dir, root } = setup(c, ["true"], (cfg) => (cfg.linux.resources = { memory: { limit: 64 << 20 } }));
      const id = c.id("rllim");
      const r = asUser(root, ["create", "--bundle", dir, id]);
      expect(r.code).not.toBe(0);
      berthSays(r.stderr, /^berth: rootless: cannot make the cgroup .* which linux\.resources\.memory needs/);
      expect(existsSync(join(root, id))).toBe(false);
      expect(cgroupDirs(id).filter(existsSync)).toEqual([]);
    },
    30000,
    { skip: CANNOT },
  );
});

/** A cgroup v2 host (pure), where a user can be given a cgroup subtree of their own. */
const V2 = (() => {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l));
  } catch {
    return false;
  }
})();

describe("rootless with a delegated cgroup v2 subtree", () => {
  ctest(
    "limits apply in the user's own subtree; the container is born there",
    async (c) => {
      // as systemd's user@.service would: a subtree owned by the user, with controllers, the user's processes inside it
      const deleg = `/sys/fs/cgroup/berth-rl-${process.pid}`;
      spawnSync("mkdir", ["-p", `${deleg}/launcher`]);
      c.defer(() => {
        for (const d of [`${deleg}/launcher`, deleg]) spawnSync("rmdir", [d]);
      });
      writeFileSync("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids");
      for (const f of ["", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads", "/launcher", "/launcher/cgroup.procs"])
        chownSync(`${deleg}${f}`, UID, UID);
      const { dir, root } = setup(c, ["sleep", "60"], (cfg) => {
        cfg.linux.cgroupsPath = `${deleg.slice("/sys/fs/cgroup".length)}/ctr`;
        cfg.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 20 } };
      });
      const id = c.id("rlv2");
      const user = `setpriv --reuid=${UID} --regid=${UID} --clear-groups --inh-caps=-all -- ${BERTH} --root ${root}`;
      const r = spawnSync("sh", ["-c", `echo $$ > ${deleg}/launcher/cgroup.procs && exec ${user} run -d --bundle ${dir} ${id} >/dev/null 2>&1`], {
        encoding: "utf8",
        timeout: 20000,
      });
      expect(r.status).toBe(0);
      const pid = JSON.parse(asUser(root, ["state", id]).stdout).pid as number;
      expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toBe(`0::${deleg.slice("/sys/fs/cgroup".length)}/ctr\n`);
      expect(readFileSync(`${deleg}/ctr/memory.max`, "utf8").trim()).toBe(String(64 << 20));
      expect(readFileSync(`${deleg}/ctr/pids.max`, "utf8").trim()).toBe("20");
      // its owner can change the limits live, and pause it
      expect(asUser(root, ["update", "--memory", "96M", id]).code).toBe(0);
      expect(readFileSync(`${deleg}/ctr/memory.max`, "utf8").trim()).toBe(String(96 << 20));
      expect(asUser(root, ["pause", id]).code).toBe(0);
      expect(JSON.parse(asUser(root, ["state", id]).stdout).status).toBe("paused");
      expect(asUser(root, ["resume", id]).code).toBe(0);
      expect(asUser(root, ["delete", "--force", id]).code).toBe(0);
      expect(existsSync(`${deleg}/ctr`)).toBe(false);
    },
    30000,
    { skip: CANNOT || (!V2 && "needs a pure cgroup v2 host (the v2 lane)") },
  );
});

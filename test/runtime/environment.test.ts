// The process's environment as runc's callers find it. HOME is not in the
// runtime-spec, but runc and crun set it from the container's /etc/passwd
// when process.env lacks it, and Docker's and ctr's containers (whose images
// seldom set HOME) rely on that: `cd` and every program that keeps its
// configuration under $HOME. Found by the differential lane.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { berthOnly, ctest, kv, ok, onlyOnBerth } from "./helpers.ts";

describe("HOME", () => {
  ctest("an env without HOME gets the user's home from the container's /etc/passwd, else /; a HOME given stays", async (c) => {
    const home = async (user: { uid: number; gid: number }, env: string[]) =>
      kv(ok(await c.sh('echo "home=${HOME-unset}"', (cfg) => ((cfg.process!.user = user), (cfg.process!.env = env)))).stdout).home;
    expect(await home({ uid: 0, gid: 0 }, ["PATH=/bin"])).toBe("/root");
    expect(await home({ uid: 1000, gid: 1000 }, ["PATH=/bin"])).toBe("/home/user");
    // a uid the container's passwd does not name
    expect(await home({ uid: 4242, gid: 4242 }, ["PATH=/bin"])).toBe("/");
    expect(await home({ uid: 1000, gid: 1000 }, ["PATH=/bin", "HOME=/custom"])).toBe("/custom");
    // set but empty is set (as Podman reads it)
    const empty = await home({ uid: 0, gid: 0 }, ["PATH=/bin", "HOME="]);
    onlyOnBerth("runc 1.1 replaces an empty HOME as if it were unset", () => expect(empty).toBe(""));
  });

  ctest("exec: the exec'd process's user decides, and --env HOME wins", async (c) => {
    const id = c.id("home");
    ok(
      await c.run(
        c.bundle(["sleep", "60"], (cfg) => (cfg.process!.env = ["PATH=/bin"])),
        id,
        ["-d"],
      ),
    );
    const home = async (...extra: string[]) => ok(await c.berth(["exec", ...extra, id, "sh", "-c", 'echo "${HOME-unset}"'])).stdout.trim();
    expect(await home()).toBe("/root");
    expect(await home("--user", "1000:1000")).toBe("/home/user");
    expect(await home("--env", "HOME=/elsewhere")).toBe("/elsewhere");
  });

  ctest(
    "a container whose /etc/passwd is a FIFO starts at once, with HOME /",
    async (c) => {
      const b = c.bundle(["sh", "-c", 'echo "home=$HOME"'], (cfg) => (cfg.process!.env = ["PATH=/bin"]));
      rmSync(`${b.rootfs}/etc/passwd`);
      expect(spawnSync("mkfifo", [`${b.rootfs}/etc/passwd`]).status).toBe(0);
      const t0 = Date.now();
      const r = ok(await c.berth(["run", "--bundle", b.dir, c.id("fifo")], { timeoutMs: 10000 }));
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(kv(r.stdout).home).toBe("/");
    },
    30000,
    { skip: berthOnly("runc opens the container's /etc/passwd as it is, and a FIFO there blocks it") },
  );
});

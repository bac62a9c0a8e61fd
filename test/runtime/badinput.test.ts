// Bad input: one clear error line naming what is wrong, a non-zero exit, and
// nothing left behind (no state dir, no cgroup, no process, no mount; the
// shared clean-up of every test checks cgroups, processes and mounts too).
import { describe, expect } from "bun:test";
import { readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, berthSays, cgroupDirs, createFails, ctest, ok, onlyOnBerth, type Ctx, type Spec } from "./helpers.ts";
import { existsSync } from "node:fs";

/** A bundle whose config is edited into something wrong. */
function badBundle(c: Ctx, edit: (cfg: Spec) => void): string {
  return c.bundle(["true"], edit).dir;
}

describe("bad input", () => {
  ctest("a missing bundle", async (c) => {
    await createFails(c, "/nonexistent/berth-bundle", /bundle \/nonexistent\/berth-bundle does not exist/);
    const empty = c.tempDir("empty");
    await createFails(c, empty, /config\.json/);
  });

  ctest("invalid JSON in config.json", async (c) => {
    const b = c.bundle();
    writeFileSync(join(b.dir, "config.json"), '{ "ociVersion": "1.0.2", "process": { "args": ["true"], }');
    await createFails(c, b.dir, /config\.json/);
  });

  // A bundle is input from whoever calls the runtime: config.json that is a
  // device (endless), a FIFO (blocks) or huge must fail at once, naming the file.
  ctest("config.json that is not a regular file, or too big", async (c) => {
    const b = c.bundle();
    const cfg = join(b.dir, "config.json");
    rmSync(cfg);
    symlinkSync("/dev/zero", cfg);
    const t0 = Date.now();
    await createFails(c, b.dir, /config\.json: not a regular file/);
    // a reader without the guard reads /dev/zero until memory runs out: any bound well under
    // the test's limit tells the two apart, even under User-mode Linux (5 s was too tight there)
    expect(Date.now() - t0).toBeLessThan(30000);
    rmSync(cfg);
    writeFileSync(cfg, "");
    truncateSync(cfg, 17 << 20); // sparse: 17 MiB of NULs
    await createFails(c, b.dir, /config\.json: larger than 16 MiB/);
  });

  // exec --process FILE is the caller's input too: the same rules as config.json
  ctest("exec --process FILE that is not a regular file, or too big, fails at once, naming the file", async (c) => {
    const id = c.id("proc");
    ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d"]));
    const dir = c.tempDir("process");
    const dev = join(dir, "process.json");
    symlinkSync("/dev/zero", dev);
    const big = join(dir, "big.json");
    writeFileSync(big, "");
    truncateSync(big, 17 << 20); // sparse: 17 MiB of NULs
    for (const [file, why] of [
      [dev, "not a regular file"],
      [big, "larger than 16 MiB"],
    ]) {
      const t0 = Date.now();
      const r = await c.berth(["exec", "--process", file!, id]);
      expect(Date.now() - t0).toBeLessThan(30000); // as above: a bound that only a read-forever misses
      expect(r.code).not.toBe(0);
      berthSays(r.stderr, `berth: cannot read ${file}: ${why}\n`);
      onlyOnBerth("one line", () => expect(r.stderr.trim().split("\n")).toHaveLength(1));
    }
  });

  // update -r FILE, and `-` (stdin) for both: the same bound
  ctest("update -r FILE that is not a regular file or too big, and stdin over 16 MiB, fail naming it", async (c) => {
    const id = c.id("res");
    ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d"]));
    const dir = c.tempDir("resources");
    const dev = join(dir, "resources.json");
    symlinkSync("/dev/zero", dev);
    const r = await c.berth(["update", "-r", dev, id]);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr, `berth: cannot read ${dev}: not a regular file\n`);
    const big = "x".repeat(17 << 20);
    for (const args of [
      ["update", "-r", "-", id],
      ["exec", "--process", "-", id],
    ]) {
      const r2 = await c.berth(args, { stdin: big });
      expect(r2.code).not.toBe(0);
      berthSays(r2.stderr, "berth: cannot read stdin: larger than 16 MiB\n");
    }
  });

  ctest("configs that violate the spec name the field", async (c) => {
    await createFails(
      c,
      badBundle(c, (cfg) => ((cfg.process as unknown as Record<string, unknown>).args = "true")),
      /process\.args/,
    );
    await createFails(
      c,
      badBundle(c, (cfg) => ((cfg as unknown as Record<string, unknown>).ociVersion = 5)),
      /ociVersion/,
    );
    await createFails(
      c,
      badBundle(c, (cfg) => (cfg.mounts![1]!.destination = "")),
      /mounts\[1\]\.destination/,
    );
    await createFails(
      c,
      badBundle(c, (cfg) => (cfg.process!.cwd = "not/absolute")),
      /process\.cwd/,
    );
    await createFails(
      c,
      badBundle(c, (cfg) => (cfg.process!.rlimits = [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }])),
      /process\.rlimits\[0\]\.type/,
    );
    await createFails(
      c,
      badBundle(c, (cfg) => (cfg.root = { path: "no-such-rootfs" })),
      /root\.path/,
    );
  });

  // the rootfs becomes a mount point in place; a link there fails before
  // anything is made, naming the field (runc refuses it too; crun follows it)
  ctest("root.path that is a symbolic link to a directory", async (c) => {
    const b = c.bundle(["true"], (cfg) => (cfg.root = { path: "rootfs-link" }));
    symlinkSync(b.rootfs, join(b.dir, "rootfs-link"));
    await createFails(c, b.dir, /root\.path: .*rootfs-link is a symbolic link/);
  });

  ctest("an unknown namespace type", async (c) => {
    let at = -1;
    const line = await createFails(
      c,
      badBundle(c, (cfg) => (at = cfg.linux!.namespaces!.push({ type: "bogus" } as never) - 1)),
      new RegExp(`linux\\.namespaces\\[${at}\\]\\.type`),
    );
    expect(line).toContain("bogus");
  });

  ctest("a namespace path that does not exist", async (c) => {
    await createFails(
      c,
      badBundle(
        c,
        (cfg) =>
          (cfg.linux!.namespaces = cfg.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: "/run/netns/no-such-berth-ns" } : n))),
      ),
      /linux\.namespaces.*network.*\/run\/netns\/no-such-berth-ns/,
    );
  });

  ctest("linux.intelRdt, which berth does not support, is refused rather than ignored", async (c) => {
    await createFails(
      c,
      badBundle(c, (cfg) => (cfg.linux!.intelRdt = { closID: "berth-test", l3CacheSchema: "L3:0=f" })),
      /^berth: linux\.intelRdt: berth does not support Intel RDT/,
    );
  });

  ctest("a duplicate id leaves the existing container alone", async (c) => {
    const id = c.id("dup");
    ok(await c.berth(["create", "--bundle", c.bundle(["sleep", "60"]).dir, id]));
    const pid = (await c.state(id)).pid as number;
    const r = await c.berth(["create", "--bundle", c.bundle(["true"]).dir, id]);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr.trim(), /^berth: container "?[^ ]+"? already exists$/);
    berthSays(r.stderr, id);
    const st = await c.state(id);
    expect(st.status).toBe("created");
    expect(st.pid).toBe(pid);
    expect(alive(pid)).toBe(true);
    for (const d of cgroupDirs(id).filter(existsSync)) expect(readdirSync(d).length).toBeGreaterThan(0);
  });

  ctest("a bind mount source that does not exist", async (c) => {
    await createFails(
      c,
      badBundle(c, (cfg) => cfg.mounts!.push({ destination: "/data", type: "bind", source: "/nonexistent/berth-src", options: ["bind"] })),
      /mounts\[7\]\.source: \/nonexistent\/berth-src does not exist/,
    );
  });

  ctest("a mount the kernel refuses (bad tmpfs option) fails create, naming the mount", async (c) => {
    await createFails(
      c,
      badBundle(c, (cfg) => cfg.mounts!.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["size=lots"] })),
      /mount \/data: option size=lots/,
    );
    await createFails(
      c,
      badBundle(c, (cfg) => cfg.mounts!.push({ destination: "/data", type: "nosuchfs", source: "x" })),
      /mount \/data: filesystem type nosuchfs/,
    );
  });

  ctest("a missing executable fails create, not start", async (c) => {
    await createFails(c, c.bundle(["/no/such/program"]).dir, /\/no\/such\/program/);
    await createFails(c, c.bundle(["no-such-command"]).dir, /no-such-command: executable file not found in \$PATH/);
    // a cwd that is a file, not a directory
    await createFails(c, c.bundle(["true"], (cfg) => (cfg.process!.cwd = "/etc/passwd")).dir, /\/etc\/passwd: Not a directory/);
  });

  ctest("bad container ids and commands on unknown containers", async (c) => {
    const ids = ["../escape", "a/b"];
    onlyOnBerth("berth refuses ids that start with a dot (its lock files are ROOT/.ID.lock), runc allows them", () => ids.push(".hidden"));
    for (const id of ids) {
      const r = await c.berth(["create", "--bundle", c.bundle().dir, id]);
      expect(r.code).not.toBe(0);
      berthSays(r.stderr, "invalid container id");
    }
    expect(readdirSync(c.root)).toEqual([]);
    for (const cmd of [["start"], ["state"], ["kill"], ["delete"]]) {
      const r = await c.berth([...cmd, "no-such-container"]);
      expect(r.code).not.toBe(0);
      berthSays(r.stderr.trim(), /^berth: container "no-such-container" does not exist$/);
    }
  });
});

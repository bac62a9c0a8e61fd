// Hooks: every phase runs, in order, with the state JSON on stdin; a failing or
// hanging hook fails create and leaves nothing behind.
import { describe, expect } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { berthSays, ctest, ok, onlyOnBerth, type Ctx, type Spec } from "./helpers.ts";

type Hook = NonNullable<NonNullable<Spec["hooks"]>["prestart"]>[number];
/** A host hook that records its stdin, its environment and the time in DIR/NAME.json / NAME.env. */
const recorder = (dir: string, name: string): Hook => ({
  path: "/bin/sh",
  args: [
    "sh",
    "-c",
    `cat > ${dir}/${name}.json; echo "$MARK $(cat /proc/sys/kernel/hostname) $(readlink /proc/self/ns/mnt)" > ${dir}/${name}.env; date +%s%N > ${dir}/${name}.t`,
  ],
  env: [`MARK=${name}-env`],
});

function readState(dir: string, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Record<string, unknown>;
}

describe("hooks", () => {
  ctest("all six phases run with the state on stdin, in the right namespaces and order", async (c) => {
    const out = c.tempDir("hooks");
    const b = c.bundle(["sh", "-c", "cat /tmp/start.json; echo; cat /tmp/start.env"], (cfg) => {
      cfg.hostname = "hooked";
      cfg.root!.readonly = false;
      cfg.hooks = {
        prestart: [recorder(out, "prestart")],
        createRuntime: [recorder(out, "createRuntime")],
        createContainer: [recorder(out, "createContainer")],
        // startContainer runs inside the container: its path and files are the container's
        startContainer: [
          { path: "/bin/sh", args: ["sh", "-c", 'cat > /tmp/start.json; echo "$MARK $(hostname)" > /tmp/start.env'], env: ["MARK=startContainer-env"] },
        ],
        poststart: [recorder(out, "poststart")],
        poststop: [recorder(out, "poststop")],
      };
    });
    const id = c.id("hooks");
    ok(await c.berth(["create", "--bundle", b.dir, id]));
    const pid = (await c.state(id)).pid as number;
    for (const phase of ["prestart", "createRuntime", "createContainer"]) {
      const st = readState(out, phase);
      expect(st.id).toBe(id);
      // the state's pid is "the ID of the container process, as seen by the host" (runtime.md)
      if (phase === "createContainer")
        onlyOnBerth("runc 1.1 gives createContainer hooks the pid inside the container (1), not the host's", () => expect(st.pid).toBe(pid));
      else expect(st.pid).toBe(pid);
      expect(st.bundle).toBe(b.dir);
      expect(typeof st.status).toBe("string");
      expect(readFileSync(join(out, `${phase}.env`), "utf8")).toStartWith(`${phase}-env `);
    }
    // createRuntime runs in the runtime's namespaces, createContainer in the container's
    const hostMnt = readFileSync(join(out, "createRuntime.env"), "utf8").trim().split(" ")[2];
    const [, ccHost, ccMnt] = readFileSync(join(out, "createContainer.env"), "utf8").trim().split(" ");
    // the environment of config.json is made before the hooks run (runtime.md, lifecycle steps 3 and 6)
    onlyOnBerth("runc 1.1 sets the hostname after the createContainer hooks", () => expect(ccHost).toBe("hooked"));
    expect(ccMnt).not.toBe(hostMnt);
    const POSTSTART = "runc 1.1 runs poststart hooks at create, not after start";
    onlyOnBerth(POSTSTART, () => expect(existsSync(join(out, "poststart.json"))).toBe(false));
    expect(existsSync(join(b.rootfs, "tmp/start.json"))).toBe(false);
    ok(await c.berth(["start", id]));
    const st = readState(out, "poststart");
    onlyOnBerth(POSTSTART, () => expect(st.status).toBe("running"));
    // the process ran after startContainer, which saw the state too
    let running = true;
    for (let i = 0; i < 200 && running; i++) {
      running = (await c.state(id)).status !== "stopped";
      if (running) await Bun.sleep(10);
    }
    const start = JSON.parse(readFileSync(join(b.rootfs, "tmp/start.json"), "utf8")) as Record<string, unknown>;
    expect(start.id).toBe(id);
    expect(readFileSync(join(b.rootfs, "tmp/start.env"), "utf8").trim()).toBe("startContainer-env hooked");
    expect(existsSync(join(out, "poststop.json"))).toBe(false);
    ok(await c.berth(["delete", id]));
    expect(readState(out, "poststop").status).toBe("stopped");
    const t = (n: string) => BigInt(readFileSync(join(out, `${n}.t`), "utf8").trim());
    expect(t("prestart") <= t("createRuntime")).toBe(true);
    expect(t("createRuntime") <= t("createContainer")).toBe(true);
    expect(t("createContainer") <= t("poststart")).toBe(true);
    expect(t("poststart") <= t("poststop")).toBe(true);
  });

  async function expectCreateFails(c: Ctx, hooks: Spec["hooks"], message: RegExp, maxMs: number): Promise<void> {
    const b = c.bundle(["true"], (cfg) => (cfg.hooks = hooks));
    const id = c.id("hookfail");
    const t0 = Date.now();
    const r = await c.berth(["create", "--bundle", b.dir, id]);
    expect(Date.now() - t0).toBeLessThan(maxMs);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr, message);
    expect(readdirSync(c.root).filter((n) => n.includes(id))).toEqual([]);
    const list = await c.berth(["list", "-q"]);
    expect(list.stdout).not.toContain(id);
  }

  ctest("a failing prestart, createRuntime or createContainer hook fails create and leaves nothing", async (c) => {
    const fail: Hook = { path: "/bin/sh", args: ["sh", "-c", "echo hook-broke >&2; exit 3"] };
    await expectCreateFails(c, { prestart: [fail] }, /prestart hook \/bin\/sh: failed with status 3/, 10000);
    await expectCreateFails(c, { createRuntime: [fail] }, /createRuntime hook \/bin\/sh: failed with status 3/, 10000);
    await expectCreateFails(c, { createContainer: [fail] }, /createContainer hook \/bin\/sh: failed with status 3/, 10000);
    await expectCreateFails(c, { createContainer: [{ path: "/no/such/hook" }] }, /createContainer hook \/no\/such\/hook/, 10000);
  });

  ctest("a hook past its timeout is killed and create fails", async (c) => {
    const slow: Hook = { path: "/bin/sleep", args: ["sleep", "20"], timeout: 1 };
    await expectCreateFails(c, { createRuntime: [slow] }, /createRuntime hook \/bin\/sleep: timed out after 1 s/, 8000);
    await expectCreateFails(c, { createContainer: [slow] }, /createContainer hook \/bin\/sleep: timed out after 1 s/, 8000);
  });
});

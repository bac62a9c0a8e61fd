// `kill`, `state` and `delete` as runc's callers depend on them, run against
// berth and, where it is installed, against runc 1.1 with the same cases:
// - containerd's CRI plugin sends `kill --all ID 9` after every exit of a
//   container; runc exits 0 there, and containerd's shim (checkKillError)
//   takes any other failure as a hard error: StopContainer, RemoveContainer
//   and the pod's removal then fail for good.
// - For a plain `kill` of an exited container the shim recognises only runc's
//   wordings: "container not running", "process already finished", "no such
//   process" (all: already exited) and "does not exist" (no such container);
//   Podman reads "does not exist" from `state` as "the container is gone".
// - `kill ID 0` is a liveness probe (signal 0: checks, sends nothing).
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RUNTIMES, type Cli } from "./peers.ts";
import { bundleTracker, ensureCore, uniqueId, type Bundle } from "./helpers.ts";

beforeAll(ensureCore);

const tracker = bundleTracker();
afterEach(tracker.cleanupAll);

const runtimes = RUNTIMES;

function status(cli: Cli, b: Bundle, id: string): string {
  return JSON.parse(cli(b.root, ["state", id]).stdout).status;
}

function waitStopped(cli: Cli, b: Bundle, id: string): void {
  const end = Date.now() + 10_000;
  while (status(cli, b, id) !== "stopped") {
    if (Date.now() > end) throw new Error(`${id} did not stop`);
    Bun.sleepSync(20);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const [name, cli] of runtimes) {
  describe(`kill, state, delete as callers parse them (${name})`, () => {
    test("kill ID 0 probes a created and a running container; a plain kill of a stopped one says 'container not running'; kill --all of it succeeds", () => {
      const b = tracker.bundle(["sleep", "60"]);
      mkdirSync(b.root, { recursive: true });
      const id = uniqueId("kill");
      expect(cli(b.root, ["create", "--bundle", b.dir, id]).code).toBe(0);
      expect(cli(b.root, ["kill", id, "0"])).toMatchObject({ code: 0 });
      expect(status(cli, b, id)).toBe("created");
      expect(cli(b.root, ["start", id]).code).toBe(0);
      expect(cli(b.root, ["kill", id, "0"])).toMatchObject({ code: 0 });
      expect(status(cli, b, id)).toBe("running");
      expect(cli(b.root, ["kill", id, "KILL"]).code).toBe(0);
      waitStopped(cli, b, id);
      for (const sig of ["9", "0", "TERM"]) {
        const r = cli(b.root, ["kill", id, sig]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("container not running");
      }
      // what containerd's shim sends after every exit
      const all = cli(b.root, ["kill", "--all", id, "9"]);
      expect(all.stderr).toBe("");
      expect(all.code).toBe(0);
      expect(cli(b.root, ["delete", id]).code).toBe(0);
    });

    test("kill --all of a stopped container still signals what is left in its cgroup (no pid namespace)", () => {
      const b = tracker.bundle(["sh", "-c", `sleep 60 >/dev/null 2>&1 & echo $! > /left.pid; sleep 0.2`], (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "pid");
        s.root!.readonly = false;
      });
      mkdirSync(b.root, { recursive: true });
      const id = uniqueId("killall");
      expect(cli(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
      waitStopped(cli, b, id);
      const left = Number(readFileSync(join(b.dir, "rootfs/left.pid"), "utf8"));
      expect(left).toBeGreaterThan(0);
      expect(alive(left)).toBe(true);
      expect(cli(b.root, ["kill", "--all", id, "9"]).code).toBe(0);
      const end = Date.now() + 5000;
      while (alive(left) && Date.now() < end) Bun.sleepSync(20);
      expect(alive(left)).toBe(false);
      expect(cli(b.root, ["delete", id]).code).toBe(0);
    });

    test("a paused container dies of a plain kill ID KILL", () => {
      const b = tracker.bundle(["sleep", "60"]);
      mkdirSync(b.root, { recursive: true });
      const id = uniqueId("killp");
      expect(cli(b.root, ["run", "-d", "--bundle", b.dir, id]).code).toBe(0);
      expect(cli(b.root, ["pause", id]).code).toBe(0);
      expect(status(cli, b, id)).toBe("paused");
      expect(cli(b.root, ["kill", id, "KILL"]).code).toBe(0);
      waitStopped(cli, b, id);
      expect(cli(b.root, ["delete", id]).code).toBe(0);
    });

    test("kill, state and delete of an id that does not exist say 'does not exist'; delete --force of it succeeds", () => {
      const b = tracker.bundle(["true"]);
      mkdirSync(b.root, { recursive: true });
      const id = uniqueId("nosuch");
      for (const args of [
        ["kill", id, "9"],
        ["kill", "--all", id, "9"],
        ["kill", id, "0"],
        ["state", id],
        ["delete", id],
      ]) {
        const r = cli(b.root, args);
        expect([args.join(" "), r.code]).toEqual([args.join(" "), 1]);
        expect(r.stderr).toContain("does not exist");
      }
      expect(cli(b.root, ["delete", "--force", id]).code).toBe(0);
    });
  });
}

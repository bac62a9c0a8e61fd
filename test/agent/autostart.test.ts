// An agent the CLI starts by itself (BERTH_AGENT=auto in the caller's
// environment; off by default), and an agent's idle exit (--idle-exit).
// Checked: a call that finds no agent starts one, detached from the caller
// (its own session, working directory /, none of the caller's environment or
// descriptors, the berth-agent cgroup), and the next call is served by it;
// two such calls at once leave one agent; without BERTH_AGENT=auto nothing is
// started; an idle agent removes its socket and ends, and calls made around
// that moment all succeed (through it, or on Bun).
import { describe, expect } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { ctest, waitFor, REPO, TEST_AGENT, type Ctx } from "../runtime/helpers.ts";
import { socketFor, startAgent } from "./agent.ts";

const skip = process.env.BERTH_TEST_RUNTIME ? "the front door is berth's own" : TEST_AGENT ? "these tests start the agents they need" : false;

/** The pids of the agents running for ROOT (`... --root ROOT agent ...`). */
function agentsOf(root: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    const i = argv.indexOf("--root");
    if (i >= 0 && argv[i + 1] === root && argv[i + 2] === "agent") pids.push(Number(e));
  }
  return pids;
}

/** Stops every agent of ROOT at the test's end, whatever happened. */
function reapAgents(c: Ctx): void {
  c.defer(async () => {
    for (const pid of agentsOf(c.root)) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // ended meanwhile
      }
    }
    await waitFor(() => agentsOf(c.root).length === 0, 5000);
    for (const pid of agentsOf(c.root)) process.kill(pid, "SIGKILL");
  });
}

/**
 * A front door alone in a directory, with no Bun berth beside it: a call it
 * makes succeeds only if an agent serves it.
 */
function loneDoor(c: Ctx): string {
  const door = join(c.tempDir("door"), "berth");
  copyFileSync(join(REPO, "dist/berth"), door);
  return door;
}

async function lone(c: Ctx, door: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([door, "--root", c.root, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, stdout, stderr };
}

function field(pid: number, name: string): string {
  return readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${name}:\\s*(.*)$`, "m"))?.[1] ?? "";
}

describe("an agent the CLI starts by itself", () => {
  ctest(
    "BERTH_AGENT=auto: a call that finds no agent starts one, detached from the caller, and the next call goes to it",
    async (c) => {
      reapAgents(c);
      const door = loneDoor(c);
      // no agent yet: the lone door has no Bun berth to fall back on
      const before = await lone(c, door, ["list"]);
      expect(before.code).not.toBe(0);
      expect(before.stderr).toContain("berth-bun");

      // the caller holds a descriptor of its own open (as containerd's --preserve-fds would)
      const marker = join(c.tempDir("marker"), "caller-fd");
      const p = Bun.spawn(["sh", "-c", `exec 5>"$1"; exec "$2" --root "$3" list`, "sh", marker, join(REPO, "dist/berth"), c.root], {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, BERTH_AGENT: "auto", BERTH_TEST_MARK: "caller-only" },
      });
      const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
      const r = { code: await p.exited, stdout, stderr };
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(await waitFor(() => existsSync(socketFor(c.root)) && agentsOf(c.root).length === 1, 15000)).toBe(true);
      const [pid] = agentsOf(c.root);
      // its own session (setsid), not the caller's
      const sid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[3]);
      expect(sid).toBe(pid!);
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe("/");
      expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toContain("BERTH_TEST_MARK");
      // no descriptor of the caller's beyond its own standard ones on /dev/null
      for (const fd of ["0", "1", "2"]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe("/dev/null");
      expect(readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`))).not.toContain(marker);
      if (process.geteuid?.() === 0) {
        const cg = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
        expect(cg.every((l) => l.endsWith(":/berth-agent"))).toBe(true);
      }
      expect(field(pid!, "State")).not.toMatch(/zombie/);

      // the next call is the agent's: the lone door succeeds, with the same output
      const after = await lone(c, door, ["list"]);
      expect(after).toEqual({ code: 0, stdout: r.stdout, stderr: "" });
    },
    60000,
    { skip },
  );

  ctest(
    "two calls at once that find no agent leave one agent",
    async (c) => {
      reapAgents(c);
      const calls = await Promise.all([1, 2, 3, 4].map(() => c.berth(["list", "-q"], { env: { BERTH_AGENT: "auto" } })));
      for (const r of calls) expect(r.code).toBe(0);
      expect(await waitFor(() => existsSync(socketFor(c.root)), 15000)).toBe(true);
      // the losers end once they find the winner listening
      expect(await waitFor(() => agentsOf(c.root).length === 1, 15000)).toBe(true);
      const door = loneDoor(c);
      expect((await lone(c, door, ["list", "-q"])).code).toBe(0);
    },
    60000,
    { skip },
  );

  ctest(
    "without BERTH_AGENT=auto no agent is started",
    async (c) => {
      reapAgents(c);
      const envs: Record<string, string>[] = [{}, { BERTH_AGENT: "auto", BERTH_NO_AGENT: "1" }];
      for (const env of envs) {
        const r = await c.berth(["list"], { env });
        expect(r.code).toBe(0);
      }
      await Bun.sleep(500);
      expect(agentsOf(c.root)).toEqual([]);
      expect(existsSync(socketFor(c.root))).toBe(false);
    },
    30000,
    { skip },
  );
});

describe("an agent's idle exit", () => {
  ctest(
    "--idle-exit: the agent removes its socket and ends after that long without a call; calls around that moment all succeed",
    async (c) => {
      reapAgents(c);
      // three agents in turn, each with calls about its idle time apart, until it has gone:
      // some calls reach it, some find it gone (or going) and run on Bun
      let failed = "";
      for (let round = 0; round < 3; round++) {
        const a = startAgent(c.root, join(c.tempDir(`agent${round}`), "agent.log"), {}, ["--idle-exit", "0.25"]);
        c.defer(() => a.stop());
        for (let i = 0; agentsOf(c.root).length > 0 && i < 15; i++) {
          const r = await c.berth(["list", "-q"]);
          if (r.code !== 0 || r.stderr !== "") failed += `round ${round}, call ${i}: exit ${r.code}: ${r.stderr}\n`;
          await Bun.sleep(210 + ((round * 7 + i * 13) % 90));
        }
        expect(await waitFor(() => agentsOf(c.root).length === 0, 5000)).toBe(true);
        expect(existsSync(a.socket)).toBe(false);
        expect(a.log()).toContain("idle, stopping");
      }
      expect(failed).toBe("");
    },
    60000,
    { skip },
  );

  ctest(
    "--idle-exit takes a number of seconds",
    async (c) => {
      const r = await c.berth(["agent", "--idle-exit", "soon"], { env: { BERTH_NO_AGENT: "1" } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("--idle-exit");
      expect(agentsOf(c.root)).toEqual([]);
    },
    30000,
    { skip },
  );
});

// A foreground `run`, and `exec -t`, of a process with process.terminal true
// and no --console-socket: as runc does, the runtime gives the process a pty
// and relays its caller's terminal to it (input, output, window size, raw
// mode) and exits with the process's status. `runc spec` writes
// terminal: true, so every runc tutorial's first `run` takes this path.
// The pty's slave is the process's user's, in devpts's tty group (gid=5 in
// the mount options), as runc leaves it (runc chowns the process's stdio to
// process.user.uid): programs that check their tty (ssh, sudo, mesg) need it.
// The caller's terminal here is util-linux's `script`, which runs the command
// on a pty of its own. Every case also runs against runc where installed.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bundleTracker, ensureCore, OTHER_RUNTIME, REPO, uniqueId, type Result } from "./helpers.ts";
import { ensureBuilt } from "../runtime/helpers.ts";
import { HAVE_RUNC, RUNC } from "./peers.ts";

beforeAll(ensureCore);

const tracker = bundleTracker();
afterEach(tracker.cleanupAll);

const BERTH = [join(REPO, "node_modules/.bin/bun"), join(REPO, "src/cli/main.ts")];
const runtimes: [string, string[]][] = [["berth", BERTH]];
if (HAVE_RUNC) runtimes.push(["runc", [RUNC]]);
// the same through the front door to a warm agent (test/agent/with-agent.sh
// starts one for each --root, stopped after these tests); not in the
// differential lane
const agents = mkdtempSync(join(tmpdir(), "berth-tty-agents-"));
if (!OTHER_RUNTIME) runtimes.push(["berth through a warm agent", ["env", `BERTH_AGENT_DIR=${agents}`, join(REPO, "test/agent/with-agent.sh")]]);
beforeAll(() => {
  if (!OTHER_RUNTIME) ensureBuilt();
});
afterAll(() => {
  const pids = join(agents, "pids");
  if (existsSync(pids)) for (const pid of readFileSync(pids, "utf8").split("\n").filter(Boolean)) Bun.spawnSync(["kill", pid]);
  rmSync(agents, { recursive: true, force: true });
});

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs ARGV on a fresh pty of COLSxROWS (script(1)). INPUT is typed once the
 * output shows READY (the process is reading: under User-mode Linux a fixed
 * wait was too short, and the outer terminal was still cooked); RESIZETO: the
 * terminal changes to that size once the output shows RESIZEWHEN (the kernel
 * sends SIGWINCH).
 */
async function onTerminal(argv: string[], o: { input?: string; ready?: string; size?: string; resizeTo?: string; resizeWhen?: string } = {}): Promise<Result> {
  const [cols, rows] = (o.size ?? "91x33").split("x");
  // the resize is done on script's pty by a job that waits for a file this test makes
  const flag = join(mkdtempSync(join(tmpdir(), "berth-tty-")), "resize");
  const later = o.resizeTo
    ? `(while [ ! -e ${q(flag)} ]; do sleep 0.1; done; stty cols ${o.resizeTo.split("x")[0]} rows ${o.resizeTo.split("x")[1]} </dev/tty) & `
    : "";
  const cmd = `stty cols ${cols} rows ${rows}; ${later}exec ${argv.map(q).join(" ")}`;
  const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => p.kill(9), 45_000);
  let out = "";
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let typed = !o.input;
  let resized = !o.resizeTo;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out += dec.decode(value, { stream: true });
    if (!typed && out.includes(o.ready ?? "")) {
      typed = true;
      p.stdin.write(o.input!);
      p.stdin.flush();
    }
    if (!resized && out.includes(o.resizeWhen ?? "")) {
      resized = true;
      writeFileSync(flag, "");
    }
  }
  rmSync(dirname(flag), { recursive: true, force: true });
  // script ends when the command does; its stdin stays open until then
  const code = await p.exited;
  clearTimeout(killer);
  p.stdin.end();
  return { code, stdout: out.replace(/\r/g, ""), stderr: await new Response(p.stderr).text() };
}

// the size follows the caller's right after the process starts (runc and the
// console set it as they get the pty): a moment's wait for a runc exec
const SHOW = "tty; sleep 0.3; stty size; stat -c 'owner %u:%g' $(tty)";

for (const [name, rt] of runtimes) {
  describe(`terminal relayed by the runtime (${name})`, () => {
    test("foreground run: a pty of the caller's size, owned by process.user, the process's exit status", async () => {
      const b = tracker.bundle(["sh", "-c", `${SHOW}; exit 7`], (s) => {
        s.process!.terminal = true;
        s.process!.user = { uid: 1000, gid: 1000 };
      });
      mkdirSync(b.root, { recursive: true });
      const r = await onTerminal([...rt, "--root", b.root, "run", "--bundle", b.dir, uniqueId("tty")]);
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+\n/);
      expect(r.stdout).toContain("33 91\n");
      expect(r.stdout).toContain("owner 1000:5\n");
      expect(r.code).toBe(7);
    }, 60_000);

    test("foreground run: the caller's input reaches the process, in raw mode (no local echo twice)", async () => {
      const b = tracker.bundle(["sh", "-c", "echo reading; read x; echo got:$x; exit 3"], (s) => {
        s.process!.terminal = true;
      });
      mkdirSync(b.root, { recursive: true });
      const r = await onTerminal([...rt, "--root", b.root, "run", "--bundle", b.dir, uniqueId("tty")], { input: "hello\n", ready: "reading" });
      expect(r.stdout).toContain("got:hello\n");
      // the container's pty echoes once; a cooked outer terminal would echo again
      expect(r.stdout.split("hello").length - 1).toBe(2);
      expect(r.code).toBe(3);
    }, 60_000);

    test("foreground run: the caller's terminal resized later, the pty follows (SIGWINCH)", async () => {
      // the process shows its first size, then waits (up to 20 s) for the new
      // one (stty sets columns and rows one after the other: the size in
      // between, 33 50, may be seen for a moment)
      const wait = 'i=0; while [ "$(stty size)" != "20 50" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done';
      const b = tracker.bundle(["sh", "-c", `stty size; ${wait}; stty size`], (s) => {
        s.process!.terminal = true;
      });
      mkdirSync(b.root, { recursive: true });
      const r = await onTerminal([...rt, "--root", b.root, "run", "--bundle", b.dir, uniqueId("tty")], { resizeTo: "50x20", resizeWhen: "33 91" });
      expect(r.stdout).toBe("33 91\n20 50\n");
      expect(r.code).toBe(0);
    }, 60_000);

    test("exec -t: a pty of the caller's size, owned by --user, the process's exit status", async () => {
      const b = tracker.bundle(["sleep", "60"]);
      mkdirSync(b.root, { recursive: true });
      const id = uniqueId("ttyx");
      const d = Bun.spawnSync([...rt, "--root", b.root, "run", "-d", "--bundle", b.dir, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      expect(d.exitCode).toBe(0);
      const r = await onTerminal([...rt, "--root", b.root, "exec", "-t", "--user", "1000:1000", id, "sh", "-c", `${SHOW}; exit 5`], { size: "77x22" });
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+\n/);
      expect(r.stdout).toContain("22 77\n");
      expect(r.stdout).toContain("owner 1000:5\n");
      expect(r.code).toBe(5);
    }, 60_000);
  });
}

// The warm path: dist/berth (the front door) hands a call to `berth agent`
// when one listens for the --root, and runs the Bun berth when none does.
// Checked here: the same stdout, stderr and exit code through both paths; a
// container made through one path managed through the other; the container's
// processes stay descendants of the caller (runtime-spec: the runtime's
// caller, e.g. containerd's shim or conmon as a child subreaper, waits for
// them); a caller of another uid is refused; an agent killed in the middle
// of a call gives one error line and a non-zero exit, and the next call works.
import { describe, expect } from "bun:test";
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { ctest, alive, cgroupDirs, waitFor, BERTH, REPO, TEST_AGENT, type Ctx, type Result } from "../runtime/helpers.ts";

import { socketFor, startAgent, type Agent } from "./agent.ts";

const CORE = join(REPO, "dist/berth-core");

// (the agent lane's Ctx starts an agent for each root: these tests start their own)
const skip = process.env.BERTH_TEST_RUNTIME ? "the front door is berth's own" : TEST_AGENT ? "these tests start the agents they need" : false;

function agentFor(c: Ctx): Agent {
  const a = startAgent(c.root, join(c.tempDir("agent"), "agent.log"));
  c.defer(() => a.stop());
  return a;
}

/** `berth --root ROOT ARGS` as Ctx.berth runs it, with more environment. */
function call(c: Ctx, args: string[], env: Record<string, string>): Promise<Result> {
  return c.berth(args, { env });
}

/** berth through the Bun path, whatever listens (the door's BERTH_NO_AGENT). */
function bun(c: Ctx, args: string[]): Promise<Result> {
  return call(c, args, { BERTH_NO_AGENT: "1" });
}

function status(c: Ctx, id: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(c.root, id, "state.json"), "utf8")) as { status: string }).status;
  } catch {
    return undefined;
  }
}

function initPid(c: Ctx, id: string): number {
  return (JSON.parse(readFileSync(join(c.root, id, "state.json"), "utf8")) as { pid: number }).pid;
}

/** The calls the agent served (`exit N: ARGV`) and left to Bun (`fallback: ARGV`). */
function served(a: Agent): string[] {
  return a
    .log()
    .split("\n")
    .filter((l) => /^berth agent: (exit|fallback)/.test(l))
    .map((l) => l.slice("berth agent: ".length));
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

describe("front door and agent", () => {
  ctest(
    "the same stdout, stderr and exit code through the agent and through Bun",
    async (c) => {
      const a = agentFor(c);
      const ok = c.bundle(["sh", "-c", "echo out; echo err >&2; exit 3"]);
      const calls: string[][] = [
        ["list"],
        ["list", "--format", "json"],
        ["state", "nosuch"],
        ["kill", "nosuch", "KILL"],
        ["delete", "nosuch"],
        ["delete", "--force", "nosuch"],
        ["state"],
        ["kill", "--bogus", "x"],
        ["--rootless", "maybe", "list"],
        ["--version"],
        ["run", "--bundle", join(c.tempDir(), "none"), c.id("none")],
        ["run", "--bundle", ok.dir, "same-id"],
      ];
      // a call with --debug first: its debug log is that call's, not the next ones'
      expect((await c.berth(["--debug", "list", "-q"])).code).toBe(0);
      for (const args of calls) {
        const viaAgent = await c.berth(args);
        const viaBun = await bun(c, args);
        expect({ args, ...viaAgent }).toEqual({ args, ...viaBun });
      }
      const log = served(a);
      // every one of them was the agent's (none fell back to Bun)
      expect(log.filter((l) => l.startsWith("exit"))).toHaveLength(calls.length + 1);
      expect(log.some((l) => l === "exit 3: --root " + c.root + " run --bundle " + ok.dir + " same-id")).toBe(true);
    },
    30000,
    { skip },
  );

  ctest(
    "relative paths and the bundle default are the caller's working directory, not the agent's",
    async (c) => {
      const a = agentFor(c);
      const b = c.bundle(["sh", "-c", "echo hello from $0"]);
      const id = c.id("cwd");
      const r = await c.berth(["create", "--pid-file", "pid", id], { cwd: b.dir });
      expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
      const pid = Number(readFileSync(join(b.dir, "pid"), "utf8"));
      expect((await c.state(id)).pid).toBe(pid);
      expect(served(a).filter((l) => l.startsWith("exit 0: ")).length).toBeGreaterThanOrEqual(2);
    },
    30000,
    { skip },
  );

  ctest(
    "the caller's umask applies to what the call makes, as on Bun",
    async (c) => {
      agentFor(c);
      const b = c.bundle(["true"]);
      const modes: Record<string, string> = {};
      for (const [path, env] of [
        ["agent", {}],
        ["bun", { BERTH_NO_AGENT: "1" }],
      ] as const) {
        const id = c.id("umask");
        const pidFile = join(b.dir, `${path}.pid`);
        const p = Bun.spawnSync(["sh", "-c", 'umask 077 && exec "$@"', "sh", BERTH, "--root", c.root, "create", "--bundle", b.dir, "--pid-file", pidFile, id], {
          env: { ...process.env, ...env },
          stdout: "ignore",
          stderr: "ignore",
        });
        expect(p.exitCode).toBe(0);
        modes[path] = (statSync(pidFile).mode & 0o777).toString(8);
        expect((await c.berth(["delete", "--force", id])).code).toBe(0);
      }
      expect(modes.agent).toBe(modes.bun!);
    },
    30000,
    { skip },
  );

  ctest(
    "concurrent calls with different umasks: each call's files and hooks get its own caller's umask",
    async (c) => {
      agentFor(c);
      const out = c.tempDir("out");
      // a foreground run whose poststop hook comes after a call of another umask has been served
      const b = c.bundle(["sleep", "1"], (s) => {
        s.hooks = { poststop: [{ path: "/bin/sh", args: ["sh", "-c", 'umask > "$0"; echo > "$0.file"', join(out, "hook")] }] };
      });
      const id = c.id("umask");
      const pidFile = join(out, "pid");
      const run = Bun.spawn(["sh", "-c", 'umask 077 && exec "$@"', "sh", BERTH, "--root", c.root, "run", "--bundle", b.dir, "--pid-file", pidFile, id], {
        stdout: "ignore",
        stderr: "inherit",
      });
      c.trackPid(run.pid);
      expect(await waitFor(() => status(c, id) === "running"));
      const other = Bun.spawn(["sh", "-c", 'umask 000 && exec "$@"', "sh", BERTH, "--root", c.root, "state", "nosuch"], { stdout: "ignore", stderr: "ignore" });
      expect(await other.exited).toBe(1);
      expect(await run.exited).toBe(0);
      expect(readFileSync(join(out, "hook"), "utf8")).toBe("0077\n");
      const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
      expect([mode(pidFile), mode(join(out, "hook.file"))]).toEqual(["600", "600"]);
    },
    30000,
    { skip },
  );

  ctest(
    "BERTH_TRACE and the other BERTH_ settings are the caller's, not the agent's",
    async (c) => {
      const a = startAgent(c.root, join(c.tempDir("agent"), "agent.log"), { BERTH_TRACE: "1", BERTH_CORE: "/nonexistent/berth-core" });
      c.defer(() => a.stop());
      const b = c.bundle(["true"]);
      // the agent's environment traces and names a core that is not there: a caller's call does neither
      expect(await c.berth(["state", "nosuch"])).toEqual(await bun(c, ["state", "nosuch"]));
      expect(await c.berth(["run", "--bundle", b.dir, c.id("env")])).toEqual({ code: 0, stdout: "", stderr: "" });
      // a caller that asks for the trace gets it
      const traced = await call(c, ["state", "nosuch"], { BERTH_TRACE: "1" });
      expect(traced.code).toBe(1);
      expect(traced.stderr).toMatch(/^\[trace [0-9.]+ ms\] main$/m);
      expect(served(a).filter((l) => l.startsWith("exit"))).toHaveLength(3);
    },
    30000,
    { skip },
  );

  ctest(
    "a call with hooks is left to Bun: they run as the caller's children (its cgroup, namespaces, working directory and umask)",
    async (c) => {
      const a = agentFor(c);
      const out = c.tempDir("hooks");
      const phases = ["prestart", "createRuntime", "poststart", "poststop"] as const;
      // each hook records where it runs; one also writes to the caller's stdout
      const record = 'f=$0; { cat /proc/self/cgroup; env | sort; pwd; umask; for n in net mnt pid ipc uts cgroup; do readlink /proc/self/ns/$n; done; } > "$f"';
      const b = c.bundle(["true"], (s) => {
        s.hooks = Object.fromEntries(
          phases.map((p) => [p, [{ path: "/bin/sh", args: ["sh", "-c", `${record}; echo ${p} ran`, join(out, p)], env: ["HOOK=1", "PATH=/usr/bin:/bin"] }]]),
        );
      });
      // the caller: in a cgroup of its own (not the agent's), a working directory and a umask of its own
      // (the cgroup2 tree: beside v1 on a hybrid host, the whole of /sys/fs/cgroup on a pure v2 one)
      const cg2 = existsSync("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
      const cg = `${cg2}/berth-test-${c.id("cg")}`;
      mkdirSync(cg);
      c.defer(() => rmdirSync(cg));
      const cwd = c.tempDir("cwd");
      const results: Record<string, { stdout: string; code: number; files: string[] }> = {};
      for (const [path, env] of [
        ["agent", {}],
        ["bun", { BERTH_NO_AGENT: "1" }],
      ] as const) {
        const p = Bun.spawn(
          ["sh", "-c", `echo $$ > ${cg}/cgroup.procs && umask 027 && exec "$@"`, "sh", BERTH, "--root", c.root, "run", "--bundle", b.dir, c.id("hooks")],
          { cwd, env: { ...process.env, AGENT_ONLY: "no", ...env }, stdout: "pipe", stderr: "inherit" },
        );
        const stdout = await new Response(p.stdout).text();
        results[path] = { stdout, code: await p.exited, files: phases.map((ph) => readFileSync(join(out, ph), "utf8")) };
      }
      expect(results.agent).toEqual(results.bun!);
      expect(results.agent!.code).toBe(0);
      expect(results.agent!.stdout).toBe(phases.map((p) => `${p} ran\n`).join(""));
      const rec = results.agent!.files[0]!;
      expect(rec).toContain(`0::/${cg.slice(cg.lastIndexOf("/") + 1)}\n`);
      expect(rec).toContain(`\n${cwd}\n0027\n`);
      expect(rec).toContain("HOOK=1\n");
      // the agent served none of it: a hook may run as long as it likes, and the agent would wait for it
      expect(served(a).map((l) => l.replace(/ [^ ]+$/, ""))).toEqual([`fallback: --root ${c.root} run --bundle ${b.dir}`]);
    },
    30000,
    { skip },
  );

  ctest(
    "a hook that fails, times out or cannot start: the same error through the agent as without it",
    async (c) => {
      agentFor(c);
      const hooks: [string, object][] = [
        ["status", { path: "/bin/sh", args: ["sh", "-c", "echo bad >&2; exit 3"] }],
        ["missing", { path: "/nonexistent/hook", args: ["hook"] }],
        ["timeout", { path: "/bin/sleep", args: ["sleep", "5"], timeout: 1 }],
        ["signal", { path: "/bin/sh", args: ["sh", "-c", "kill -TERM $$"] }],
      ];
      for (const [name, hook] of hooks) {
        const b = c.bundle(["true"], (s) => {
          s.hooks = { createRuntime: [hook as never], poststop: [hook as never] };
        });
        const viaAgent = await c.berth(["run", "--bundle", b.dir, c.id(name)]);
        const viaBun = await bun(c, ["run", "--bundle", b.dir, c.id(name)]);
        expect({ name, ...viaAgent }).toEqual({ name, ...viaBun });
        expect(viaAgent.code).toBe(1);
      }
      expect((await c.berth(["list", "-q"])).stdout).toBe("");
    },
    60000,
    { skip },
  );

  ctest(
    "--console-socket: the pty it receives has process.consoleSize, through the agent as without it",
    async (c) => {
      const a = agentFor(c);
      // a console socket's receiver: the pty master's window size (TIOCGWINSZ)
      const recv = [
        "import array, fcntl, socket, struct, sys, termios",
        "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print('ready', flush=True)",
        "c, _ = s.accept(); _, fds, _, _ = socket.recv_fds(c, 1, 1)",
        "rows, cols, _, _ = struct.unpack('HHHH', fcntl.ioctl(fds[0], termios.TIOCGWINSZ, bytes(8)))",
        "print(rows, cols, flush=True)",
      ].join("\n");
      const b = c.bundle(["sleep", "30"], (s) => {
        s.process!.terminal = true;
        s.process!.consoleSize = { height: 33, width: 91 };
      });
      const sizes: Record<string, string> = {};
      for (const [path, env] of [
        ["agent", {}],
        ["bun", { BERTH_NO_AGENT: "1" }],
      ] as const) {
        const sock = join(c.tempDir("console"), "sock");
        const receiver = Bun.spawn(["python3", "-c", recv, sock], { stdout: "pipe", stderr: "inherit" });
        c.trackPid(receiver.pid);
        const reader = receiver.stdout.getReader();
        let out = "";
        while (!out.includes("\n")) {
          const r = await reader.read();
          if (r.done) break;
          out += new TextDecoder().decode(r.value);
        }
        expect(out).toBe("ready\n");
        out = "";
        const id = c.id("console");
        expect(await call(c, ["create", "--bundle", b.dir, "--console-socket", sock, id], env)).toEqual({ code: 0, stdout: "", stderr: "" });
        for (let r = await reader.read(); !r.done; r = await reader.read()) out += new TextDecoder().decode(r.value);
        sizes[path] = out;
        expect((await c.berth(["delete", "--force", id])).code).toBe(0);
      }
      expect(sizes).toEqual({ agent: "33 91\n", bun: "33 91\n" });
      expect(served(a).some((l) => l.startsWith("exit 0: ") && l.includes("--console-socket"))).toBe(true);
    },
    30000,
    { skip },
  );

  ctest(
    "a container made through one path is managed through the other",
    async (c) => {
      agentFor(c);
      const b = c.bundle(["sh", "-c", "echo started; sleep 30"]);
      const one = c.id("mixed"),
        two = c.id("mixed");
      // agent create, Bun start and state, agent exec and kill, Bun delete
      expect((await c.berth(["create", "--bundle", b.dir, one])).code).toBe(0);
      expect((await bun(c, ["state", one])).stdout).toContain('"status": "created"');
      expect(await bun(c, ["start", one])).toMatchObject({ code: 0 });
      expect((await c.berth(["state", one])).stdout).toContain('"status": "running"');
      expect(await c.berth(["exec", one, "sh", "-c", "echo in; exit 4"])).toEqual({ code: 4, stdout: "in\n", stderr: "" });
      expect((await c.berth(["kill", one, "KILL"])).code).toBe(0);
      expect(await waitFor(() => !alive(initPid(c, one))));
      expect((await bun(c, ["delete", one])).code).toBe(0);
      // Bun create, agent start, Bun exec, agent delete --force
      expect((await bun(c, ["create", "--bundle", b.dir, two])).code).toBe(0);
      expect((await c.berth(["start", two])).code).toBe(0);
      expect(await bun(c, ["exec", two, "sh", "-c", "echo bun; exit 5"])).toEqual({ code: 5, stdout: "bun\n", stderr: "" });
      expect((await c.berth(["delete", "--force", two])).code).toBe(0);
      expect((await c.berth(["list", "-q"])).stdout).toBe("");
    },
    30000,
    { skip },
  );

  ctest(
    "a foreground run's and an exec's processes descend from the caller",
    async (c) => {
      const a = agentFor(c);
      const b = c.bundle(["sh", "-c", "trap 'exit 7' TERM; sleep 30 & wait"]);
      const id = c.id("tree");
      const door = Bun.spawn([BERTH, "--root", c.root, "run", "--bundle", b.dir, id], { stdio: ["ignore", "ignore", "inherit"] });
      c.trackPid(door.pid);
      expect(await waitFor(() => status(c, id) === "running"));
      const init = initPid(c, id);
      // init <- core <- the door (the caller's child)
      expect(parentOf(parentOf(init))).toBe(door.pid);
      const exec = Bun.spawn([BERTH, "--root", c.root, "exec", id, "sleep", "30"], { stdio: ["ignore", "ignore", "inherit"] });
      c.trackPid(exec.pid);
      let execd = 0;
      expect(
        await waitFor(() => {
          const kids = readFileSync(`/proc/${exec.pid}/task/${exec.pid}/children`, "utf8").trim();
          if (!kids) return false;
          execd = Number(
            readFileSync(`/proc/${kids.split(" ")[0]}/task/${kids.split(" ")[0]}/children`, "utf8")
              .trim()
              .split(" ")[0] || 0,
          );
          return execd > 0;
        }),
      );
      // the exec'd process <- its core <- the door
      expect(parentOf(parentOf(execd))).toBe(exec.pid);
      // the caller's signal reaches the container through the door and its core
      await Bun.sleep(200);
      door.kill("SIGTERM");
      expect(await door.exited).toBe(7);
      expect(await exec.exited).not.toBe(0);
      expect(served(a).some((l) => l.startsWith("exit 7: ") && l.endsWith(id))).toBe(true);
    },
    30000,
    { skip },
  );

  ctest(
    "a caller of another uid is refused (SO_PEERCRED), even when the socket lets it connect",
    async (c) => {
      const a = agentFor(c);
      // the socket is 0600 in a 0700 directory: open both up, so that only the credentials check is left
      const dir = dirname(a.socket);
      expect([statSync(dir).mode & 0o777, statSync(a.socket).mode & 0o777]).toEqual([0o700, 0o600]);
      chmodSync(dir, 0o711);
      c.defer(() => chmodSync(dir, 0o700));
      chmodSync(a.socket, 0o666);
      // (a user's door looks in its own runtime directory: this one is pointed at root's)
      const p = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BERTH, "--root", c.root, "list"], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, XDG_RUNTIME_DIR: "/run" },
      });
      expect(p.exitCode).toBe(1);
      expect(p.stdout.toString()).toBe("");
      expect(p.stderr.toString()).toBe(`berth: the berth agent at ${a.socket} serves only the user it runs as\n`);
      expect(a.log()).toContain("refused uid 65534");
      expect(served(a)).toEqual([]);
    },
    30000,
    { skip },
  );

  ctest(
    "calls run concurrently: a long foreground run blocks no other call",
    async (c) => {
      const a = agentFor(c);
      const b = c.bundle(["sleep", "3"]);
      const id = c.id("long");
      const long = c.berth(["run", "--bundle", b.dir, id]);
      expect(await waitFor(() => status(c, id) === "running"));
      const t0 = performance.now();
      const l = await c.berth(["list", "-q"]);
      expect(l).toEqual({ code: 0, stdout: `${id}\n`, stderr: "" });
      // answered while the run still waits for its container
      expect(status(c, id)).toBe("running");
      expect(performance.now() - t0).toBeLessThan(2500);
      expect((await long).code).toBe(0);
      const log = served(a);
      expect(log.findIndex((x) => x.endsWith("list -q"))).toBeLessThan(log.findIndex((x) => x.endsWith(id)));
    },
    30000,
    { skip },
  );

  ctest(
    "a caller that does not read its stdout holds only its own call",
    async (c) => {
      const a = agentFor(c);
      // a pipe already full, that nobody reads until the end: the first call's output cannot go
      const fifo = join(c.tempDir("fifo"), "out");
      expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const filler = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      const stuckOut = openSync(fifo, constants.O_WRONLY);
      c.defer(() => [reader, filler, stuckOut].forEach((fd) => closeSync(fd)));
      const chunk = Buffer.alloc(4096, "x");
      let filled = 0;
      for (;;) {
        try {
          filled += writeSync(filler, chunk);
        } catch {
          break;
        }
      }
      const stuck = Bun.spawn([BERTH, "--root", c.root, "list"], { stdout: stuckOut, stderr: "pipe" });
      c.trackPid(stuck.pid);
      expect(await waitFor(() => served(a).length === 0 && a.log().includes("listening") && stuck.exitCode === null));
      await Bun.sleep(300);
      // meanwhile another call is served at once
      const t0 = performance.now();
      expect(await c.berth(["list", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(stuck.exitCode).toBeNull();
      // the first call's output comes, after the filler's, once the pipe is read
      let got = "";
      const buf = Buffer.alloc(65536);
      const end = Date.now() + 10000;
      while (stuck.exitCode === null && Date.now() < end) {
        try {
          got += buf.subarray(0, readSync(reader, buf)).toString();
        } catch {
          await Bun.sleep(10);
        }
      }
      expect(await stuck.exited).toBe(0);
      for (;;) {
        try {
          const n = readSync(reader, buf);
          if (n === 0) break;
          got += buf.subarray(0, n).toString();
        } catch {
          break;
        }
      }
      expect(got.length).toBeGreaterThan(filled);
      expect(got.slice(filled)).toBe((await bun(c, ["list"])).stdout);
    },
    30000,
    { skip },
  );

  ctest(
    "the agent's socket is not in the state directory: it is empty once the containers are gone",
    async (c) => {
      const a = agentFor(c);
      expect(a.socket.startsWith(c.root)).toBe(false);
      expect(readdirSync(c.root)).toEqual([]);
      const b = c.bundle(["true"]);
      expect((await c.berth(["run", "--bundle", b.dir, c.id("empty")])).code).toBe(0);
      expect(readdirSync(c.root)).toEqual([]);
      expect(served(a).filter((l) => l.startsWith("exit 0: "))).toHaveLength(1);
    },
    30000,
    { skip },
  );

  ctest(
    "a second agent for the same --root refuses to start; the first keeps serving",
    async (c) => {
      const a = agentFor(c);
      const second = Bun.spawnSync([BERTH, "--root", c.root, "agent"], { stdout: "pipe", stderr: "pipe" });
      expect({ code: second.exitCode, stderr: second.stderr.toString() }).toEqual({ code: 1, stderr: `berth: an agent already listens on ${a.socket}\n` });
      expect(await c.berth(["list", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(served(a)).toContain(`exit 0: --root ${c.root} list -q`);
    },
    30000,
    { skip },
  );

  ctest(
    "a caller in another mount namespace is left to the Bun berth (its paths are not the agent's)",
    async (c) => {
      const a = agentFor(c);
      const p = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", BERTH, "--root", c.root, "list", "-q"], { stdout: "pipe", stderr: "pipe" });
      expect({ code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() }).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(a.log()).toContain(`fallback (another view of the system): --root ${c.root} list -q`);
      expect(served(a).filter((l) => l.startsWith("exit"))).toEqual([]);
    },
    30000,
    { skip },
  );

  ctest(
    "systemd's socket activation: the agent takes the socket it is handed as fd 3",
    async (c) => {
      const activate = Bun.which("systemd-socket-activate");
      if (!activate) return;
      const socket = socketFor(c.root);
      mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
      const log = join(c.tempDir("agent"), "agent.log");
      const p = Bun.spawn([activate, "-l", socket, "-E", "BERTH_AGENT_LOG=1", BERTH, "--root", c.root, "agent"], {
        stdio: ["ignore", "ignore", Bun.file(log)],
      });
      c.defer(async () => {
        p.kill("SIGTERM");
        await p.exited;
        rmSync(socket, { force: true });
      });
      expect(await waitFor(() => existsSync(socket)));
      // the first call starts the agent (the door started by activation is never a client)
      expect(await c.berth(["state", "nosuch"])).toEqual({ code: 1, stdout: "", stderr: 'berth: container "nosuch" does not exist\n' });
      expect(await c.berth(["list", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(readFileSync(log, "utf8")).toContain("exit 0: --root " + c.root + " list -q");
    },
    30000,
    { skip },
  );

  ctest(
    "an agent killed half-way through a create: one error line, non-zero exit; delete --force removes what it made",
    async (c) => {
      const a = agentFor(c);
      // the create stops where the agent waits for its core (a core that
      // starts slowly), after its record and cgroups were made
      const dir = c.tempDir("core");
      const marker = join(dir, "started");
      const core = join(dir, "berth-core");
      writeFileSync(core, `#!/bin/sh\ntouch ${marker}\nsleep 2\nexec ${CORE} "$@"\n`);
      chmodSync(core, 0o755);
      const b = c.bundle(["sleep", "30"]);
      const id = c.id("halfmade");
      const create = call(c, ["create", "--bundle", b.dir, id], { BERTH_CORE: core });
      // the core starts before the agent makes the cgroups: wait for both
      expect(await waitFor(() => existsSync(marker) && cgroupDirs(id).some((d) => existsSync(d))));
      await a.kill9();
      const r = await create;
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `berth: the berth agent (${a.socket}) stopped before it answered; nothing more was done (\`berth delete --force ID\` removes a container it left half made)\n`,
      );
      // the next calls run on Bun: what the create had made goes with delete --force
      expect(await c.berth(["delete", "--force", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect((await c.berth(["list", "-q"])).stdout).toBe("");
      expect(readdirSync(c.root)).toEqual([]);
      expect(cgroupDirs(id).filter((d) => existsSync(d))).toEqual([]);
    },
    30000,
    { skip },
  );

  ctest(
    "an agent killed during a call: one error line, non-zero exit; the next call works on Bun",
    async (c) => {
      const a = agentFor(c);
      const b = c.bundle(["sleep", "30"]);
      const id = c.id("killed");
      const run = c.berth(["run", "--bundle", b.dir, id]);
      expect(await waitFor(() => status(c, id) === "running"));
      await a.kill9();
      const r = await run;
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith(`berth: the berth agent (${a.socket}) stopped before it answered`);
      // the socket file is still there, nobody listens: the Bun path takes over
      expect((await c.berth(["state", id])).code).toBe(0);
      expect(await c.berth(["delete", "--force", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect((await c.berth(["list", "-q"])).stdout).toBe("");
    },
    30000,
    { skip },
  );
  ctest(
    "a caller that connects and sends nothing holds no other call; its connection is dropped after 5 s",
    async (c) => {
      const a = agentFor(c);
      // a connection that never sends its request
      let closed = false;
      const silent = await Bun.connect({ unix: a.socket, socket: { data() {}, close: () => void (closed = true) } });
      try {
        for (let i = 0; i < 3; i++) expect(await c.berth(["list", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });
        // served by the agent while the silent one still waited for its
        // request (an agent that read it first would have served them only
        // after giving up on it, and closed it)
        expect(served(a).filter((l) => l === `exit 0: --root ${c.root} list -q`)).toHaveLength(3);
        expect(closed).toBe(false);
        // a request that does not come whole in 5 s is dropped
        expect(await waitFor(() => closed, 15000));
      } finally {
        silent.end();
      }
    },
    30000,
    { skip },
  );

  ctest(
    "a create waiting in its hook holds no other call: the agent leaves it to Bun and serves the rest",
    async (c) => {
      const a = agentFor(c);
      const dir = c.tempDir("hook");
      const started = join(dir, "started");
      const go = join(dir, "go");
      // the hook waits until the test says go (a test that never gets there
      // fails by its timeout; its clean-up says go, and the hook gives up after 30 s anyway)
      const b = c.bundle(["true"], (s) => {
        s.hooks = {
          createRuntime: [
            { path: "/bin/sh", args: ["sh", "-c", `touch ${started}; i=0; while [ ! -e ${go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`] },
          ],
        };
      });
      c.defer(() => writeFileSync(go, ""));
      const waiting = c.id("waiting");
      const create = c.berth(["create", "--bundle", b.dir, waiting]);
      expect(await waitFor(() => existsSync(started)));
      const other = c.bundle(["true"]);
      const otherId = c.id("other");
      expect(await c.berth(["run", "--bundle", other.dir, otherId])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(await c.berth(["list", "-q"])).toEqual({ code: 0, stdout: `${waiting}\n`, stderr: "" });
      writeFileSync(go, "");
      expect(await create).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(await c.berth(["delete", "--force", waiting])).toEqual({ code: 0, stdout: "", stderr: "" });
      const log = served(a);
      expect(log).toContain(`fallback: --root ${c.root} create --bundle ${b.dir} ${waiting}`);
      expect(log).toContain(`exit 0: --root ${c.root} run --bundle ${other.dir} ${otherId}`);
      expect(log).toContain(`exit 0: --root ${c.root} list -q`);
    },
    30000,
    { skip },
  );

  ctest(
    "exec --process - and update -r - read the caller's stdin on Bun, with the same results",
    async (c) => {
      const a = agentFor(c);
      const b = c.bundle(["sleep", "30"]);
      const id = c.id("stdin");
      expect(await c.berth(["run", "-d", "--bundle", b.dir, id])).toEqual({ code: 0, stdout: "", stderr: "" });
      const proc = JSON.stringify({ user: { uid: 0, gid: 0 }, args: ["sh", "-c", "echo from stdin"], cwd: "/", env: ["PATH=/bin"] });
      const exec = await c.berth(["exec", "--process", "-", id], { stdin: proc });
      expect(exec).toEqual({ code: 0, stdout: "from stdin\n", stderr: "" });
      const update = await c.berth(["update", "-r", "-", id], { stdin: JSON.stringify({ pids: { limit: 77 } }) });
      expect(update).toEqual({ code: 0, stdout: "", stderr: "" });
      const log = served(a);
      expect(log).toContain(`fallback: --root ${c.root} exec --process - ${id}`);
      expect(log).toContain(`fallback: --root ${c.root} update -r - ${id}`);
      expect(await c.berth(["delete", "--force", id])).toEqual({ code: 0, stdout: "", stderr: "" });
    },
    30000,
    { skip },
  );
});

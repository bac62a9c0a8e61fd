// The runtime-spec lifecycle through the CLI: create/start/state/kill/delete,
// list, exec (env, cwd, user, tty, detach, pid file), run -d, pid files,
// preserved fds, exit codes, terminals over a console socket, and concurrent
// commands on one container.
import { beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, berthOnly, berthSays, ctest, kv, ok, onlyOnBerth, waitFor, type Ctx } from "./helpers.ts";

let recvtty = "";
let recvpidfd = "";
beforeAll(() => {
  // console and pidfd socket servers: Bun cannot receive file descriptors over a socket
  const dir = join(import.meta.dir, "../../build");
  for (const name of ["recvtty", "recvpidfd"]) {
    const out = join(dir, `test-${name}`);
    const src = join(import.meta.dir, `fixtures/${name}.c`);
    const r = spawnSync("gcc", ["-O", "-Wall", "-o", out, src], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`compiling ${src}: ${r.stderr}`);
    if (name === "recvtty") recvtty = out;
    else recvpidfd = out;
  }
});

/** Starts recvpidfd on a fresh socket path; `signal()` has it send SIGNAL through the pidfd; resolves what it printed. */
async function pidfdSocket(c: Ctx, signal?: number): Promise<{ path: string; done: Promise<string>; signal: () => void }> {
  const path = join(c.tempDir("pidfd"), "sock");
  const p = Bun.spawn([recvpidfd, path, ...(signal !== undefined ? [String(signal)] : [])], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  c.trackPid(p.pid);
  c.defer(() => {
    p.kill("SIGKILL");
  });
  if (!(await waitFor(() => existsSync(path), 3000, 5))) throw new Error("recvpidfd did not listen");
  const signalNow = () => {
    p.stdin.write("go\n");
    p.stdin.end();
  };
  return { path, done: new Response(p.stdout).text(), signal: signalNow };
}

/** Starts recvtty on a fresh socket path; resolves its output once the pty closes. */
async function consoleSocket(c: Ctx, input?: string): Promise<{ path: string; done: Promise<{ out: string; name: string }> }> {
  const path = join(c.tempDir("console"), "sock");
  const p = Bun.spawn([recvtty, path, ...(input !== undefined ? [input] : [])], { stdout: "pipe", stderr: "pipe" });
  c.trackPid(p.pid);
  c.defer(() => {
    p.kill("SIGKILL");
  });
  if (!(await waitFor(() => existsSync(path), 3000, 5))) throw new Error("recvtty did not listen");
  const done = (async () => {
    const [out, name] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { out, name: name.trim() };
  })();
  return { path, done };
}

async function status(c: Ctx, id: string): Promise<string> {
  return (await c.state(id)).status as string;
}

describe("lifecycle", () => {
  ctest("create waits, start runs; state JSON; kill by name; delete rules", async (c) => {
    const b = c.bundle(["sh", "-c", "touch /tmp/started; trap 'exit 7' TERM; sleep 60 & wait"], (cfg) => {
      cfg.root!.readonly = false;
      cfg.annotations = { "org.example.k": "v" };
    });
    const id = c.id("life");
    const pidFile = join(c.tempDir("pid"), "pid");
    ok(await c.berth(["create", "--bundle", b.dir, "--pid-file", pidFile, id]));
    const st = await c.state(id);
    expect(st.status).toBe("created");
    expect(st.id).toBe(id);
    expect(st.bundle).toBe(b.dir);
    expect(typeof st.ociVersion).toBe("string");
    expect(st.annotations).toEqual({ "org.example.k": "v" });
    const pid = st.pid as number;
    expect(pid).toBeGreaterThan(1);
    expect(readFileSync(pidFile, "utf8").trim()).toBe(String(pid));
    expect(alive(pid)).toBe(true);
    // the user's program has not run yet
    await Bun.sleep(100);
    expect(existsSync(join(b.rootfs, "tmp/started"))).toBe(false);
    expect(await status(c, id)).toBe("created");
    // a second start cannot happen before the first: start it now
    ok(await c.berth(["start", id]));
    expect(await waitFor(() => existsSync(join(b.rootfs, "tmp/started")))).toBe(true);
    expect(await status(c, id)).toBe("running");
    expect((await c.state(id)).pid).toBe(pid);
    const again = await c.berth(["start", id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("running");
    // delete of a running container needs --force
    const del = await c.berth(["delete", id]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/not stopped|running/);
    expect(await status(c, id)).toBe("running");
    ok(await c.berth(["kill", id, "TERM"]));
    expect(await waitFor(() => !alive(pid))).toBe(true);
    const stopped = await c.state(id);
    expect(stopped.status).toBe("stopped");
    // no live pid for a stopped container: berth leaves it out, runc says 0
    expect(stopped.pid ?? 0).toBe(0);
    const killStopped = await c.berth(["kill", id, "KILL"]);
    expect(killStopped.code).not.toBe(0);
    ok(await c.berth(["delete", id]));
    const gone = await c.berth(["state", id]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("does not exist");
    expect(readdirSync(c.root).filter((n) => n.includes(id))).toEqual([]);
  });

  ctest("kill by number; delete --force of a running container; delete of a created one", async (c) => {
    const b = c.bundle(["sleep", "60"]);
    const id = c.id("kill");
    ok(await c.run(b, id, ["-d"]));
    const pid = (await c.state(id)).pid as number;
    ok(await c.berth(["kill", id, "9"]));
    expect(await waitFor(() => !alive(pid))).toBe(true);
    expect(await status(c, id)).toBe("stopped");
    ok(await c.berth(["delete", id]));

    const id2 = c.id("force");
    ok(await c.run(c.bundle(["sleep", "60"]), id2, ["-d"]));
    const pid2 = (await c.state(id2)).pid as number;
    ok(await c.berth(["delete", "--force", id2]));
    expect(alive(pid2)).toBe(false);

    const id3 = c.id("created");
    ok(await c.berth(["create", "--bundle", c.bundle(["sleep", "60"]).dir, id3]));
    const pid3 = (await c.state(id3)).pid as number;
    ok(await c.berth(["delete", id3]));
    expect(alive(pid3)).toBe(false);
    const bad = await c.berth(["kill", id3, "NOSUCHSIG"]);
    expect(bad.code).not.toBe(0);
  });

  ctest("kill --all signals every process of the container", async (c) => {
    const id = c.id("killall");
    // sh as pid 1 ignores TERM; its children do not
    ok(await c.run(c.bundle(["sh", "-c", "sleep 60 & sleep 61 & wait; sleep 62"]), id, ["-d"]));
    const init = (await c.state(id)).pid as number;
    const kids = () => readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    expect(await waitFor(() => kids().length === 2)).toBe(true);
    const first = kids();
    ok(await c.berth(["kill", "--all", id, "KILL"]));
    expect(await waitFor(() => !alive(init) && first.every((p) => !alive(p)))).toBe(true);
    expect(await status(c, id)).toBe("stopped");
  });

  ctest("list: table, --format json and -q", async (c) => {
    const a = c.id("lista"),
      b = c.id("listb");
    ok(await c.berth(["create", "--bundle", c.bundle(["sleep", "60"]).dir, a]));
    ok(await c.run(c.bundle(["sleep", "60"]), b, ["-d"]));
    const table = ok(await c.berth(["list"]))
      .stdout.trim()
      .split("\n");
    expect(table[0]!.split(/\s+/)).toEqual(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
    const row = (id: string) => table.find((l) => l.startsWith(id + " "))!.split(/\s+/);
    expect(row(a)[2]).toBe("created");
    expect(row(b)[2]).toBe("running");
    const json = JSON.parse(ok(await c.berth(["list", "--format", "json"])).stdout) as { id: string; status: string; pid: number }[];
    expect(json.map((j) => j.id).sort()).toEqual([a, b].sort());
    expect(json.find((j) => j.id === b)!.status).toBe("running");
    expect(json.find((j) => j.id === b)!.pid).toBe((await c.state(b)).pid as number);
    expect(
      ok(await c.berth(["list", "-q"]))
        .stdout.trim()
        .split("\n")
        .sort(),
    ).toEqual([a, b].sort());
  });

  ctest("run: the exit code propagates; run -d returns at once with a pid file", async (c) => {
    const r = await c.run(c.bundle(["sh", "-c", "echo out; echo err >&2; exit 42"]));
    expect(r.code).toBe(42);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    // a container killed by a signal: 128 + the signal
    const k = await c.run(
      c.bundle(["sh", "-c", "kill -9 $$; sleep 5"], (cfg) =>
        cfg.linux!.namespaces!.splice(
          cfg.linux!.namespaces!.findIndex((n) => n.type === "pid"),
          1,
        ),
      ),
    );
    expect(k.code).toBe(137);

    const id = c.id("rund");
    const pidFile = join(c.tempDir("pid"), "run.pid");
    const t0 = Date.now();
    ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d", "--pid-file", pidFile]));
    expect(Date.now() - t0).toBeLessThan(5000);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect((await c.state(id)).pid).toBe(pid);
    expect(await status(c, id)).toBe("running");
    // (runc's start can return while its init is still in execve)
    const cmdline = () => readFileSync(`/proc/${pid}/cmdline`, "utf8");
    await waitFor(() => cmdline() === "sleep\x0060\x00", 2000);
    expect(cmdline()).toBe("sleep\x0060\x00");
  });

  ctest("run in the foreground starts at once: no exec fifo, running while it runs, nothing left after", async (c) => {
    const id = c.id("runfg");
    const marker = join(c.tempDir("fg"), "go");
    const b = c.bundle(["sh", "-c", "while [ ! -e /data/go ]; do sleep 0.02; done; echo done"], (cfg) => {
      cfg.mounts!.push({ destination: "/data", type: "bind", source: join(marker, ".."), options: ["rbind"] });
    });
    const run = c.run(b, id);
    expect(await waitFor(() => existsSync(join(c.root, id, "state.json")), 5000, 5)).toBe(true);
    // "creating" until the init is ready, then straight to "running" (never "created")
    const seen = new Set<string>();
    for (let i = 0; i < 250 && !seen.has("running"); i++) {
      seen.add(await status(c, id));
      if (!seen.has("running")) await Bun.sleep(20);
    }
    expect(seen.has("running")).toBe(true);
    onlyOnBerth("runc's foreground run is create then start: it passes through created", () =>
      expect([...seen].filter((s) => s !== "creating")).toEqual(["running"]),
    );
    expect(existsSync(join(c.root, id, "exec.fifo"))).toBe(false);
    writeFileSync(marker, "");
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("done\n");
    expect(existsSync(join(c.root, id))).toBe(false);
  });

  ctest("--preserve-fds passes extra descriptors into the container", async (c) => {
    const f = join(c.tempDir("fd"), "passed");
    writeFileSync(f, "through fd 3\n");
    const fd = openSync(f, "r");
    try {
      const r = await c.berth(["run", "--preserve-fds", "1", "--bundle", c.bundle(["sh", "-c", "cat <&3; ls /proc/$$/fd; true"]).dir, c.id("fds")], {
        fds: [fd],
      });
      ok(r);
      expect(r.stdout).toStartWith("through fd 3\n");
      // (no pipeline: sh would hold the pipe's ends while ls lists its table)
      expect(r.stdout.split("\n").slice(1).join(" ").trim()).toBe("0 1 2 3");
    } finally {
      closeSync(fd);
    }
  });
});

describe("exec", () => {
  ctest("exec with --env, --cwd, --user; exit codes; --detach with --pid-file", async (c) => {
    const id = c.id("exec");
    ok(
      await c.run(
        c.bundle(["sleep", "60"], (cfg) => (cfg.root!.readonly = false)),
        id,
        ["-d"],
      ),
    );
    const init = (await c.state(id)).pid as number;
    const r = ok(
      await c.berth([
        "exec",
        "--env",
        "FOO=bar",
        "--cwd",
        "/tmp",
        "--user",
        "1000:1000",
        id,
        "sh",
        "-c",
        "echo foo=$FOO; echo cwd=$(pwd); echo id=$(id -u):$(id -g); echo pid=$$; echo ns=$(readlink /proc/self/ns/pid); echo host=$(hostname)",
      ]),
    );
    const v = kv(r.stdout);
    expect(v.foo).toBe("bar");
    expect(v.cwd).toBe("/tmp");
    expect(v.id).toBe("1000:1000");
    expect(Number(v.pid)).toBeGreaterThan(1);
    expect(v.ns).toBe(readlinkSync(`/proc/${init}/ns/pid`));
    const code = await c.berth(["exec", id, "sh", "-c", "exit 5"]);
    expect(code.code).toBe(5);
    const missing = await c.berth(["exec", id, "/no/such/program"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("/no/such/program");

    const pidFile = join(c.tempDir("pid"), "exec.pid");
    ok(await c.berth(["exec", "--detach", "--pid-file", pidFile, id, "sh", "-c", "echo detached > /tmp/d; sleep 60"]));
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(alive(pid)).toBe(true);
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(readlinkSync(`/proc/${init}/ns/mnt`));
    expect(await waitFor(() => existsSync(`/proc/${init}/root/tmp/d`))).toBe(true);
    // the exec'd process is in the container's cgroup: delete --force takes it down too
    ok(await c.berth(["delete", "--force", id]));
    expect(await waitFor(() => !alive(pid))).toBe(true);
  });

  ctest(
    "exec --process with execCPUAffinity: initial alone carries over, final replaces it; a CPU the host lacks fails",
    async (c) => {
      const id = c.id("affinity");
      ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d"]));
      const host = readFileSync("/proc/self/status", "utf8").match(/^Cpus_allowed_list:\s*(\S+)/m)![1]!;
      const first = host.split(/[-,]/)[0]!;
      const last = host.split(/[-,]/).pop()!;
      const proc = (aff: object) => {
        const f = join(c.tempDir("proc"), "process.json");
        writeFileSync(
          f,
          JSON.stringify({
            args: ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"],
            cwd: "/",
            user: { uid: 0, gid: 0 },
            env: ["PATH=/bin"],
            execCPUAffinity: aff,
          }),
        );
        return f;
      };
      const cpus = async (aff: object) => ok(await c.berth(["exec", "--process", proc(aff), id])).stdout.split(/\s+/)[1];
      expect(await cpus({ initial: last })).toBe(last);
      expect(await cpus({ initial: first, final: last })).toBe(last);
      expect(await cpus({})).toBe(host);
      const bad = await c.berth(["exec", "--process", proc({ final: "8000" }), id]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("process.execCPUAffinity.final");
      const malformed = await c.berth(["exec", "--process", proc({ initial: "3-1" }), id]);
      expect(malformed.code).not.toBe(0);
      expect(malformed.stderr).toContain("execCPUAffinity.initial");
    },
    30000,
    { skip: berthOnly("process.execCPUAffinity (runtime-spec 1.2) is not in runc 1.1") },
  );

  ctest(
    "--pidfd-socket: create and exec send a pidfd of their process; a signal through it reaches the init",
    async (c) => {
      const id = c.id("pidfd");
      const s1 = await pidfdSocket(c, 9);
      ok(await c.berth(["create", "--bundle", c.bundle(["sleep", "60"]).dir, "--pidfd-socket", s1.path, id]));
      const init = (await c.state(id)).pid as number;
      expect(alive(init)).toBe(true);
      // the receiver kills the waiting init through the pidfd
      s1.signal();
      expect(await s1.done).toBe(`pid=${init}\n`);
      expect(await waitFor(() => !alive(init))).toBe(true);
      ok(await c.berth(["delete", id]));

      const id2 = c.id("pidfdx");
      ok(await c.run(c.bundle(["sleep", "60"]), id2, ["-d"]));
      const s2 = await pidfdSocket(c);
      const pidFile = join(c.tempDir("pid"), "exec.pid");
      ok(await c.berth(["exec", "--detach", "--pid-file", pidFile, "--pidfd-socket", s2.path, id2, "sleep", "30"]));
      // (no signal asked of this receiver: it exits once it printed, reading no stdin)
      expect(await s2.done).toBe(`pid=${readFileSync(pidFile, "utf8").trim()}\n`);
      // no socket listening: create fails naming it, nothing left
      const bad = await c.berth(["create", "--bundle", c.bundle(["true"]).dir, "--pidfd-socket", join(c.tempDir("none"), "sock"), c.id("pidfdbad")]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("pidfd socket");
    },
    30000,
    { skip: berthOnly("--pidfd-socket is a runc 1.2 flag, not in runc 1.1") },
  );

  ctest("exec into a stopped or unknown container fails clearly", async (c) => {
    const id = c.id("execstop");
    ok(await c.run(c.bundle(["true"]), id, ["-d"]));
    for (let i = 0; i < 100 && (await status(c, id)) !== "stopped"; i++) await Bun.sleep(20);
    const r = await c.berth(["exec", id, "true"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("stopped");
    const u = await c.berth(["exec", "no-such-container-xyz", "true"]);
    expect(u.code).not.toBe(0);
    expect(u.stderr).toContain("does not exist");
  });
});

describe("terminal", () => {
  ctest("process.terminal: the pty master travels over the console socket; consoleSize applies", async (c) => {
    const sock = await consoleSocket(c);
    const b = c.bundle(["sh", "-c", "tty; stty size; test -t 0 && test -t 1 && echo all-tty"], (cfg) => {
      cfg.process!.terminal = true;
      cfg.process!.consoleSize = { height: 33, width: 101 };
    });
    // detached, as containerd and conmon use a console socket (runc refuses one for a foreground run)
    const r = await c.run(b, c.id("tty"), ["-d", "--console-socket", sock.path]);
    expect(r.code).toBe(0);
    const { out, name } = await sock.done;
    const lines = out.replace(/\r/g, "").trim().split("\n");
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    onlyOnBerth("the name sent with the pty master: berth's is the container's /dev/pts path, runc's /dev/ptmx", () => expect(name).toBe(lines[0]));
    expect(lines[1]).toBe("33 101");
    expect(lines[2]).toBe("all-tty");
  });

  ctest("input typed on the pty reaches the process", async (c) => {
    const sock = await consoleSocket(c, "hello-through-pty\n");
    const b = c.bundle(["sh", "-c", "read line; echo got=$line"], (cfg) => (cfg.process!.terminal = true));
    ok(await c.run(b, c.id("ttyin"), ["-d", "--console-socket", sock.path]));
    const { out } = await sock.done;
    expect(out.replace(/\r/g, "")).toContain("got=hello-through-pty");
  });

  ctest("exec --tty with a console socket; without one it relays; create with a terminal needs one", async (c) => {
    const id = c.id("exectty");
    ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d"]));
    const sock = await consoleSocket(c);
    ok(await c.berth(["exec", "--tty", "--detach", "--console-socket", sock.path, id, "sh", "-c", "tty; echo in-exec"]));
    const { out, name } = await sock.done;
    expect(out.replace(/\r/g, "")).toMatch(/\/dev\/pts\/\d+\nin-exec/);
    onlyOnBerth("the name sent with the pty master: berth's is the container's /dev/pts path, runc's /dev/ptmx", () =>
      expect(out.replace(/\r/g, "")).toContain(`${name}\nin-exec`),
    );
    // without --console-socket the runtime relays its own terminal (as runc; issue 11)
    const relayed = await c.berth(["exec", "--tty", id, "true"]);
    onlyOnBerth("with no terminal at all on its stdio, runc fails to open /dev/tty where berth relays what it has", () => expect(relayed.code).toBe(0));
    const b = c.bundle(["true"], (cfg) => (cfg.process!.terminal = true));
    const id2 = c.id("nosock");
    const r = await c.berth(["create", "--bundle", b.dir, id2]);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr, "process.terminal");
    expect(readdirSync(c.root).filter((n) => n.includes(id2))).toEqual([]);
  });
});

describe("concurrency", () => {
  ctest(
    "concurrent creates of one id: exactly one wins; concurrent deletes leave clean state",
    async (c) => {
      const id = c.id("race");
      const bundles = [c.bundle(["sleep", "60"]), c.bundle(["sleep", "60"]), c.bundle(["sleep", "60"])];
      const creates = await Promise.all(bundles.map((b) => c.berth(["create", "--bundle", b.dir, id])));
      expect(creates.filter((r) => r.code === 0)).toHaveLength(1);
      for (const r of creates.filter((r) => r.code !== 0)) expect(r.stderr).toContain("already exists");
      const st = await c.state(id);
      expect(st.status).toBe("created");
      expect(alive(st.pid as number)).toBe(true);
      ok(await c.berth(["start", id]));
      const results = await Promise.all([
        c.berth(["delete", "--force", id]),
        c.berth(["delete", "--force", id]),
        c.berth(["state", id]),
        c.berth(["kill", id, "KILL"]),
        c.berth(["list", "--format", "json"]),
      ]);
      expect(results[0]!.code === 0 || results[1]!.code === 0).toBe(true);
      for (const r of results) expect(r.stderr).not.toMatch(/SyntaxError|JSON Parse|Unexpected/);
      JSON.parse(results[4]!.stdout);
      expect(alive(st.pid as number)).toBe(false);
      expect(readdirSync(c.root)).toEqual([]);
    },
    30000,
    {
      skip: berthOnly(
        "runc 1.1 has no lock per id: racing creates removed the winner's state once (under load), and left a runc init and its cgroups after delete -f once in 12 tries",
      ),
    },
  );
});

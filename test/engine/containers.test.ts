// Detached containers: -d, logs (-f), ps (-a, -q), exec, stop, kill, rm,
// stats, inspect; layers shared between containers of one image.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnvForFile, idOf } from "./helpers.ts";
import { snapshotterMode } from "../../src/image/snapshot.ts";

const env = engineEnvForFile();

describe("detached containers", () => {
  test("-d, logs, logs -f, ps -a, stop with the stop signal, rm", async () => {
    const id = idOf(
      env.run([
        "run",
        "-d",
        "--name",
        "svc",
        "berth/busybox",
        "sh",
        "-c",
        'trap "echo got TERM; exit 7" TERM; echo started; echo to-stderr >&2; while true; do sleep 0.1; done',
      ]),
    );
    await waitFor(() => env.run(["logs", "svc"]).stderr.includes("to-stderr"));
    // the streams apart, as written: stdout to stdout, stderr to stderr
    const lg = env.run(["logs", "svc"]);
    expect([lg.stdout, lg.stderr]).toEqual(["started\n", "to-stderr\n"]);
    // each line with the time it was written; the last one alone with --tail
    const ts = env.run(["logs", "-t", "svc"]);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z started\n$/);
    expect(env.run(["logs", "--tail", "1", "svc"]).stderr).toBe("to-stderr\n");
    expect(env.run(["logs", "--since", "1h", "svc"]).stdout).toBe("started\n");
    expect(env.run(["logs", "--until", "1h", "svc"]).stdout).toBe("");
    expect(env.run(["logs", "--since", "yesterday-ish", "svc"]).code).toBe(125);
    const ps = env.run(["ps"]);
    expect(ps.stdout).toContain("svc");
    expect(ps.stdout).toContain(id.slice(0, 12));
    expect(ps.stdout).toMatch(/Up /);
    expect(env.run(["ps", "-q"]).stdout.trim()).toBe(id.slice(0, 12));
    // a second container may not take the name (run: 125, as Docker's)
    const dup = env.run(["run", "-d", "--name", "svc", "berth/busybox", "true"]);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain("already in use");
    // rm of a running container is refused
    expect(env.run(["rm", "svc"]).code).toBe(1);
    const follow = env.runAsync(["logs", "-f", "svc"]);
    const t0 = Date.now();
    const stop = env.run(["stop", "-t", "5", "svc"]);
    expect(stop.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4000); // the trap answered: no SIGKILL needed
    const f = await follow;
    expect(f.code).toBe(0);
    expect([f.stdout, f.stderr]).toEqual(["started\ngot TERM\n", "to-stderr\n"]);
    expect(env.run(["ps", "-q"]).stdout).toBe("");
    expect(env.run(["ps", "-a"]).stdout).toMatch(/Exited \(7\)/);
    const insp = JSON.parse(env.run(["inspect", "svc"]).stdout)[0];
    expect(insp.State.Status).toBe("exited");
    expect(insp.State.ExitCode).toBe(7);
    expect(insp.Name).toBe("svc");
    // exited: no runtime state, cgroup or netns any more
    expect(env.leftovers(id).filter((l) => !l.startsWith("engine/") && !l.startsWith("containers/") && !l.startsWith("mount "))).toEqual([]);
    expect(env.run(["rm", "svc"]).code).toBe(0);
    expect(env.run(["ps", "-a", "-q"]).stdout).toBe("");
    expect(env.leftovers(id)).toEqual([]);
  });

  test("stop sends SIGKILL after the timeout when the stop signal is ignored", () => {
    idOf(env.run(["run", "-d", "--name", "stubborn", "berth/busybox", "sh", "-c", 'trap "" TERM; while true; do sleep 0.1; done']));
    const t0 = Date.now();
    expect(env.run(["stop", "-t", "1", "stubborn"]).code).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8000);
    expect(env.run(["ps", "-a"]).stdout).toMatch(/Exited \(137\)/);
  });

  test("kill -s sends the signal; --rm -d removes the container when it ends", async () => {
    const id = idOf(env.run(["run", "-d", "--rm", "berth/busybox", "sh", "-c", 'trap "exit 10" USR1; while true; do sleep 0.1; done']));
    await Bun.sleep(200);
    expect(env.run(["kill", "-s", "USR1", id.slice(0, 12)]).code).toBe(0);
    await waitFor(() => env.containerIds().length === 0);
    expect(env.leftovers(id)).toEqual([]);
    expect(env.run(["kill", "nosuch"]).code).toBe(1);
  });

  test("exec: output, exit code, -e, -u, -w, -i; a missing command is 127", () => {
    idOf(env.run(["run", "-d", "--name", "box", "-e", "BASE=1", "berth/busybox", "sleep", "60"]));
    const r = env.run(["exec", "-e", "X=2", "-u", "nobody", "-w", "/tmp", "box", "sh", "-c", 'echo "$BASE$X"; id -u; pwd; exit 5']);
    expect(r.stdout).toBe("12\n65534\n/tmp\n");
    expect(r.code).toBe(5);
    expect(env.run(["exec", "-i", "box", "cat"], { stdin: "in\n" }).stdout).toBe("in\n");
    expect(env.run(["exec", "box", "cat"], { stdin: "in\n" }).stdout).toBe("");
    // the exec'd process is in the container: same hostname, sees its init
    expect(env.run(["exec", "box", "cat", "/proc/1/cmdline"]).stdout).toBe("sleep\x0060\x00");
    const missing = env.run(["exec", "box", "no-such-cmd"]);
    expect(missing.code).toBe(127);
    expect(env.run(["exec", "-t", "box", "tty"]).stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
    expect(env.run(["exec", "nosuch", "true"]).code).toBe(1);
  });

  test("start and restart run an exited container again: same writable layer, log appended; start -a gives its exit code", async () => {
    const script = "n=$(cat /count 2>/dev/null || echo 0); n=$((n+1)); echo $n > /count; echo run $n; exit $n";
    idOf(env.run(["run", "-d", "--name", "again", "berth/busybox", "sh", "-c", script]));
    await waitFor(() => env.run(["ps", "-a"]).stdout.includes("Exited (1)"));
    expect(env.run(["start", "again"]).stdout).toBe("again\n");
    await waitFor(() => env.run(["ps", "-a"]).stdout.includes("Exited (2)"));
    const attached = env.run(["start", "-a", "again"]);
    expect(attached.stdout).toBe("run 3\n");
    expect(attached.code).toBe(3);
    expect(env.run(["restart", "-t", "1", "again"]).stdout).toBe("again\n");
    await waitFor(() => env.run(["ps", "-a"]).stdout.includes("Exited (4)"));
    // every run went to the log, the attached one too (as Docker's)
    expect(env.run(["logs", "again"]).stdout).toBe("run 1\nrun 2\nrun 3\nrun 4\n");
    const info = JSON.parse(env.run(["inspect", "again"]).stdout)[0];
    expect(info.State.Status).toBe("exited");
    expect(info.State.ExitCode).toBe(4);
    expect(info.RestartCount).toBe(3);
    // a running container: start leaves it alone; an unknown one is an error
    idOf(env.run(["run", "-d", "--name", "busy", "berth/busybox", "sleep", "30"]));
    expect(env.run(["start", "busy"]).code).toBe(0);
    const none = env.run(["start", "no-such-container"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no-such-container");
  });

  test("create: a container that waits for start; start -a gives its exit code; rm needs no -f; a failed start keeps it", async () => {
    const id = idOf(env.run(["create", "--name", "made", "-e", "WHO=created", "berth/busybox", "sh", "-c", "echo hello $WHO; exit 3"]));
    expect(env.run(["ps", "-a"]).stdout).toMatch(/Created\s+made/);
    expect(env.run(["ps", "-q"]).stdout).toBe("");
    expect(JSON.parse(env.run(["inspect", "made"]).stdout)[0].State.Status).toBe("created");
    const a = env.run(["start", "-a", "made"]);
    expect(a.code).toBe(3);
    expect(a.stdout).toBe("hello created\n");
    expect(env.run(["ps", "-a"]).stdout).toMatch(/Exited \(3\)/);
    expect(JSON.parse(env.run(["inspect", "made"]).stdout)[0].RestartCount).toBe(0);
    // started detached, it runs again in the same container
    expect(env.run(["start", "made"]).code).toBe(0);
    await waitFor(() => env.run(["logs", "made"]).stdout.includes("hello created"));
    expect(env.run(["rm", "made"]).code).toBe(0);
    expect(env.leftovers(id)).toEqual([]);
    // never started: removed without -f, nothing left
    const idle = idOf(env.run(["create", "berth/busybox", "true"]));
    expect(env.run(["rm", idle]).code).toBe(0);
    expect(env.leftovers(idle)).toEqual([]);
    // a start that fails leaves the created container, with the error
    idOf(env.run(["create", "--name", "broken", "berth/busybox", "/no/such/program"]));
    const s = env.run(["start", "-a", "broken"]);
    expect(s.code).toBe(127);
    expect(env.run(["ps", "-a"]).stdout).toContain("broken");
    expect(env.run(["rm", "broken"]).code).toBe(0);
  });

  test("--restart: on-failure:N restarts a failing container N times; always until stop; stop and rm -f end it; conflicts refused", async () => {
    idOf(env.run(["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "berth/busybox", "sh", "-c", "echo attempt; exit 2"]));
    await waitFor(
      () => env.run(["logs", "flaky"]).stdout.split("\n").filter(Boolean).length >= 3 && env.run(["ps", "-a"]).stdout.includes("Exited (2)"),
      10_000,
    );
    expect(env.run(["logs", "flaky"]).stdout).toBe("attempt\nattempt\nattempt\n");
    const insp = JSON.parse(env.run(["inspect", "flaky"]).stdout)[0];
    expect(insp.RestartCount).toBe(2);
    expect(insp.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 2 });
    // a clean exit is not a failure
    idOf(env.run(["run", "-d", "--name", "fine", "--restart", "on-failure", "berth/busybox", "true"]));
    await waitFor(() => env.run(["ps", "-a"]).stdout.includes("Exited (0)"));
    await Bun.sleep(500);
    expect(JSON.parse(env.run(["inspect", "fine"]).stdout)[0].RestartCount).toBe(0);
    // always: again and again, until the user stops it
    idOf(env.run(["run", "-d", "--name", "loop", "--restart", "always", "berth/busybox", "sh", "-c", "echo up; sleep 0.2"]));
    await waitFor(() => JSON.parse(env.run(["inspect", "loop"]).stdout)[0].RestartCount >= 2, 10_000);
    expect(env.run(["stop", "-t", "1", "loop"]).code).toBe(0);
    await Bun.sleep(1500);
    const n = env.run(["logs", "loop"]).stdout.length;
    await Bun.sleep(1500);
    expect(env.run(["logs", "loop"]).stdout.length).toBe(n);
    expect(env.run(["ps", "-a"]).stdout).toMatch(/Exited \(\d+\)[^\n]*loop/);
    // a start gives the policy back; rm -f ends it for good
    expect(env.run(["start", "loop"]).code).toBe(0);
    await waitFor(() => env.run(["logs", "loop"]).stdout.length > n);
    const lid = JSON.parse(env.run(["inspect", "loop"]).stdout)[0].Id;
    expect(env.run(["rm", "-f", "loop"]).code).toBe(0);
    await Bun.sleep(1000);
    expect(env.leftovers(lid).filter((l) => l.includes(lid))).toEqual([]);
    expect(env.run(["run", "--restart", "always", "berth/busybox", "true"]).stderr).toContain("needs -d");
    expect(env.run(["run", "-d", "--rm", "--restart", "always", "berth/busybox", "true"]).stderr).toContain("conflict");
    expect(env.run(["run", "-d", "--restart", "sometimes", "berth/busybox", "true"]).stderr).toContain("--restart");
  }, 40_000);

  test("wait prints each container's exit code once it has exited; port lists what is published", async () => {
    // (timed from before w1 starts: on a loaded host the runs alone may take longer than its sleep)
    const t0 = Date.now();
    idOf(env.run(["run", "-d", "--name", "w1", "berth/busybox", "sh", "-c", "sleep 0.5; exit 5"]));
    idOf(env.run(["run", "-d", "--name", "w2", "berth/busybox", "true"]));
    const w = env.run(["wait", "w1", "w2"]);
    expect(w.code).toBe(0);
    expect(w.stdout).toBe("5\n0\n");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(env.run(["wait", "nosuch"]).code).toBe(1);
    expect(env.run(["port", "w1"]).stdout).toBe("");
    expect(env.run(["port", "w1", "80"]).code).toBe(1);
  });

  test("health checks: starting, healthy, unhealthy after the retries; ps and inspect show it; healthcheck run probes once", async () => {
    idOf(
      env.run([
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "cat /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "berth/busybox",
        "sh",
        "-c",
        "sleep 0.7; echo fine > /tmp/ok; sleep 60",
      ]),
    );
    const health = () => JSON.parse(env.run(["inspect", "hc"]).stdout)[0].State.Health;
    expect(["starting", "unhealthy"]).toContain(health().Status);
    await waitFor(() => health().Status === "healthy", 10_000);
    const h = health();
    expect(h.FailingStreak).toBe(0);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 0, Output: "fine\n" });
    expect(env.run(["ps"]).stdout).toMatch(/Up .* \(healthy\)\s+hc/);
    expect(JSON.parse(env.run(["inspect", "hc"]).stdout)[0].Config.Healthcheck).toMatchObject({
      Test: ["CMD-SHELL", "cat /tmp/ok"],
      Retries: 2,
      Interval: 200e6,
    });
    const once = env.run(["healthcheck", "run", "hc"]);
    expect([once.code, once.stdout]).toEqual([0, "healthy\n"]);
    // the check starts failing: unhealthy after two failures in a row
    expect(env.run(["exec", "hc", "rm", "/tmp/ok"]).code).toBe(0);
    await waitFor(() => health().Status === "unhealthy", 10_000);
    expect(health().FailingStreak).toBeGreaterThanOrEqual(2);
    expect(env.run(["ps"]).stdout).toMatch(/\(unhealthy\)\s+hc/);
    expect(env.run(["healthcheck", "run", "hc"]).code).toBe(1);
    // no check: healthcheck run says so; bad flags are refused
    idOf(env.run(["run", "-d", "--name", "nohc", "berth/busybox", "sleep", "60"]));
    expect(env.run(["healthcheck", "run", "nohc"]).stderr).toContain("has no health check");
    expect(JSON.parse(env.run(["inspect", "nohc"]).stdout)[0].State.Health).toBeUndefined();
    expect(env.run(["run", "--rm", "--health-retries", "0", "berth/busybox", "true"]).stderr).toContain("--health-retries");
    expect(env.run(["run", "--rm", "--no-healthcheck", "--health-cmd", "true", "berth/busybox", "true"]).stderr).toContain("conflicts");
  }, 30_000);

  test("container prune removes exited containers only; image prune -a removes images no container uses; system prune --volumes", async () => {
    const done = idOf(env.run(["run", "-d", "--name", "gone", "berth/busybox", "true"]));
    const up = idOf(env.run(["run", "-d", "--name", "up", "berth/busybox", "sleep", "60"]));
    await waitFor(() => env.run(["ps", "-a"]).stdout.includes("Exited (0)"));
    const p = env.run(["container", "prune", "-f"]);
    expect(p.stdout).toBe(`${done}\n`);
    expect(env.run(["ps", "-a", "-q"]).stdout).toBe(`${up.slice(0, 12)}\n`);
    expect(env.leftovers(done).filter((l) => l.includes(done))).toEqual([]);
    // another name of the image "up" uses, and an image nothing uses (a one-file root filesystem)
    expect(env.run(["tag", "berth/busybox", "localhost/spare:1"]).code).toBe(0);
    const dir = join(env.root, "tiny");
    mkdirSync(dir);
    writeFileSync(join(dir, "f"), "x");
    expect(Bun.spawnSync(["tar", "-C", dir, "-cf", join(env.root, "tiny.tar"), "."]).exitCode).toBe(0);
    expect(env.run(["import", join(env.root, "tiny.tar"), "localhost/unused:1"]).code).toBe(0);
    const ip = env.run(["image", "prune", "-a", "-f"]);
    expect(ip.code).toBe(0);
    expect(ip.stdout).toContain("Untagged: localhost/unused:1");
    // an image in use keeps every name, as Docker's prune works by image
    const left = env.run(["images"]).stdout;
    expect(left).toContain("berth/busybox");
    expect(left).toContain("localhost/spare");
    expect(left).not.toContain("localhost/unused");
    expect(env.run(["volume", "create", "lonely"]).code).toBe(0);
    const sp = env.run(["system", "prune", "-f", "--volumes"]);
    expect(sp.stdout).toContain("Deleted: lonely");
    expect(env.run(["ps", "-q"]).stdout).toBe(`${up.slice(0, 12)}\n`);
    expect(env.run(["system", "frobnicate"]).code).toBe(125);
  });

  test("start --all --filter restart-policy=...: what a boot-time unit runs; unless-stopped honours the user's stop", async () => {
    idOf(env.run(["run", "-d", "--name", "al", "--restart", "always", "berth/busybox", "sleep", "60"]));
    idOf(env.run(["run", "-d", "--name", "us", "--restart", "unless-stopped", "berth/busybox", "sleep", "60"]));
    idOf(env.run(["run", "-d", "--name", "np", "berth/busybox", "true"]));
    expect(env.run(["stop", "-t", "1", "al", "us"]).code).toBe(0);
    await waitFor(() => (env.run(["ps", "-a"]).stdout.match(/Exited/g) ?? []).length === 3);
    // as after a reboot: nothing runs
    const s = env.run(["start", "--all", "--filter", "restart-policy=always", "--filter", "restart-policy=unless-stopped"]);
    expect(s.code).toBe(0);
    expect(env.run(["ps", "--format", "json"]).stdout).toContain('"al"');
    const running = env.run(["ps"]).stdout;
    expect(running).toContain("al");
    expect(running).not.toMatch(/\bus\b/);
    expect(running).not.toContain("np");
    expect(env.run(["start", "--all", "--filter", "restart-policy=sometimes"]).code).toBe(125);
    expect(env.run(["start", "--filter", "restart-policy=always", "al"]).code).toBe(125);
  });

  test("pause freezes every process through the cgroup; unpause thaws; wrong states are refused", async () => {
    const id = idOf(env.run(["run", "-d", "--name", "frozen", "berth/busybox", "sh", "-c", "while true; do date +%s%N > /tick; sleep 0.05; done"]));
    const tick = `${env.root}/containers/${id}/rootfs/tick`;
    await waitFor(() => existsSync(tick));
    expect(env.run(["pause", "frozen"]).stdout).toBe("frozen\n");
    expect(JSON.parse(env.run(["inspect", "frozen"]).stdout)[0].State.Paused).toBe(true);
    expect(env.run(["ps"]).stdout).toContain("(Paused)");
    expect(env.run(["pause", "frozen"]).code).toBe(1);
    // frozen: the loop writes nothing
    const a = readFileSync(tick, "utf8");
    await Bun.sleep(300);
    expect(readFileSync(tick, "utf8")).toBe(a);
    expect(env.run(["unpause", "frozen"]).stdout).toBe("frozen\n");
    await waitFor(() => readFileSync(tick, "utf8") !== a);
    expect(JSON.parse(env.run(["inspect", "frozen"]).stdout)[0].State.Status).toBe("running");
    expect(env.run(["unpause", "frozen"]).code).toBe(1);
  });

  test("rm -f removes a running container and everything it had", () => {
    const id = idOf(env.run(["run", "-d", "--memory", "32m", "berth/busybox", "sleep", "60"]));
    expect(readFileSync(`/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(32 * 1024 * 1024));
    const r = env.run(["rm", "-f", id]);
    expect(r.code).toBe(0);
    expect(env.leftovers(id)).toEqual([]);
    expect(env.run(["rm", id]).code).toBe(1);
  });

  test.skipIf(snapshotterMode() === "copy")("five containers of one image share the layer's inodes", () => {
    const ids = [1, 2, 3, 4, 5].map(() => idOf(env.run(["run", "-d", "berth/busybox", "sleep", "60"])));
    const inodes = ids.map((id) => env.run(["exec", id, "stat", "-c", "%i", "/bin/busybox"]).stdout.trim());
    expect(new Set(inodes).size).toBe(1);
    expect(inodes[0]).toMatch(/^\d+$/);
    // one copy on disk: the inode is the one of the shared layer directory's file
    const layers = require("node:fs")
      .readdirSync(`${env.root}/layers`)
      .filter((n: string) => /^[a-f0-9]{64}$/.test(n));
    expect(layers.length).toBe(1);
    expect(String(require("node:fs").statSync(`${env.root}/layers/${layers[0]}/diff/bin/busybox`).ino)).toBe(inodes[0]!);
    // and each container writes to its own upper directory
    ids.forEach((id, i) => env.run(["exec", id, "sh", "-c", `echo ${i} > /tmp/own`]));
    ids.forEach((id, i) => expect(readFileSync(`${env.root}/containers/${id}/upper/tmp/own`, "utf8")).toBe(`${i}\n`));
  });

  test("stats --no-stream shows each running container's figures", () => {
    idOf(env.run(["run", "-d", "--name", "busy", "--memory", "64m", "--pids-limit", "20", "berth/busybox", "sh", "-c", "while true; do :; done"]));
    const r = env.run(["stats", "--no-stream"]);
    expect(r.code).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.includes("busy"))!;
    expect(line).toBeDefined();
    expect(line).toContain("/ 64MiB");
    const cpu = Number(/ ([0-9.]+)% /.exec(line)![1]);
    expect(cpu).toBeGreaterThan(20);
    const j = JSON.parse(env.run(["stats", "--no-stream", "--format", "json", "busy"]).stdout);
    expect(j[0].name).toBe("busy");
    expect(j[0].pids).toBeGreaterThanOrEqual(1);
    expect(j[0].mem_limit).toBe(64 * 1024 * 1024);
  });

  test("top lists every process of the container, with the image's user names; refused for a stopped one", async () => {
    const id = idOf(env.run(["run", "-d", "--name", "tops", "berth/busybox", "sh", "-c", "sleep 61 & sleep 62 & wait"]));
    await waitFor(() => env.run(["top", "tops"]).stdout.includes("sleep 62"));
    const r = env.run(["top", "tops"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(lines.length).toBe(4);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    const shell = rows.find((w) => w.slice(7).join(" ") === "sh -c sleep 61 & sleep 62 & wait")!;
    expect(shell).toBeDefined();
    expect(shell[0]).toBe("root");
    // host pids: the sleeps are children of the container's shell
    for (const cmd of ["sleep 61", "sleep 62"]) {
      const row = rows.find((w) => w.slice(7).join(" ") === cmd)!;
      expect(row[2]).toBe(shell[1]);
      expect(readFileSync(`/proc/${row[1]}/cmdline`, "utf8").replace(/\0/g, " ").trim()).toBe(cmd);
    }
    const j = JSON.parse(env.run(["top", "--format", "json", "tops"]).stdout);
    expect(j.map((x: { cmd: string }) => x.cmd).sort()).toEqual(["sh -c sleep 61 & sleep 62 & wait", "sleep 61", "sleep 62"]);
    expect(env.run(["kill", "tops"]).code).toBe(0);
    await waitFor(() => env.run(["ps", "-a"]).stdout.includes("Exited"));
    const stopped = env.run(["top", "tops"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("is not running");
    expect(env.run(["top"]).code).toBe(125);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  test("stats streams a table every second until interrupted", async () => {
    idOf(env.run(["run", "-d", "--name", "idle", "berth/busybox", "sleep", "60"]));
    const p = Bun.spawn([require("./helpers.ts").BERTH, "stats"], { env: env.env, stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(2600);
    p.kill("SIGINT");
    const text = await new Response(p.stdout).text();
    await p.exited;
    expect(text.split("\n").filter((l) => l.startsWith("CONTAINER ID")).length).toBeGreaterThanOrEqual(2);
    expect(text).toContain("idle");
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(50);
  }
}

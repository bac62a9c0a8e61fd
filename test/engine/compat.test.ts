// What a Docker user expects of berth's engine beyond templates and filters:
// exit codes (125 only for run/create engine errors and bad command lines,
// 1 for other commands' errors, 126 for a command that cannot be invoked such
// as a directory, 127 not found), `version`, inspect's State.OOMKilled, and
// the image's labels in the container's Config.Labels (Docker merges them).
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { BERTH, engineEnvForFile } from "./helpers.ts";

const env = engineEnvForFile();
const work = mkdtempSync(join(tmpdir(), "berth-compat-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("exit codes as Docker's", () => {
  test("run: 125 engine error, 126 a directory as the command, 127 not found; nothing left", () => {
    const dir = env.run(["run", "--rm", "berth/busybox", "/bin"]);
    expect(dir.code).toBe(126);
    expect(dir.stderr).toContain("exec /bin: is a directory");
    expect(env.run(["run", "-d", "berth/busybox", "/etc"]).code).toBe(126);
    expect(env.run(["run", "--rm", "berth/busybox", "nosuchcmd"]).code).toBe(127);
    expect(env.run(["run", "--rm", "--pull", "never", "localhost/nosuch:1", "true"]).code).toBe(125);
    expect(env.run(["create", "--pull", "never", "localhost/nosuch:1"]).code).toBe(125);
    expect(env.leftovers()).toEqual([]);
  });

  test("other commands: 1 for an error, 125 for a bad flag", () => {
    for (const args of [
      ["stop", "nosuch"],
      ["rm", "nosuch"],
      ["inspect", "nosuch"],
      ["logs", "nosuch"],
      ["kill", "nosuch"],
      ["rmi", "localhost/nosuch:1"],
      ["volume", "rm", "nosuch"],
    ]) {
      const r = env.run(args);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 1]);
      expect(r.stderr).toContain("nosuch");
    }
    expect(env.run(["ps", "--nosuchflag"]).code).toBe(125);
    expect(env.run(["stop", "--nosuchflag", "x"]).code).toBe(125);
  });
});

describe("version, OOMKilled, image labels", () => {
  test("version: client and engine, and --format", () => {
    const v = env.run(["version"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^Client:\n Version: +\d+\.\d+\.\d+\n/);
    expect(v.stdout).toContain("Server: berth (daemonless)");
    expect(env.run(["version", "--format", "{{.Server.Version}} {{.Client.Os}}"]).stdout).toMatch(/^\d+\.\d+\.\d+ linux\n$/);
    expect(JSON.parse(env.run(["version", "--format", "{{json .Client}}"]).stdout).Os).toBe("linux");
  });

  test("inspect State.OOMKilled: true after the OOM killer ended the process, false otherwise", () => {
    const r = env.run(["run", "--name", "oom", "-m", "8m", "berth/busybox", "sh", "-c", 'x=a; while true; do x="$x$x"; done'], { timeoutMs: 60_000 });
    expect(r.code).toBe(137);
    expect(env.run(["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oom"]).stdout).toBe("true 137\n");
    env.run(["run", "--name", "fine", "berth/busybox", "true"]);
    expect(env.run(["inspect", "-f", "{{.State.OOMKilled}}", "fine"]).stdout).toBe("false\n");
  });

  test("the image's labels are in the container's Config.Labels, under the container's own", () => {
    const dir = join(work, "rootfs");
    mkdirSync(join(dir, "bin"), { recursive: true });
    Bun.spawnSync(["cp", "/bin/busybox", join(dir, "bin/busybox")]);
    const tar = join(work, "rootfs.tar");
    expect(Bun.spawnSync(["tar", "-C", dir, "-cf", tar, "."]).exitCode).toBe(0);
    const imp = env.run(["import", "--change", 'LABEL vendor=acme tier="web front"', "--change", 'CMD ["/bin/busybox", "true"]', tar, "localhost/labelled:1"]);
    expect(imp.code).toBe(0);
    expect(env.run(["inspect", "-f", "{{json .Config.Labels}}", "localhost/labelled:1"]).stdout).toBe('{"vendor":"acme","tier":"web front"}\n');
    env.run(["create", "--name", "lab", "-l", "tier=db", "localhost/labelled:1"]);
    expect(JSON.parse(env.run(["inspect", "-f", "{{json .Config.Labels}}", "lab"]).stdout)).toEqual({ vendor: "acme", tier: "db" });
    expect(env.run(["ps", "-a", "--filter", "label=vendor=acme", "--format", "{{.Names}}"]).stdout).toBe("lab\n");
    env.run(["rm", "lab"]);
    expect(env.run(["rmi", "localhost/labelled:1"]).code).toBe(0);
  });
});

describe("logs of a foreground run", () => {
  test("the output reaches berth's stdout and stderr as written (bytes exact) and the log (Docker keeps every container's)", () => {
    const r = env.run(["run", "--name", "fglog", "berth/busybox", "sh", "-c", "echo out; echo err >&2; printf 'no newline'"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "out\nno newline", "err\n"]);
    const l = env.run(["logs", "fglog"]);
    expect([l.stdout, l.stderr]).toEqual(["out\nno newline", "err\n"]);
    expect(env.run(["logs", "-t", "fglog"]).stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z out\n/);
    // binary output passes through unchanged
    const b = Bun.spawnSync([BERTH, "run", "--rm", "berth/busybox", "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' '\\377'"], {
      env: env.env,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(b.exitCode).toBe(0);
    expect(b.stdout.length).toBe(300000);
    expect(b.stdout.every((x) => x === 0xff)).toBe(true);
  });
});

describe("save and load through pipes", () => {
  test("save IMAGE | gzip, then load < FILE (gzip or plain); an empty stdin is an error", () => {
    expect(env.run(["tag", "berth/busybox", "localhost/piped:1"]).code).toBe(0);
    const gz = join(work, "piped.tar.gz");
    const s = Bun.spawnSync(["sh", "-c", `"$0" save localhost/piped:1 | gzip > ${gz}`, BERTH], { env: env.env, stderr: "pipe" });
    expect([s.exitCode, s.stderr.toString()]).toEqual([0, ""]);
    expect(env.run(["rmi", "localhost/piped:1"]).code).toBe(0);
    const l = Bun.spawnSync(["sh", "-c", `"$0" load < ${gz}`, BERTH], { env: env.env, stdout: "pipe", stderr: "pipe" });
    expect([l.exitCode, l.stdout.toString()]).toEqual([0, "Loaded image: localhost/piped:1\n"]);
    expect(env.run(["run", "--rm", "localhost/piped:1", "echo", "loaded"]).stdout).toBe("loaded\n");
    // a plain archive on stdin, written by save to a file
    const plain = join(work, "piped.tar");
    Bun.spawnSync(["sh", "-c", `"$0" save localhost/piped:1 > ${plain}`, BERTH], { env: env.env });
    expect(env.run(["rmi", "localhost/piped:1"]).code).toBe(0);
    expect(Bun.spawnSync(["sh", "-c", `"$0" load < ${plain}`, BERTH], { env: env.env, stdout: "pipe" }).stdout.toString()).toBe(
      "Loaded image: localhost/piped:1\n",
    );
    const empty = Bun.spawnSync(["sh", "-c", `"$0" load < /dev/null`, BERTH], { env: env.env, stderr: "pipe" });
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr.toString()).toContain("stdin is empty");
    expect(env.run(["rmi", "localhost/piped:1"]).code).toBe(0);
  });
});

describe("run -it: input typed before the container is ready", () => {
  test("reaches the container's process (the terminal goes raw without discarding it), as Docker", () => {
    // script(1) gives berth a terminal; the line is typed at once, before the shell runs
    const cmd = `${BERTH} run -it --rm berth/busybox sh -c 'read x; echo got:$x'`;
    const r = Bun.spawnSync(["sh", "-c", `(printf 'early\\n'; sleep 3) | script -qec "$0" /dev/null`, cmd], {
      env: env.env,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    });
    expect(r.stdout.toString().replace(/\r/g, "")).toContain("got:early\n");
  });
});

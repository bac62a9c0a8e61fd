// One executable, two command sets: runtime calls (bundles and ids, from
// containerd, Podman, Docker) and engine calls (images and names). These are
// the command lines whose meaning depends on their arguments.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isEngineCommand } from "../../src/cli/main.ts";

const BERTH = join(import.meta.dir, "../../dist/berth");

const root = "/nonexistent-berth-root";
const engine = (cmd: string, ...argv: string[]) => isEngineCommand(cmd, argv, false, root);

describe("runtime or engine", () => {
  test("ps: an id means the runtime's (containerd: ps --format json ID); none means the engine's list", () => {
    expect(engine("ps", "--format", "json", "c1")).toBe(false);
    expect(engine("ps", "c1")).toBe(false);
    expect(engine("ps", "-f", "table", "c1")).toBe(false);
    expect(engine("ps")).toBe(true);
    expect(engine("ps", "-a")).toBe(true);
    expect(engine("ps", "--format", "json")).toBe(true);
    expect(engine("ps", "-a", "--format", "json")).toBe(true);
    expect(engine("ps", "-q")).toBe(true);
  });

  test("run: runc's flags or a bundle mean the runtime; an image means the engine", () => {
    expect(engine("run", "--bundle", "/b", "c1")).toBe(false);
    expect(engine("run", "-d", "--pid-file", "/p", "c1")).toBe(false);
    expect(engine("run", "--rm", "berth/busybox", "true")).toBe(true);
    expect(engine("run", "-p", "8080:80", "berth/busybox")).toBe(true);
  });

  test("images and the engine's own verbs always mean the engine", () => {
    for (const c of ["pull", "images", "rmi", "logs", "stop", "rm", "stats"]) expect(engine(c)).toBe(true);
    for (const c of ["pull", "images", "rmi", "logs", "stop", "restart", "rm", "stats", "volume"]) expect(engine(c)).toBe(true);
    for (const c of ["state", "delete", "list", "features", "spec"]) expect(engine(c, "x")).toBe(false);
  });

  test("create: --root, runc's flags or a bundle mean the runtime; an image means the engine", () => {
    expect(isEngineCommand("create", ["--bundle", "/b", "--pid-file", "/p", "c1"], true, root)).toBe(false);
    expect(isEngineCommand("create", ["c1"], true, root)).toBe(false);
    expect(engine("create", "--bundle", "/b", "c1")).toBe(false);
    expect(engine("create", "--console-socket", "/s", "c1")).toBe(false);
    expect(engine("create", "--name", "web", "berth/busybox", "httpd")).toBe(true);
    expect(engine("create", "berth/busybox")).toBe(true);
    // runc's create run in a bundle directory: one id and ./config.json
    const dir = mkdtempSync(join(tmpdir(), "berth-route-"));
    const cwd = process.cwd();
    try {
      writeFileSync(join(dir, "config.json"), "{}");
      process.chdir(dir);
      expect(engine("create", "c1")).toBe(false);
      expect(engine("create", "berth/busybox", "true")).toBe(true);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("start, exec, kill, pause: with --root, or naming a container of the runtime, the runtime's; else the engine's", () => {
    const root = mkdtempSync(join(tmpdir(), "berth-route-"));
    try {
      mkdirSync(join(root, "c1"));
      writeFileSync(join(root, "c1", "state.json"), "{}");
      for (const c of ["start", "exec", "kill", "pause"]) {
        expect(isEngineCommand(c, ["c1"], true, root)).toBe(false); // containerd, Podman, Docker always give --root
        expect(isEngineCommand(c, ["c1"], false, root)).toBe(false);
        expect(isEngineCommand(c, ["web"], false, root)).toBe(true);
      }
      expect(isEngineCommand("start", ["-a", "web"], false, root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("--help names both command sets; help engine lists the engine's flags", () => {
    const h = Bun.spawnSync([BERTH, "--help"]);
    expect(h.exitCode).toBe(0);
    expect(h.stdout.toString()).toContain("Runtime commands (OCI runtime-spec)");
    expect(h.stdout.toString()).toContain("Engine commands");
    const e = Bun.spawnSync([BERTH, "help", "engine"]);
    expect(e.exitCode).toBe(0);
    expect(e.stdout.toString()).toContain("volume create NAME");
    expect(e.stdout.toString()).toContain("-p [[IP:][HOSTPORT[-END]]:]PORT[-END]");
  });

  test("bench outside a source checkout: a clear error, exit 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-bench-"));
    try {
      // a copy of the executables (the front door and the Bun berth it runs)
      // with no bench/ beside them, run where there is none either
      const exe = join(dir, "berth");
      for (const name of ["berth", "berth-bun"]) {
        const from = join(BERTH, "..", name);
        if (!existsSync(from)) continue;
        writeFileSync(join(dir, name), readFileSync(from));
        chmodSync(join(dir, name), 0o755);
      }
      const r = Bun.spawnSync([exe, "bench", "--quick"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.toString()).toContain("no bench/run.sh");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

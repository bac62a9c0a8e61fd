// The engine hands the runtime the configuration it has built and validated:
// the runtime reads no config.json in that process (the bundle still has one,
// for runc-compatible tools).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BERTH, engineEnvForFile } from "./helpers.ts";

const env = engineEnvForFile();

describe("the validated spec goes to the runtime", () => {
  test("run: the runtime neither reads nor validates config.json again; the bundle keeps it", () => {
    const r = Bun.spawnSync([BERTH, "run", "--name", "handoff", "berth/busybox", "true"], {
      env: { ...env.env, BERTH_TRACE: "1" },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    });
    const stderr = r.stderr.toString();
    expect(r.exitCode).toBe(0);
    // the runtime's create ran in this process (its trace points), without reading the bundle
    expect(stderr).toContain("create: core spawned");
    expect(stderr).not.toContain("create: read config");
    const id = env.run(["inspect", "-f", "{{.Id}}", "handoff"]).stdout.trim();
    const cfg = join(env.root, "engine", id, "bundle", "config.json");
    expect(existsSync(cfg)).toBe(true);
    expect((JSON.parse(readFileSync(cfg, "utf8")) as { process: { args: string[] } }).process.args).toEqual(["true"]);
  });
});

// Named volumes: made on first use by `run -v NAME:/path`, data that outlives
// its containers, `volume create/ls/inspect/rm/prune`, removal refused while a
// container refers to the volume, and bad names refused.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EngineEnv } from "./helpers.ts";

let env: EngineEnv;
beforeAll(() => {
  env = new EngineEnv();
});
afterEach(() => {
  env.removeAll();
  env.run(["volume", "prune", "-f"]);
});
afterAll(async () => {
  await env.cleanup();
});

describe("named volumes", () => {
  test("run -v NAME:/path makes the volume; its data outlives the container and reaches the next one", () => {
    const w = env.run(["run", "--rm", "-v", "data1:/data", "berth/busybox", "sh", "-c", "echo kept > /data/f; ls /data"]);
    expect(w.stderr).toBe("");
    expect(w.stdout).toBe("f\n");
    expect(readFileSync(join(env.root, "volumes", "data1", "_data", "f"), "utf8")).toBe("kept\n");
    const r = env.run(["run", "--rm", "-v", "data1:/mnt/d:ro", "berth/busybox", "sh", "-c", "cat /mnt/d/f; touch /mnt/d/g 2>/dev/null || echo read-only"]);
    expect(r.stdout).toBe("kept\nread-only\n");
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("data1\n");
    expect(env.leftovers()).toEqual([]);
  });

  test("volume create, ls, inspect, rm; rm refused while a container refers to it", () => {
    expect(env.run(["volume", "create", "v2"]).stdout).toBe("v2\n");
    expect(env.run(["volume", "create", "v2"]).code).toBe(0); // idempotent, as Docker
    const ls = env.run(["volume", "ls"]);
    expect(ls.stdout).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+v2\n$/);
    const id = env.run(["run", "-d", "--name", "user2", "-v", "v2:/v", "berth/busybox", "sh", "-c", "echo abc > /v/x; sleep 30"]).stdout.trim();
    expect(id).toMatch(/^[a-f0-9]{64}$/);
    for (let i = 0; i < 100 && !existsSync(join(env.root, "volumes", "v2", "_data", "x")); i++) Bun.sleepSync(20);
    const info = JSON.parse(env.run(["volume", "inspect", "v2"]).stdout);
    expect(info[0].Name).toBe("v2");
    expect(info[0].Mountpoint).toBe(join(env.root, "volumes", "v2", "_data"));
    expect(info[0].Containers).toEqual(["user2"]);
    expect(info[0].UsageData.Size).toBe(4);
    const busy = env.run(["volume", "rm", "v2"]);
    expect(busy.code).toBe(125);
    expect(busy.stderr).toContain("volume v2 is in use by container user2");
    // a stopped container still refers to it
    env.run(["kill", "user2"]);
    expect(env.run(["volume", "rm", "v2"]).code).toBe(125);
    env.run(["rm", "-f", "user2"]);
    expect(env.run(["volume", "rm", "v2"]).stdout).toBe("v2\n");
    expect(existsSync(join(env.root, "volumes", "v2"))).toBe(false);
    const gone = env.run(["volume", "rm", "v2"]);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toContain("no such volume: v2");
  });

  test("bad names and unknown subcommands: 125 with the reason; nothing made", () => {
    const bad = env.run(["run", "--rm", "-v", "../x:/data", "berth/busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("neither an absolute host path nor a volume name");
    expect(env.run(["volume", "create", ".hidden"]).code).toBe(125);
    expect(env.run(["volume", "frobnicate"]).code).toBe(125);
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("");
    expect(env.leftovers()).toEqual([]);
  });
});

// The node agent: `berth serve` runs containers on request over its socket.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountsUnder } from "../../src/image/snapshot.ts";
import type { Subprocess } from "bun";
import { cgroupDirs, cleanup, ensureCore, makeBundle, REPO, type Bundle } from "../cli/helpers.ts";

let b: Bundle;
let agent: Subprocess;
let sock: string;
// the engine's stores for image tasks: private to this test
const engineRoot = mkdtempSync(join(tmpdir(), "berth-agent-engine-"));

beforeAll(async () => {
  ensureCore();
  b = makeBundle(["sh", "-c", "echo from the agent; exit 3"]);
  sock = join(b.dir, "agent.sock");
  agent = Bun.spawn([join(REPO, "node_modules/.bin/bun"), join(REPO, "src/cli/main.ts"), "--root", b.root, "serve", "--socket", sock], {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, BERTH_ENGINE_ROOT: engineRoot },
  });
  // ready when it answers (not when its socket file appears): a loaded host can take seconds to start it
  for (let i = 0; i < 600; i++) {
    if (existsSync(sock)) {
      try {
        await fetch("http://agent/v1/health", { unix: sock } as RequestInit);
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== "ECONNREFUSED") throw e;
      }
    }
    await Bun.sleep(50);
  }
});

afterAll(async () => {
  agent?.kill("SIGTERM");
  await agent?.exited;
  if (b) cleanup(b);
  for (const m of mountsUnder(engineRoot)) Bun.spawnSync(["umount", "-l", m]);
  rmSync(engineRoot, { recursive: true, force: true });
});

async function call(path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://agent${path}`, { unix: sock, method: body ? "POST" : "GET", body: body ? JSON.stringify(body) : undefined } as RequestInit);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test("health answers", async () => {
  const r = await call("/v1/health");
  expect(r.body.ok).toBe(true);
});

test("a run request runs the container to completion and reports its exit code", async () => {
  const out = join(b.dir, "out.log");
  const r = await call("/v1/run", { bundle: b.dir, id: "agent-1", stdout: out });
  expect(r.status).toBe(200);
  expect(r.body.exitCode).toBe(3);
  expect(readFileSync(out, "utf8")).toBe("from the agent\n");
  expect(cgroupDirs("agent-1")).toEqual([]);
  expect(existsSync(join(b.root, "agent-1"))).toBe(false);
});

test("args override the bundle's; many short tasks in a row leave nothing behind", async () => {
  for (let i = 0; i < 10; i++) {
    const r = await call("/v1/run", { bundle: b.dir, args: ["sh", "-c", `exit ${i}`] });
    expect(r.body.exitCode).toBe(i);
  }
  expect((await call("/v1/containers")).body).toEqual([] as unknown as Record<string, unknown>);
});

test("bad requests get a clear error and leave nothing", async () => {
  let r = await call("/v1/run", { bundle: join(b.dir, "missing") });
  expect(r.status).toBe(400);
  expect(String(r.body.error)).toContain("does not exist");
  r = await call("/v1/run", { bundle: b.dir, args: ["/no/such/program"] });
  expect(r.status).toBe(400);
  expect(String(r.body.error)).toContain("/no/such/program");
  // a config that fails validation: the core the agent started for it is not left waiting for a plan
  const bad = makeBundle(["true"]);
  try {
    const cfg = JSON.parse(readFileSync(join(bad.dir, "config.json"), "utf8"));
    cfg.process.args = "not a list";
    writeFileSync(join(bad.dir, "config.json"), JSON.stringify(cfg));
    r = await call("/v1/run", { bundle: bad.dir });
    expect(r.status).toBe(400);
    expect(String(r.body.error)).toContain("process.args");
  } finally {
    cleanup(bad);
  }
  expect(await waitFor(() => liveChildren(agent.pid).length === 0)).toBe(true);
  expect((await call("/v1/containers")).body).toEqual([] as unknown as Record<string, unknown>);
});

/** The processes whose parent is PID, zombies left out. */
function liveChildren(pid: number): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === pid && f[0] !== "Z" && f[0] !== "X") out.push(Number(n));
    } catch (e) {
      // the process is gone meanwhile
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" && (e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  }
  return out;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(20)) if (cond()) return true;
  return cond();
}

test("every container's core runs from the agent's one sealed copy of berth-core, which cannot be written", async () => {
  const run = call("/v1/run", { bundle: b.dir, id: "agent-sealed", args: ["sleep", "3"] });
  let init = 0;
  for (let i = 0; i < 300 && !init; i++) {
    const list = (await call("/v1/containers")).body as unknown as { id: string; pid: number; status: string }[];
    init = list.find((c) => c.id === "agent-sealed" && c.status === "running")?.pid ?? 0;
    if (!init) await Bun.sleep(10);
  }
  expect(init).toBeGreaterThan(0);
  const stat = readFileSync(`/proc/${init}/stat`, "utf8");
  const core = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  // the agent holds the sealed copy; the core's executable is that very file
  const memfds = readdirSync(`/proc/${agent.pid}/fd`).filter((f) => readlinkSync(`/proc/${agent.pid}/fd/${f}`).startsWith("/memfd:berth-core"));
  expect(memfds.length).toBe(1);
  expect(statSync(`/proc/${core}/exe`).ino).toBe(statSync(`/proc/${agent.pid}/fd/${memfds[0]}`).ino);
  let wrote = false;
  try {
    const fd = openSync(`/proc/${core}/exe`, "r+");
    try {
      writeSync(fd, "overwritten");
      wrote = true;
    } finally {
      closeSync(fd);
    }
  } catch {
    /* sealed: refused */
  }
  expect(wrote).toBe(false);
  expect((await run).body.exitCode).toBe(0);
});

test("an image task: an engine container of a stored image, with env and limits, run to its end and removed", async () => {
  const out = join(b.dir, "img.log");
  const r = await call("/v1/run", {
    image: "berth/busybox",
    args: ["sh", "-c", "echo $GREETING; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; exit 4"],
    env: ["GREETING=hello from an image"],
    pidsLimit: 33,
    stdout: out,
  });
  expect(r.status).toBe(200);
  expect(r.body.exitCode).toBe(4);
  expect(readFileSync(out, "utf8")).toBe("hello from an image\n33\n");
  // removed: no engine record, no root file system, nothing mounted
  expect(readdirSync(join(engineRoot, "engine")).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([]);
  expect(readdirSync(join(engineRoot, "containers"))).toEqual([]);
  expect(mountsUnder(engineRoot)).toEqual([]);
  // an image the store lacks is not pulled by the agent: a clear error
  const missing = await call("/v1/run", { image: "example.invalid/none:1" });
  expect(missing.status).toBe(400);
  expect(String(missing.body.error)).toContain("example.invalid/none:1");
  const both = await call("/v1/run", { image: "berth/busybox", bundle: b.dir });
  expect(both.status).toBe(400);
  expect(String(both.body.error)).toContain("exactly one");
  const badEnv = await call("/v1/run", { image: "berth/busybox", env: "X=1" });
  expect(String(badEnv.body.error)).toContain("env");
});

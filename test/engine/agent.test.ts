// The node agent: `berth serve` runs containers on request over its socket.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { cgroupDirs, cleanup, ensureCore, makeBundle, REPO, type Bundle } from "../cli/helpers.ts";

let b: Bundle;
let agent: Subprocess;
let sock: string;

beforeAll(async () => {
  ensureCore();
  b = makeBundle(["sh", "-c", "echo from the agent; exit 3"]);
  sock = join(b.dir, "agent.sock");
  agent = Bun.spawn([join(REPO, "node_modules/.bin/bun"), join(REPO, "src/cli/main.ts"), "--root", b.root, "serve", "--socket", sock], { stdout: "ignore", stderr: "pipe" });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await Bun.sleep(10);
});

afterAll(async () => {
  agent?.kill("SIGTERM");
  await agent?.exited;
  if (b) cleanup(b);
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
  expect((await call("/v1/containers")).body).toEqual([] as unknown as Record<string, unknown>);
});

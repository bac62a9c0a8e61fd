// The runtime as the only door to a container's state: pause, resume and
// update take the container's lock (a delete cannot come between their status
// check and their cgroup write), a stopped or deleted container is refused
// cleanly, and no module outside src/runtime reaches the runtime's store.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { alive, berthSays, cgroupDirs, ctest, ok, onlyOnBerth, REPO, waitFor, type Ctx } from "./helpers.ts";

/** The container's memory limit as its cgroup has it (v1 or v2), or undefined without one. */
function memoryLimit(id: string): string | undefined {
  for (const d of cgroupDirs(id)) {
    for (const f of ["memory.max", "memory.limit_in_bytes"]) {
      const p = join(d, f);
      if (existsSync(p)) return readFileSync(p, "utf8").trim();
    }
  }
  return undefined;
}

/** The resources berth's record of the container keeps (berth's state.json). */
function recordedResources(c: Ctx, id: string): { memory?: { limit?: number } } | undefined {
  const rec = JSON.parse(readFileSync(join(c.root, id, "state.json"), "utf8")) as { config: { linux?: { resources?: { memory?: { limit?: number } } } } };
  return rec.config.linux?.resources;
}

async function stopped(c: Ctx, id: string): Promise<boolean> {
  return (await c.state(id)).status === "stopped";
}

describe("the runtime's door", () => {
  ctest("update of a stopped container is refused with one line and changes nothing; of a deleted one leaves nothing", async (c) => {
    const id = c.id("upd-stopped");
    ok(await c.berth(["create", "--bundle", c.bundle(["true"]).dir, id]));
    ok(await c.berth(["start", id]));
    const deadline = Date.now() + 5000;
    while (!(await stopped(c, id)) && Date.now() < deadline) await Bun.sleep(20);
    expect(await stopped(c, id)).toBe(true);
    const before = onlyOnBerth("berth's record", () => JSON.stringify(recordedResources(c, id)));
    const r = await c.berth(["update", "--memory", "64m", id]);
    expect(r.code).not.toBe(0);
    berthSays(r.stderr, `cannot update container ${id}: it is stopped`);
    onlyOnBerth("berth's wording and record", () => {
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(JSON.stringify(recordedResources(c, id))).toBe(before!);
    });
    ok(await c.berth(["delete", id]));
    for (const args of [
      ["update", "--memory", "64m", id],
      ["pause", id],
      ["resume", id],
    ]) {
      const gone = await c.berth(args);
      expect(gone.code).not.toBe(0);
      berthSays(gone.stderr, "does not exist");
    }
    // no state directory and no lock file made for the refused calls
    expect(readdirSync(c.root).filter((n) => n.includes(id))).toEqual([]);
  });

  ctest(
    "concurrent updates leave the cgroup and the record agreeing",
    async (c) => {
      const id = c.id("upd-race");
      ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d"]));
      const mib = [64, 65, 66, 67, 68, 69];
      const results = await Promise.all(mib.map((m) => c.berth(["update", "--memory", `${m}m`, id])));
      for (const r of results) ok(r, "update");
      const limit = memoryLimit(id);
      expect(mib.map((m) => String(m << 20))).toContain(limit!);
      // the last update to write the cgroup is the last to write the record
      onlyOnBerth("berth's record", () => expect(String(recordedResources(c, id)?.memory?.limit)).toBe(limit!));
      ok(await c.berth(["delete", "--force", id]));
    },
    60000,
  );

  ctest(
    "pause, resume and update racing delete --force: the delete wins cleanly, the others succeed or say the container is gone",
    async (c) => {
      for (let round = 0; round < 3; round++) {
        const id = c.id(`del-race${round}`);
        ok(await c.run(c.bundle(["sleep", "60"]), id, ["-d"]));
        const pid = (await c.state(id)).pid as number;
        if (round === 2) ok(await c.berth(["pause", id]));
        const other = round === 0 ? ["pause", id] : round === 1 ? ["update", "--memory", "80m", id] : ["resume", id];
        const [del, r] = await Promise.all([c.berth(["delete", "--force", id]), c.berth(other)]);
        ok(del, "delete --force");
        if (r.code !== 0) berthSays(r.stderr, /does not exist|it is stopped/);
        expect(await waitFor(() => !alive(pid))).toBe(true);
        expect(readdirSync(c.root).filter((n) => n.includes(id))).toEqual([]);
        expect(cgroupDirs(id).filter((d) => existsSync(d))).toEqual([]);
      }
    },
    60000,
  );
});

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

test("no module outside src/runtime reaches the runtime's state store or a container's cgroup by its record", () => {
  const src = join(REPO, "src");
  const found: string[] = [];
  for (const f of sources(src)) {
    const rel = relative(src, f);
    if (rel.startsWith("runtime/")) continue;
    const text = readFileSync(f, "utf8");
    for (const [i, line] of text.split("\n").entries()) {
      if (/\b(?:runtime|rt)\??\.store\b|\bStateStore\b|\bopenRecordCgroup\b/.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
    }
  }
  expect(found).toEqual([]);
});

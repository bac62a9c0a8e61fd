// The bridge networks' iptables rules are put in place once per network
// namespace, remembered by a marker under the run directory. Each try runs in
// a network namespace of its own (`unshare --net`) that dies with it: nothing
// reaches the machine's own tables.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RULES = join(import.meta.dir, "../../src/network/rules.ts");
const dir = mkdtempSync(join(tmpdir(), "berth-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** In a fresh network namespace: ensureBridgeRules, then its namespace's inode and whether the MASQUERADE rule is there. */
function tryOnce(): { ino: string; masquerade: boolean } {
  const script = `
    const { ensureBridgeRules } = await import(${JSON.stringify(RULES)});
    await ensureBridgeRules({ name: "berth-rt", bridge: "brt0", subnet: "10.233.0.0/24", internal: false }, { runDir: ${JSON.stringify(dir)} });
    const ino = require("node:fs").statSync("/proc/self/ns/net").ino;
    const nat = Bun.spawnSync(["iptables", "-w", "-t", "nat", "-S", "POSTROUTING"]).stdout.toString();
    console.log(ino, nat.includes("berth berth-rt") ? "masquerade" : "none");
  `;
  const r = Bun.spawnSync(["unshare", "--net", "--", process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr}`);
  const [ino, state] = r.stdout.toString().trim().split(" ");
  return { ino: ino!, masquerade: state === "masquerade" };
}

test("a namespace made after another died gets the rules, also where it reuses the dead one's inode number", async () => {
  // a dead namespace's inode number goes to a later one (once its clean-up has run):
  // try until that happens, each namespace must get the rules
  const seen = new Set<string>();
  let reused = 0;
  for (let i = 0; i < 40 && reused < 2; i++) {
    const t = tryOnce();
    expect(t).toEqual({ ino: t.ino, masquerade: true });
    if (seen.has(t.ino)) reused++;
    seen.add(t.ino);
    await Bun.sleep(50);
  }
  expect(reused).toBeGreaterThan(0);
}, 120_000);

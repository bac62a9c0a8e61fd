// Shared helpers for the network tests. Every test that runs CNI plugins does it
// inside a private "host" network namespace (hostNetns), so the machine's real
// network is never touched.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, releaseNetnsDir, removeNetns, teardownNetwork } from "../../src/network/index.ts";

export function sh(cmd: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Runs a command inside a network namespace. */
export function inNetns(netns: string, cmd: string[]): { code: number; stdout: string; stderr: string } {
  return sh(["nsenter", `--net=${netns}`, "--", ...cmd]);
}

/** The IP addresses host-local has reserved in `dataDir` for network `net`. */
export function reservedIps(dataDir: string, net: string): string[] {
  try {
    return readdirSync(join(dataDir, "ipam", net)).filter((f) => /^[0-9a-f.:]+$/i.test(f) && f.includes("."));
  } catch {
    return [];
  }
}

export interface Sandbox {
  dir: string;
  hostNetns: string;
  runDir: string;
  dataDir: string;
  ids: Set<string>;
  cleanup(): Promise<void>;
}

/** A temp dir plus a private network namespace playing the host's part. */
export async function makeSandbox(prefix: string): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
  const hostNsDir = join(dir, "hostns");
  const runDir = join(dir, "run");
  const dataDir = join(dir, "data");
  const ids = new Set<string>();
  let hostNetns = "";
  try {
    hostNetns = await createNetns("host", hostNsDir);
    sh(["nsenter", `--net=${hostNetns}`, "ip", "link", "set", "lo", "up"]);
  } catch (e) {
    await releaseNetnsDir(hostNsDir).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    hostNetns,
    runDir,
    dataDir,
    ids,
    async cleanup() {
      const errors: unknown[] = [];
      for (const id of ids) {
        await teardownNetwork({ id, runDir, dataDir, hostNetns }).catch((e) => errors.push(e));
      }
      // Whatever a failed test left: every namespace file still under runDir/netns.
      let left: string[] = [];
      try {
        left = readdirSync(join(runDir, "netns"));
      } catch {
        /* none */
      }
      for (const f of left) await removeNetns(join(runDir, "netns", f)).catch((e) => errors.push(e));
      await removeNetns(hostNetns).catch((e) => errors.push(e));
      await releaseNetnsDir(join(runDir, "netns")).catch((e) => errors.push(e));
      await releaseNetnsDir(hostNsDir).catch((e) => errors.push(e));
      rmSync(dir, { recursive: true, force: true });
      if (errors.length) throw errors[0];
    },
  };
}

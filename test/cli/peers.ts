// runc beside berth in the CLI tests: the same cases run against both, where
// runc is installed, to show that berth behaves as runc's callers expect.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthViaAgent, type Result } from "./helpers.ts";
import { TEST_AGENT } from "../runtime/helpers.ts";

export const RUNC = "/usr/sbin/runc";
export const HAVE_RUNC = existsSync(RUNC);

/** runc as berth() runs berth: output through files (a detached container keeps its stdio open). */
export function runc(root: string, args: string[]): Result {
  const dir = mkdtempSync(join(tmpdir(), "berth-runc-"));
  try {
    const out = openSync(join(dir, "out"), "w+");
    const err = openSync(join(dir, "err"), "w+");
    const r = Bun.spawnSync([RUNC, "--root", root, ...args], { stdin: "ignore", stdout: out, stderr: err });
    closeSync(out);
    closeSync(err);
    return { code: r.exitCode ?? 128, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Cli = (root: string, args: string[]) => Result;

/**
 * berth, and runc where it is installed, by name; in the agent lane
 * (BERTH_TEST_AGENT=1) berth alone, each call through the front door to a
 * warm agent for its root.
 */
export const RUNTIMES: [string, Cli][] = TEST_AGENT
  ? [["berth through a warm agent", berthViaAgent]]
  : [["berth", (root, args) => berth(root, args)], ...(HAVE_RUNC ? [["runc", runc] as [string, Cli]] : [])];

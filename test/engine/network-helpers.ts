// Shared by the engine's network tests: berth run inside `unshare --net`, so
// the bridges, veths and iptables rules go to a throwaway namespace that dies
// with the shell, and no traffic leaves it.
import { expect } from "bun:test";
import { BERTH, type EngineEnv } from "./helpers.ts";

/**
 * Runs the shell lines (berth as $B, lo up) in a private network namespace and
 * returns their stdout; throws with both outputs when the shell fails.
 * The engine's default network is the real one (bridge) there.
 */
export function inPrivateNet(env: EngineEnv, lines: string[]): string {
  const script = [`B=${BERTH}`, "ip link set lo up", ...lines].join("\n");
  const e = { ...env.env };
  delete e.BERTH_DEFAULT_NETWORK;
  const r = Bun.spawnSync(["unshare", "--net", "--", "sh", "-c", script], { env: e, stdout: "pipe", stderr: "pipe", timeout: 90_000 });
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stdout} ${r.stderr}`);
  return r.stdout.toString();
}

/**
 * inPrivateNet, then the checks every network test makes: each of `wanted` is
 * a whole line of the output, and the engine left nothing behind. Returns the
 * output for the checks that are not whole lines.
 */
export function expectInPrivateNet(env: EngineEnv, lines: string[], wanted: string[]): string {
  const out = inPrivateNet(env, lines);
  const got = out.trim().split("\n");
  for (const w of wanted) expect(got).toContain(w);
  expect(env.leftovers()).toEqual([]);
  return out;
}

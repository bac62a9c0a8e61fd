// Shared by the engine's network tests: berth run inside `unshare --net`, so
// the bridges, veths and iptables rules go to a throwaway namespace that dies
// with the shell, and no traffic leaves it.
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

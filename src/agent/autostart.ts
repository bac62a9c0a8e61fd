// BERTH_AGENT=auto: a Bun berth that ran a runtime call because no agent
// listened for its state directory starts one, so that the caller's next
// calls are warm. The agent is detached from the caller: a session of its own
// (setsid), working directory /, no descriptor of the caller's, a small
// environment, and (root only) a cgroup of its own, `berth-agent` at the top
// of each hierarchy, so that it is neither counted nor killed with the
// caller's cgroup. It exits after AUTO_IDLE_S seconds without a call
// (`berth agent --idle-exit`), so nothing stays behind for good. Off unless
// asked for: docs/architecture.md, "Whether the CLI starts an agent by itself".
import { realpathSync } from "node:fs";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "../linux/fs.ts";
import { errnoCode } from "../linux/libc.ts";
import { selfCommand } from "../linux/self.ts";
import { detectCgroups } from "../cgroups/detect.ts";
import { DEFAULT_PATH } from "../spec/defaults.ts";
import { agentSocket } from "./socket.ts";
import { listening } from "./sock.ts";

/** How long a self-started agent waits for a call before it exits. */
export const AUTO_IDLE_S = 60;

/** The name of the self-started agents' cgroup, at the top of each hierarchy. */
export const AGENT_CGROUP = "berth-agent";

/**
 * Starts `berth --root ROOT agent` detached, unless an agent listens for ROOT
 * already (or ROOT does not exist yet: the next call, which finds it, starts
 * one). Returns the new agent's pid, or undefined.
 */
export function startAgentIfNone(root: string, env: Record<string, string | undefined>): number | undefined {
  let real: string;
  try {
    real = realpathSync(root);
  } catch (e) {
    // no state directory yet (a call that failed before making it)
    if (errnoCode(e) === "ENOENT") return undefined;
    throw e;
  }
  const uid = process.geteuid?.() ?? 0;
  const sock = agentSocket(real, uid, env);
  // a socket whose agent was killed is no agent: the new one replaces it
  if (existsSync(sock) && listening(sock)) return undefined;
  const agentEnv: Record<string, string> = { PATH: env.PATH ?? DEFAULT_PATH };
  // where a rootless agent's socket is (src/agent/socket.ts): the caller's choice
  if (env.XDG_RUNTIME_DIR) agentEnv.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
  const p = Bun.spawn([...selfCommand(), "--root", real, "agent", "--idle-exit", String(AUTO_IDLE_S), "--own-cgroup"], {
    stdio: ["ignore", "ignore", "ignore"],
    cwd: "/",
    env: agentEnv,
    detached: true,
  });
  p.unref();
  return p.pid;
}

/**
 * Moves this process into the `berth-agent` cgroup at the top of each
 * hierarchy (made if missing; on v1 its cpuset gets the root's CPUs and
 * memory nodes). Best effort: where it cannot (rootless, a read-only
 * cgroup file system), the agent stays where it was started.
 */
export function joinOwnCgroup(): void {
  if ((process.geteuid?.() ?? 0) !== 0) return;
  const layout = detectCgroups();
  const v1 = new Set<string>(Object.values(layout.v1).map((m) => m.mountpoint));
  const mounts = [...v1, ...(layout.unified ? [layout.unified.mountpoint] : [])];
  for (const mnt of mounts) {
    const dir = `${mnt}/${AGENT_CGROUP}`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      // a v1 cpuset starts empty, and no process can join an empty one (on
      // cgroup2 an empty cpuset.cpus means the parent's, and the root has none)
      for (const f of v1.has(mnt) ? ["cpuset.cpus", "cpuset.mems"] : []) {
        if (existsSync(`${dir}/${f}`) && readFileSync(`${dir}/${f}`, "utf8").trim() === "")
          writeFileSync(`${dir}/${f}`, readFileSync(`${mnt}/${f}`, "utf8").trim());
      }
      writeFileSync(`${dir}/cgroup.procs`, String(process.pid));
    } catch (e) {
      // stays in the cgroup it was started in, for this hierarchy: not worth failing the agent for
      if (!["EACCES", "EPERM", "EROFS", "EBUSY", "ENOSPC", "EOPNOTSUPP", "EINVAL", "ENOENT"].includes(errnoCode(e) ?? "")) throw e;
    }
  }
}

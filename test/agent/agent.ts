// A warm agent (`berth agent`) for a test's --root: started before the calls
// that should go through the front door, stopped at the test's end. Used by
// the agent tests, and by the runtime tests' helpers when BERTH_TEST_AGENT=1
// (the whole runtime suite then runs through the agent).
import { closeSync, existsSync, openSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { agentSocket } from "../../src/agent/socket.ts";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../..");
export const DOOR = join(REPO, "dist/berth");

export interface Agent {
  pid: number;
  socket: string;
  /** what the agent wrote to its stderr (one line per call with BERTH_AGENT_LOG) */
  log(): string;
  /** SIGTERM, then waits for it to end (SIGKILL after 5 s) */
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** The socket the agent for the state directory ROOT (which exists) listens on. */
export function socketFor(root: string): string {
  return agentSocket(realpathSync(root), process.geteuid?.() ?? 0, process.env);
}

/** Starts `berth --root ROOT agent ARGS` and waits until its socket listens. */
export function startAgent(root: string, logFile: string, env: Record<string, string> = {}, args: string[] = []): Agent {
  const socket = socketFor(root);
  const err = openSync(logFile, "w");
  const p = Bun.spawn([DOOR, "--root", root, "agent", ...args], {
    stdio: ["ignore", "ignore", err],
    env: { ...process.env, ...env, BERTH_AGENT_LOG: "1", BERTH_NO_AGENT: "1" },
    cwd: "/",
  });
  closeSync(err);
  const end = Date.now() + 15000;
  while (!readFileSync(logFile, "utf8").includes("listening on") && p.exitCode === null && Date.now() < end) Bun.sleepSync(5);
  if (!existsSync(socket)) {
    p.kill(9);
    throw new Error(`berth agent did not start: ${readFileSync(logFile, "utf8")}`);
  }
  const wait = async (ms: number) => {
    await Promise.race([p.exited, Bun.sleep(ms)]);
  };
  return {
    pid: p.pid,
    socket,
    log: () => readFileSync(logFile, "utf8"),
    stop: async () => {
      p.kill("SIGTERM");
      await wait(5000);
      if (p.exitCode === null) p.kill(9);
      await p.exited;
      // the socket of an agent that was killed (SIGKILL removes nothing)
      rmSync(socket, { force: true });
    },
    kill9: async () => {
      p.kill(9);
      await p.exited;
    },
  };
}

// Shared by the engine tests: the berth CLI (dist/berth, rebuilt when the
// sources are newer) against an engine root of its own in a temp dir, and a
// clean-up that removes every container (monitors, overlay mounts, cgroups,
// network namespaces) even when a test failed.
import { afterAll, afterEach } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, BERTH, REPO } from "../runtime/helpers.ts";
import { mountsUnder } from "../../src/image/snapshot.ts";
import { releaseNetnsDir } from "../../src/network/index.ts";

export { BERTH, REPO };

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class EngineEnv {
  readonly root: string;
  readonly env: Record<string, string>;
  constructor() {
    ensureBuilt();
    this.root = mkdtempSync(join(tmpdir(), "berth-engine-test-"));
    // network none unless a test asks: the default bridge would put a bridge and
    // iptables rules into the host's namespace (network tests run berth in one of their own)
    this.env = { ...(process.env as Record<string, string>), BERTH_ENGINE_ROOT: this.root, BERTH_DEFAULT_NETWORK: "none" };
    delete this.env.BERTH_ENGINE_RUNROOT;
  }

  get runRoot(): string {
    return join(this.root, "run");
  }

  run(args: string[], opts: { stdin?: string; timeoutMs?: number; cwd?: string } = {}): Result {
    const r = Bun.spawnSync([BERTH, ...args], {
      env: this.env,
      stdin: opts.stdin !== undefined ? Buffer.from(opts.stdin) : "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: opts.timeoutMs ?? 30_000,
      cwd: opts.cwd,
    });
    return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  async runAsync(args: string[]): Promise<Result> {
    const p = Bun.spawn([BERTH, ...args], { env: this.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  /** Engine container ids recorded under the root. */
  containerIds(): string[] {
    const d = join(this.root, "engine");
    if (!existsSync(d)) return [];
    return readdirSync(d).filter((n) => /^[a-f0-9]{64}$/.test(n));
  }

  /** What containers leave behind, to be empty after removal. */
  leftovers(id?: string): string[] {
    const out: string[] = [];
    const ids = id ? [id] : this.containerIds();
    for (const i of ids) {
      if (existsSync(join(this.root, "engine", i))) out.push(`engine/${i}`);
      if (existsSync(join(this.root, "containers", i))) out.push(`containers/${i}`);
      if (existsSync(join(this.runRoot, "runtime", i))) out.push(`runtime/${i}`);
      if (existsSync(join(this.runRoot, "network", i))) out.push(`network/${i}`);
      if (existsSync(join(this.runRoot, "netns", i))) out.push(`netns/${i}`);
      for (const c of ["memory", "pids", "cpu"]) if (existsSync(`/sys/fs/cgroup/${c}/berth/${i}`)) out.push(`cgroup ${c}/berth/${i}`);
      if (existsSync(`/sys/fs/cgroup/berth/${i}`)) out.push(`cgroup berth/${i}`);
    }
    for (const m of mountsUnder(join(this.root, "containers"))) out.push(`mount ${m}`);
    return out;
  }

  /** Removes every container (rm -f). */
  removeAll(): void {
    for (const id of this.containerIds()) this.run(["rm", "-f", id]);
  }

  async cleanup(): Promise<void> {
    this.removeAll();
    for (const m of mountsUnder(this.root)) {
      if (m.endsWith("/netns")) continue;
      Bun.spawnSync(["umount", "-l", m]);
    }
    // best effort: a namespace some other test's container still holds keeps the directory mounted
    await releaseNetnsDir(join(this.runRoot, "netns")).catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A container's id from `run -d` output. */
export function idOf(r: Result): string {
  const id = r.stdout.trim();
  if (!/^[a-f0-9]{64}$/.test(id)) throw new Error(`run -d printed no id (code ${r.code}): ${r.stdout} ${r.stderr}`);
  return id;
}

export function cgroupFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined; // no such cgroup (or controller file)
    throw e;
  }
}

/** An engine environment for a test file: made now, its containers removed after each test, all of it at the end. */
export function engineEnvForFile(): EngineEnv {
  const env = new EngineEnv();
  afterEach(() => env.removeAll());
  afterAll(async () => {
    await env.cleanup();
  });
  return env;
}

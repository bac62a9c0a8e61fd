// The runc-compatible container runtimes measured side by side: berth (the
// repository's dist/berth, when built) with no agent, the same berth with a
// warm `berth agent` for its --root ("berth-agent"), runc and crun. All are
// driven through the same CLI: `BIN --root ROOT <command> ...`.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isSelected } from "./ctx.ts";
import { firstLines, readPidFile, run, type RunResult, which } from "./util.ts";

export class RuntimePeer {
  readonly root: string;
  /** Why this peer cannot be measured at all (missing binary); null when it can. */
  missing: string | null = null;
  version = "n/a";

  constructor(
    readonly name: string,
    readonly bin: string | null,
    work: string,
    readonly errFile: string,
    /** another build's directory (--berth LABEL=DIR), for A/B runs of two builds */
    readonly build?: string,
  ) {
    this.root = join(work, `root-${name}`);
    if (!bin) this.missing = `${name} not installed`;
    else {
      mkdirSync(this.root, { recursive: true });
      const v = run([bin, "--version"], { stdout: true, timeoutMs: 10000 });
      this.version = v.code === 0 ? (v.stdout.split("\n")[0] ?? "").trim() : `n/a (--version: ${firstLines(v.stderr)})`;
    }
  }

  private agent?: ReturnType<typeof Bun.spawn>;

  /** environment this peer's calls get on top of the benchmark's (berth-auto: BERTH_AGENT=auto) */
  extraEnv: Record<string, string> = {};

  /** the environment of this peer's calls */
  get env(): Record<string, string> {
    return { ...(process.env as Record<string, string>), ...this.extraEnv };
  }

  /** whether this peer runs with a warm agent (berth-agent, LABEL-agent) */
  get warm(): boolean {
    return this.agent !== undefined;
  }

  /**
   * Starts a warm `berth agent` for this peer's --root (the front door then
   * hands every call to it); in the mount namespace of process `mountNsOf`
   * when given (the agent serves only callers that see what it sees), for
   * ROOT when given (containerd's runc shim uses RUNC-ROOT/NAMESPACE).
   */
  startAgent(errFile: string, mountNsOf?: number, root = this.root): void {
    if (!this.bin || this.missing) return;
    // it says so once its socket listens (src/agent/socket.ts: not under the root)
    const listening = () => existsSync(errFile) && readFileSync(errFile, "utf8").includes("listening on");
    const enter = mountNsOf ? ["nsenter", `--mount=/proc/${mountNsOf}/ns/mnt`, "--"] : [];
    // BERTH_AGENT_LOG: a line per call in errFile (served, or left to Bun)
    this.agent = Bun.spawn([...enter, this.bin, "--root", root, "agent"], {
      stdio: ["ignore", "ignore", Bun.file(errFile)],
      env: { ...process.env, BERTH_AGENT_LOG: "1" },
    });
    for (let i = 0; i < 1500 && !listening() && this.agent.exitCode === null; i++) Bun.sleepSync(10);
    if (!listening()) this.missing = `berth agent did not start (see ${errFile})`;
  }

  stopAgent(): void {
    if (!this.agent) return;
    this.agent.kill("SIGTERM");
    for (let i = 0; i < 300 && this.agent.exitCode === null; i++) Bun.sleepSync(10);
    if (this.agent.exitCode === null) this.agent.kill(9);
    this.agent = undefined;
  }

  argv(...rest: string[]): string[] {
    return [this.bin!, "--root", this.root, ...rest];
  }

  exec(rest: string[], opts: { stdout?: boolean; timeoutMs?: number } = {}): RunResult {
    return run(this.argv(...rest), { errFile: this.errFile, timeoutMs: opts.timeoutMs ?? 60000, stdout: opts.stdout, env: this.env });
  }

  /** Runs and throws "<peer> <cmd>: exit N: <its error>" on failure. */
  must(rest: string[], opts: { stdout?: boolean; timeoutMs?: number } = {}): RunResult {
    const r = this.exec(rest, opts);
    if (r.code !== 0) throw new Error(`${this.name} ${rest[0]}: exit ${r.code}: ${firstLines(r.stderr || r.stdout)}`);
    return r;
  }

  /** `run` in the foreground: start to exit. */
  runFg(bundle: string, id: string, stdout = false): RunResult {
    return this.must(["run", "--bundle", bundle, id], { stdout });
  }

  /** `create` with stdio on /dev/null and a pid file, then `start`; returns the container's pid. */
  createStart(bundle: string, id: string): number {
    const pidFile = join(bundle, `${id}.pid`);
    this.must(["create", "--bundle", bundle, "--pid-file", pidFile, id]);
    this.must(["start", id]);
    return readPidFile(pidFile);
  }

  /** Best effort: force-delete every container left under our --root. */
  cleanupAll(): void {
    if (!this.bin) return;
    const r = this.exec(["list", "-q"], { stdout: true, timeoutMs: 30000 });
    const ids = r.code === 0 ? r.stdout.split("\n").filter(Boolean) : [];
    for (const id of ids) this.exec(["delete", "--force", id], { timeoutMs: 30000 });
    this.stopAgent();
    if (this.extraEnv.BERTH_AGENT === "auto") stopAgentsOf(this.root);
  }
}

/** Ends the agents berth started by itself for ROOT (`... --root ROOT agent ...`). */
function stopAgentsOf(root: string): void {
  const mine = () =>
    readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          const a = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
          const i = a.indexOf("--root");
          return i >= 0 && a[i + 1] === root && a[i + 2] === "agent";
        } catch {
          return false; // ended meanwhile
        }
      })
      .map(Number);
  for (const pid of mine()) process.kill(pid, "SIGTERM");
  for (let i = 0; i < 300 && mine().length > 0; i++) Bun.sleepSync(10);
  for (const pid of mine()) process.kill(pid, "SIGKILL");
}

export function berthBinary(repo: string): string | null {
  const p = join(repo, "dist", "berth");
  try {
    const st = statSync(p);
    if (st.isFile() && st.mode & 0o111) return p;
  } catch {}
  return null;
}

/** Another build of berth to measure beside this one (`--berth LABEL=DIR`: DIR holds its berth, berth-bun and berth-core). */
export interface OtherBuild {
  label: string;
  dir: string;
}

/**
 * berth first (the reference of the ratios: no agent, each call a Bun process),
 * berth with a warm agent, then runc and crun; then each other build as LABEL
 * and LABEL-agent.
 */
export function runtimePeers(repo: string, work: string, others: OtherBuild[] = []): RuntimePeer[] {
  const err = (n: string) => join(work, `${n}.stderr`);
  const runc = existsSync("/usr/sbin/runc") ? "/usr/sbin/runc" : which("runc");
  const crun = existsSync("/usr/bin/crun") ? "/usr/bin/crun" : which("crun");
  const berth = berthBinary(repo);
  const peers = [
    new RuntimePeer("berth", berth, work, err("berth")),
    new RuntimePeer("berth-agent", berth, work, err("berth-agent")),
    new RuntimePeer("runc", runc, work, err("runc")),
    new RuntimePeer("crun", crun, work, err("crun")),
    new RuntimePeer("berth-auto", berth, work, err("berth-auto")),
  ];
  // berth-auto: no agent at the start; the first call (in the unrecorded warm-up) starts one by itself
  peers[4]!.extraEnv = { BERTH_AGENT: "auto" };
  if (!berth) peers[0]!.missing = peers[1]!.missing = peers[4]!.missing = "dist/berth not built (bash scripts/build.sh)";
  else if (!existsSync(join(repo, "dist", "berth-bun")))
    peers[1]!.missing = peers[4]!.missing = "dist/berth is not the front door (no dist/berth-bun beside it)";
  else if (isSelected("berth-agent")) peers[1]!.startAgent(join(work, "berth-agent.log"));
  for (const o of others) {
    const bin = join(o.dir, "berth");
    const plain = new RuntimePeer(o.label, bin, work, err(o.label), o.dir);
    const warm = new RuntimePeer(`${o.label}-agent`, bin, work, err(`${o.label}-agent`), o.dir);
    if (!existsSync(bin)) plain.missing = warm.missing = `no ${bin}`;
    else if (isSelected(warm.name)) warm.startAgent(join(work, `${o.label}-agent.log`));
    peers.push(plain, warm);
  }
  return peers.filter((p) => isSelected(p.name));
}

// containerd (issue 4): time from `ctr run` to exit for a `true` container, each
// runtime given to the runc v2 shim as --runc-binary. A private containerd (its
// own root, state, sockets and /run) runs for the figure and is stopped after.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { interleave, peerRow, reps, type Ctx, type Entry } from "../lib/ctx.ts";
import { newFigure, type Figure } from "../lib/report.ts";
import { allPids, firstLines, killPid, log, run, sleep, which } from "../lib/util.ts";

export async function figContainerd(ctx: Ctx): Promise<Figure> {
  const f = newFigure("containerd", "ctr run --rm of /bin/true through the runc v2 shim, start to exit", "ms", { digits: 0 });
  const containerd = which("containerd");
  const ctr = which("ctr");
  const shim = which("containerd-shim-runc-v2");
  const rows = ctx.peers.map((p) => peerRow(p));
  // the shim passes containerd's environment on, and BERTH_AGENT=auto there would start agents for every berth row
  for (const r of rows) if (r.peer === "berth-auto") r.error ??= "not measured here: BERTH_AGENT=auto would have to be in containerd's own environment";
  const missing = !containerd || !ctr ? "containerd not installed (Debian package containerd)" : !shim ? "containerd-shim-runc-v2 not found" : null;
  if (missing || !containerd || !ctr) {
    for (const r of rows) r.error ??= missing ?? "containerd not installed";
    f.rows = rows;
    return f;
  }
  const dir = join(ctx.work, "containerd");
  const sock = join(dir, "containerd.sock");
  const fifo = join(dir, "fifo");
  mkdirSync(fifo, { recursive: true });
  writeFileSync(
    join(dir, "config.toml"),
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
`,
  );
  // containerd and its shims keep sockets under /run: give them a private one.
  const daemon = Bun.spawn(
    [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount -t tmpfs -o mode=0755 bench-run /run && exec "$@"',
      "sh",
      containerd,
      "--config",
      join(dir, "config.toml"),
    ],
    { stdin: "ignore", stdout: Bun.file(join(dir, "containerd.log")), stderr: Bun.file(join(dir, "containerd.log")) },
  );
  // every row with a warm agent (berth-agent, and LABEL-agent of --berth)
  const agentPeers = ctx.peers.filter((p) => p.warm && !p.missing);
  const ns = ctx.cgParent; // the containerd namespace is also the containers' cgroup parent
  const ctrArgs = [ctr, "-a", sock, "-n", ns];
  try {
    const deadline = performance.now() + 30000;
    while (run([...ctrArgs, "version"], { timeoutMs: 5000 }).code !== 0) {
      if (daemon.exitCode !== null || performance.now() > deadline) {
        let tail = "";
        try {
          tail = readFileSync(join(dir, "containerd.log"), "utf8").split("\n").slice(-5).join(" / ");
        } catch {}
        throw new Error(`containerd did not start: ${tail}`);
      }
      await sleep(100);
    }
    // containerd and its shims run in their own mount namespace: the agent
    // row gets an agent there (one in the benchmark's would leave every call to Bun)
    for (const p of agentPeers) {
      p.stopAgent();
      p.startAgent(join(dir, `${p.name}.log`), daemon.pid, join(p.root, ns));
    }
    const entries: Entry[] = ctx.peers.map((p, k) => ({
      row: rows[k]!,
      fn: (i) => {
        const id = `ctr-${p.name}-${i}`;
        const r = run(
          [
            ...ctrArgs,
            "run",
            "--rm",
            "--rootfs",
            "--runtime",
            "io.containerd.runc.v2",
            "--runc-binary",
            p.bin!,
            "--runc-root",
            p.root,
            "--fifo-dir",
            fifo,
            ctx.rootfs,
            id,
            "/bin/true",
          ],
          { timeoutMs: 60000 },
        );
        if (r.code !== 0) throw new Error(`ctr run with ${p.name}: exit ${r.code}: ${firstLines(r.stderr)}`);
        return r.ms;
      },
      onError: () => {
        const id = `ctr-${p.name}`;
        for (const t of run([...ctrArgs, "task", "ls", "-q"], { stdout: true })
          .stdout.split("\n")
          .filter((x) => x.startsWith(id))) {
          run([...ctrArgs, "task", "kill", "-s", "KILL", t]);
          run([...ctrArgs, "task", "delete", "-f", t]);
        }
        for (const c of run([...ctrArgs, "container", "ls", "-q"], { stdout: true })
          .stdout.split("\n")
          .filter((x) => x.startsWith(id))) {
          run([...ctrArgs, "container", "delete", c]);
        }
      },
    }));
    await interleave(entries, reps(ctx, 10, 5), 1);
    f.rows = rows;
    f.notes.push(
      `private containerd (${firstLines(run([containerd, "--version"], { stdout: true }).stdout)}), rootfs given with ctr run --rootfs (no snapshotter), ctr's default spec`,
    );
    return f;
  } finally {
    for (const p of agentPeers) {
      p.stopAgent();
      p.startAgent(join(ctx.work, `${p.name}.log`));
    }
    daemon.kill("SIGTERM");
    const t = setTimeout(() => daemon.kill("SIGKILL"), 10000);
    await daemon.exited;
    clearTimeout(t);
    // shims outlive their daemon: stop those that name our private paths
    for (const pid of allPids()) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) {
          log(`  stopping leftover ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]} (pid ${pid})`);
          killPid(pid, 9);
        }
      } catch {}
    }
  }
}

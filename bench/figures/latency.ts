// Start-up figures: `run` of /bin/true, create+start+wait+delete, and containers
// started per second with bounded parallelism.
import { join } from "node:path";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { bundle, interleave, isSelected, peerRow, reps, waitExit, type Ctx, type Entry } from "../lib/ctx.ts";
import { newFigure, type Figure, type Row } from "../lib/report.ts";
import { firstLines, median, readPidFile, run } from "../lib/util.ts";
import { buildInitramfs, floorArgs, FLOOR_OK_STATUS, guestArgs } from "../lib/vm.ts";

/** A VM row that boots (guest) or starts the VMM floor once per call. */
export function vmStartEntry(ctx: Ctx): Entry {
  const row: Row = { peer: "vm", values: [] };
  if (ctx.vm.mode === "none") return { row: { ...row, error: ctx.vm.why }, fn: () => 0 };
  if (ctx.vm.mode === "floor") {
    row.lowerBound = true;
    row.note = "lower bound: QEMU microvm start + firmware exit on KVM (VMM floor, no guest kernel)";
    return {
      row,
      fn: () => {
        const r = run(floorArgs(ctx.vm, ctx.vm.exitFw), { timeoutMs: 30000 });
        if (r.code !== FLOOR_OK_STATUS) throw new Error(`qemu exit ${r.code}: ${firstLines(r.stderr)}`);
        return r.ms;
      },
    };
  }
  const initrd = join(ctx.work, "vm-true.cpio");
  buildInitramfs(initrd, ctx.busybox, null, "true");
  row.note = "full guest: QEMU microvm + Linux + busybox init running true, then reboot -f (-no-reboot)";
  return {
    row,
    fn: () => {
      const r = run(guestArgs(ctx.vm, initrd, 256), { stdout: true, timeoutMs: 60000 });
      if (!r.stdout.includes("BENCH-GUEST-DONE")) {
        throw new Error(`guest did not finish (exit ${r.code}): ${firstLines(r.stderr)}; console: ${firstLines(r.stdout.split("\n").slice(-3).join("\n"))}`);
      }
      return r.ms;
    },
  };
}

/** The engine path: `berth serve` started once, each sample one POST /v1/run over its socket, timed by the client. */
async function agentEntry(ctx: Ctx): Promise<{ entry: Entry; stop: () => Promise<void> } | null> {
  const berth = ctx.peers.find((p) => p.name === "berth");
  if (!berth || berth.missing || !berth.bin || !isSelected("berth serve")) return null;
  const row: Row = {
    peer: "berth serve",
    values: [],
    note: "node agent: one long-running berth, a container per HTTP request on its unix socket (client-side time, connection kept)",
  };
  const root = join(ctx.work, "root-agent");
  const sock = join(root, "agent.sock");
  const b = bundle(ctx, "run-agent", { args: ["/bin/true"], cgroup: "run-agent" });
  const proc = Bun.spawn([berth.bin, "--root", root, "serve", "--socket", sock], { stdout: "ignore", stderr: "pipe" });
  for (let i = 0; i < 500 && !existsSync(sock); i++) await Bun.sleep(10);
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
  };
  if (!existsSync(sock)) {
    await stop();
    return { entry: { row: { ...row, error: "berth serve did not start" }, fn: () => 0 }, stop: async () => {} };
  }
  return {
    entry: {
      row,
      fn: async (i) => {
        const t0 = performance.now();
        const r = await fetch("http://agent/v1/run", { unix: sock, method: "POST", body: JSON.stringify({ bundle: b, id: `agent-${i}` }) } as RequestInit);
        const body = (await r.json()) as { exitCode?: number; error?: string };
        if (r.status !== 200 || body.exitCode !== 0) throw new Error(`berth serve: ${body.error ?? `exit ${body.exitCode}`}`);
        return performance.now() - t0;
      },
    },
    stop,
  };
}

/**
 * An empty program compiled exactly as dist/berth is (scripts/compile-ts.sh):
 * what starting and ending the Bun runtime costs a berth call before any of
 * berth's own code runs. The floor of every berth CLI row.
 */
function bunFloorEntry(ctx: Ctx): Entry {
  const row: Row = {
    peer: "bun floor",
    values: [],
    note: "an empty program compiled like dist/berth (scripts/compile-ts.sh), spawned the same way: Bun's own start and exit, the floor under every berth CLI call",
  };
  const dir = join(ctx.work, "bun-floor");
  mkdirSync(dir, { recursive: true });
  const src = join(dir, "empty.ts");
  const exe = join(dir, "empty");
  writeFileSync(src, "export {};\n");
  const b = run(["bash", join(ctx.repo, "scripts/compile-ts.sh"), src, exe], { timeoutMs: 120000 });
  if (b.code !== 0 || !existsSync(exe)) return { row: { ...row, error: `could not compile: ${firstLines(b.stderr)}` }, fn: () => 0 };
  return {
    row,
    fn: () => {
      const r = run([exe]);
      if (r.code !== 0) throw new Error(`empty program: exit ${r.code}`);
      return r.ms;
    },
  };
}

export async function figRun(ctx: Ctx): Promise<Figure> {
  const f = newFigure("run", "run of /bin/true, start to exit", "ms", { digits: 1 });
  const entries: Entry[] = ctx.peers.map((p) => {
    const row = peerRow(p);
    const b = p.missing ? "" : bundle(ctx, `run-${p.name}`, { args: ["/bin/true"], cgroup: `run-${p.name}` });
    let id = "";
    return {
      row,
      fn: (i) => {
        id = `run-${p.name}-${i}`;
        return p.runFg(b, id).ms;
      },
      onError: () => p.exec(["delete", "--force", id]),
    };
  });
  const agent = await agentEntry(ctx);
  if (agent) entries.push(agent.entry);
  entries.push({
    row: { peer: "native", values: [], note: "busybox true spawned directly: the floor of this measurement" },
    fn: () => run([ctx.busybox, "true"]).ms,
  });
  if (isSelected("bun floor")) entries.push(bunFloorEntry(ctx));
  const vm = vmStartEntry(ctx);
  entries.push(vm);
  await interleave(entries, reps(ctx, 20, 10), 2);
  ctx.vmStartMs = vm.row.values;
  ctx.vmStartError = vm.row.error;
  await agent?.stop();
  f.rows = entries.map((e) => e.row);
  const med = (peer: string) => {
    const r = f.rows.find((x) => x.peer === peer);
    return r && !r.error && r.values.length > 0 ? median(r.values) : null;
  };
  const [berthMs, floorMs, crunMs] = [med("berth"), med("bun floor"), med("crun")];
  if (berthMs !== null && floorMs !== null) {
    f.notes.push(
      `berth's own work above the Bun floor: ${(berthMs - floorMs).toFixed(1)} ms (berth ${berthMs.toFixed(1)} − bun floor ${floorMs.toFixed(1)})` +
        (crunMs !== null
          ? `; to match crun's whole call (${crunMs.toFixed(1)} ms) it would have to fit in ${Math.max(0, crunMs - floorMs).toFixed(1)} ms, namespaces, mounts, cgroups and state included`
          : ""),
    );
  }
  // What wrapping each runtime call in a private mount namespace would have cost.
  const wrap: number[] = [];
  for (let i = 0; i < 10; i++) wrap.push(run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", `exec ${ctx.busybox} true`]).ms);
  f.notes.push(
    `not charged to any runtime: a per-call wrapper \`unshare -m sh -c '...; exec RUNTIME'\` would add about ${median(wrap).toFixed(1)} ms (median of 10) to each call; the benchmark avoids it by running in one private mount namespace`,
  );
  return f;
}

export async function figCycle(ctx: Ctx): Promise<Figure> {
  const f = newFigure("cycle", "create + start + wait + delete of /bin/true", "ms", { digits: 1 });
  const entries: Entry[] = ctx.peers.map((p) => {
    const row = peerRow(p);
    const b = p.missing ? "" : bundle(ctx, `cycle-${p.name}`, { args: ["/bin/true"], cgroup: `cycle-${p.name}` });
    let id = "";
    return {
      row,
      fn: async (i) => {
        id = `cycle-${p.name}-${i}`;
        const pidFile = join(b, `${id}.pid`);
        const t0 = performance.now();
        p.must(["create", "--bundle", b, "--pid-file", pidFile, id]);
        p.must(["start", id]);
        await waitExit(readPidFile(pidFile));
        p.must(["delete", id]);
        return performance.now() - t0;
      },
      onError: () => p.exec(["delete", "--force", id]),
    };
  });
  await interleave(entries, reps(ctx, 20, 10), 2);
  f.rows = entries.map((e) => e.row);
  f.notes.push("wait = waitpid() on the container's init: the benchmark is the child subreaper, as containerd-shim or conmon would be");
  return f;
}

export async function figThroughput(ctx: Ctx): Promise<Figure> {
  const n = ctx.quick ? 40 : 200;
  const par = 2;
  const f = newFigure("throughput", `containers started per second (run of /bin/true, ${n} containers, ${par} at a time)`, "containers/s", {
    lowerIsBetter: false,
    digits: 1,
  });
  const entries: Entry[] = ctx.peers.map((p) => {
    const row = peerRow(p);
    const bundles = p.missing
      ? []
      : Array.from({ length: par }, (_, w) => bundle(ctx, `tp-${p.name}-${w}`, { args: ["/bin/true"], cgroup: `tp-${p.name}-${w}` }));
    const errDir = join(ctx.work, "tp-err");
    mkdirSync(errDir, { recursive: true });
    let started: string[] = [];
    return {
      row,
      fn: async (i) => {
        let next = 0;
        started = [];
        const worker = async (w: number) => {
          while (next < n) {
            const k = next++;
            const id = `tp-${p.name}-${i}-${k}`;
            started.push(id);
            const proc = Bun.spawn(p.argv("run", "--bundle", bundles[w]!, id), { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: p.env });
            const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
            if (code !== 0) throw new Error(`${p.name} run: exit ${code}: ${firstLines(err)}`);
          }
        };
        const t0 = performance.now();
        await Promise.all(Array.from({ length: par }, (_, w) => worker(w)));
        return n / ((performance.now() - t0) / 1000);
      },
      onError: () => {
        for (const id of started) p.exec(["delete", "--force", id]);
      },
    };
  });
  await interleave(entries, reps(ctx, 3, 2), 1);
  f.rows = entries.map((e) => e.row);
  return f;
}

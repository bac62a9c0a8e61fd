// Host memory per idle container (and per idle VM): N `sleep` containers
// started with create + start, then measured.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, cgPath, peerRow, reps, type Ctx } from "../lib/ctx.ts";
import { newFigure, type Figure, type Row } from "../lib/report.ts";
import { allPids, firstLines, killPid, log, memAvailableKiB, procMem, readPidFile, sleep, waitPid } from "../lib/util.ts";
import { buildInitramfs, floorArgs, guestArgs } from "../lib/vm.ts";
import type { RuntimePeer } from "../lib/peers.ts";

interface DensityResult {
  chargeKiB: number[]; // per container
  hostKiB: number; // MemAvailable drop / N
  monitorKiB: number; // RSS of per-container runtime processes / N
  monitors: number; // how many such processes
  startS: number;
}

/** True if PID is a descendant of this process (we are the subreaper: whatever a runtime leaves behind ends up below us). */
function descendsFromUs(pid: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, "utf8");
    } catch {
      return false;
    }
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (p === process.pid) return true;
  }
  return false;
}

async function idleContainers(ctx: Ctx, p: RuntimePeer, n: number, tag: string): Promise<DensityResult> {
  const started: { id: string; pid: number }[] = [];
  const before = new Set(allPids());
  const memBefore = memAvailableKiB();
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      const id = `${tag}-${i}`;
      const b = bundle(ctx, id, { args: ["/bin/sleep", "1000000"], cgroup: `${tag}/${i}` });
      const pidFile = join(b, "pid");
      started.push({ id, pid: 0 });
      p.must(["create", "--bundle", b, "--pid-file", pidFile, id]);
      p.must(["start", id]);
      started[started.length - 1]!.pid = readPidFile(pidFile);
    }
    const startS = (performance.now() - t0) / 1000;
    await sleep(1000); // let lazily freed memory settle
    const chargeKiB = started.map((_, i) => ctx.cg.memoryCharge(cgPath(ctx, `${tag}/${i}`)) / 1024);
    const memAfter = memAvailableKiB();
    const inContainers = new Set(ctx.cg.pids(ctx.cgParent));
    let monitorKiB = 0;
    let monitors = 0;
    for (const pid of allPids()) {
      if (before.has(pid) || inContainers.has(pid) || pid === process.pid || !descendsFromUs(pid)) continue;
      const m = procMem(pid);
      if (Number.isFinite(m.rss)) {
        monitorKiB += m.rss;
        monitors++;
      }
    }
    return { chargeKiB, hostKiB: (memBefore - memAfter) / n, monitorKiB: monitorKiB / n, monitors, startS };
  } finally {
    for (const c of started) {
      if (c.pid > 0) {
        killPid(c.pid, 9);
        waitPid(c.pid);
      }
      const r = p.exec(["delete", c.id]);
      if (r.code !== 0) p.exec(["delete", "--force", c.id]);
    }
  }
}

async function idleVms(ctx: Ctx, k: number): Promise<{ rssKiB: number[]; pssKiB: number[]; hostKiB: number }> {
  const vm = ctx.vm;
  let argv: string[];
  let marker: string | null = null;
  if (vm.mode === "floor") argv = floorArgs(vm, vm.haltFw);
  else {
    const initrd = join(ctx.work, "vm-idle.cpio");
    buildInitramfs(initrd, ctx.busybox, null, "sleep 1000000");
    argv = guestArgs(vm, initrd, 256);
    marker = "BENCH-GUEST-UP";
  }
  const memBefore = memAvailableKiB();
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  try {
    for (let i = 0; i < k; i++) {
      const proc = Bun.spawn(argv, { stdin: "ignore", stdout: marker ? "pipe" : "ignore", stderr: "ignore" });
      procs.push(proc);
      if (marker) {
        const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
        let seen = "";
        const deadline = performance.now() + 60000;
        while (!seen.includes(marker) && performance.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          seen += new TextDecoder().decode(value);
        }
        if (!seen.includes(marker)) throw new Error(`idle guest ${i} did not come up: ${firstLines(seen.slice(-200))}`);
        reader.releaseLock();
      }
    }
    await sleep(1500);
    for (const p of procs) if (p.exitCode !== null) throw new Error(`idle VM exited early with ${p.exitCode}`);
    const mems = procs.map((p) => procMem(p.pid));
    const memAfter = memAvailableKiB();
    return { rssKiB: mems.map((m) => m.rss), pssKiB: mems.map((m) => m.pss), hostKiB: (memBefore - memAfter) / k };
  } finally {
    for (const p of procs) p.kill(9);
    await Promise.all(procs.map((p) => p.exited));
  }
}

export async function figDensity(ctx: Ctx): Promise<Figure[]> {
  const counts = ctx.quick ? [100] : [100, 1000];
  const out: Figure[] = [];
  const vmK = ctx.quick ? 3 : 8;
  for (const n of counts) {
    const charge = newFigure(`density-${n}-cgroup`, `idle container memory, cgroup charge (${n} sleep containers)`, "KiB per container", { digits: 0 });
    const host = newFigure(`density-${n}-host`, `idle container memory, host MemAvailable drop (${n} sleep containers)`, "KiB per container", { digits: 0 });
    const rowsC = new Map<string, Row>();
    const rowsH = new Map<string, Row>();
    for (const p of ctx.peers) {
      rowsC.set(p.name, peerRow(p));
      rowsH.set(p.name, peerRow(p));
    }
    const rounds = n >= 1000 ? 1 : reps(ctx, 2, 1);
    const monitorNotes = new Map<string, string>();
    for (let r = 0; r < rounds; r++) {
      for (const p of ctx.peers) {
        const rc = rowsC.get(p.name)!;
        const rh = rowsH.get(p.name)!;
        if (rc.error) continue;
        try {
          log(`  ${p.name}: ${n} idle containers (round ${r + 1}/${rounds})`);
          const d = await idleContainers(ctx, p, n, `d${n}-${p.name}-${r}`);
          rc.values.push(...d.chargeKiB);
          rh.values.push(d.hostKiB);
          monitorNotes.set(
            p.name,
            `${d.monitors === 0 ? "no process" : `${d.monitors} process(es), ${Math.round(d.monitorKiB)} KiB RSS per container,`} left per container outside the containers; ${n} containers started in ${d.startS.toFixed(1)} s (create + start, one at a time)`,
          );
        } catch (e) {
          rc.error = rh.error = (e as Error).message;
          rc.values = [];
          rh.values = [];
        }
      }
    }
    charge.rows = [...rowsC.values()];
    host.rows = [...rowsH.values()];
    for (const [peer, note] of monitorNotes) charge.notes.push(`${peer}: ${note}`);
    charge.notes.push("N in this table counts containers (every container's own charge is a sample), over all rounds");
    host.notes.push(
      "N counts rounds; each value is the drop of MemAvailable over the round divided by the number of containers (includes kernel memory not charged to the cgroup)",
    );
    if (n === counts[0]) {
      // the VM peer: k idle VMs
      const vmC: Row = { peer: "vm", values: [] };
      const vmH: Row = { peer: "vm", values: [] };
      if (ctx.vm.mode === "none") vmC.error = vmH.error = ctx.vm.why;
      else {
        try {
          log(`  vm: ${vmK} idle VMs`);
          const v = await idleVms(ctx, vmK);
          vmC.values = v.rssKiB;
          vmH.values = [v.hostKiB];
          const pss = v.pssKiB.reduce((a, b) => a + b, 0) / v.pssKiB.length;
          const what =
            ctx.vm.mode === "floor"
              ? "idle VMM floor (halted vCPU, 16 MiB guest RAM, no guest kernel): lower bound"
              : "idle guest (256 MiB, busybox init sleeping)";
          vmC.note = `QEMU resident set per VM (${vmK} VMs; mean PSS ${Math.round(pss)} KiB); ${what}`;
          vmH.note = `${vmK} VMs; ${what}`;
          if (ctx.vm.mode === "floor") vmC.lowerBound = vmH.lowerBound = true;
        } catch (e) {
          vmC.error = vmH.error = (e as Error).message;
        }
      }
      charge.rows.push(vmC);
      host.rows.push(vmH);
    }
    if (ctx.quick) {
      // 100 containers move MemAvailable by only a few MiB: other activity on the host drowns that.
      const h = host.rows.filter((r) => !r.error && r.values.length).map((r) => `${r.peer} ${Math.round(r.values[0]!)}`);
      charge.notes.push(`host MemAvailable drop per container (one round, noisy at this N; a full run reports it at 1000 containers): ${h.join(", ")} KiB`);
      out.push(charge);
    } else out.push(charge, host);
  }
  return out;
}

// Live resize: how long until a new memory limit is in force on a running container.
import { join } from "node:path";
import { bundle, cgPath, interleave, peerRow, reps, type Ctx, type Entry } from "../lib/ctx.ts";
import { newFigure, type Figure, type Row } from "../lib/report.ts";
import { killPid, readPidFile, waitPid } from "../lib/util.ts";

const MiB = 1024 * 1024;

export async function figUpdate(ctx: Ctx): Promise<Figure> {
  const f = newFigure("update", "live memory-limit change (update --memory until the cgroup reads it back)", "ms", { digits: 1 });
  const live: { p: (typeof ctx.peers)[number]; id: string; pid: number }[] = [];
  const entries: Entry[] = ctx.peers.map((p) => {
    const row = peerRow(p);
    const id = `update-${p.name}`;
    const cgroup = `update-${p.name}`;
    let pid = 0;
    return {
      row,
      fn: (i) => {
        if (pid === 0) {
          const b = bundle(ctx, id, { args: ["/bin/sleep", "1000000"], cgroup, memoryLimit: 256 * MiB });
          const pidFile = join(b, "pid");
          live.push({ p, id, pid: 0 });
          p.must(["create", "--bundle", b, "--pid-file", pidFile, id]);
          p.must(["start", id]);
          pid = readPidFile(pidFile);
          live[live.length - 1]!.pid = pid;
          const got = ctx.cg.memoryLimit(cgPath(ctx, cgroup));
          if (got !== 256 * MiB) throw new Error(`${p.name}: memory limit at start is ${got}, config asked ${256 * MiB}`);
        }
        const target = (i % 2 ? 192 : 128) * MiB;
        const t0 = performance.now();
        p.must(["update", "--memory", String(target), id]);
        const deadline = t0 + 5000;
        for (;;) {
          if (ctx.cg.memoryLimit(cgPath(ctx, cgroup)) === target) break;
          if (performance.now() > deadline) throw new Error(`${p.name}: the cgroup did not read back ${target} within 5 s of update`);
          Bun.sleepSync(0.2);
        }
        return performance.now() - t0;
      },
    };
  });
  const vm: Row = { peer: "vm", values: [] };
  if (ctx.vmStartMs.length) {
    vm.values = ctx.vmStartMs;
    vm.lowerBound = true;
    vm.note =
      ctx.vm.mode === "floor"
        ? "a VM's memory changes only by restart (or a guest balloon driver's cooperation): this row is the VMM floor start time from the run figure, a lower bound for a restart"
        : "a VM's memory changes only by restart (or a guest balloon driver's cooperation): this row is the guest's boot-to-exit time from the run figure, a lower bound for a restart";
  } else vm.error = ctx.vmStartError ?? (ctx.vm.mode === "none" ? ctx.vm.why : "the run figure did not run (its VM start times are reused here)");
  try {
    await interleave(entries, reps(ctx, 10, 5), 1);
  } finally {
    for (const c of live) {
      if (c.pid > 0) {
        killPid(c.pid, 9);
        waitPid(c.pid);
      }
      const r = c.p.exec(["delete", c.id]);
      if (r.code !== 0) c.p.exec(["delete", "--force", c.id]);
    }
  }
  f.rows = [...entries.map((e) => e.row), vm];
  f.notes.push("each container starts with a 256 MiB limit; repetitions alternate 128 MiB and 192 MiB");
  return f;
}

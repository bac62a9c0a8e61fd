// CPU-bound and I/O-bound work inside each runtime (and a VM guest) versus native.
// The command is timed by the shell around it ($EPOCHREALTIME), the same way in
// every peer, so start-up does not blur the comparison.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { bundle, interleave, peerRow, reps, type Ctx, type Entry } from "../lib/ctx.ts";
import { newFigure, type Figure, type Row } from "../lib/report.ts";
import { firstLines, log, must, run } from "../lib/util.ts";
import { buildInitramfs, guestArgs, kernelVersionOf } from "../lib/vm.ts";

/** sh script that runs CMD between two $EPOCHREALTIME readings and prints them. */
function timed(cmd: string, setup = ""): string {
  return `${setup}${setup ? "; " : ""}s=$EPOCHREALTIME; ${cmd}; rc=$?; e=$EPOCHREALTIME; echo "BENCH-T $s $e $rc"`;
}

function parseTimed(out: string, who: string): number {
  const m = /BENCH-T (\d+\.\d+) (\d+\.\d+) (\d+)/.exec(out);
  if (!m) throw new Error(`${who}: no timing in output: ${firstLines(out.slice(-300))}`);
  if (m[3] !== "0") throw new Error(`${who}: workload exited ${m[3]}`);
  return (Number(m[2]) - Number(m[1])) * 1000;
}

interface Workload {
  id: string;
  title: string;
  /** the command run inside, with the data directory mounted at DIR */
  cmd: (dir: string) => string;
  /** clean-up after each run, on the host side of DIR */
  after?: (hostDir: string) => void;
  readonlyData: boolean;
  /** the guest's script and qemu extras (full-guest VM case only) */
  guest: () => { script: string; memMiB: number; extra: string[]; modules: string[] };
}

async function workloadFigure(ctx: Ctx, w: Workload, repsN: number): Promise<Figure> {
  const f = newFigure(w.id, w.title, "ms", { digits: 0 });
  const entries: Entry[] = [];
  for (const p of ctx.peers) {
    const row = peerRow(p);
    const hostDir = join(ctx.work, w.readonlyData ? "data" : `io-${p.name}`);
    mkdirSync(hostDir, { recursive: true });
    const b = p.missing
      ? ""
      : bundle(ctx, `${w.id}-${p.name}`, {
          args: ["/bin/sh", "-c", timed(w.cmd("/data"))],
          cgroup: `${w.id}-${p.name}`,
          binds: [{ source: hostDir, destination: "/data", readonly: w.readonlyData }],
        });
    let id = "";
    entries.push({
      row,
      fn: (i) => {
        id = `${w.id}-${p.name}-${i}`;
        const r = p.runFg(b, id, true);
        w.after?.(hostDir);
        return parseTimed(r.stdout, p.name);
      },
      onError: () => p.exec(["delete", "--force", id]),
    });
  }
  const nativeDir = join(ctx.work, w.readonlyData ? "data" : "io-native");
  mkdirSync(nativeDir, { recursive: true });
  entries.push({
    row: { peer: "native", values: [] },
    fn: () => {
      const r = run([ctx.busybox, "sh", "-c", timed(w.cmd(nativeDir))], { stdout: true, env: { PATH: dirname(ctx.busybox) } });
      w.after?.(nativeDir);
      return parseTimed(r.stdout, "native");
    },
  });
  const vmRow: Row = { peer: "vm", values: [] };
  if (ctx.vm.mode === "guest") {
    const g = w.guest();
    const initrd = join(ctx.work, `vm-${w.id}.cpio`);
    buildInitramfs(initrd, ctx.busybox, kernelVersionOf(ctx.vm.kernel), g.script, g.modules);
    vmRow.note = "full guest (QEMU microvm, Debian cloud kernel, busybox initramfs)";
    entries.push({
      row: vmRow,
      fn: () => {
        const r = run(guestArgs(ctx.vm, initrd, g.memMiB, g.extra), { stdout: true, timeoutMs: 180000 });
        if (r.timedOut) throw new Error(`guest ${r.stderr}; console: ${firstLines(r.stdout.split("\n").slice(-3).join("\n"))}`);
        return parseTimed(r.stdout, "vm");
      },
    });
  } else {
    vmRow.error = `no Linux guest runs on this host (${ctx.vm.mode === "floor" ? "only the VMM floor is measurable" : ctx.vm.why})`;
    entries.push({ row: vmRow, fn: () => 0 });
  }
  await interleave(entries, repsN, 1);
  f.rows = entries.map((e) => e.row);
  return f;
}

export async function figCpu(ctx: Ctx): Promise<Figure> {
  const mib = ctx.quick ? 64 : 256;
  const dataDir = join(ctx.work, "data");
  mkdirSync(dataDir, { recursive: true });
  log(`  writing a ${mib} MiB random file`);
  must(["dd", "if=/dev/urandom", `of=${join(dataDir, "blob")}`, "bs=1M", `count=${mib}`, "status=none"], "making the CPU workload's file");
  try {
    const f = await workloadFigure(
      ctx,
      {
        id: "cpu",
        title: `CPU-bound: busybox sha256sum of a ${mib} MiB file (page cache warm)`,
        cmd: (d) => `busybox sha256sum ${d}/blob >/dev/null`,
        readonlyData: true,
        guest: () => ({
          script: timed("sha256sum /tmp/blob >/dev/null", `dd if=/dev/urandom of=/tmp/blob bs=1M count=${mib} 2>/dev/null`),
          memMiB: mib + 384,
          extra: [],
          modules: [],
        }),
      },
      reps(ctx, 5, 3),
    );
    f.notes.push("containers read the file through a read-only bind mount; in a guest the file lives in the guest's RAM");
    return f;
  } finally {
    rmSync(join(dataDir, "blob"), { force: true });
  }
}

export async function figIo(ctx: Ctx): Promise<Figure> {
  const mib = ctx.quick ? 64 : 512;
  const disk = join(ctx.work, "vm-disk.raw");
  try {
    const f = await workloadFigure(
      ctx,
      {
        id: "io",
        title: `I/O-bound: dd write of ${mib} MiB + fsync`,
        cmd: (d) => `busybox dd if=/dev/zero of=${d}/out bs=1M count=${mib} conv=fsync 2>/dev/null`,
        after: (h) => rmSync(join(h, "out"), { force: true }),
        readonlyData: false,
        guest: () => {
          must(["truncate", "-s", `${mib + 16}M`, disk], "making the VM's disk");
          return {
            script: timed(`dd if=/dev/zero of=/dev/vda bs=1M count=${mib} conv=fsync 2>/dev/null`),
            memMiB: 256,
            extra: ["-drive", `id=d0,file=${disk},format=raw,if=none`, "-device", "virtio-blk-device,drive=d0"],
            modules: ["virtio_mmio", "virtio_blk"],
          };
        },
      },
      reps(ctx, 5, 3),
    );
    f.notes.push(
      "containers write to a host directory through a bind mount (a volume); in a guest, to a virtio-blk disk backed by a raw file on the same host file system",
    );
    return f;
  } finally {
    rmSync(disk, { force: true });
  }
}

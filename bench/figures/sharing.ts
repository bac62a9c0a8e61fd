// File-level images: N containers of one image through the engine (berth run -d)
// share the image's unpacked layers on disk and in the page cache; each adds
// only its own upper directory. A VM of the same image needs its own disk.
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Ctx } from "../lib/ctx.ts";
import { newFigure, type Figure } from "../lib/report.ts";
import { run } from "../lib/util.ts";

function duKiB(path: string): number {
  // -x: not into the containers' mounted root filesystems
  const r = run(["du", "-skx", "--", path], { stdout: true, timeoutMs: 60000 });
  return Number(r.stdout.split(/\s+/)[0] ?? 0);
}

function cachedKiB(): number {
  const m = /^Cached:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return Number(m?.[1] ?? 0);
}

function overlayLines(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(` ${root}/`) && l.includes(" - overlay "));
}

function overlaysUnder(root: string): number {
  return overlayLines(root).length;
}

export async function figSharing(ctx: Ctx): Promise<Figure> {
  const n = ctx.quick ? 20 : 100;
  const f = newFigure("sharing", `disk per container, ${n} containers of one image (engine: berth run -d)`, "KiB", { digits: 0 });
  const berth = ctx.peers.find((p) => p.name === "berth");
  if (!berth?.bin || berth.missing) {
    f.rows.push({ peer: "berth", values: [], error: "dist/berth not built" });
    return f;
  }
  const root = join(ctx.work, "engine-root");
  mkdirSync(root, { recursive: true });
  const env = { ...process.env, BERTH_ENGINE_ROOT: root, BERTH_ENGINE_RUNROOT: join(root, "run"), BERTH_DEFAULT_NETWORK: "none" } as Record<string, string>;
  const engine = (args: string[]) => Bun.spawnSync([berth.bin!, ...args], { env, stdout: "pipe", stderr: "pipe" });
  const ids: string[] = [];
  try {
    const img = engine(["images", "-q", "berth/busybox"]);
    if (img.exitCode !== 0) throw new Error(img.stderr.toString().trim());
    // a first container unpacks the image's layers; the figure counts what each further one adds
    const warm = engine(["run", "--rm", "berth/busybox", "true"]);
    if (warm.exitCode !== 0) throw new Error(`run: ${warm.stderr.toString().trim()}`);
    const before = duKiB(root);
    const cacheBefore = cachedKiB();
    for (let i = 0; i < n; i++) {
      const r = engine(["run", "-d", "--name", `share-${i}`, "berth/busybox", "sh", "-c", "cat /bin/busybox > /dev/null; exec sleep 300"]);
      if (r.exitCode !== 0) throw new Error(`run -d: ${r.stderr.toString().trim()}`);
      ids.push(r.stdout.toString().trim());
    }
    await Bun.sleep(500);
    const after = duKiB(root);
    const cacheAfter = cachedKiB();
    // every container's overlay stacks the same layer directories
    const lowers = new Set(overlayLines(root).map((l) => /lowerdir=([^,]+)/.exec(l)?.[1] ?? ""));
    const overlays = overlayLines(root).length;
    const busyboxKiB = Math.round(statSync(ctx.busybox).size / 1024);
    f.rows.push({
      peer: "berth",
      values: [(after - before) / n],
      note: `overlay: shared read-only layers + a per-container upper directory (${n} containers)`,
    });
    f.rows.push({
      peer: "vm",
      values: [busyboxKiB],
      note: "lower bound: a VM boots from its own copy of the image (here the busybox binary alone; a real VM disk or initramfs is larger)",
    });
    f.notes.push(`disk: the engine's store grew by ${after - before} KiB for ${n} containers; the image's layer (${busyboxKiB} KiB busybox) is stored once`);
    f.notes.push(
      `${overlays} overlay root filesystems, ${lowers.size} distinct set${lowers.size === 1 ? "" : "s"} of lower (image) directories: every container reads the same files`,
    );
    f.notes.push(
      `page cache: Cached grew by ${cacheAfter - cacheBefore} KiB while ${n} containers each read all of /bin/busybox (${busyboxKiB} KiB); with private copies it would be ${n * busyboxKiB} KiB`,
    );
  } catch (e) {
    f.rows.push({ peer: "berth", values: [], error: (e as Error).message });
  } finally {
    if (ids.length) engine(["rm", "-f", ...ids]);
    // the containers' monitors unmount their root filesystems as they finish
    for (let i = 0; i < 200 && overlaysUnder(root) > 0; i++) await Bun.sleep(50);
    // and anything else the engine mounted under its root (its netns directory)
    const left = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((m) => m.startsWith(`${root}/`));
    for (const m of left.reverse()) run(["umount", "-l", m]);
  }
  return f;
}

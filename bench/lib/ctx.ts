// What every figure gets: options, the peers, the VM probe, scratch space, and
// the interleaving loop.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Cgroups } from "./host.ts";
import type { RuntimePeer } from "./peers.ts";
import type { Row } from "./report.ts";
import { writeBundle, type ContainerOpts } from "./bundle.ts";
import type { VmProbe } from "./vm.ts";
import { waitPid } from "./util.ts";

export interface Ctx {
  repo: string;
  work: string;
  quick: boolean;
  busybox: string;
  rootfs: string;
  peers: RuntimePeer[];
  vm: VmProbe;
  cg: Cgroups;
  /** cgroup subtree (relative path) that holds every container this run makes. */
  cgParent: string;
  /** VM start samples (ms) from the `run` figure, reused by others. */
  vmStartMs: number[];
  vmStartError?: string;
  /** --reps: the same number of recorded repetitions for every figure. */
  reps?: number;
}

export function reps(ctx: Ctx, full: number, quick: number): number {
  return ctx.reps ?? (ctx.quick ? quick : full);
}

/** --peers: the only rows measured (runtime peers and the run figure's extra rows); null: all. */
let selected: Set<string> | null = null;
export function selectPeers(names: string[] | null): void {
  selected = names ? new Set(names) : null;
}
export function isSelected(peer: string): boolean {
  return !selected || selected.has(peer);
}

export interface Entry {
  row: Row;
  /** One measurement; throws to mark the peer n/a with the error. */
  fn: (rep: number) => number | Promise<number>;
  /** Called once after the peer fails (clean-up of what the failed step left). */
  onError?: () => void;
}

/**
 * Runs WARMUP unrecorded rounds, then REPS rounds; each round calls every entry
 * once, in order (A B C A B C ...). A peer that fails keeps its error and is
 * skipped from then on.
 */
export async function interleave(entries: Entry[], repsN: number, warmup = 1): Promise<void> {
  for (let i = 0; i < warmup + repsN; i++) {
    for (const e of entries) {
      if (e.row.error || !isSelected(e.row.peer)) continue;
      try {
        const v = await e.fn(i);
        if (i >= warmup) e.row.values.push(v);
      } catch (err) {
        e.row.error = err instanceof Error ? err.message : String(err);
        e.row.values = [];
        try {
          e.onError?.();
        } catch {}
      }
    }
  }
}

/** A row per runtime peer; missing peers already carry their error. */
export function peerRow(p: RuntimePeer): Row {
  const notes: Record<string, string> = {
    berth: "no agent: each call is the front door running a new Bun berth",
    "berth-agent": "the front door handing each call to a warm berth agent for this --root",
    "berth-auto":
      "BERTH_AGENT=auto in each call's environment, no agent at the start: the first call (in the unrecorded warm-up) finds none and starts one, detached, for the later calls",
  };
  const note = notes[p.name] ?? (p.build ? `${p.name.endsWith("-agent") ? "with a warm agent" : "no agent"}; the build in ${p.build}` : undefined);
  return p.missing ? { peer: p.name, values: [], error: p.missing } : { peer: p.name, values: [], ...(note ? { note } : {}) };
}

export function bundle(ctx: Ctx, name: string, o: Omit<ContainerOpts, "rootfs" | "cgroupsPath"> & { cgroup: string }): string {
  return writeBundle(join(ctx.work, "bundles", name), { ...o, rootfs: ctx.rootfs, cgroupsPath: `/${ctx.cgParent}/${o.cgroup}` });
}

export function cgPath(ctx: Ctx, cgroup: string): string {
  return `/${ctx.cgParent}/${cgroup}`;
}

/**
 * Waits for a container's init to exit. We are the subreaper, so after the
 * runtime's `create` has exited the init is our child and waitpid() returns at
 * its exit. If it is not ours (a runtime that keeps a monitor process), poll.
 */
export async function waitExit(pid: number, timeoutMs = 30000): Promise<void> {
  if (waitPid(pid)) return;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (/\) [ZX] /.test(st)) return;
    } catch {
      return;
    }
    Bun.sleepSync(0.5);
  }
  throw new Error(`container pid ${pid} did not exit within ${timeoutMs} ms`);
}

export function exists(p: string): boolean {
  return existsSync(p);
}

// Resource figures of running containers (stats): CPU, memory and pids from
// their cgroups, and the CPU share between two samples.
import { readFileSync } from "node:fs";
import { errnoCode } from "../linux/libc.ts";
import { RuntimeError } from "../runtime/state.ts";
import type { Engine } from "./engine.ts";
import type { ContainerRecordE } from "./store.ts";

export interface Sample {
  cpu: number;
  at: number;
  mem: number;
  limit: number;
  pids: number;
}

/** One container's figures now; undefined when it has no cgroup (any more). */
export function sample(e: Engine, c: ContainerRecordE): Sample | undefined {
  try {
    const s = e.runtime.stats(c.id);
    const hostMem = (() => {
      try {
        return Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;
      } catch (e) {
        if (errnoCode(e) !== "ENOENT") throw e;
        return 0; // no /proc/meminfo to read: no host figure (the cgroup's limit alone)
      }
    })();
    const limit = s.memory.usage.limit > 0 && s.memory.usage.limit < hostMem ? s.memory.usage.limit : hostMem;
    const cache = s.memory.raw.total_inactive_file ?? s.memory.raw.inactive_file ?? 0;
    return { cpu: s.cpu.usage.total, at: performance.now(), mem: Math.max(0, s.memory.usage.usage - cache), limit, pids: s.pids.current };
  } catch (err) {
    // not running (any more): the runtime has no record of it, or its cgroup is gone
    if (err instanceof RuntimeError || errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

/** A container's row of one round: its sample (if any) and its CPU use since the round before, in percent of one CPU. */
export interface StatsRow {
  c: ContainerRecordE;
  s?: Sample;
  cpu: number;
}

/** Samples containers round after round; each round's CPU share is against the round before. */
export class StatsSampler {
  private prev = new Map<string, Sample>();

  constructor(private readonly e: Engine) {}

  /** The first round, which has nothing to compare against. */
  start(cs: ContainerRecordE[]): void {
    for (const c of cs) {
      const s = sample(this.e, c);
      if (s) this.prev.set(c.id, s);
    }
  }

  /** The next round. */
  round(cs: ContainerRecordE[]): StatsRow[] {
    const now = new Map<string, Sample>();
    const rows: StatsRow[] = [];
    for (const c of cs) {
      const s = sample(this.e, c);
      const before = this.prev.get(c.id);
      const cpu = s && before && s.at > before.at ? ((s.cpu - before.cpu) / 1e6 / (s.at - before.at)) * 100 : 0;
      if (s) now.set(c.id, s);
      rows.push({ c, s, cpu });
    }
    this.prev = now;
    return rows;
  }
}

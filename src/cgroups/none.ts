// A container without a cgroup of its own: what a rootless berth gives when
// the user may not create cgroups and the config asks for no limits (as runc
// does). It knows only the container's init: signals go to it alone, and
// every operation that needs a cgroup (limits, pause, statistics) says why it
// cannot be done.
import { CgroupError, type Cgroup, type CgroupResources, type CgroupStats } from "./types.ts";

const WHY = "this container has no cgroup: berth ran rootless and could not create one (give the user a delegated cgroup v2 subtree, or run as root)";

export class NoCgroup implements Cgroup {
  readonly version = 2 as const;
  readonly path = "";
  constructor(private readonly initPid: number) {}

  dirs(): string[] {
    return [];
  }
  placement(): { v1: string[]; v2?: string; v2Optional: boolean } {
    return { v1: [], v2Optional: true };
  }
  create(): void {}
  addProcess(): void {}
  apply(): void {
    throw new CgroupError(WHY);
  }
  update(): void {
    throw new CgroupError(WHY);
  }
  refuseFrozen(): void {}
  freeze(): void {
    throw new CgroupError(WHY);
  }
  thaw(): void {
    throw new CgroupError(WHY);
  }
  frozen(): boolean {
    return false;
  }
  pids(): number[] {
    try {
      process.kill(this.initPid, 0);
      return [this.initPid];
    } catch (e) {
      // gone (EPERM: its number now another user's process)
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ESRCH" || code === "EPERM") return [];
      throw e;
    }
  }
  stats(): CgroupStats {
    throw new CgroupError(WHY);
  }
  oomKillCount(): number {
    return 0;
  }
  kill(signal: number): void {
    try {
      process.kill(this.initPid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e; // ESRCH: gone
    }
  }
  destroy(): void {}
  exists(): boolean {
    return false;
  }
}

/** The fields of linux.resources that set a limit (a cgroup is needed to honour them). */
export function requestedLimits(r: CgroupResources | undefined): string[] {
  if (!r) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === "devices" || v === undefined || v === null) continue;
    if (Array.isArray(v) ? v.length > 0 : typeof v === "object" ? Object.keys(v).length > 0 : true) out.push(k);
  }
  return out;
}

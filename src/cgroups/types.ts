// Types shared by the cgroup backends. The resource shapes are the OCI
// runtime-spec `linux.resources` types of the spec layer.
import type { LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxResources } from "../spec/types.ts";

export type CgroupResources = LinuxResources;
export type CgroupDeviceRule = LinuxDeviceCgroup;
export type CgroupMemory = LinuxMemory;
export type CgroupCpu = LinuxCPU;
export type CgroupBlockIO = LinuxBlockIO;
export type CgroupHugepageLimit = LinuxHugepageLimit;
export type CgroupNetwork = LinuxNetwork;

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Statistics, shaped like the `data` of `runc events --stats`. */
export interface CgroupStats {
  cpu: {
    usage: { total: number; percpu: number[]; kernel: number; user: number };
    throttling: { periods: number; throttled_periods: number; throttled_time: number };
  };
  memory: {
    cache: number;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Record<string, number>;
  };
  pids: { current: number; limit: number };
  blkio: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
  };
  hugetlb: Record<string, { usage: number; max: number; failcnt: number }>;
}

export interface Cgroup {
  readonly version: 1 | 2;
  /** The cgroup path relative to the hierarchy root, e.g. "/berth/abc". */
  readonly path: string;
  /** Every directory this cgroup occupies (v1: one per hierarchy). */
  dirs(): string[];
  /**
   * Where a new process goes: the v1 hierarchy directories (a single-threaded
   * process joins them through `tasks`, which the kernel does without its
   * global threadgroup lock) and the cgroup2 directory (entered at clone time
   * with CLONE_INTO_CGROUP). `v2Optional`: the hybrid host's cgroup2 side,
   * which may refuse processes without that being an error.
   */
  placement(): { v1: string[]; v2?: string; v2Optional: boolean };
  /** mkdir -p in every hierarchy needed (idempotent); on v2 enables controllers in the parents. */
  create(): void;
  addProcess(pid: number): void;
  /** Sets limits at creation. Throws CgroupError naming the field. */
  apply(r: CgroupResources): void;
  /** Live change: refuses a memory limit below current usage; on error the old values stay. */
  update(r: CgroupResources): void;
  /**
   * Throws when the cgroup or one above it is frozen (v1 freezer.state, v2
   * cgroup.freeze): a container started there would hang. The runtime checks
   * this before it makes anything, as runc does ("container's cgroup
   * unexpectedly frozen"), so a refusal leaves the cgroup as it was.
   */
  refuseFrozen(): void;
  freeze(): void;
  thaw(): void;
  frozen(): boolean;
  /** Every process in the cgroup and its descendants. */
  pids(): number[];
  stats(): CgroupStats;
  oomKillCount(): number;
  /** Signals every process in the cgroup and its descendants. */
  kill(signal: number): void;
  /** Kills nothing; waits (bounded) for the cgroup to empty, then removes it leaf-first. */
  destroy(timeoutMs?: number): void;
  exists(): boolean;
}

export class CgroupError extends Error {
  /** The config field at fault, e.g. "linux.resources.memory.limit" (when one is). */
  readonly field?: string;
  /** `cause`: the system error underneath, when one is (errnoCode reads its errno). */
  constructor(message: string, field?: string, cause?: unknown) {
    super(field ? `${field}: ${message}` : message, cause === undefined ? undefined : { cause });
    this.name = "CgroupError";
    this.field = field;
  }
}

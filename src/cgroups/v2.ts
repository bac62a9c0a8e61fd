// The cgroup v2 backend: one directory in the unified hierarchy. v1-style values of
// the runtime-spec are converted (see docs/cgroups.md); devices go through eBPF.
import { existsSync, mkdirSync, writeFileSync } from "../linux/fs.ts";
import { CgroupError, type Cgroup, type CgroupResources, type CgroupStats, type BlkioEntry } from "./types.ts";
import {
  RES,
  type Write,
  cpuList,
  deviceRestore,
  frozenError,
  frozenLevel,
  hugeSize,
  hugeSizes,
  int,
  procsUnder,
  readKV,
  readNum,
  removeCgroupDirs,
  runWrites,
  signalAll,
  sleepMs,
  tryRead,
  unifiedKey,
  sharesToWeight,
  blkioToIoWeight,
} from "./common.ts";
import { normalizeDeviceRules } from "./devices.ts";
import { attachDeviceFilter } from "./devices-bpf.ts";
import { trace } from "../linux/trace.ts";

export class CgroupV2 implements Cgroup {
  readonly version = 2 as const;
  readonly path: string;
  /** The cgroup directory. */
  readonly dir: string;
  private readonly mountpoint: string;

  constructor(mountpoint: string, dir: string, path: string) {
    this.mountpoint = mountpoint.replace(/\/+$/, "");
    this.dir = dir;
    this.path = path;
  }

  dirs(): string[] {
    return [this.dir];
  }

  placement(): { v1: string[]; v2?: string; v2Optional: boolean } {
    return { v1: [], v2: this.dir, v2Optional: false };
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  create(): void {
    const rel = this.dir.slice(this.mountpoint.length).split("/").filter(Boolean);
    let cur = this.mountpoint;
    for (const part of rel) {
      // let the child use every controller this level has
      const avail = (tryRead(`${cur}/cgroup.controllers`) ?? "").trim().split(/\s+/).filter(Boolean);
      const enabled = new Set((tryRead(`${cur}/cgroup.subtree_control`) ?? "").trim().split(/\s+/).filter(Boolean));
      for (const c of avail) {
        if (enabled.has(c)) continue;
        try {
          writeFileSync(`${cur}/cgroup.subtree_control`, `+${c}`);
        } catch {
          // e.g. a level with processes of its own (no-internal-process rule): the
          // controller stays off below it, and setting its files reports so by field
        }
      }
      cur = `${cur}/${part}`;
      if (!existsSync(cur)) {
        try {
          mkdirSync(cur);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new CgroupError(`cannot create ${cur}: ${(e as Error).message}`, "linux.cgroupsPath", e);
        }
      }
    }
  }

  addProcess(pid: number): void {
    try {
      writeFileSync(`${this.dir}/cgroup.procs`, String(pid));
    } catch (e) {
      throw new CgroupError(`cannot move process ${pid} into ${this.dir}: ${(e as Error).message}`, undefined, e);
    }
  }

  private plan(r: CgroupResources, live: boolean): Write[] {
    const w: Write[] = [];
    const d = this.dir;
    const m = r.memory;
    if (m) {
      const f = `${RES}.memory`;
      const lim = m.limit !== undefined ? int(m.limit, `${f}.limit`, -1) : undefined;
      const swap = m.swap !== undefined ? int(m.swap, `${f}.swap`, -1) : undefined;
      if (live && lim !== undefined && lim !== -1) {
        const usage = readNum(`${d}/memory.current`);
        if (lim < usage) throw new CgroupError(`${lim} is below the current usage ${usage}`, `${f}.limit`);
      }
      if (lim !== undefined) w.push({ dir: d, file: "memory.max", value: lim < 0 ? "max" : String(lim), field: `${f}.limit` });
      if (swap !== undefined) {
        // the spec's swap is memory+swap; memory.swap.max is swap alone
        let value: string;
        if (swap === -1) value = "max";
        else {
          let memLim = lim;
          if (memLim === undefined) {
            const cur = tryRead(`${d}/memory.max`)?.trim();
            memLim = cur === undefined || cur === "max" ? -1 : Number(cur);
          }
          if (memLim === -1) throw new CgroupError(`a memory+swap limit needs a memory limit (memory.limit)`, `${f}.swap`);
          if (swap < memLim) throw new CgroupError(`memory+swap (${swap}) must not be less than memory.limit (${memLim})`, `${f}.swap`);
          value = String(swap - memLim);
        }
        w.push({ dir: d, file: "memory.swap.max", value, field: `${f}.swap` });
      }
      if (m.reservation !== undefined) {
        const v = int(m.reservation, `${f}.reservation`, -1);
        w.push({ dir: d, file: "memory.low", value: v < 0 ? "max" : String(v), field: `${f}.reservation` });
      }
      if (m.kernel !== undefined) int(m.kernel, `${f}.kernel`, -1); // no v2 equivalent (deprecated)
      if (m.kernelTCP !== undefined) int(m.kernelTCP, `${f}.kernelTCP`, -1); // no v2 equivalent
      if (m.swappiness !== undefined && m.swappiness !== -1) {
        throw new CgroupError("cgroup v2 has no per-cgroup swappiness", `${f}.swappiness`);
      }
      if (m.disableOOMKiller === true) throw new CgroupError("cgroup v2 cannot disable the OOM killer", `${f}.disableOOMKiller`);
      if (m.useHierarchy === false) throw new CgroupError("cgroup v2 memory accounting is always hierarchical", `${f}.useHierarchy`);
    }
    const c = r.cpu;
    if (c) {
      const f = `${RES}.cpu`;
      if (c.shares !== undefined && c.shares !== 0) {
        w.push({ dir: d, file: "cpu.weight", value: String(sharesToWeight(int(c.shares, `${f}.shares`, 2, 262144))), field: `${f}.shares` });
      }
      const quota = c.quota !== undefined && c.quota !== 0 ? int(c.quota, `${f}.quota`, -1) : undefined;
      const period = c.period !== undefined && c.period !== 0 ? int(c.period, `${f}.period`, 1) : undefined;
      if (quota !== undefined || period !== undefined) {
        const q = quota !== undefined ? (quota < 0 ? "max" : String(quota)) : (tryRead(`${d}/cpu.max`) ?? "max").trim().split(/\s+/)[0]!;
        w.push({ dir: d, file: "cpu.max", value: period !== undefined ? `${q} ${period}` : q, field: `${f}.${period !== undefined ? "period" : "quota"}` });
      }
      if (c.burst !== undefined) w.push({ dir: d, file: "cpu.max.burst", value: String(int(c.burst, `${f}.burst`, 0)), field: `${f}.burst` });
      if ((c.realtimeRuntime ?? 0) !== 0 || (c.realtimePeriod ?? 0) !== 0) {
        throw new CgroupError("cgroup v2 has no real-time CPU bandwidth control", `${f}.${c.realtimeRuntime ? "realtimeRuntime" : "realtimePeriod"}`);
      }
      if (c.idle !== undefined) w.push({ dir: d, file: "cpu.idle", value: String(int(c.idle, `${f}.idle`, 0, 1)), field: `${f}.idle` });
      if (c.cpus !== undefined && c.cpus !== "") w.push({ dir: d, file: "cpuset.cpus", value: cpuList(c.cpus, `${f}.cpus`), field: `${f}.cpus` });
      if (c.mems !== undefined && c.mems !== "") w.push({ dir: d, file: "cpuset.mems", value: cpuList(c.mems, `${f}.mems`), field: `${f}.mems` });
    }
    if (r.pids && r.pids.limit !== undefined) {
      const f = `${RES}.pids.limit`;
      const v = int(r.pids.limit, f);
      if (v !== 0) w.push({ dir: d, file: "pids.max", value: v > 0 ? String(v) : "max", field: f });
    }
    const b = r.blockIO;
    if (b) {
      const f = `${RES}.blockIO`;
      const bfq = existsSync(`${d}/io.bfq.weight`);
      if (b.weight !== undefined && b.weight !== 0) {
        const v = int(b.weight, `${f}.weight`, 10, 1000);
        w.push(
          bfq
            ? { dir: d, file: "io.bfq.weight", value: String(v), field: `${f}.weight` }
            : { dir: d, file: "io.weight", value: `default ${blkioToIoWeight(v)}`, field: `${f}.weight` },
        );
      }
      if (b.leafWeight !== undefined) int(b.leafWeight, `${f}.leafWeight`, 0, 1000); // no v2 equivalent
      (b.weightDevice ?? []).forEach((wd, i) => {
        const ff = `${f}.weightDevice[${i}]`;
        const dev = `${int(wd.major, `${ff}.major`, 0)}:${int(wd.minor, `${ff}.minor`, 0)}`;
        if (wd.weight === undefined) return;
        const v = int(wd.weight, `${ff}.weight`, 10, 1000);
        if (bfq) w.push({ dir: d, file: "io.bfq.weight", value: `${dev} ${v}`, field: `${ff}.weight`, restore: deviceRestore((x) => `${x} default`, [dev]) });
        else
          w.push({
            dir: d,
            file: "io.weight",
            value: `${dev} ${blkioToIoWeight(v)}`,
            field: `${ff}.weight`,
            restore: deviceRestore((x) => `${x} default`, [dev]),
          });
      });
      const thr: [keyof typeof b, string][] = [
        ["throttleReadBpsDevice", "rbps"],
        ["throttleWriteBpsDevice", "wbps"],
        ["throttleReadIOPSDevice", "riops"],
        ["throttleWriteIOPSDevice", "wiops"],
      ];
      for (const [k, key] of thr) {
        const list = b[k] as { major: number; minor: number; rate: number }[] | undefined;
        (list ?? []).forEach((t, i) => {
          const ff = `${f}.${k}[${i}]`;
          const dev = `${int(t.major, `${ff}.major`, 0)}:${int(t.minor, `${ff}.minor`, 0)}`;
          const rate = int(t.rate, `${ff}.rate`, 0);
          w.push({
            dir: d,
            file: "io.max",
            value: `${dev} ${key}=${rate === 0 ? "max" : rate}`,
            field: ff,
            restore: (old) => {
              const line = old.split("\n").find((l) => l.startsWith(dev + " "));
              const m = line ? new RegExp(`${key}=(\\S+)`).exec(line) : null;
              return [`${dev} ${key}=${m ? m[1] : "max"}`];
            },
          });
        });
      }
    }
    (r.hugepageLimits ?? []).forEach((h, i) => {
      const ff = `${RES}.hugepageLimits[${i}]`;
      const size = hugeSize(h.pageSize, `${ff}.pageSize`);
      const lim = int(h.limit, `${ff}.limit`, -1);
      w.push({ dir: d, file: `hugetlb.${size}.max`, value: lim < 0 ? "max" : String(lim), field: ff });
    });
    const n = r.network;
    if (n && (n.classID !== undefined || (n.priorities ?? []).length > 0)) {
      throw new CgroupError("cgroup v2 has no net_cls/net_prio controllers (use eBPF or a network plugin)", `${RES}.network`);
    }
    for (const [dev, l] of Object.entries(r.rdma ?? {})) {
      const ff = `${RES}.rdma.${dev}`;
      const parts = [dev];
      if (l.hcaHandles !== undefined) parts.push(`hca_handle=${int(l.hcaHandles, `${ff}.hcaHandles`, 0)}`);
      if (l.hcaObjects !== undefined) parts.push(`hca_object=${int(l.hcaObjects, `${ff}.hcaObjects`, 0)}`);
      w.push({ dir: d, file: "rdma.max", value: parts.join(" "), field: ff, restore: () => [`${dev} hca_handle=max hca_object=max`] });
    }
    // unified keys last: they override converted values
    for (const [k, v] of Object.entries(r.unified ?? {})) {
      const ff = unifiedKey(k);
      if (typeof v !== "string") throw new CgroupError("must be a string", ff);
      if (!existsSync(`${d}/${k}`)) {
        const ctrl = k.split(".")[0]!;
        const avail = (tryRead(`${d}/cgroup.controllers`) ?? "").split(/\s+/);
        throw new CgroupError(
          avail.includes(ctrl) || ["cgroup", "memory", "cpu", "io", "pids"].includes(ctrl)
            ? "no such cgroup v2 control file"
            : `no such cgroup v2 control file (the ${ctrl} controller is not enabled for this cgroup)`,
          ff,
        );
      }
      w.push({ dir: d, file: k, value: v, field: ff });
    }
    return w;
  }

  apply(r: CgroupResources): void {
    const rules = r.devices !== undefined ? normalizeDeviceRules(r.devices) : undefined;
    runWrites(this.plan(r, false), false);
    trace("cgroup: limits written");
    if (rules) attachDeviceFilter(this.dir, rules);
  }

  update(r: CgroupResources): void {
    const rules = r.devices !== undefined ? normalizeDeviceRules(r.devices) : undefined;
    const undo = runWrites(this.plan(r, true), true);
    if (rules) {
      try {
        attachDeviceFilter(this.dir, rules);
      } catch (e) {
        undo();
        throw e;
      }
    }
  }

  refuseFrozen(): void {
    const level = frozenLevel(this.dir, this.mountpoint, (d) => tryRead(`${d}/cgroup.freeze`)?.trim() === "1");
    if (level) throw frozenError(level);
  }

  freeze(): void {
    writeFileSync(`${this.dir}/cgroup.freeze`, "1");
    const deadline = Date.now() + 5000;
    while (!this.frozen()) {
      if (Date.now() > deadline) {
        writeFileSync(`${this.dir}/cgroup.freeze`, "0");
        throw new CgroupError(`the cgroup ${this.path} did not freeze within 5 s`);
      }
      sleepMs(5);
    }
  }

  thaw(): void {
    writeFileSync(`${this.dir}/cgroup.freeze`, "0");
  }

  frozen(): boolean {
    return readKV(`${this.dir}/cgroup.events`)["frozen"] === 1;
  }

  pids(): number[] {
    return procsUnder(this.dir);
  }

  oomKillCount(): number {
    return readKV(`${this.dir}/memory.events`)["oom_kill"] ?? 0;
  }

  kill(signal: number): void {
    if (signal === 9 && existsSync(`${this.dir}/cgroup.kill`)) {
      writeFileSync(`${this.dir}/cgroup.kill`, "1");
      return;
    }
    const wasFrozen = this.frozen();
    if (!wasFrozen) this.freeze();
    try {
      signalAll(this.pids(), signal);
    } finally {
      if (!wasFrozen) this.thaw();
    }
  }

  destroy(timeoutMs = 2000): void {
    removeCgroupDirs(this.dirs(), timeoutMs, this.path);
  }

  stats(): CgroupStats {
    const d = this.dir;
    const cs = readKV(`${d}/cpu.stat`);
    const ms = readKV(`${d}/memory.stat`);
    const mev = readKV(`${d}/memory.events`);
    const swev = readKV(`${d}/memory.swap.events`);
    const memCur = readNum(`${d}/memory.current`);
    const swapCur = readNum(`${d}/memory.swap.current`);
    const memMax = readNum(`${d}/memory.max`);
    const swapMax = readNum(`${d}/memory.swap.max`);
    const io: { bytes: BlkioEntry[]; ios: BlkioEntry[] } = { bytes: [], ios: [] };
    for (const l of (tryRead(`${d}/io.stat`) ?? "").split("\n")) {
      const m = /^(\d+):(\d+)\s+(.*)$/.exec(l.trim());
      if (!m) continue;
      const kv: Record<string, number> = {};
      for (const p of m[3]!.split(/\s+/)) {
        const [k, v] = p.split("=");
        if (k && v) kv[k] = Number(v);
      }
      const major = Number(m[1]),
        minor = Number(m[2]);
      io.bytes.push({ major, minor, op: "Read", value: kv["rbytes"] ?? 0 }, { major, minor, op: "Write", value: kv["wbytes"] ?? 0 });
      io.ios.push({ major, minor, op: "Read", value: kv["rios"] ?? 0 }, { major, minor, op: "Write", value: kv["wios"] ?? 0 });
    }
    const hugetlb: CgroupStats["hugetlb"] = {};
    for (const size of hugeSizes()) {
      if (!existsSync(`${d}/hugetlb.${size}.current`)) continue;
      hugetlb[size] = { usage: readNum(`${d}/hugetlb.${size}.current`), max: 0, failcnt: readKV(`${d}/hugetlb.${size}.events`)["max"] ?? 0 };
    }
    return {
      cpu: {
        usage: {
          total: (cs["usage_usec"] ?? 0) * 1000,
          percpu: [],
          kernel: (cs["system_usec"] ?? 0) * 1000,
          user: (cs["user_usec"] ?? 0) * 1000,
        },
        throttling: { periods: cs["nr_periods"] ?? 0, throttled_periods: cs["nr_throttled"] ?? 0, throttled_time: (cs["throttled_usec"] ?? 0) * 1000 },
      },
      memory: {
        cache: ms["file"] ?? 0,
        usage: { limit: memMax, usage: memCur, max: readNum(`${d}/memory.peak`), failcnt: mev["max"] ?? 0 },
        swap: { limit: memMax && swapMax ? memMax + swapMax : 0, usage: memCur + swapCur, max: 0, failcnt: swev["max"] ?? 0 },
        kernel: { limit: 0, usage: (ms["kernel"] ?? ms["kernel_stack"] ?? 0) + (ms["slab"] ?? 0), max: 0, failcnt: 0 },
        kernelTCP: { limit: 0, usage: ms["sock"] ?? 0, max: 0, failcnt: 0 },
        raw: ms,
      },
      pids: { current: readNum(`${d}/pids.current`), limit: readNum(`${d}/pids.max`) },
      blkio: { ioServiceBytesRecursive: io.bytes, ioServicedRecursive: io.ios },
      hugetlb,
    };
  }
}

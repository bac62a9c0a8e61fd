// The cgroup v1 backend: one directory per mounted hierarchy. On a hybrid host the
// process also joins the cgroup2 mount (for its hugetlb controller, `unified` keys).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "../linux/fs.ts";
import { CgroupError, type Cgroup, type CgroupResources, type CgroupStats, type MemoryEntry, type BlkioEntry } from "./types.ts";
import {
  RES,
  type Write,
  cpuList,
  deviceRestore,
  errText,
  frozenError,
  frozenLevel,
  hugeSize,
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
  hugeSizes,
} from "./common.ts";
import { normalizeDeviceRules, v1RuleLine } from "./devices.ts";
import { dirIn, type V1Place } from "./common.ts";

/** mkdir, and mkdir -p only when a parent is missing (one system call in the common case). */
function mkdirOne(d: string): void {
  try {
    mkdirSync(d);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT") throw e;
    mkdirSync(d, { recursive: true });
  }
}

const infinite = (n: number) => (n < 0 ? Infinity : n);

export class CgroupV1 implements Cgroup {
  readonly version = 1 as const;
  readonly path: string;
  /** controller -> directory */
  private readonly dir: Record<string, string> = {};
  /** controller -> the directory its hierarchy is mounted on */
  private readonly top: Record<string, string> = {};
  private readonly unifiedDir?: string;
  private readonly unifiedTop?: string;

  constructor(places: Record<string, V1Place>, path: string, unified?: V1Place) {
    this.path = path;
    for (const [c, p] of Object.entries(places)) {
      this.dir[c] = dirIn(p.mount, p.path);
      this.top[c] = p.mount.mountpoint.replace(/\/+$/, "");
    }
    if (unified) {
      this.unifiedDir = dirIn(unified.mount, unified.path);
      this.unifiedTop = unified.mount.mountpoint.replace(/\/+$/, "");
    }
  }

  dirs(): string[] {
    const s = new Set(Object.values(this.dir));
    if (this.unifiedDir) s.add(this.unifiedDir);
    return [...s];
  }

  placement(): { v1: string[]; v2?: string; v2Optional: boolean } {
    return { v1: [...new Set(Object.values(this.dir))], v2: this.unifiedDir, v2Optional: true };
  }

  private need(c: string, field: string): string {
    const d = this.dir[c];
    if (!d) throw new CgroupError(`the ${c} cgroup controller is not mounted on this host`, field);
    return d;
  }

  create(): void {
    for (const d of this.dirs()) {
      const isCpuset = d === this.dir["cpuset"];
      if (!isCpuset) {
        try {
          mkdirOne(d);
        } catch (e) {
          throw new CgroupError(`cannot create ${d}: ${(e as Error).message}`, "linux.cgroupsPath", e);
        }
        continue;
      }
      this.createCpuset(d);
    }
  }

  /**
   * cpuset: a cgroup starts with no cpus and mems, and a process cannot join
   * one without (ENOSPC), nor can a cgroup get any its parent lacks. So every
   * level down to this cgroup, made now or found empty, gets those of the
   * nearest level above that has them (as runc does).
   */
  private createCpuset(d: string): void {
    const top = this.top["cpuset"]!;
    const files = ["cpuset.cpus", "cpuset.mems"];
    const have = files.map((f) => tryRead(`${top}/${f}`)?.trim() ?? "");
    let cur = top;
    for (const part of d.slice(top.length).split("/").filter(Boolean)) {
      cur = `${cur}/${part}`;
      try {
        mkdirSync(cur);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new CgroupError(`cannot create ${cur}: ${(e as Error).message}`, "linux.cgroupsPath", e);
      }
      files.forEach((f, i) => {
        const v = tryRead(`${cur}/${f}`)?.trim() ?? "";
        if (v) have[i] = v;
        else if (have[i]) {
          try {
            writeFileSync(`${cur}/${f}`, have[i]!);
          } catch (e) {
            throw new CgroupError(`cannot fill ${f} of ${cur} from its parent's (${have[i]}): ${errText(e)}`, "linux.cgroupsPath", e);
          }
        }
      });
    }
  }

  exists(): boolean {
    return this.dirs().some((d) => existsSync(d));
  }

  addProcess(pid: number): void {
    for (const d of this.dirs()) {
      try {
        writeFileSync(`${d}/cgroup.procs`, String(pid));
      } catch (e) {
        if (d === this.unifiedDir) continue; // the hybrid cgroup2 side is a bonus
        throw new CgroupError(`cannot move process ${pid} into ${d}: ${(e as Error).message}`, undefined, e);
      }
    }
  }

  private plan(r: CgroupResources, live: boolean): Write[] {
    const w: Write[] = [];
    const m = r.memory;
    if (m) {
      const f = `${RES}.memory`;
      const d = () => this.need("memory", f);
      const lim = m.limit !== undefined ? int(m.limit, `${f}.limit`, -1) : undefined;
      let swap = m.swap !== undefined ? int(m.swap, `${f}.swap`, -1) : undefined;
      // no memory limit lifts the memory+swap limit too (as runc does): the
      // kernel keeps memsw >= limit, so a lone -1 would fail while a swap limit is set
      if (lim === -1 && swap === undefined && existsSync(`${d()}/memory.memsw.limit_in_bytes`)) swap = -1;
      if (lim !== undefined && swap !== undefined && swap !== -1 && lim !== -1 && swap < lim) {
        throw new CgroupError(`memory+swap (${swap}) must not be less than memory.limit (${lim})`, `${f}.swap`);
      }
      if (live && lim !== undefined && lim !== -1) {
        const usage = readNum(`${d()}/memory.usage_in_bytes`);
        if (lim < usage) throw new CgroupError(`${lim} is below the current usage ${usage}`, `${f}.limit`);
      }
      const limW: Write | undefined = lim !== undefined ? { dir: d(), file: "memory.limit_in_bytes", value: String(lim), field: `${f}.limit` } : undefined;
      const swapW: Write | undefined =
        swap !== undefined ? { dir: d(), file: "memory.memsw.limit_in_bytes", value: String(swap), field: `${f}.swap` } : undefined;
      // memsw must stay >= limit at every step: raise memsw first when the limit grows past it
      const curSwap = infinite(readNum(`${d()}/memory.memsw.limit_in_bytes`) || -1);
      if (swapW && limW && infinite(lim!) > curSwap) w.push(swapW, limW);
      else {
        if (limW) w.push(limW);
        if (swapW) w.push(swapW);
      }
      if (m.reservation !== undefined)
        w.push({ dir: d(), file: "memory.soft_limit_in_bytes", value: String(int(m.reservation, `${f}.reservation`, -1)), field: `${f}.reservation` });
      if (m.kernelTCP !== undefined)
        w.push({ dir: d(), file: "memory.kmem.tcp.limit_in_bytes", value: String(int(m.kernelTCP, `${f}.kernelTCP`, -1)), field: `${f}.kernelTCP` });
      if (m.kernel !== undefined) int(m.kernel, `${f}.kernel`, -1); // deprecated; kernels since 5.16 ignore kmem limits
      if (m.swappiness !== undefined && m.swappiness !== -1) {
        w.push({ dir: d(), file: "memory.swappiness", value: String(int(m.swappiness, `${f}.swappiness`, 0, 100)), field: `${f}.swappiness` });
      }
      if (m.useHierarchy !== undefined) w.push({ dir: d(), file: "memory.use_hierarchy", value: m.useHierarchy ? "1" : "0", field: `${f}.useHierarchy` });
      if (m.disableOOMKiller !== undefined) {
        if (typeof m.disableOOMKiller !== "boolean") throw new CgroupError("must be true or false", `${f}.disableOOMKiller`);
        if (m.disableOOMKiller || live)
          w.push({
            dir: d(),
            file: "memory.oom_control",
            value: m.disableOOMKiller ? "1" : "0",
            field: `${f}.disableOOMKiller`,
            restore: (o) => [/oom_kill_disable\s+1/.test(o) ? "1" : "0"],
          });
      }
    }
    const c = r.cpu;
    if (c) {
      const f = `${RES}.cpu`;
      const d = () => this.need("cpu", f);
      if (c.shares !== undefined && c.shares !== 0)
        w.push({ dir: d(), file: "cpu.shares", value: String(int(c.shares, `${f}.shares`, 2, 262144)), field: `${f}.shares` });
      if (c.period !== undefined && c.period !== 0)
        w.push({ dir: d(), file: "cpu.cfs_period_us", value: String(int(c.period, `${f}.period`, 1)), field: `${f}.period` });
      if (c.quota !== undefined && c.quota !== 0)
        w.push({ dir: d(), file: "cpu.cfs_quota_us", value: String(int(c.quota, `${f}.quota`, -1)), field: `${f}.quota` });
      if (c.burst !== undefined) w.push({ dir: d(), file: "cpu.cfs_burst_us", value: String(int(c.burst, `${f}.burst`, 0)), field: `${f}.burst` });
      const rtPeriod = c.realtimePeriod !== undefined && c.realtimePeriod !== 0 ? int(c.realtimePeriod, `${f}.realtimePeriod`, 1) : undefined;
      const rtRuntime = c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0 ? int(c.realtimeRuntime, `${f}.realtimeRuntime`, -1) : undefined;
      const periodW: Write | undefined =
        rtPeriod !== undefined ? { dir: d(), file: "cpu.rt_period_us", value: String(rtPeriod), field: `${f}.realtimePeriod` } : undefined;
      const runtimeW: Write | undefined =
        rtRuntime !== undefined ? { dir: d(), file: "cpu.rt_runtime_us", value: String(rtRuntime), field: `${f}.realtimeRuntime` } : undefined;
      // the kernel keeps runtime <= period at every step: a period below the
      // runtime in force goes in after the (lower) new runtime, else first
      if (periodW && runtimeW && rtPeriod! < readNum(`${d()}/cpu.rt_runtime_us`)) w.push(runtimeW, periodW);
      else w.push(...[periodW, runtimeW].filter((x): x is Write => !!x));
      if (c.idle !== undefined) w.push({ dir: d(), file: "cpu.idle", value: String(int(c.idle, `${f}.idle`, 0, 1)), field: `${f}.idle` });
      if (c.cpus !== undefined && c.cpus !== "")
        w.push({ dir: this.need("cpuset", `${f}.cpus`), file: "cpuset.cpus", value: cpuList(c.cpus, `${f}.cpus`), field: `${f}.cpus` });
      if (c.mems !== undefined && c.mems !== "")
        w.push({ dir: this.need("cpuset", `${f}.mems`), file: "cpuset.mems", value: cpuList(c.mems, `${f}.mems`), field: `${f}.mems` });
    }
    if (r.pids && r.pids.limit !== undefined) {
      const f = `${RES}.pids.limit`;
      const v = int(r.pids.limit, f);
      if (v !== 0) w.push({ dir: this.need("pids", f), file: "pids.max", value: v > 0 ? String(v) : "max", field: f });
    }
    const b = r.blockIO;
    if (b) {
      const f = `${RES}.blockIO`;
      const d = () => this.need("blkio", f);
      const pick = (a: string, alt: string) => (existsSync(`${d()}/${a}`) ? a : existsSync(`${d()}/${alt}`) ? alt : a);
      if (b.weight !== undefined && b.weight !== 0)
        w.push({ dir: d(), file: pick("blkio.weight", "blkio.bfq.weight"), value: String(int(b.weight, `${f}.weight`, 10, 1000)), field: `${f}.weight` });
      if (b.leafWeight !== undefined && b.leafWeight !== 0)
        w.push({ dir: d(), file: "blkio.leaf_weight", value: String(int(b.leafWeight, `${f}.leafWeight`, 10, 1000)), field: `${f}.leafWeight` });
      (b.weightDevice ?? []).forEach((wd, i) => {
        const ff = `${f}.weightDevice[${i}]`;
        const dev = `${int(wd.major, `${ff}.major`, 0)}:${int(wd.minor, `${ff}.minor`, 0)}`;
        if (wd.weight !== undefined) {
          const file = pick("blkio.weight_device", "blkio.bfq.weight_device");
          w.push({
            dir: d(),
            file,
            value: `${dev} ${int(wd.weight, `${ff}.weight`, 10, 1000)}`,
            field: `${ff}.weight`,
            restore: deviceRestore((x) => `${x} 0`, [dev]),
          });
        }
        if (wd.leafWeight !== undefined)
          w.push({
            dir: d(),
            file: "blkio.leaf_weight_device",
            value: `${dev} ${int(wd.leafWeight, `${ff}.leafWeight`, 10, 1000)}`,
            field: `${ff}.leafWeight`,
            restore: deviceRestore((x) => `${x} 0`, [dev]),
          });
      });
      const thr: [keyof typeof b, string][] = [
        ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
        ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
        ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
        ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
      ];
      for (const [k, file] of thr) {
        const list = b[k] as { major: number; minor: number; rate: number }[] | undefined;
        (list ?? []).forEach((t, i) => {
          const ff = `${f}.${k}[${i}]`;
          const dev = `${int(t.major, `${ff}.major`, 0)}:${int(t.minor, `${ff}.minor`, 0)}`;
          w.push({ dir: d(), file, value: `${dev} ${int(t.rate, `${ff}.rate`, 0)}`, field: ff, restore: deviceRestore((x) => `${x} 0`, [dev]) });
        });
      }
    }
    (r.hugepageLimits ?? []).forEach((h, i) => {
      const ff = `${RES}.hugepageLimits[${i}]`;
      const size = hugeSize(h.pageSize, `${ff}.pageSize`);
      const lim = int(h.limit, `${ff}.limit`, -1);
      if (this.dir["hugetlb"]) w.push({ dir: this.dir["hugetlb"], file: `hugetlb.${size}.limit_in_bytes`, value: String(lim), field: ff });
      else if (this.unifiedDir) {
        // a hybrid host whose hugetlb controller lives on the cgroup2 side
        this.enableUnified("hugetlb", ff);
        w.push({ dir: this.unifiedDir, file: `hugetlb.${size}.max`, value: lim < 0 ? "max" : String(lim), field: ff });
      } else throw new CgroupError("the hugetlb cgroup controller is not available on this host", ff);
    });
    const n = r.network;
    if (n) {
      const f = `${RES}.network`;
      if (n.classID !== undefined)
        w.push({
          dir: this.need("net_cls", `${f}.classID`),
          file: "net_cls.classid",
          value: String(int(n.classID, `${f}.classID`, 0, 0xffffffff)),
          field: `${f}.classID`,
        });
      (n.priorities ?? []).forEach((p, i) => {
        const ff = `${f}.priorities[${i}]`;
        if (typeof p.name !== "string" || !/^[^\s/]{1,15}$/.test(p.name))
          throw new CgroupError(`not an interface name: ${JSON.stringify(p.name)}`, `${ff}.name`);
        w.push({
          dir: this.need("net_prio", ff),
          file: "net_prio.ifpriomap",
          value: `${p.name} ${int(p.priority, `${ff}.priority`, 0, 0xffffffff)}`,
          field: ff,
          restore: () => [`${p.name} 0`],
        });
      });
    }
    for (const [dev, l] of Object.entries(r.rdma ?? {})) {
      const ff = `${RES}.rdma.${dev}`;
      const parts = [dev];
      if (l.hcaHandles !== undefined) parts.push(`hca_handle=${int(l.hcaHandles, `${ff}.hcaHandles`, 0)}`);
      if (l.hcaObjects !== undefined) parts.push(`hca_object=${int(l.hcaObjects, `${ff}.hcaObjects`, 0)}`);
      w.push({ dir: this.need("rdma", ff), file: "rdma.max", value: parts.join(" "), field: ff, restore: () => [`${dev} hca_handle=max hca_object=max`] });
    }
    for (const [k, v] of Object.entries(r.unified ?? {})) {
      const ff = unifiedKey(k);
      if (typeof v !== "string") throw new CgroupError("must be a string", ff);
      if (!this.unifiedDir) throw new CgroupError("cgroup v2 (unified) keys cannot be set on a cgroup v1 host", ff);
      const ctrl = k.slice(0, k.indexOf("."));
      if (ctrl !== "cgroup" && this.unifiedControllers().includes(ctrl)) this.enableUnified(ctrl, ff);
      if (!existsSync(`${this.unifiedDir}/${k}`))
        throw new CgroupError(`no such cgroup v2 control file (unknown key, or its controller is not enabled on this host's cgroup2 mount)`, ff);
      w.push({ dir: this.unifiedDir, file: k, value: v, field: ff });
    }
    return w;
  }

  private unifiedControllers(): string[] {
    return (tryRead(`${this.unifiedTop}/cgroup.controllers`) ?? "").trim().split(/\s+/).filter(Boolean);
  }

  /**
   * Hybrid host: turns `ctrl` on in cgroup.subtree_control of every cgroup2
   * level above this cgroup, as the kernel wants before it shows the
   * controller's files in a cgroup. It is never turned off again: other
   * containers below the same levels may use it.
   */
  private enableUnified(ctrl: string, field: string): void {
    const top = this.unifiedTop!;
    if (!this.unifiedControllers().includes(ctrl)) throw new CgroupError(`the ${ctrl} cgroup controller is not available on this host`, field);
    let cur = top;
    for (const part of this.unifiedDir!.slice(top.length).split("/").filter(Boolean)) {
      const on = (tryRead(`${cur}/cgroup.subtree_control`) ?? "").trim().split(/\s+/);
      if (!on.includes(ctrl)) {
        try {
          writeFileSync(`${cur}/cgroup.subtree_control`, `+${ctrl}`);
        } catch (e) {
          throw new CgroupError(`cannot enable the ${ctrl} controller in ${cur}/cgroup.subtree_control: ${errText(e)}`, field, e);
        }
      }
      cur = `${cur}/${part}`;
    }
  }

  private devices(r: CgroupResources): Write[] {
    if (r.devices === undefined) return [];
    const rules = normalizeDeviceRules(r.devices);
    const f = `${RES}.devices`;
    const d = this.need("devices", f);
    // start from deny-all, then the rules in order
    const w: Write[] = [{ dir: d, file: "devices.deny", value: "a", field: f }];
    rules.forEach((rule, i) => {
      w.push({ dir: d, file: rule.allow ? "devices.allow" : "devices.deny", value: v1RuleLine(rule), field: `${f}[${i}]` });
    });
    return w;
  }

  private restoreDevices(old: string | undefined): void {
    const d = this.dir["devices"];
    if (!d || old === undefined) return;
    try {
      const lines = old
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      if (lines.includes("a *:* rwm")) writeFileSync(`${d}/devices.allow`, "a");
      else {
        writeFileSync(`${d}/devices.deny`, "a");
        for (const l of lines) writeFileSync(`${d}/devices.allow`, l);
      }
    } catch {
      // best effort on a path already failing: the error that led here is the one to report
    }
  }

  apply(r: CgroupResources): void {
    const w = [...this.plan(r, false), ...this.devices(r)];
    runWrites(w, false);
  }

  update(r: CgroupResources): void {
    const w = this.plan(r, true);
    const dev = this.devices(r);
    const oldDevices = dev.length ? tryRead(`${this.dir["devices"]}/devices.list`) : undefined;
    const undo = runWrites(w, true);
    try {
      runWrites(dev, false);
    } catch (e) {
      this.restoreDevices(oldDevices);
      undo();
      throw e;
    }
  }

  refuseFrozen(): void {
    const f = this.dir["freezer"];
    // v1: a cgroup below a frozen one reads FROZEN too (or FREEZING on the way)
    const v1 = f ? frozenLevel(f, this.top["freezer"]!, (d) => /^FR/.test(tryRead(`${d}/freezer.state`)?.trim() ?? "")) : undefined;
    // the hybrid cgroup2 side, which the init joins as well, has its own freezer
    const v2 = this.unifiedDir ? frozenLevel(this.unifiedDir, this.unifiedTop!, (d) => tryRead(`${d}/cgroup.freeze`)?.trim() === "1") : undefined;
    if (v1 ?? v2) throw frozenError((v1 ?? v2)!);
  }

  private freezerDir(): string {
    return this.need("freezer", "freezer");
  }

  freeze(): void {
    const d = this.freezerDir();
    const deadline = Date.now() + 5000;
    for (;;) {
      writeFileSync(`${d}/freezer.state`, "FROZEN");
      if (readFileSync(`${d}/freezer.state`, "utf8").trim() === "FROZEN") return;
      if (Date.now() > deadline) {
        writeFileSync(`${d}/freezer.state`, "THAWED");
        throw new CgroupError(`the cgroup ${this.path} did not freeze within 5 s`);
      }
      sleepMs(10);
    }
  }

  thaw(): void {
    writeFileSync(`${this.freezerDir()}/freezer.state`, "THAWED");
  }

  frozen(): boolean {
    const d = this.dir["freezer"];
    if (!d) return false;
    return tryRead(`${d}/freezer.state`)?.trim() === "FROZEN";
  }

  private procsDir(): string | undefined {
    for (const c of ["pids", "freezer", "memory", "cpu", "devices", "name=systemd"]) if (this.dir[c]) return this.dir[c];
    return this.dirs()[0];
  }

  pids(): number[] {
    const d = this.procsDir();
    return d ? procsUnder(d) : [];
  }

  oomKillCount(): number {
    const d = this.dir["memory"];
    return d ? (readKV(`${d}/memory.oom_control`)["oom_kill"] ?? 0) : 0;
  }

  kill(signal: number): void {
    const canFreeze = !!this.dir["freezer"] && existsSync(this.dir["freezer"]);
    if (canFreeze && !this.frozen()) {
      this.freeze();
      try {
        signalAll(this.pids(), signal);
      } finally {
        this.thaw();
      }
    } else {
      signalAll(this.pids(), signal);
      // tasks frozen by the v1 freezer die of SIGKILL only once thawed
      if (signal === 9 && canFreeze && this.frozen()) this.thaw();
    }
  }

  destroy(timeoutMs = 2000): void {
    removeCgroupDirs(this.dirs(), timeoutMs, this.path);
  }

  stats(): CgroupStats {
    const cpuacct = this.dir["cpuacct"];
    const cpu = this.dir["cpu"];
    const percpu = (tryRead(`${cpuacct}/cpuacct.usage_percpu`) ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
    const hz = 100; // USER_HZ: cpuacct.stat counts in these ticks
    const st = cpuacct ? readKV(`${cpuacct}/cpuacct.stat`) : {};
    const cs = cpu ? readKV(`${cpu}/cpu.stat`) : {};
    const mem = this.dir["memory"];
    const entry = (pre: string): MemoryEntry => ({
      limit: mem ? readNum(`${mem}/${pre}limit_in_bytes`) : 0,
      usage: mem ? readNum(`${mem}/${pre}usage_in_bytes`) : 0,
      max: mem ? readNum(`${mem}/${pre}max_usage_in_bytes`) : 0,
      failcnt: mem ? readNum(`${mem}/${pre}failcnt`) : 0,
    });
    const raw = mem ? readKV(`${mem}/memory.stat`) : {};
    const blk = this.dir["blkio"];
    const blkio = (file: string): BlkioEntry[] => {
      const out: BlkioEntry[] = [];
      for (const l of (blk ? (tryRead(`${blk}/${file}`) ?? "") : "").split("\n")) {
        const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(l.trim());
        if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
      }
      return out;
    };
    const hugetlb: CgroupStats["hugetlb"] = {};
    const hd = this.dir["hugetlb"];
    for (const size of hugeSizes()) {
      if (hd)
        hugetlb[size] = {
          usage: readNum(`${hd}/hugetlb.${size}.usage_in_bytes`),
          max: readNum(`${hd}/hugetlb.${size}.max_usage_in_bytes`),
          failcnt: readNum(`${hd}/hugetlb.${size}.failcnt`),
        };
      else if (this.unifiedDir && existsSync(`${this.unifiedDir}/hugetlb.${size}.current`)) {
        hugetlb[size] = {
          usage: readNum(`${this.unifiedDir}/hugetlb.${size}.current`),
          max: 0,
          failcnt: readKV(`${this.unifiedDir}/hugetlb.${size}.events`)["max"] ?? 0,
        };
      }
    }
    const pd = this.dir["pids"];
    return {
      cpu: {
        usage: {
          total: cpuacct ? readNum(`${cpuacct}/cpuacct.usage`) : 0,
          percpu,
          kernel: ((st["system"] ?? 0) * 1e9) / hz,
          user: ((st["user"] ?? 0) * 1e9) / hz,
        },
        throttling: { periods: cs["nr_periods"] ?? 0, throttled_periods: cs["nr_throttled"] ?? 0, throttled_time: cs["throttled_time"] ?? 0 },
      },
      memory: {
        cache: raw["total_cache"] ?? raw["cache"] ?? 0,
        usage: entry("memory."),
        swap: entry("memory.memsw."),
        kernel: entry("memory.kmem."),
        kernelTCP: entry("memory.kmem.tcp."),
        raw,
      },
      pids: { current: pd ? readNum(`${pd}/pids.current`) : this.pids().length, limit: pd ? readNum(`${pd}/pids.max`) : 0 },
      blkio: {
        ioServiceBytesRecursive: blkio("blkio.throttle.io_service_bytes_recursive"),
        ioServicedRecursive: blkio("blkio.throttle.io_serviced_recursive"),
      },
      hugetlb,
    };
  }
}

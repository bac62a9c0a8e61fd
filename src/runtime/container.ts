// The container lifecycle of the OCI runtime-spec: create, start, state,
// kill, delete, exec, plus pause/resume/update/ps/stats/events through cgroups.
// The Runtime is the only door to the containers' state: its store is private,
// and every operation that reads the state and then changes the container
// holds the container's lock.
import { chmodSync, closeSync, existsSync, readRegularFileSync, unlinkSync } from "../linux/fs.ts";
import { join, resolve } from "../linux/path.ts";
import { NoCgroup, openCgroup, requestedLimits, type Cgroup, type CgroupStats } from "../cgroups/index.ts";
import type { CoreSession, PlanOp } from "../linux/core.ts";
import type * as CoreModule from "../linux/core.ts";
import { writeFileAtomic } from "../linux/lock.ts";
import { errnoCode } from "../linux/libc.ts";
import { trace } from "../linux/trace.ts";
import { mkfifo, openBlocking, readBlocking } from "../linux/sys.ts";
import { OCI_VERSION } from "../spec/constants.ts";
import { parseJSON, validateConfig } from "../spec/validate.ts";
import type { LinuxResources, Process, Spec, State } from "../spec/types.ts";
import { awaitStartContainerHooks, runHooks, runHooksWarning } from "./hooks.ts";
import { moveNetDevicesIn, moveNetDevicesOut } from "./netdevices.ts";
import type * as PlanModule from "./plan.ts";
import { detachMountAt, mountIdsAt, realDirectory } from "../linux/mounts.ts";
import { fifoPath, liveStatus, noSuchContainer, ociState, processStart, RuntimeError, StateStore, type ContainerRecord } from "./state.ts";
import { writeErr } from "../linux/stdio.ts";
import { leaveToBunIf } from "../linux/caller.ts";

/** The errors that tell a rootless berth it may not make the cgroup (it then goes on without one, as runc does, when no limit is asked). */
const ROOTLESS_NO_CGROUP = new Set(["EACCES", "EPERM", "EROFS"]);

export interface GlobalOptions {
  root: string;
  systemdCgroup: boolean;
  /** Not root: cgroups are used where the user may make them, and left out (with no limits asked) where not. */
  rootless?: boolean;
  /** The core to run: a sealed in-memory copy held by a long-running berth (`/proc/PID/fd/N`). */
  coreExe?: string;
}

// The plan builder and the core's driver are what create, run and exec need,
// and most of the code a call loads: required on first use (a lazily loaded
// chunk of the built executable), so that state, kill, delete, start and
// update on the Bun path load only the rest (as src/spec/validate.ts does
// with the compiled validators).
let planModule: typeof PlanModule | undefined;
const planner = (): typeof PlanModule => (planModule ??= require("./plan.ts") as typeof PlanModule);
let coreModule: typeof CoreModule | undefined;
const cores = (): typeof CoreModule => (coreModule ??= require("../linux/core.ts") as typeof CoreModule);

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** --pidfd-socket: a unix socket that gets a pidfd of the container's init (runc 1.2) */
  pidfdSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** run: the core stays as the container's parent and reports its exit. */
  foreground?: boolean;
  /** The container's stdin/stdout/stderr (default: berth's own). */
  stdio?: [number | "inherit", number | "inherit" | "pipe", number | "inherit" | "pipe"];
  /** The engine's "none" network: bring up the loopback of the container's new network namespace. */
  loopbackUp?: boolean;
  /**
   * The configuration, already validated by the caller in this process (the
   * engine): the bundle's config.json is then neither read nor validated again
   * (the caller still writes it there, for runc-compatible tools).
   */
  spec?: Spec;
  /**
   * The bundle's config.json as the caller read it (readBundleConfig: parsed,
   * not validated): not read again (a foreground `run` looks at
   * process.terminal first).
   */
  config?: unknown;
}

/** What `events` reports: the statistics, every interval, and each OOM kill (runc's `events`). */
export type RuntimeEvent = { type: "stats"; id: string; data: CgroupStats } | { type: "oom"; id: string };

/** The largest config.json read (runc's are a few KiB; a bigger one is a mistake or an attack). */
export const CONFIG_MAX = 16 << 20;

function openRecordCgroup(rec: ContainerRecord): Cgroup {
  if (!rec.cgroupPath) return new NoCgroup(rec.pid);
  return openCgroup({ cgroupsPath: rec.config.linux?.cgroupsPath, id: rec.id, systemd: rec.systemdCgroup });
}

/** The network namespace of a container whose init is PID: the one it joined, or its own. */
function containerNetns(spec: Spec, pid: number): string {
  const n = spec.linux?.namespaces?.find((x) => x.type === "network");
  return n?.path || `/proc/${pid}/ns/net`;
}

/** Detaches the mounts made at ROOTFS since BEFORE (a failed create of a container without a mount namespace of its own). */
function detachNewMounts(rootfs: string, before: Set<number>): void {
  try {
    const path = realDirectory(rootfs);
    for (let ids = mountIdsAt(path); ids.length > 0 && !before.has(ids[ids.length - 1]!); ids = mountIdsAt(path)) {
      if (!detachMountAt(path, ids[ids.length - 1]!)) break;
    }
  } catch {
    /* best effort on a path already failing: the create's own error is the one to report */
  }
}

/**
 * A JSON file from the caller (config.json, exec --process): a regular file of
 * at most CONFIG_MAX bytes, else one line naming it (a device or FIFO fails at
 * once, unread).
 */
export function readCallerJson(path: string): string {
  try {
    return readRegularFileSync(path, CONFIG_MAX);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EINVAL" ? "not a regular file" : code === "EFBIG" ? `larger than ${CONFIG_MAX >> 20} MiB` : code;
    throw new RuntimeError(`cannot read ${path}: ${why}`, 1, e);
  }
}

/** The bundle's config.json, parsed (not yet validated). */
function readConfig(bundle: string, cfgPath: string): unknown {
  let text: string;
  try {
    text = readCallerJson(cfgPath);
  } catch (e) {
    if (!existsSync(bundle)) throw new RuntimeError(`bundle ${bundle} does not exist`);
    throw e;
  }
  const raw = parseJSON(text, cfgPath);
  trace("create: read config");
  return raw;
}

/** Whether a config (validated or not) names a hook of one of PHASES (of any phase without). */
function namesHooks(cfg: unknown, phases?: string[]): boolean {
  const hooks = (cfg as { hooks?: unknown } | undefined)?.hooks;
  if (!hooks || typeof hooks !== "object") return false;
  return Object.entries(hooks).some(([phase, list]) => (!phases || phases.includes(phase)) && Array.isArray(list) && list.length > 0);
}

/** BUNDLE's config.json, parsed (not validated), with create's errors: what CreateOptions.config takes. */
export function readBundleConfig(bundle: string): unknown {
  const dir = resolve(bundle);
  return readConfig(dir, join(dir, "config.json"));
}

function writePidFile(path: string | undefined, pid: number): void {
  if (path) writeFileAtomic(resolve(path), String(pid), 0o644, { durable: false });
}

export class Runtime {
  private readonly store: StateStore;
  constructor(readonly opts: GlobalOptions) {
    this.store = new StateStore(opts.root);
  }

  /** The container's record (a RuntimeError when it does not exist). */
  load(id: string): ContainerRecord {
    return this.store.load(id);
  }

  exists(id: string): boolean {
    return this.store.exists(id);
  }

  /** Who made the container: its state directory's owner, by name (runc's list shows it). */
  owner(id: string): string {
    return this.store.owner(id);
  }

  /** The live status of the container ID; "stopped" when it does not exist (any more). */
  statusOf(id: string): string {
    const rec = this.store.find(id);
    return rec ? this.status(rec) : "stopped";
  }

  /**
   * Runs FN with the container's record, holding its lock: a delete, an update
   * or a pause of the same container waits for it. A container that does not
   * exist is refused before the lock (and the root) is made.
   */
  private withRecord<T>(id: string, fn: (rec: ContainerRecord) => T): T {
    if (!this.store.exists(id)) throw noSuchContainer(id);
    return this.store.withLock(id, () => fn(this.store.load(id)));
  }

  status(rec: ContainerRecord): string {
    return liveStatus(rec, () => {
      try {
        return openRecordCgroup(rec).frozen();
      } catch (e) {
        if (errnoCode(e) !== "ENOENT") throw e;
        return false; // a cgroup that is gone (the container is stopping) is not frozen
      }
    });
  }

  state(id: string): State {
    const rec = this.store.load(id);
    return ociState(rec, this.status(rec));
  }

  /** Creates the container: its init waits for `start`. Returns the session when foreground. */
  create(id: string, o: CreateOptions): { rec: ContainerRecord; session: CoreSession } {
    return this.make(id, o, false);
  }

  /**
   * Creates and starts the container in one step, for a caller that stays the
   * parent of its init (a foreground `run`, the engine, the node agent): no one
   * else can start it, so there is no exec fifo to wait on; the init goes on to
   * startContainer hooks and its program as soon as it is ready, and the state
   * moves from creating straight to running. poststart hooks run before this
   * returns. The caller waits for `session.proc` and then deletes.
   */
  runForeground(id: string, o: CreateOptions): { rec: ContainerRecord; session: CoreSession } {
    const r = this.make(id, { ...o, foreground: true }, true);
    trace("start: started");
    this.poststart(r.rec);
    return r;
  }

  private poststart(rec: ContainerRecord): void {
    for (const w of runHooksWarning("poststart", rec.config.hooks?.poststart, ociState(rec, "running"))) writeErr(`berth: warning: ${w}\n`);
  }

  private make(id: string, o: CreateOptions, startNow: boolean): { rec: ContainerRecord; session: CoreSession } {
    const bundle = resolve(o.bundle);
    const cfgPath = join(bundle, "config.json");
    // a spec handed over by the caller was validated there: config.json is not read again
    const raw = o.spec ? undefined : (o.config ?? readConfig(bundle, cfgPath));
    // a hook may run for as long as it likes, and the agent would wait for it
    // (the core's too: createContainer and startContainer): such a create runs on Bun
    leaveToBunIf(namesHooks(raw ?? o.spec), "the config has hooks");
    // The core starts now, with no plan: its exec and its sealed self-copy
    // overlap validation, cgroup set-up and planning.
    const early = cores().CoreSession.spawn({ preserveFds: o.preserveFds, stdio: o.stdio, exe: this.opts.coreExe });
    trace("create: core spawned");
    try {
      const spec = o.spec ?? validateConfig(raw, cfgPath);
      trace("create: validated");
      return this.createLocked(id, o, startNow, bundle, spec, early);
    } catch (e) {
      early.abandon();
      throw e;
    }
  }

  private createLocked(
    id: string,
    o: CreateOptions,
    startNow: boolean,
    bundle: string,
    spec: Spec,
    early: CoreSession,
  ): { rec: ContainerRecord; session: CoreSession } {
    return this.store.withLock(id, () => {
      let cgroup: Cgroup | undefined;
      try {
        cgroup = openCgroup({ cgroupsPath: spec.linux?.cgroupsPath, id, systemd: this.opts.systemdCgroup });
        cgroup.refuseFrozen(); // before anything is made: the init would hang there
      } catch (e) {
        throw new RuntimeError((e as Error).message, 1, e);
      }
      const namespaces: Record<string, string> = {};
      for (const n of spec.linux?.namespaces ?? []) namespaces[n.type] = n.path ?? "";
      // the first record, written before anything of the container is made: a
      // create killed at any later step leaves a container that `list` shows
      // (stopped, once this process is gone) and `delete` removes
      const rec: ContainerRecord = {
        ociVersion: spec.ociVersion ?? OCI_VERSION,
        id,
        status: "creating",
        pid: 0,
        pidStart: "",
        bundle,
        rootfs: resolve(bundle, spec.root!.path),
        created: new Date().toISOString(),
        annotations: spec.annotations,
        cgroupPath: cgroup.path,
        systemdCgroup: this.opts.systemdCgroup,
        namespaces,
        config: spec,
        creator: { pid: process.pid, start: processStart(process.pid) ?? "" },
      };
      const dir = this.store.reserve(id, rec);
      trace("create: recorded");
      const session = early;
      let pid = 0;
      let devicesIn: string | undefined;
      let rootfsBefore: Set<number> | undefined;
      try {
        try {
          cgroup.create();
          trace("create: cgroup made");
          // rootless: no device rules (they need privilege; a user namespace cannot make device nodes anyway)
          cgroup.apply({ ...(spec.linux?.resources ?? {}), devices: this.opts.rootless ? undefined : planner().deviceRules(spec) });
        } catch (e) {
          // decided on the errno underneath (the cgroup library keeps it as the cause), not on the message
          if (!this.opts.rootless || !ROOTLESS_NO_CGROUP.has(errnoCode(e) ?? "")) throw e;
          const limits = requestedLimits(spec.linux?.resources);
          if (limits.length > 0)
            throw new RuntimeError(
              `rootless: cannot make the cgroup ${cgroup.path} (${(e as Error).message}), which linux.resources.${limits[0]} needs: give the user a delegated cgroup v2 subtree, or run as root`,
            );
          // no limits asked: the container stays in the caller's cgroup, as with runc
          try {
            cgroup.destroy(0);
          } catch {
            /* best effort: the mkdir failed, so at most a level this user may not remove is left, as before the create */
          }
          cgroup = undefined;
          rec.cgroupPath = "";
        }
        trace("create: cgroup ready");
        if (!startNow) {
          mkfifo(fifoPath(dir), 0o622);
          // mkfifo applies the umask: the init, maybe an unmapped uid in a user namespace, must be able to open it
          chmodSync(fifoPath(dir), 0o622);
        }
        const ops: PlanOp[] = planner().createPlan({
          spec,
          bundle,
          id,
          stateDir: startNow ? undefined : dir,
          cgroup,
          consoleSocket: o.consoleSocket,
          pidfdSocket: o.pidfdSocket,
          noPivot: o.noPivot,
          noNewKeyring: o.noNewKeyring,
          foreground: o.foreground,
          loopbackUp: o.loopbackUp,
          rootless: this.opts.rootless,
        });
        trace("create: plan built");
        // no mount namespace of its own: the mounts the core makes at the rootfs are the container's
        const rootfsReal = planner().sharesMountNs(spec) ? realDirectory(rec.rootfs) : undefined;
        if (rootfsReal) rootfsBefore = new Set(mountIdsAt(rootfsReal));
        session.sendPlan(ops);
        pid = Number(session.expect("pid"));
        trace("create: pid");
        rec.pid = pid;
        rec.pidStart = processStart(pid) ?? "";
        this.store.save(rec);
        trace("create: pid recorded");
        session.expect("hooks");
        if (rootfsReal) {
          rec.rootfsMount = mountIdsAt(rootfsReal)
            .filter((m) => !rootfsBefore!.has(m))
            .pop();
          this.store.save(rec);
        }
        const netDevices = spec.linux?.netDevices ?? {};
        if (Object.keys(netDevices).length > 0) {
          const ns = containerNetns(spec, pid);
          moveNetDevicesIn(netDevices, ns);
          devicesIn = ns;
        }
        // runtime-spec 1.2: "created" once the runtime environment exists
        // (lifecycle step 2); prestart, createRuntime and createContainer are
        // steps 3 to 5 (runc 1.1 passes "creating" to the first two)
        const st = ociState(rec, "created");
        runHooks("prestart", spec.hooks?.prestart, st);
        runHooks("createRuntime", spec.hooks?.createRuntime, st);
        session.continueWith(JSON.stringify(st));
        session.expect("ready");
        session.expectEnd();
        trace("create: ready");
        rec.status = startNow ? "running" : "created";
        delete rec.creator;
        this.store.save(rec);
        writePidFile(o.pidFile, pid);
        if (!o.foreground) session.close();
        return { rec, session };
      } catch (e) {
        if (devicesIn) moveNetDevicesOut(spec.linux!.netDevices!, devicesIn);
        if (pid > 0) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            /* on a path already failing: gone (ESRCH) is all it can be, and the first error is the one to report */
          }
        }
        session.close();
        if (rootfsBefore) detachNewMounts(rec.rootfs, rootfsBefore);
        if (cgroup) {
          try {
            cgroup.kill(9);
            cgroup.destroy(2000);
          } catch {
            /* best effort on a path already failing: the first error is the one to report */
          }
        }
        this.store.remove(id);
        if (e instanceof RuntimeError) throw e;
        throw new RuntimeError((e as Error).message, 1, e);
      }
    });
  }

  start(id: string): void {
    const rec = this.store.withLock(id, () => {
      const rec = this.store.load(id);
      leaveToBunIf(namesHooks(rec.config, ["startContainer", "poststart"]), "the config has startContainer or poststart hooks");
      const st = this.status(rec);
      if (st !== "created") throw new RuntimeError(`cannot start container ${id}: it is ${st}, not created`);
      const fifo = fifoPath(this.store.dir(id));
      const fd = openBlocking(fifo, 0 /* O_RDONLY */);
      try {
        const buf = new Uint8Array(1);
        if (readBlocking(fd, buf) !== 1) throw new RuntimeError(`cannot start container ${id}: its init is gone`);
      } finally {
        closeSync(fd);
      }
      unlinkSync(fifo);
      if ((rec.config.hooks?.startContainer?.length ?? 0) > 0 && !awaitStartContainerHooks(rec.pid, rec.pidStart)) {
        throw new RuntimeError(
          `cannot start container ${id}: its init stopped before running the program (a startContainer hook failed: see the container's stderr)`,
        );
      }
      trace("start: started");
      rec.status = "running";
      this.store.save(rec);
      return rec;
    });
    this.poststart(rec);
  }

  /**
   * Signals the init (or, with ALL, every process of the container's cgroup).
   * Signal 0 only checks. The wordings are runc's, which callers parse:
   * containerd's shim takes "container not running" and "no such process" for
   * an exited container (and `kill --all ID 9`, sent after every exit, must
   * succeed then, as runc's does: processes left in the cgroup still get it).
   */
  kill(id: string, signal: number, all: boolean): void {
    const rec = this.store.load(id);
    const st = this.status(rec);
    // no init yet: pid 0 would signal berth's own process group
    if (st === "creating" && !(rec.pid > 0)) throw new RuntimeError(`cannot kill container ${id}: it is being created`);
    if (all) {
      // a stopped container without a cgroup of its own has nothing left to
      // signal (its init's pid may be another process's by now)
      if (st === "stopped" && !rec.cgroupPath) return;
      const cg = openRecordCgroup(rec);
      if (st === "stopped" && !cg.exists()) return;
      cg.kill(signal);
      if (signal === 9 && cg.frozen()) cg.thaw();
      return;
    }
    if (st === "stopped") throw new RuntimeError("container not running");
    try {
      process.kill(rec.pid, signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new RuntimeError(code === "ESRCH" ? "container not running" : `unable to signal init: ${code ?? (e as Error).message}`);
    }
    // a frozen (v1) task dies of SIGKILL only once thawed
    if (signal === 9 && st === "paused") openRecordCgroup(rec).thaw();
  }

  /** Deletes the container; with FORCE, one that does not exist is no error (as runc). */
  delete(id: string, force: boolean): void {
    this.store.withLock(id, () => {
      let rec: ContainerRecord;
      try {
        rec = this.store.load(id);
      } catch (e) {
        // no record: at most the directory of a create killed before it wrote one
        if (!(e instanceof RuntimeError)) throw e;
        this.store.remove(id);
        if (force) return;
        throw e;
      }
      leaveToBunIf(namesHooks(rec.config, ["poststop"]), "the config has poststop hooks");
      const st = this.status(rec);
      if (st !== "stopped" && st !== "created" && !force) throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${st}`);
      // a create killed half-way (its record still says creating) may have left an init and cgroup behind
      const live = st !== "stopped" || rec.status === "creating";
      const cg = openRecordCgroup(rec);
      const netDevices = rec.config.linux?.netDevices ?? {};
      if (Object.keys(netDevices).length > 0) {
        // back to the host while the container's network namespace still exists
        // (a joined namespace outlives the container; its own lives as long as the init)
        const ns = (rec.namespaces.network || live) && rec.pid > 0 ? containerNetns(rec.config, rec.pid) : undefined;
        if (ns && existsSync(ns)) for (const p of moveNetDevicesOut(netDevices, ns)) writeErr(`berth: warning: ${p}\n`);
      }
      if (live) {
        try {
          // a NoCgroup of pid 0 would signal berth's own process group
          if (rec.cgroupPath || rec.pid > 0) cg.kill(9);
          if (cg.frozen()) cg.thaw();
        } catch {
          /* best effort: the init is killed below either way, and destroy reports a cgroup that stays */
        }
        try {
          if (rec.pid > 0 && processStart(rec.pid) === rec.pidStart) process.kill(rec.pid, "SIGKILL");
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e; // ESRCH: gone since the check
        }
        const deadline = Date.now() + 5000;
        while (processStart(rec.pid) === rec.pidStart && Date.now() < deadline) Bun.sleepSync(2);
      }
      trace("delete: stopped");
      if (rec.rootfsMount !== undefined) {
        try {
          detachMountAt(realDirectory(rec.rootfs), rec.rootfsMount);
        } catch (e) {
          // a rootfs that is gone holds no mount
          if ((e as NodeJS.ErrnoException).code !== "ENOENT")
            throw new RuntimeError(`deleting container ${id}: detaching its mounts at ${rec.rootfs}: ${(e as Error).message}`);
        }
      }
      try {
        cg.destroy(5000);
        trace("delete: cgroup removed");
      } catch (e) {
        throw new RuntimeError(`deleting container ${id}: ${(e as Error).message}`);
      }
      this.store.remove(id);
      for (const w of runHooksWarning("poststop", rec.config.hooks?.poststop, ociState(rec, "stopped"))) writeErr(`berth: warning: ${w}\n`);
    });
  }

  /**
   * Runs a process in the container. PROC may be a function, called once the
   * core has been started: reading and validating the process then overlaps
   * the core's start-up (as for create).
   */
  exec(
    id: string,
    proc: Process | (() => Process),
    o: {
      consoleSocket?: string;
      pidfdSocket?: string;
      pidFile?: string;
      detach: boolean;
      preserveFds?: number;
      stdio?: CreateOptions["stdio"];
      ignorePaused?: boolean;
      subCgroups?: string[];
    },
  ): CoreSession {
    const session = cores().CoreSession.spawn({ preserveFds: o.preserveFds, stdio: o.stdio, exe: this.opts.coreExe });
    try {
      const run = typeof proc === "function" ? proc() : proc;
      const rec = this.store.load(id);
      const st = this.status(rec);
      // runc's wording; with ignorePaused the process joins the frozen
      // cgroup and starts once the container is resumed (as with runc)
      if (st === "paused" && !o.ignorePaused) throw new RuntimeError(`cannot exec in a paused container (use --ignore-paused to override)`);
      if (st !== "running" && st !== "created" && st !== "paused") throw new RuntimeError(`cannot exec in container ${id}: it is ${st}`);
      const namespaces: Record<string, string> = {};
      for (const t of Object.keys(rec.namespaces)) namespaces[t] = t;
      const cgroup = openRecordCgroup(rec);
      session.sendPlan(
        planner().execPlan({
          spec: rec.config,
          id: rec.id,
          bundle: rec.bundle,
          pid: rec.pid,
          namespaces,
          process: run,
          cgroup,
          consoleSocket: o.consoleSocket,
          pidfdSocket: o.pidfdSocket,
          foreground: !o.detach,
          subCgroups: o.subCgroups,
        }),
      );
    } catch (e) {
      session.abandon();
      throw e;
    }
    const pid = Number(session.expect("pid"));
    session.expectEnd();
    writePidFile(o.pidFile, pid);
    session.close();
    return session;
  }

  /** Freezes every process of a running container. */
  pause(id: string): void {
    this.withRecord(id, (rec) => {
      const st = this.status(rec);
      if (st !== "running") throw new RuntimeError(`cannot pause container ${id}: it is ${st}`);
      openRecordCgroup(rec).freeze();
    });
  }

  /** Thaws a paused container. */
  resume(id: string): void {
    this.withRecord(id, (rec) => {
      const st = this.status(rec);
      if (st !== "paused") throw new RuntimeError(`cannot resume container ${id}: it is ${st}, not paused`);
      openRecordCgroup(rec).thaw();
    });
  }

  /**
   * New limits for a container that is not stopped: written to its cgroup and
   * merged into its record's linux.resources. The status check, the cgroup
   * write and the record's update happen under the container's lock, so a
   * delete (or another update) cannot come between them.
   */
  update(id: string, r: LinuxResources): void {
    this.withRecord(id, (rec) => {
      const st = this.status(rec);
      if (st === "stopped") throw new RuntimeError(`cannot update container ${id}: it is stopped`);
      openRecordCgroup(rec).update(r);
      const linux = (rec.config.linux ??= {});
      linux.resources = mergeResources(linux.resources ?? {}, r);
      this.store.save(rec);
    });
  }

  /** The pids of the container's processes (none once it is stopped). */
  processes(id: string): number[] {
    const rec = this.store.load(id);
    return this.status(rec) === "stopped" ? [] : openRecordCgroup(rec).pids();
  }

  /** The statistics of the container's cgroup. */
  stats(id: string): CgroupStats {
    return openRecordCgroup(this.store.load(id)).stats();
  }

  /** How many of the container's processes the kernel's OOM killer took. */
  oomKills(id: string): number {
    return openRecordCgroup(this.store.load(id)).oomKillCount();
  }

  /**
   * The container's events until it stops: its statistics every INTERVALMS,
   * and an "oom" event whenever the OOM killer took one of its processes.
   */
  async *events(id: string, intervalMs: number): AsyncGenerator<RuntimeEvent> {
    const cg = openRecordCgroup(this.store.load(id));
    let ooms = cg.oomKillCount();
    let next = Date.now();
    for (;;) {
      const stopped = this.status(this.store.load(id)) === "stopped";
      const now = cg.oomKillCount();
      if (now > ooms) yield { type: "oom", id };
      ooms = now;
      if (stopped) return;
      if (Date.now() >= next) {
        yield { type: "stats", id, data: this.stats(id) };
        next = Date.now() + intervalMs;
      }
      await Bun.sleep(Math.min(intervalMs, 100));
    }
  }

  list(): { rec: ContainerRecord; status: string }[] {
    const out: { rec: ContainerRecord; status: string }[] = [];
    for (const id of this.store.ids()) {
      // (one deleted meanwhile is left out)
      const rec = this.store.find(id);
      if (rec) out.push({ rec, status: this.status(rec) });
    }
    return out;
  }
}

/** A's linux.resources with B's on top (one level deep: memory, cpu... are merged field by field). */
function mergeResources(a: LinuxResources, b: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur && typeof cur === "object" && !Array.isArray(cur) && v && typeof v === "object" && !Array.isArray(v) ? { ...cur, ...v } : v;
  }
  return out as LinuxResources;
}

export { RuntimeError };

// The daemonless engine: images by name, containers by name or id, each
// command a process of its own that coordinates with the others through
// locks and files. A container is the image's layers under an overlay with
// its own upper directory (src/image Snapshotter), a network (src/network),
// a generated OCI bundle, and the OCI runtime (src/runtime) in-process.
//
// Who waits for a container: a foreground `run` waits itself (the core stays
// the container's parent and exits with its status); a detached one gets a
// monitor, `berth container monitor ID`, a process of its own session that
// creates and starts the container with the log file as its stdout/stderr,
// waits for it and records its exit (and removes it with --rm).
import { forwardSignals } from "../linux/signals.ts";
import { selfCommand } from "../linux/self.ts";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
// the image layer's modules one by one: a run of a present image loads
// neither the registry client nor the tar machinery (each loads on first use)
import { ImageStore, type Image } from "../image/store.ts";
import { Snapshotter } from "../image/snapshot.ts";
import { normalizeReference, ReferenceError as BadReference } from "../image/reference.ts";
import { errnoCode } from "../linux/libc.ts";
import { BUSYBOX_REF } from "../image/busybox.ts";
import type { RegistryOptions, PullProgress } from "../image/registry.ts";
import { inspectNetwork, setupNetwork, teardownNetwork, type NetworkMode } from "../network/index.ts";
import { Runtime, RuntimeError } from "../runtime/container.ts";
import { processStart } from "../runtime/state.ts";
import { setBlocking } from "../linux/sys.ts";
import { coreErrorOf } from "../linux/core.ts";
import { startConsole, type Console } from "../linux/console.ts";
import { acquireLock, writeFileAtomic } from "../linux/lock.ts";
import type { Process, Spec } from "../spec/types.ts";
import { resolveUser } from "../image/config.ts";
import { containerDir, networkDataDir, runtimeRoot, type EnginePaths } from "./paths.ts";
import { ContainerStore, EngineError, NAME_RE, randomName, type ContainerRecordE } from "./store.ts";
import { LogWriter, pump } from "./logs.ts";
import { effectiveHealth, healthArgs, nextHealth, type HealthConfig, type HealthLogEntry, type HealthState } from "./health.ts";
import { buildSpec, containerProcess, optionResources, restartDelay, shouldRestart, signalNumber, type ContainerOptions } from "./spec.ts";
import { EngineUsageError, type PublishedPort } from "./args.ts";
import { copyUp, VolumeStore } from "./volumes.ts";
import { resolveInRoot } from "../image/rootpath.ts";
import { NetworkStore } from "./networks.ts";
import { attachConnected, memberships, refreshHostsOf } from "./network-connect.ts";

export type PullPolicy = "missing" | "always" | "never";

/** What `update` may change: the limits of run's flags, and the restart policy. */
export type ResourceUpdate = Partial<
  Pick<ContainerOptions, "memory" | "memorySwap" | "memoryReservation" | "cpus" | "cpuShares" | "cpusetCpus" | "cpusetMems" | "pidsLimit" | "restart">
>;

export interface CreateRequest {
  image: string;
  name?: string;
  opts: ContainerOptions;
  network: NetworkMode;
  /** A user-defined network (`--network NAME`; mode bridge) and the container's aliases on it. */
  networkName?: string;
  aliases?: string[];
  /** Published ports (bridge network only), through the CNI portmap plugin. */
  ports?: PublishedPort[];
  autoRemove: boolean;
  detach: boolean;
  /** `create`: the container waits for `start` (and outlives a start that fails). */
  standalone?: boolean;
  /** -P: every port the image exposes, on a free host port each. */
  publishAll?: boolean;
  pull: PullPolicy;
  registry?: RegistryOptions;
  onPullProgress?: (p: PullProgress) => void;
}

/** Maps an error from creating the container to Docker's exit codes: 127 not found, 126 cannot be invoked, else 125. */
export function classifyStartError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const msg = (e as Error).message ?? String(e);
  // decided on the core's step and errno (core/core.h), never on the message
  const core = coreErrorOf(e);
  if (core?.step === "exec" && core.code === "ENOENT") return new EngineError(msg, 127);
  if (core?.step === "exec" && ["EACCES", "ENOEXEC", "EISDIR"].includes(core.code ?? "")) return new EngineError(`${msg}: the command cannot be invoked`, 126);
  if (core?.step === "cwd" && core.code === "ENOTDIR") return new EngineError(msg, 126);
  return new EngineError(msg, 125);
}

/**
 * Binds PORT on the host (0: one the kernel picks) and lets it go at once:
 * the port that was free, or null when PORT is taken. The caller holds the
 * engine's ports lock, and CNI's portmap takes the port next. (Binding port 0
 * failing is an error, not a taken port.)
 */
async function bindAndRelease(protocol: PublishedPort["protocol"], port: number, hostIP?: string): Promise<number | null> {
  const hostname = hostIP ?? "0.0.0.0";
  try {
    if (protocol === "udp") {
      const s = await Bun.udpSocket({ hostname, port });
      const bound = s.port;
      s.close();
      return bound;
    }
    // tcp (and sctp, which shares the port space in practice)
    const l = Bun.listen({ hostname, port, socket: { data() {} } });
    const bound = l.port;
    l.stop(true);
    return bound;
  } catch (e) {
    const code = errnoCode(e);
    if (port !== 0 && code === "EADDRINUSE") return null;
    if (port === 0) throw e;
    // not a taken port (an address not on this host, a port this user may not bind)
    throw new EngineError(`cannot bind ${hostname}:${port}/${protocol}: ${code ?? (e as Error).message}`);
  }
}

let probeSeq = 0;

/** Copies a launched container's output (and its console's) into the log until the pipes close; with tee, to berth's stdout and stderr too. */
function pumpLogs(w: LogWriter, l: { core: Subprocess; console?: Console }, tee = false): Promise<unknown> {
  const streams = (p: Subprocess) => [
    pump(w, "stdout", p.stdout as ReadableStream<Uint8Array> | undefined, tee ? 1 : undefined),
    pump(w, "stderr", p.stderr as ReadableStream<Uint8Array> | undefined, tee ? 2 : undefined),
  ];
  return Promise.all([...streams(l.core), ...(l.console ? streams(l.console.proc) : [])]);
}

export function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return processStart(pid) !== null;
  } catch (e) {
    // ESRCH: gone (EPERM: another user's process, so not the one berth started)
    const code = errnoCode(e);
    if (code === "ESRCH" || code === "EPERM") return false;
    throw e;
  }
}

export class Engine {
  readonly images: ImageStore;
  readonly containers: ContainerStore;
  readonly runtime: Runtime;
  readonly snapshots: Snapshotter;
  readonly volumes: VolumeStore;
  readonly networks: NetworkStore;
  /**
   * The configuration attach() built and validated, by container id, until
   * launch() hands it to the runtime in this same process (a launch in another
   * process, the monitor's first, reads the bundle's config.json instead).
   */
  private readonly specs = new Map<string, Spec>();

  /** coreExe: a sealed copy of berth-core made by a long-running caller (the node agent). */
  constructor(
    readonly paths: EnginePaths,
    o: { coreExe?: string } = {},
  ) {
    this.images = new ImageStore(paths.root);
    this.containers = new ContainerStore(paths);
    this.volumes = new VolumeStore(paths);
    this.networks = new NetworkStore(paths);
    this.runtime = new Runtime({ root: runtimeRoot(paths), systemdCgroup: false, coreExe: o.coreExe });
    this.snapshots = new Snapshotter(this.images);
  }

  /** Creates the built-in image when the store lacks it (it is the same on every build). */
  async ensureBuiltin(): Promise<void> {
    if (this.images.lookup(BUSYBOX_REF)) return;
    const { makeBusyboxImage } = await import("../image/busybox.ts");
    await makeBusyboxImage(this.images);
  }

  private isBuiltin(ref: string): boolean {
    try {
      return normalizeReference(ref) === normalizeReference(BUSYBOX_REF);
    } catch (e) {
      if (!(e instanceof BadReference)) throw e;
      return false; // not a valid reference: not the built-in image's
    }
  }

  /** The image to run: present, built in, or pulled as the policy says. */
  async image(ref: string, policy: PullPolicy, registry: RegistryOptions = {}): Promise<Image> {
    let canonical: string;
    try {
      canonical = normalizeReference(ref);
    } catch (e) {
      if (!(e instanceof BadReference)) throw e;
      if (this.images.lookup(ref)) return this.images.image(ref);
      throw new EngineError((e as Error).message);
    }
    if (this.isBuiltin(ref) && !this.images.lookup(ref)) await this.ensureBuiltin();
    const have = this.images.lookup(ref);
    if (have && policy !== "always") return this.images.loadImage(have.ref, have.record);
    if (this.isBuiltin(ref)) return this.images.image(ref);
    if (policy === "never") throw new EngineError(`image not known: ${ref} (it is not in the store and --pull=never)`);
    try {
      const { pullImage } = await import("../image/registry.ts");
      await pullImage(this.images, canonical, registry);
    } catch (e) {
      throw new EngineError(`image ${ref} is not in the store and pulling it failed: ${(e as Error).message}`);
    }
    return this.images.image(canonical);
  }

  /** The ports other containers with a network still publish, with those containers' names. */
  private portsOfOthers(id: string): Array<{ name: string; port: PublishedPort }> {
    const out: Array<{ name: string; port: PublishedPort }> = [];
    for (const c of this.containers.list()) {
      if (c.id === id || !c.network.ports?.length || !inspectNetwork(this.paths.runRoot, c.id)) continue;
      for (const port of c.network.ports) out.push({ name: c.name, port });
    }
    return out;
  }

  /** Host ports asked for as 0 (-p PORT, -P, -p RANGE:PORT): a free one each, not published by another container either. */
  private async pickPorts(ports: PublishedPort[], others: Array<{ port: PublishedPort }>): Promise<void> {
    const taken = new Set([...others.map((o) => o.port), ...ports.filter((p) => p.hostPort !== 0)].map((p) => `${p.hostPort}/${p.protocol}`));
    for (const p of ports) {
      if (p.hostPort !== 0) continue;
      if (p.hostRange) {
        const [lo, hi] = p.hostRange;
        for (let port = lo; port <= hi && p.hostPort === 0; port++) {
          if (!taken.has(`${port}/${p.protocol}`) && (await bindAndRelease(p.protocol, port, p.hostIP)) !== null) p.hostPort = port;
        }
        if (p.hostPort === 0) throw new EngineError(`-p ${lo}-${hi}:${p.containerPort}/${p.protocol}: no free host port in ${lo}-${hi}`);
        delete p.hostRange;
        taken.add(`${p.hostPort}/${p.protocol}`);
        continue;
      }
      for (let i = 0; i < 50 && p.hostPort === 0; i++) {
        const port = (await bindAndRelease(p.protocol, 0, p.hostIP))!;
        if (!taken.has(`${port}/${p.protocol}`)) p.hostPort = port;
      }
      if (p.hostPort === 0) throw new EngineError(`-p ${p.containerPort}/${p.protocol}: found no free host port`);
      taken.add(`${p.hostPort}/${p.protocol}`);
    }
  }

  /** Refuses a host port another container with a network still holds (same protocol and an overlapping address). */
  private checkPortsFree(ports: PublishedPort[], others: Array<{ name: string; port: PublishedPort }>): void {
    const seen = new Set<string>();
    for (const p of ports) {
      const k = `${p.hostPort}/${p.protocol}`;
      if (seen.has(k)) throw new EngineUsageError(`-p: host port ${k} is given twice`);
      seen.add(k);
    }
    for (const p of ports) {
      const other = others.find(({ port: q }) => q.hostPort === p.hostPort && q.protocol === p.protocol && (!q.hostIP || !p.hostIP || q.hostIP === p.hostIP));
      if (other) throw new EngineError(`-p: host port ${p.hostPort}/${p.protocol} is already published by container ${other.name}`);
    }
  }

  /** Gives a container with a root filesystem its network and its bundle (config.json). */
  private async attach(rec: ContainerRecordE, img: Image, proc: ReturnType<typeof containerProcess>): Promise<void> {
    const { id, options: opts } = rec;
    const ports = rec.network.ports ?? [];
    const mode = rec.network.mode;
    const userNet = rec.network.name !== undefined ? this.networks.get(rec.network.name) : undefined;
    // published ports: one owner per host port, checked and taken under one lock
    const portLock = ports.length ? await acquireLock(join(networkDataDir(this.paths), "ports.lock"), "exclusive") : undefined;
    let net: Awaited<ReturnType<typeof setupNetwork>>;
    try {
      if (ports.length) {
        const others = this.portsOfOthers(id);
        await this.pickPorts(ports, others);
        this.checkPortsFree(ports, others);
      }
      net = await setupNetwork({
        id,
        mode,
        runDir: this.paths.runRoot,
        dataDir: networkDataDir(this.paths),
        hostname: opts.hostname ?? (mode === "host" ? undefined : id.slice(0, 12)),
        ...(ports.length ? { portMappings: ports } : {}),
        ...(mode === "bridge" ? { network: await this.networks.cniList(userNet, { ports: ports.length > 0 }) } : {}),
        ...(opts.addHosts ? { extraHosts: opts.addHosts } : {}),
        ...(opts.dns || opts.dnsSearch || opts.dnsOptions ? { dns: { nameservers: opts.dns, search: opts.dnsSearch, options: opts.dnsOptions } } : {}),
        // "none": the runtime makes the namespace and brings its loopback up
        ...(mode === "none" ? { runtimeNetns: true } : {}),
      }).catch((e) => {
        throw new EngineError(`network ${mode}: ${(e as Error).message}`);
      });
    } finally {
      portLock?.release();
    }
    rec.hostname = net.hostname;
    rec.network = { ...rec.network, ips: net.ips, gateway: net.gateway, netnsPath: net.netnsPath };
    // the networks joined with `network connect`; the members find each other by name (their /etc/hosts)
    if (rec.network.connected?.length) await attachConnected(this, rec);
    if (memberships(rec).length) {
      this.containers.save(rec);
      await refreshHostsOf(this, rec);
    }
    const spec = buildSpec(
      {
        image: img.config,
        rootfs: rec.rootfs,
        opts,
        hostname: net.hostname,
        netnsPath: net.netnsPath,
        ownNetns: mode === "none",
        networkFiles: net.files,
        cgroupsPath: `/berth/${id}`,
        annotations: { "io.berth.engine.name": rec.name, "io.berth.engine.image": img.ref },
      },
      proc,
    );
    // still written for runc-compatible tools (and a launch in another process)
    writeFileAtomic(join(containerDir(this.paths, id), "bundle", "config.json"), JSON.stringify(spec, null, 1) + "\n", 0o600, { durable: !rec.autoRemove });
    this.specs.set(id, spec);
  }

  /**
   * Makes an exited container ready to run again (`start`, `restart`): the same
   * root filesystem (mounted again if a reboot took it), a new network, the
   * same options. Its log is kept and appended to.
   */
  async prepareRestart(ref: string, o: { byMonitor?: boolean } = {}): Promise<ContainerRecordE> {
    const found = this.containers.get(ref);
    const was = this.status(found);
    if (was !== "exited" && was !== "created") throw new EngineError(`cannot start container ${found.name}: it is ${was}`);
    if (!o.byMonitor && found.state.restarting && alive(found.state.monitorPid)) {
      throw new EngineError(`cannot start container ${found.name}: it is restarting (its restart policy); stop it first`);
    }
    const img = await this.image(found.imageRef, "never").catch((e) => {
      if (!(e instanceof EngineError)) throw e; // a damaged store, unreadable: reported as it is
      throw new EngineError(`cannot start container ${found.name}: its image ${found.image} is no longer in the store`);
    });
    // the last run's waiter may still be taking its network down (the monitor
    // restarting its container is that waiter)
    if (!o.byMonitor) await this.settled(found, 10_000);
    return this.containers.withLock(found.id, async () => {
      const rec = this.containers.load(found.id);
      // (the stored status may still say running when a crash or a reboot took the container and its waiter)
      if (!rec || this.status(rec) !== was) throw new EngineError(`cannot start container ${found.name}: it changed meanwhile`);
      if (o.byMonitor && rec.state.stoppedByUser) throw new EngineError(`container ${found.name} was stopped`);
      try {
        // leftovers of the last run (after a crash or a reboot)
        if (this.runtime.exists(rec.id)) this.runtime.delete(rec.id, true);
        await teardownNetwork({ id: rec.id, runDir: this.paths.runRoot, dataDir: networkDataDir(this.paths) });
        rec.rootfs = await this.snapshots.remountRootfs(img, rec.id);
        await this.attach(rec, img, containerProcess(img.config, rec.rootfs, rec.options));
      } catch (e) {
        await teardownNetwork({ id: rec.id, runDir: this.paths.runRoot, dataDir: networkDataDir(this.paths) }).catch(() => {});
        throw e instanceof EngineError ? e : new EngineError(`cannot start container ${rec.name}: ${(e as Error).message}`);
      }
      // a first start of a created container is not a restart
      const restarts = (rec.state.restartCount ?? 0) + (was === "exited" ? 1 : 0);
      rec.state = { status: "created", pid: 0, monitorPid: o.byMonitor ? process.pid : 0, ...(restarts ? { restartCount: restarts } : {}) };
      this.containers.save(rec);
      return rec;
    });
  }

  /** The image's VOLUMEs that no -v or --tmpfs covers: an anonymous volume each (a random name), as Docker makes them. */
  private async imageVolumes(rec: ContainerRecordE, paths: string[], made: Set<string>): Promise<void> {
    const covered = new Set([
      ...rec.options.volumes.map((v) => posix.normalize(v.destination)),
      ...rec.options.tmpfs.map((t) => posix.normalize(t.destination)),
    ]);
    for (const p of paths) {
      const destination = posix.normalize(p.startsWith("/") ? p : `/${p}`);
      if (covered.has(destination)) continue;
      covered.add(destination);
      const name = randomBytes(32).toString("hex");
      // in the record before the volume exists: `volume rm` sees its user
      rec.options.volumes.push({ name, destination, source: "", readonly: false, anonymous: true });
      this.containers.save(rec);
      const r = await this.volumes.ensure(name);
      rec.options.volumes[rec.options.volumes.length - 1]!.source = r.volume.mountpoint;
      made.add(name);
    }
  }

  /** Removes the anonymous volumes of a removed container (rm -v, --rm). */
  private async removeAnonymousVolumes(rec: ContainerRecordE): Promise<void> {
    for (const v of rec.options.volumes) {
      if (!v.anonymous || !v.name) continue;
      await this.volumes
        .remove(v.name, () => this.containers.list())
        .catch((e) => {
          if (!(e instanceof EngineError)) throw e; // another container uses it now (or it is gone): kept
        });
    }
  }

  /** Creates a container (rootfs, network, bundle); nothing runs yet. On error nothing is left. */
  async create(req: CreateRequest): Promise<ContainerRecordE> {
    const name = req.name ?? randomName();
    if (!NAME_RE.test(name)) throw new EngineUsageError(`--name ${JSON.stringify(name)}: use letters, digits and _ . - (starting with a letter or digit)`);
    const img = await this.image(req.image, req.pull, { ...req.registry, onProgress: req.onPullProgress });
    const id = this.containers.newId();
    const dir = containerDir(this.paths, id);
    // the image's labels are the container's too, under its own (Docker's Config.Labels)
    const labels = { ...(img.config.config?.Labels ?? {}), ...(req.opts.labels ?? {}) };
    if (Object.keys(labels).length) req.opts.labels = labels;
    const rec: ContainerRecordE = {
      id,
      name,
      image: req.image,
      imageRef: img.ref,
      imageDigest: img.digest,
      imageId: img.configDigest,
      created: new Date().toISOString(),
      path: "",
      args: [],
      env: [],
      cwd: "/",
      user: { uid: 0, gid: 0, additionalGids: [] },
      stopSignal: "SIGTERM",
      hostname: req.opts.hostname ?? id.slice(0, 12),
      options: req.opts,
      autoRemove: req.autoRemove,
      detach: req.detach,
      ...(req.standalone ? { standalone: true } : {}),
      network: {
        mode: req.network,
        ips: [],
        ...(req.ports?.length ? { ports: req.ports } : {}),
        ...(req.networkName ? { name: this.networks.get(req.networkName).Name, ...(req.aliases?.length ? { aliases: req.aliases } : {}) } : {}),
      },
      rootfs: "",
      logPath: join(dir, "container.log"),
      state: { status: "created", pid: 0, monitorPid: 0 },
    };
    await this.containers.claim(rec);
    try {
      // named volumes: made on first use (the record already names them, so a
      // concurrent `volume rm` sees this container as a user)
      const made = new Set<string>();
      for (const v of req.opts.volumes) {
        if (!v.name) continue;
        const r = await this.volumes.ensure(v.name);
        v.source = r.volume.mountpoint;
        if (r.made) made.add(v.name);
      }
      const snap = await this.snapshots.prepareRootfs(img, id);
      rec.rootfs = snap.rootfs;
      const proc = containerProcess(img.config, snap.rootfs, req.opts);
      await this.imageVolumes(rec, proc.volumes, made);
      if (req.publishAll) {
        const ports = (rec.network.ports ??= []);
        for (const x of proc.exposedPorts) {
          if (!ports.some((p) => p.containerPort === x.port && p.protocol === x.protocol))
            ports.push({ hostPort: 0, containerPort: x.port, protocol: x.protocol });
        }
        if (ports.length === 0) delete rec.network.ports;
      }
      // a new, empty volume starts with what the image has at its path (Docker's copy-up)
      for (const v of req.opts.volumes) if (v.name && made.has(v.name)) copyUp(snap.rootfs, v.destination, v.source);
      rec.args = proc.args;
      rec.path = proc.args[0] ?? "";
      rec.env = proc.env;
      rec.cwd = proc.cwd;
      rec.user = proc.user;
      rec.stopSignal = req.opts.stopSignal ?? proc.stopSignal;
      const hc = effectiveHealth(img.config, req.opts.health);
      if (hc) rec.healthcheck = hc;
      this.containers.save(rec);
      await this.attach(rec, img, proc);
      writeFileAtomic(rec.logPath, "", 0o600, { durable: !rec.autoRemove });
      this.containers.save(rec);
      return rec;
    } catch (e) {
      await this.cleanup(rec.id, true).catch(() => {});
      throw e;
    }
  }

  private async openConsole(id: string, stdio: ["inherit" | "ignore" | number, "inherit" | number | "pipe", "inherit" | number | "pipe"]): Promise<Console> {
    const dir = join(this.paths.runRoot, "console");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = join(dir, `${id.slice(0, 32)}.sock`);
    try {
      return startConsole(stdio, socket);
    } catch (e) {
      throw new EngineError((e as Error).message);
    }
  }

  /**
   * Creates and starts the container with the given stdio, as the parent of
   * its init (the core waits for it). Returns the core process, whose exit
   * status is the container's.
   */
  private async launch(
    rec: ContainerRecordE,
    stdio: [number | "inherit", number | "inherit" | "pipe", number | "inherit" | "pipe"],
    consoleStdio?: ["inherit" | "ignore" | number, "inherit" | number | "pipe", "inherit" | number | "pipe"],
  ): Promise<{ core: Subprocess; console?: Console }> {
    // a directory as the command cannot be invoked (Docker's 126; execve would fail only once it starts)
    if (rec.path.includes("/")) {
      const at = resolveInRoot(rec.rootfs, rec.path);
      if (at !== undefined && statSync(at, { throwIfNoEntry: false })?.isDirectory()) {
        throw new EngineError(`exec ${rec.path}: is a directory: the command cannot be invoked`, 126);
      }
    }
    let con: Console | undefined;
    if (rec.options.tty) con = await this.openConsole(rec.id, consoleStdio ?? ["inherit", "inherit", "inherit"]);
    // the configuration attach() validated in this process, if it did: not read and validated again
    const spec = this.specs.get(rec.id);
    this.specs.delete(rec.id);
    try {
      const { session, rec: rrec } = this.runtime.runForeground(rec.id, {
        bundle: join(containerDir(this.paths, rec.id), "bundle"),
        stdio,
        consoleSocket: con?.socket,
        loopbackUp: rec.network.mode === "none" && !rec.network.netnsPath,
        spec,
      });
      await this.containers.withLock(rec.id, () => {
        const cur = this.containers.load(rec.id) ?? rec;
        cur.state = { ...cur.state, status: "running", pid: rrec.pid, startedAt: new Date().toISOString() };
        if (cur.healthcheck) cur.state.health = { status: "starting", failingStreak: 0, log: [] };
        this.containers.save(cur);
        Object.assign(rec, cur);
      });
      return { core: session.proc, console: con };
    } catch (e) {
      con?.proc.kill(9);
      throw classifyStartError(e);
    }
  }

  /** Runs the container in the foreground (stdio: the caller's); returns its exit code. */
  async runForeground(rec: ContainerRecordE): Promise<number> {
    const devnull = openSync("/dev/null", "r");
    // the output goes to berth's stdout and stderr and into the log (Docker keeps every container's)
    const log = openSync(rec.logPath, "a", 0o600);
    let code: number;
    try {
      rec.state.monitorPid = process.pid;
      this.containers.save(rec);
      let launched: { core: Subprocess; console?: Console };
      try {
        launched = await this.launch(
          rec,
          [rec.options.interactive ? "inherit" : devnull, "pipe", "pipe"],
          [rec.options.interactive ? "inherit" : "ignore", "pipe", "pipe"],
        );
      } catch (e) {
        await this.launchFailed(rec, classifyStartError(e));
        throw e;
      }
      const logged = pumpLogs(new LogWriter(log), launched, true);
      const stop = forwardSignals(launched.core.pid);
      try {
        code = await launched.core.exited;
        if (launched.console) await Promise.race([launched.console.proc.exited, Bun.sleep(2000)]);
        // what the container wrote last (a process it left behind may keep the pipes open: not for long)
        await Promise.race([logged, Bun.sleep(2000)]);
      } finally {
        stop();
        launched.console?.proc.kill(9);
      }
    } finally {
      closeSync(devnull);
      closeSync(log);
    }
    await this.finish(rec.id, code);
    return code;
  }

  /**
   * Runs the container to its end with the given stdio (no terminal, no
   * signals forwarded): the node agent's image tasks. Returns the exit code;
   * with autoRemove nothing is left.
   */
  async runTask(rec: ContainerRecordE, stdio: [number, number, number]): Promise<number> {
    rec.state.monitorPid = process.pid;
    this.containers.save(rec);
    let launched: { core: Subprocess };
    try {
      launched = await this.launch(rec, stdio);
    } catch (e) {
      const err = classifyStartError(e);
      await this.launchFailed(rec, err);
      throw err;
    }
    const code = await launched.core.exited;
    await this.finish(rec.id, code);
    return code;
  }

  /** Starts the container under a monitor process of its own; returns once it runs. */
  async runDetached(rec: ContainerRecordE): Promise<void> {
    const dir = containerDir(this.paths, rec.id);
    const err = openSync(join(dir, "monitor.log"), "a", 0o600);
    let proc: Subprocess;
    try {
      proc = Bun.spawn([...selfCommand(), "container", "monitor", rec.id], {
        stdio: ["ignore", "ignore", err, "pipe"] as never,
        env: { ...process.env, BERTH_ENGINE_ROOT: this.paths.root, BERTH_ENGINE_RUNROOT: this.paths.runRoot },
        detached: true,
      });
    } finally {
      closeSync(err);
    }
    const fd = (proc as unknown as { stdio: number[] }).stdio[3]!;
    setBlocking(fd);
    let text = "";
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
        break; // a broken pipe is a monitor gone: cleaned up and reported below
      }
      if (n <= 0) break;
      text += buf.subarray(0, n).toString();
      if (text.includes("\n")) break;
    }
    closeSync(fd);
    proc.unref();
    const line = text.split("\n")[0] ?? "";
    if (line.startsWith("ok")) return;
    const m = /^error (\d+) (.*)$/s.exec(line);
    if (m) throw new EngineError(m[2]!, Number(m[1]));
    let why = "";
    try {
      why = readFileSync(join(dir, "monitor.log"), "utf8").trim().split("\n").slice(-3).join(" ");
    } catch {
      /* best effort on a path already failing: no log (or none readable) leaves the reason out */
    }
    // best effort: the error below is the one to report
    await this.cleanup(rec.id, true).catch(() => {});
    throw new EngineError(`the container's monitor exited before the container started${why ? `: ${why}` : ""}`);
  }

  /** The monitor (`berth container monitor ID`): fd 3 hears "ok" or "error CODE MESSAGE". */
  async monitor(id: string): Promise<number> {
    const report = (s: string) => {
      try {
        writeSync(3, s + "\n");
        closeSync(3);
      } catch {
        /* the caller is gone (EPIPE, EBADF): the monitor goes on without one */
      }
    };
    const rec = this.containers.load(id);
    if (!rec) {
      report(`error 125 no such container: ${id}`);
      return 125;
    }
    const log = openSync(rec.logPath, "a");
    // the container's output comes through pipes and goes into the log as records
    const writer = new LogWriter(log);
    // the container's stdin is /dev/null, held for every (re)start
    const devnull = openSync("/dev/null", "r");
    const start = (r: ContainerRecordE) => this.launch(r, [devnull, "pipe", "pipe"], ["ignore", "pipe", "pipe"]);
    const done = (code: number) => {
      closeSync(log);
      closeSync(devnull);
      return code;
    };
    let launched: { core: Subprocess; console?: Console };
    try {
      rec.state.monitorPid = process.pid;
      this.containers.save(rec);
      launched = await start(rec);
    } catch (e) {
      const err = classifyStartError(e);
      await this.launchFailed(rec, err);
      report(`error ${err.exitCode} ${err.message.replace(/\n/g, " ")}`);
      return done(err.exitCode);
    }
    report(`ok ${rec.state.pid}`);
    // the monitor outlives the caller's session; it must not die with a terminal
    for (const s of ["SIGHUP", "SIGINT", "SIGPIPE"] as const) process.on(s, () => {});
    let delay = 0;
    for (;;) {
      const startedAt = Date.now();
      const stopHealth = this.superviseHealth(id, startedAt);
      const logged = pumpLogs(writer, launched);
      const code = await launched.core.exited;
      stopHealth();
      if (launched.console) await Promise.race([launched.console.proc.exited, Bun.sleep(2000)]);
      // what the container wrote last (a process it left behind may keep the pipes open: not for long)
      await Promise.race([logged, Bun.sleep(2000)]);
      const cur = this.containers.load(id);
      if (!cur || !shouldRestart(cur.options.restart, code, cur.state.restartCount ?? 0, !!cur.state.stoppedByUser)) {
        await this.finish(id, code);
        return done(code);
      }
      // the restart policy: record the exit, wait, start it again in this monitor
      await this.finish(id, code, { restarting: true });
      delay = restartDelay(delay, Date.now() - startedAt);
      await Bun.sleep(delay);
      const again = this.containers.load(id);
      if (!again || again.state.stoppedByUser || this.status(again) !== "exited") {
        await this.restartGivenUp(id);
        return done(code);
      }
      try {
        launched = await start(await this.prepareRestart(id, { byMonitor: true }));
      } catch (e) {
        if (this.containers.load(id)?.state.stoppedByUser) {
          await this.restartGivenUp(id);
          return done(code);
        }
        const err = classifyStartError(e);
        await this.launchFailed(again, err);
        return done(err.exitCode);
      }
    }
  }

  /** A first start that fails leaves nothing; a restart that fails leaves the container exited, with the error. */
  private async launchFailed(rec: ContainerRecordE, err: EngineError): Promise<void> {
    // best effort throughout: on a path already failing, ERR is the one to report
    if (!rec.state.restartCount && !rec.standalone) {
      await this.cleanup(rec.id, true).catch(() => {});
      return;
    }
    await this.containers
      .withLock(rec.id, async () => {
        const cur = this.containers.load(rec.id);
        if (!cur) return;
        cur.state = { ...cur.state, status: "exited", exitCode: err.exitCode, error: err.message, finishedAt: new Date().toISOString(), pid: 0, monitorPid: 0 };
        this.containers.save(cur);
      })
      .catch(() => {});
    await this.cleanup(rec.id, rec.autoRemove).catch(() => {});
  }

  /** Records the exit; removes the runtime's container and the network; removes everything with --rm. */
  async finish(id: string, code: number | undefined, o: { restarting?: boolean } = {}): Promise<void> {
    const rec = this.containers.load(id);
    if (!rec) return;
    // the kernel's OOM killer took a process of the container (its cgroup's count, read before the cgroup goes)
    let oomKilled = false;
    try {
      if (this.runtime.exists(id)) oomKilled = this.runtime.oomKills(id) > 0;
    } catch {
      /* best effort: no cgroup left to ask, and the exit is recorded either way */
    }
    await this.containers.withLock(id, async () => {
      const cur = this.containers.load(id);
      if (!cur) return;
      cur.state = { ...cur.state, status: "exited", exitCode: code, finishedAt: new Date().toISOString(), pid: 0, restarting: !!o.restarting, oomKilled };
      if (!o.restarting) delete cur.state.restarting;
      this.containers.save(cur);
    });
    await this.cleanup(id, rec.autoRemove && !o.restarting);
    await refreshHostsOf(this, rec, id);
  }

  /** Removes the runtime's container and the network; with `all`, the rootfs and the record too. Idempotent. */
  async cleanup(id: string, all: boolean, o: { volumes?: boolean } = {}): Promise<void> {
    const rec = all ? this.containers.load(id) : undefined;
    this.specs.delete(id);
    await this.containers.withLock(id, async () => {
      const errors: string[] = [];
      if (this.runtime.exists(id)) {
        try {
          this.runtime.delete(id, true);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      try {
        await teardownNetwork({ id, runDir: this.paths.runRoot, dataDir: networkDataDir(this.paths) });
      } catch (e) {
        errors.push((e as Error).message);
      }
      if (all && errors.length === 0) {
        try {
          await this.snapshots.removeRootfs(id);
          rmSync(containerDir(this.paths, id), { recursive: true, force: true });
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      if (errors.length) throw new EngineError(`removing container ${id.slice(0, 12)}: ${errors.join("; ")}`);
    });
    // its anonymous volumes go with it under --rm or rm -v (as in Docker)
    if (rec && (rec.autoRemove || o.volumes)) await this.removeAnonymousVolumes(rec);
  }

  /** The status as it is now: a "running" record whose container and waiter are gone is exited. */
  status(rec: ContainerRecordE): "created" | "running" | "paused" | "exited" {
    if (rec.state.status === "exited") return "exited";
    const rt = this.runtime.statusOf(rec.id);
    if (rt === "paused") return "paused";
    if (rt === "running" || rt === "creating" || rt === "created") return rec.state.status === "created" ? "created" : "running";
    // created and not (yet) started: no waiter, or one that is alive
    if (rec.state.status === "created" && (rec.state.monitorPid === 0 || alive(rec.state.monitorPid))) return "created";
    return "exited";
  }

  /** Waits until the container has exited and its exit is recorded (or whoever waited for it is gone). */
  async waitExit(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rec = this.containers.load(id);
      if (!rec) return true;
      if (rec.state.status === "exited") {
        // and the network is gone: whoever recorded the exit is done cleaning up
        await this.settled(rec, Math.max(1000, deadline - Date.now()));
        return true;
      }
      if (this.status(rec) === "exited" && !alive(rec.state.monitorPid)) {
        await this.finish(id, undefined);
        return true;
      }
      if (Date.now() > deadline) return false;
      await Bun.sleep(20);
    }
  }

  /** Waits (bounded) until the process that waited for the container's last run has finished its clean-up. */
  private async settled(rec: ContainerRecordE, timeoutMs: number): Promise<void> {
    const pid = rec.state.monitorPid;
    if (pid === process.pid) return;
    const deadline = Date.now() + timeoutMs;
    while (alive(pid) && Date.now() < deadline) await Bun.sleep(10);
  }

  /** Freezes (pause) or thaws (unpause) every process of a running container, through its cgroup. */
  setPaused(ref: string, paused: boolean): ContainerRecordE {
    const rec = this.containers.get(ref);
    const st = this.status(rec);
    if (paused && st !== "running") throw new EngineError(`cannot pause container ${rec.name}: it is ${st}, not running`);
    if (!paused && st !== "paused") throw new EngineError(`cannot unpause container ${rec.name}: it is ${st}, not paused`);
    try {
      if (paused) this.runtime.pause(rec.id);
      else this.runtime.resume(rec.id);
    } catch (e) {
      // (it stopped meanwhile)
      if (e instanceof RuntimeError) throw new EngineError(e.message);
      throw e;
    }
    return rec;
  }

  /**
   * `update`: new limits (and restart policy) for a container. A running one's
   * cgroup takes them at once; the record keeps them for its next starts.
   * pidsLimit -1 lifts the limit.
   */
  async update(ref: string, u: ResourceUpdate): Promise<ContainerRecordE> {
    const rec = this.containers.get(ref);
    return this.containers.withLock(rec.id, () => {
      const cur = this.containers.load(rec.id);
      if (!cur) throw new EngineError(`no such container: ${ref}`);
      const st = this.status(cur);
      const { restart, ...limits } = u;
      if (restart && restart.name !== "no" && cur.autoRemove)
        throw new EngineError(`cannot update container ${cur.name}: a restart policy conflicts with --rm`);
      if ((st === "running" || st === "paused") && Object.keys(limits).length > 0) {
        const r = optionResources(limits);
        try {
          this.runtime.update(cur.id, r);
        } catch (e) {
          // stopped meanwhile: the record keeps the limits for its next start, as for an exited container
          if (!(e instanceof RuntimeError && this.runtime.statusOf(cur.id) === "stopped"))
            throw new EngineError(`cannot update container ${cur.name}: ${(e as Error).message}`);
        }
      }
      const o = cur.options as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(limits)) {
        if (k === "pidsLimit" && v === -1) delete o.pidsLimit;
        else o[k] = v;
      }
      if (restart) cur.options.restart = restart;
      this.containers.save(cur);
      return cur;
    });
  }

  kill(ref: string, signal: number): ContainerRecordE {
    const rec = this.containers.get(ref);
    const st = this.status(rec);
    if (st !== "running" && st !== "paused") throw new EngineError(`cannot kill container ${rec.name}: it is ${st}, not running`);
    try {
      this.runtime.kill(rec.id, signal, false);
    } catch (e) {
      throw new EngineError((e as Error).message);
    }
    return rec;
  }

  /** The stop signal, then SIGKILL after `timeoutMs`; returns once the exit is recorded. */
  async stop(ref: string, timeoutMs: number, signal?: number): Promise<ContainerRecordE> {
    const rec = this.containers.get(ref);
    await this.markStopped(rec.id);
    if (this.status(rec) === "exited") return rec;
    const sig = signal ?? signalNumber(rec.stopSignal, "StopSignal");
    try {
      this.runtime.kill(rec.id, sig, false);
    } catch {
      // not running any more (stopping already): waitExit below is what decides
    }
    if (!(await this.waitExit(rec.id, timeoutMs))) {
      try {
        this.runtime.kill(rec.id, 9, true);
      } catch {
        // gone meanwhile (it or its cgroup): waitExit below is what decides
      }
      if (!(await this.waitExit(rec.id, 10_000))) throw new EngineError(`container ${rec.name} did not stop after SIGKILL`);
    }
    return rec;
  }

  /** Runs the container's health check every interval until the returned function is called. */
  private superviseHealth(id: string, startedAt: number): () => void {
    const hc = this.containers.load(id)?.healthcheck;
    if (!hc) return () => {};
    let over = false;
    void (async () => {
      while (!over) {
        await Bun.sleep(hc.intervalMs);
        if (over) return;
        const rec = this.containers.load(id);
        if (!rec || this.status(rec) !== "running") continue;
        const entry = await this.probe(rec, hc);
        if (over) return;
        await this.recordHealth(id, entry, hc, Date.now() - startedAt < hc.startPeriodMs);
      }
    })().catch((e) => {
      // the container went away meanwhile; any other fault is noted in the monitor's log, not lost
      if (!over) process.stderr.write(`berth: health checks of ${id} stopped: ${(e as Error).message}\n`);
    });
    return () => {
      over = true;
    };
  }

  private async recordHealth(id: string, entry: HealthLogEntry, hc: HealthConfig, duringStart: boolean): Promise<HealthState | undefined> {
    let next: HealthState | undefined;
    await this.containers.withLock(id, async () => {
      const cur = this.containers.load(id);
      if (!cur) return;
      next = nextHealth(cur.state.health, entry, hc, duringStart);
      cur.state.health = next;
      this.containers.save(cur);
    });
    return next;
  }

  /** One run of the health check in the container: its exit code (-1: timed out or could not run) and output. */
  async probe(rec: ContainerRecordE, hc: HealthConfig): Promise<HealthLogEntry> {
    const start = new Date().toISOString();
    const tag = `${process.pid}-${++probeSeq}`;
    const outPath = join(containerDir(this.paths, rec.id), `health-${tag}.out`);
    const pidPath = join(containerDir(this.paths, rec.id), `health-${tag}.pid`);
    const out = openSync(outPath, "w", 0o600);
    const nul = openSync("/dev/null", "r");
    let exitCode = -1;
    let note = "";
    try {
      const base = this.runtime.load(rec.id).config.process!;
      const proc: Process = { ...base, args: healthArgs(hc), terminal: false, consoleSize: undefined };
      const session = this.runtime.exec(rec.id, proc, { detach: false, stdio: [nul, out, out], pidFile: pidPath });
      const r = await Promise.race([session.proc.exited, Bun.sleep(hc.timeoutMs).then(() => "timeout" as const)]);
      if (r === "timeout") {
        note = `health check timed out after ${hc.timeoutMs} ms`;
        try {
          process.kill(Number(readFileSync(pidPath, "utf8")), "SIGKILL");
        } catch (e) {
          // ended meanwhile (or before its pid file was written); the rest is the check's note
          const code = errnoCode(e);
          if (code !== "ESRCH" && code !== "ENOENT") throw e;
        }
        await Promise.race([session.proc.exited, Bun.sleep(2000)]);
      } else exitCode = r;
    } catch (e) {
      note = (e as Error).message;
    } finally {
      closeSync(nul);
      closeSync(out);
    }
    let output = "";
    try {
      output = readFileSync(outPath, "utf8").slice(0, 4096);
    } catch {
      /* best effort: the output is a detail of the check, whose exit code decides */
    }
    rmSync(outPath, { force: true });
    rmSync(pidPath, { force: true });
    return { start, end: new Date().toISOString(), exitCode, output: note ? `${output}${note}\n` : output };
  }

  /** `healthcheck run`: one probe now, recorded like the monitor's; the resulting state. */
  async healthcheckNow(ref: string): Promise<HealthState> {
    const rec = this.containers.get(ref);
    if (!rec.healthcheck) throw new EngineError(`container ${rec.name} has no health check`);
    if (this.status(rec) !== "running") throw new EngineError(`container ${rec.name} is not running`);
    const started = rec.state.startedAt ? Date.parse(rec.state.startedAt) : Date.now();
    const entry = await this.probe(rec, rec.healthcheck);
    const next = await this.recordHealth(rec.id, entry, rec.healthcheck, Date.now() - started < rec.healthcheck.startPeriodMs);
    return next ?? nextHealth(undefined, entry, rec.healthcheck, false);
  }

  /** The monitor will not start the container again: it is plainly exited. */
  private async restartGivenUp(id: string): Promise<void> {
    await this.containers
      .withLock(id, async () => {
        const cur = this.containers.load(id);
        if (!cur?.state.restarting) return;
        delete cur.state.restarting;
        if (cur.state.status === "created" && cur.state.monitorPid === process.pid) cur.state = { ...cur.state, status: "exited", pid: 0 };
        this.containers.save(cur);
      })
      .catch(() => {}); // best effort: the monitor is ending, and its exit code tells the rest
  }

  /** The user ends the container (stop, rm -f): its restart policy no longer applies. */
  private async markStopped(id: string): Promise<void> {
    const rec = this.containers.load(id);
    if (!rec?.options.restart || rec.options.restart.name === "no") return;
    await this.containers.withLock(id, async () => {
      const cur = this.containers.load(id);
      if (!cur || cur.state.stoppedByUser) return;
      cur.state.stoppedByUser = true;
      this.containers.save(cur);
    });
  }

  /** Removes a container (running ones only with force: killed first). */
  async remove(ref: string, force: boolean, o: { volumes?: boolean } = {}): Promise<ContainerRecordE> {
    const rec = this.containers.get(ref);
    const st = this.status(rec);
    // made by `create` and not started: nothing runs, nothing to stop
    const waiting = st === "created" && rec.state.monitorPid === 0 && !this.runtime.exists(rec.id);
    if (!waiting && (st === "running" || st === "paused" || st === "created")) {
      if (!force) throw new EngineError(`cannot remove container ${rec.name}: it is ${st} (stop it first, or use rm -f)`);
      await this.markStopped(rec.id);
      try {
        if (this.runtime.exists(rec.id)) this.runtime.kill(rec.id, 9, true);
      } catch {
        // exited meanwhile (it or its cgroup): waitExit below is what decides
      }
      await this.waitExit(rec.id, 10_000);
    }
    await this.cleanup(rec.id, true, o);
    return rec;
  }

  /** Runs a process in a running container; returns its exit code. */
  async exec(
    ref: string,
    args: string[],
    o: { interactive: boolean; tty: boolean; env: string[]; user?: string; workdir?: string; detach?: boolean },
  ): Promise<number> {
    const rec = this.containers.get(ref);
    if (this.status(rec) !== "running") throw new EngineError(`cannot exec in container ${rec.name}: it is not running`);
    if (args.length === 0) throw new EngineUsageError("exec needs a command");
    const rrec = this.runtime.load(rec.id);
    const base = rrec.config.process!;
    const env = [...(base.env ?? [])];
    for (const e of o.env) {
      const k = e.split("=")[0]!;
      const i = env.findIndex((x) => x.split("=")[0] === k);
      if (i >= 0) env[i] = e;
      else env.push(e);
    }
    let user = base.user;
    if (o.user !== undefined) {
      try {
        const u = resolveUser(o.user, rec.rootfs);
        user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
      } catch (e) {
        throw new EngineUsageError(`--user: ${(e as Error).message}`);
      }
    }
    const proc: Process = { ...base, args, env, cwd: o.workdir ?? base.cwd, user, terminal: o.tty, consoleSize: undefined };
    if (o.tty && process.stdout.columns && process.stdout.rows) proc.consoleSize = { width: process.stdout.columns, height: process.stdout.rows };
    const devnull = openSync("/dev/null", "r");
    let con: Console | undefined;
    try {
      if (o.tty) con = await this.openConsole(rec.id + "-exec-" + process.pid, [o.interactive ? "inherit" : "ignore", "inherit", "inherit"]);
      let session;
      try {
        session = this.runtime.exec(rec.id, proc, {
          detach: !!o.detach,
          stdio: [o.interactive ? "inherit" : devnull, "inherit", "inherit"],
          consoleSocket: con?.socket,
        });
      } catch (e) {
        if (e instanceof RuntimeError) throw new EngineError(e.message);
        throw classifyStartError(e);
      }
      if (o.detach) return 0;
      const stop = forwardSignals(session.proc.pid);
      const code = await session.proc.exited;
      stop();
      if (con) await Promise.race([con.proc.exited, Bun.sleep(2000)]);
      return code;
    } finally {
      con?.proc.kill(9);
      closeSync(devnull);
    }
  }
}

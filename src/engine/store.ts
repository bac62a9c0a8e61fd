// The engine's records of containers (ROOT/engine/<id>/container.json),
// written atomically under a per-container lock; names are unique (checked
// and claimed under ROOT/engine/names.lock).
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { HealthConfig, HealthState } from "./health.ts";
import { acquireLock, withRemovableLock, writeFileAtomic } from "../linux/lock.ts";
import { containerDir, containersDir, type EnginePaths } from "./paths.ts";
import type { ContainerOptions } from "./spec.ts";
import type { PublishedPort } from "./args.ts";

export type EngineStatus = "created" | "running" | "exited";

export interface ContainerRecordE {
  id: string;
  name: string;
  /** The image as the user named it, its canonical name, manifest digest and image ID (config digest). */
  image: string;
  imageRef: string;
  imageDigest: string;
  imageId: string;
  created: string;
  /** The process as run: args, env, cwd, user. */
  path: string;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  stopSignal: string;
  hostname: string;
  options: ContainerOptions;
  autoRemove: boolean;
  /** Made by `create` (not `run`): a start that fails leaves it, with the error, as Docker does. */
  standalone?: boolean;
  /** The health check its monitor runs (the image's HEALTHCHECK under the --health-* flags). */
  healthcheck?: HealthConfig;
  detach: boolean;
  /** name: a user-defined network (mode bridge), aliases: the container's other names on it. */
  network: {
    mode: "none" | "host" | "bridge";
    name?: string;
    aliases?: string[];
    ips: string[];
    gateway?: string;
    netnsPath?: string;
    ports?: PublishedPort[];
    /** More user-defined networks (network connect), joined at each start on eth1, eth2...; ips while it runs. */
    connected?: { name: string; aliases?: string[]; ips: string[] }[];
  };
  rootfs: string;
  logPath: string;
  state: {
    status: EngineStatus;
    pid: number;
    /** The process that waits for the container and records its exit (the monitor, or the foreground berth). */
    monitorPid: number;
    exitCode?: number;
    startedAt?: string;
    finishedAt?: string;
    error?: string;
    /** How many times `start`/`restart` or the restart policy started it again after an exit. */
    restartCount?: number;
    /** `stop` or `rm -f` asked for the end: the restart policy does not apply. */
    stoppedByUser?: boolean;
    /** Exited, and the monitor will start it again after a back-off (the restart policy). */
    restarting?: boolean;
    /** The kernel's OOM killer ended a process of the container during its last run. */
    oomKilled?: boolean;
    /** The health check's results (with a healthcheck). */
    health?: HealthState;
  };
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly exitCode = 125,
  ) {
    super(message);
  }
}

export class ContainerStore {
  constructor(readonly paths: EnginePaths) {}

  dir(id: string): string {
    return containerDir(this.paths, id);
  }
  lockPath(id: string): string {
    return join(containersDir(this.paths), `.${id}.lock`);
  }
  /**
   * Runs fn holding the container's lock. The lock file goes with the
   * container: whoever locked a file removed meanwhile tries again (inode
   * check), and whoever finds no container removes the file.
   */
  async withLock<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    const path = this.lockPath(id);
    mkdirSync(containersDir(this.paths), { recursive: true, mode: 0o700 });
    return withRemovableLock(
      path,
      () => !existsSync(this.dir(id)),
      fn,
      () => new EngineError(`timed out waiting for the lock of container ${id.slice(0, 12)}`),
    );
  }

  newId(): string {
    return randomBytes(32).toString("hex");
  }

  load(id: string): ContainerRecordE | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir(id), "container.json"), "utf8")) as ContainerRecordE;
    } catch (e) {
      // none (yet, or any more); or the record of a --rm container (never
      // flushed to disk) cut short by a crash: nothing of it is meant to last
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  /**
   * Writes the record atomically; flushed to disk, except for a container
   * removed at its end (--rm): nothing of it is meant to outlive a crash, and
   * a flush per lifecycle step would only cost time.
   */
  save(rec: ContainerRecordE): void {
    writeFileAtomic(join(this.dir(rec.id), "container.json"), JSON.stringify(rec, null, 1) + "\n", 0o600, { durable: !rec.autoRemove });
  }

  ids(): string[] {
    const d = containersDir(this.paths);
    if (!existsSync(d)) return [];
    return readdirSync(d).filter((n) => /^[a-f0-9]{64}$/.test(n) && existsSync(join(d, n, "container.json")));
  }

  list(): ContainerRecordE[] {
    const out: ContainerRecordE[] = [];
    for (const id of this.ids()) {
      const r = this.load(id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  /** Finds a container by name, full id, or unique id prefix. */
  find(ref: string): ContainerRecordE | undefined {
    const all = this.list();
    const byName = all.find((c) => c.name === ref || `/${c.name}` === ref);
    if (byName) return byName;
    const byId = all.find((c) => c.id === ref);
    if (byId) return byId;
    if (/^[a-f0-9]+$/.test(ref)) {
      const hits = all.filter((c) => c.id.startsWith(ref));
      if (hits.length > 1) throw new EngineError(`container ID prefix ${ref} is ambiguous (${hits.length} containers match)`);
      return hits[0];
    }
    return undefined;
  }

  get(ref: string): ContainerRecordE {
    const c = this.find(ref);
    if (!c) throw new EngineError(`no such container: ${ref}`);
    return c;
  }

  /** Gives the container a new name (claimed under names.lock, as a new container's). */
  async rename(ref: string, name: string): Promise<ContainerRecordE> {
    if (!NAME_RE.test(name))
      throw new EngineError(`invalid container name ${JSON.stringify(name)}: use letters, digits and _ . - (starting with a letter or digit)`);
    const c = this.get(ref);
    if (c.name === name) throw new EngineError(`renaming a container with the same name as its current name (${name})`);
    const lock = await acquireLock(join(containersDir(this.paths), "names.lock"), "exclusive");
    try {
      const other = this.list().find((x) => x.name === name);
      if (other)
        throw new EngineError(`the container name "${name}" is already in use by container ${other.id.slice(0, 12)}: remove it or choose another name`);
      return await this.withLock(c.id, () => {
        const cur = this.load(c.id);
        if (!cur) throw new EngineError(`no such container: ${ref}`);
        cur.name = name;
        this.save(cur);
        return cur;
      });
    } finally {
      lock.release();
    }
  }

  /** Creates the record's directory and claims its name; fails when the name is taken. */
  async claim(rec: ContainerRecordE): Promise<void> {
    mkdirSync(containersDir(this.paths), { recursive: true, mode: 0o700 });
    const lock = await acquireLock(join(containersDir(this.paths), "names.lock"), "exclusive");
    try {
      const other = this.list().find((c) => c.name === rec.name);
      if (other)
        throw new EngineError(`the container name "${rec.name}" is already in use by container ${other.id.slice(0, 12)}: remove it or choose another name`);
      mkdirSync(this.dir(rec.id), { mode: 0o700 });
      this.save(rec);
    } finally {
      lock.release();
    }
  }
}

const ADJECTIVES = [
  "brave",
  "calm",
  "eager",
  "fond",
  "gentle",
  "happy",
  "jolly",
  "keen",
  "lucid",
  "merry",
  "nimble",
  "proud",
  "quiet",
  "sharp",
  "swift",
  "tender",
  "vivid",
  "wise",
  "zesty",
  "bold",
];
const NOUNS = [
  "anchor",
  "buoy",
  "cargo",
  "dock",
  "ferry",
  "harbor",
  "jetty",
  "keel",
  "mast",
  "pier",
  "quay",
  "raft",
  "sail",
  "skiff",
  "tide",
  "wharf",
  "hull",
  "oar",
  "port",
  "reef",
];

export function randomName(): string {
  const b = randomBytes(3);
  return `${ADJECTIVES[b[0]! % ADJECTIVES.length]}_${NOUNS[b[1]! % NOUNS.length]}_${b[2]!.toString(16).padStart(2, "0")}`;
}

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

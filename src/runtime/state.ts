// Container state on disk: ROOT/<id>/state.json written atomically, guarded
// by a per-container lock (flock on ROOT/<id>.lock, which outlives the
// container directory so that delete can hold it while removing).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from "../linux/fs.ts";
import { join } from "../linux/path.ts";
import { withRemovableLockSync, writeFileAtomic } from "../linux/lock.ts";
import { namesByUid } from "../linux/passwd.ts";
import { trace } from "../linux/trace.ts";
import { CONTAINER_ID_CHARS, isContainerId } from "../spec/id.ts";
import type { ContainerStatus, Spec, State } from "../spec/types.ts";

export const DEFAULT_ROOT = "/run/berth";

/** What berth keeps about a container (the OCI state plus its own fields). */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** created | running (after start) | stopped; paused and live status are derived. */
  status: ContainerStatus;
  pid: number;
  /** /proc/PID/stat start time of the init, to tell a reused pid apart. */
  pidStart: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  cgroupPath: string;
  systemdCgroup: boolean;
  /** The namespaces the container was created with (type -> path it joined, or "" for new). */
  namespaces: Record<string, string>;
  config: Spec;
  /** While status is "creating": the berth process making it (pid and start time). If
   * that process is gone, the create was killed half-way: the container is stopped. */
  creator?: { pid: number; start: string };
  /** A container sharing the runtime's mount namespace: the id of the bind of
   * its rootfs that holds all its mounts (detached at delete). */
  rootfsMount?: number;
}

export class RuntimeError extends Error {
  /** `cause`: the error it reports (a SysError, CgroupError, CoreError...): errnoCode reads its errno. */
  constructor(
    message: string,
    readonly exitCode = 1,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

export function noSuchContainer(id: string): RuntimeError {
  return new RuntimeError(`container ${JSON.stringify(id)} does not exist`);
}

function checkId(id: string | undefined): string {
  if (!id) throw new RuntimeError("a container id is required");
  if (!isContainerId(id)) throw new RuntimeError(`invalid container id ${JSON.stringify(id)}: use ${CONTAINER_ID_CHARS}`);
  return id;
}

export class StateStore {
  constructor(readonly root: string = DEFAULT_ROOT) {}

  dir(id: string): string {
    return join(this.root, checkId(id));
  }

  /** Runs fn holding the container's lock. The lock file is removed with the
   * container; whoever locked a file that was removed meanwhile tries again
   * (the inode check), and whoever finds no container removes the file it made. */
  withLock<T>(id: string, fn: () => T): T {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const path = join(this.root, `.${checkId(id)}.lock`);
    return withRemovableLockSync(path, () => !existsSync(this.dir(id)), fn);
  }

  /**
   * Makes the container's directory and writes FIRST, its first record, before
   * anything else of the container exists: a create killed at any later point
   * leaves a record that `list` shows and `delete` removes. Fails if the id is
   * taken. Call under the container's lock: a directory without a record is
   * then what a create killed between the two steps left, and is taken over.
   */
  reserve(id: string, first: ContainerRecord): string {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const d = this.dir(id);
    for (let tries = 0; ; tries++) {
      try {
        mkdirSync(d, { mode: 0o711 });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        if (tries > 0 || existsSync(join(d, "state.json"))) throw new RuntimeError(`container ${JSON.stringify(id)} already exists`);
        rmSync(d, { recursive: true, force: true });
      }
    }
    trace("create: directory made");
    this.save(first);
    return d;
  }

  exists(id: string): boolean {
    return existsSync(join(this.dir(id), "state.json"));
  }

  load(id: string): ContainerRecord {
    const rec = this.find(id);
    if (!rec) throw noSuchContainer(id);
    return rec;
  }

  /** The container's record, or undefined when there is none. */
  find(id: string): ContainerRecord | undefined {
    const p = join(this.dir(id), "state.json");
    let text: string;
    try {
      text = readFileSync(p, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  save(rec: ContainerRecord): void {
    writeFileAtomic(join(this.dir(rec.id), "state.json"), JSON.stringify(rec), 0o600, { durable: false });
  }

  /** Removes the container's directory (its lock file goes when the lock is released). */
  remove(id: string): void {
    const dir = this.dir(id);
    // usually it holds state.json alone (the exec fifo is gone once started): two calls, no directory walk
    try {
      unlinkSync(join(dir, "state.json"));
      rmdirSync(dir);
      return;
    } catch {
      /* something else is there too, or nothing at all: the recursive removal below handles both and reports the rest */
    }
    rmSync(dir, { recursive: true, force: true });
  }

  private users?: Map<number, string>;

  /** Who made the container: the owner of its state directory, by name (runc's list shows it). */
  owner(id: string): string {
    let uid: number;
    try {
      uid = statSync(this.dir(id)).uid;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return ""; // deleted meanwhile: no owner
      throw e;
    }
    if (!this.users) {
      try {
        this.users = namesByUid(readFileSync("/etc/passwd", "utf8"));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        this.users = new Map(); // no passwd file
      }
    }
    return this.users.get(uid) ?? `#${uid}`;
  }

  ids(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((n) => !n.startsWith(".") && existsSync(join(this.root, n, "state.json")))
      .sort();
  }
}

/** The start time of a process (field 22 of /proc/PID/stat), or null if it is gone or a zombie. */
export function processStart(pid: number): string | null {
  if (!(pid > 0)) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return null; // no /proc/PID: the process is gone
    throw e;
  }
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return null;
  return rest[19] ?? null;
}

export function fifoPath(dir: string): string {
  return join(dir, "exec.fifo");
}

/** The live status: the stored one, corrected by whether the init still runs. */
export function liveStatus(rec: ContainerRecord, frozen: () => boolean): ContainerStatus | "paused" {
  if (rec.status === "creating") return !rec.creator || processStart(rec.creator.pid) === rec.creator.start ? "creating" : "stopped";
  const start = processStart(rec.pid);
  if (start === null || start !== rec.pidStart) return "stopped";
  if (rec.status === "created") return "created";
  if (frozen()) return "paused";
  return "running";
}

/** The OCI state document for a record. */
export function ociState(rec: ContainerRecord, status: string): State {
  const s: State = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status: status as ContainerStatus,
    bundle: rec.bundle,
  } as State;
  if (status !== "stopped" && rec.pid > 0) s.pid = rec.pid; // none yet while creating
  if (rec.annotations && Object.keys(rec.annotations).length > 0) s.annotations = rec.annotations;
  return s;
}

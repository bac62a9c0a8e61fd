// Named volumes (`-v NAME:/path`, `berth volume ...`): directories the engine
// keeps under ROOT/volumes/NAME/_data, outside any container, so that data
// outlives the containers that use it. A volume is made on first use; it is
// removed only when no container (running or not) refers to it. One lock file
// (ROOT/volumes/.lock) orders creation, removal and the in-use check.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { acquireLock, writeFileAtomic } from "../linux/lock.ts";
import { resolveInRoot } from "../image/rootpath.ts";
import type { EnginePaths } from "./paths.ts";
import { EngineError, NAME_RE, type ContainerRecordE } from "./store.ts";

export interface Volume {
  name: string;
  /** The directory bind-mounted into containers. */
  mountpoint: string;
  created: string;
}

/** The volume names a container refers to. */
export function volumesOf(rec: ContainerRecordE): string[] {
  return (rec.options.volumes ?? []).flatMap((v) => (v.name ? [v.name] : []));
}

/**
 * Fills a new, empty volume with what the image has at the volume's path
 * (Docker's copy-up): files, ownership, modes and links, read inside the
 * container's root file system (nothing runs in it yet).
 */
export function copyUp(rootfs: string, destination: string, volumeDir: string): void {
  const src = resolveInRoot(rootfs, destination);
  if (src === undefined || !statSync(src).isDirectory()) return;
  if (readdirSync(volumeDir).length > 0) return;
  const r = Bun.spawnSync(["cp", "-a", "--", `${src}/.`, `${volumeDir}/`], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new EngineError(`copying the image's ${destination} into its volume: ${r.stderr.toString().trim()}`);
}

export class VolumeStore {
  readonly dir: string;
  constructor(paths: EnginePaths) {
    this.dir = join(paths.root, "volumes");
  }

  private lock() {
    return acquireLock(join(this.dir, ".lock"), "exclusive");
  }

  private check(name: string): void {
    if (!NAME_RE.test(name)) throw new EngineError(`volume name ${JSON.stringify(name)}: use letters, digits and _ . - (starting with a letter or digit)`);
  }

  private read(name: string): Volume | undefined {
    const d = join(this.dir, name);
    try {
      const meta = JSON.parse(readFileSync(join(d, "volume.json"), "utf8")) as { created: string };
      return { name, mountpoint: join(d, "_data"), created: meta.created };
    } catch (e) {
      // no such volume (or one being made), or a file that is not berth's (it writes them whole, atomically)
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  get(name: string): Volume | undefined {
    this.check(name);
    return this.read(name);
  }

  list(): Volume[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((n) => NAME_RE.test(n))
      .flatMap((n) => this.read(n) ?? [])
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The volume, made if it does not exist; `made` tells which. */
  async ensure(name: string): Promise<{ volume: Volume; made: boolean }> {
    this.check(name);
    const lock = await this.lock();
    try {
      const have = this.read(name);
      if (have) return { volume: have, made: false };
      const d = join(this.dir, name);
      mkdirSync(join(d, "_data"), { recursive: true, mode: 0o755 });
      writeFileAtomic(join(d, "volume.json"), JSON.stringify({ name, created: new Date().toISOString() }) + "\n", 0o600);
      return { volume: this.read(name)!, made: true };
    } finally {
      lock.release();
    }
  }

  /** Removes a volume no container refers to; `users` lists the containers (read under the lock). */
  async remove(name: string, users: () => ContainerRecordE[]): Promise<void> {
    this.check(name);
    const lock = await this.lock();
    try {
      if (!this.read(name)) throw new EngineError(`no such volume: ${name}`);
      const using = users().filter((c) => volumesOf(c).includes(name));
      if (using.length) throw new EngineError(`volume ${name} is in use by container ${using.map((c) => c.name).join(", ")}: remove the container first`);
      rmSync(join(this.dir, name), { recursive: true, force: true });
    } finally {
      lock.release();
    }
  }

  /** Bytes under the volume's data directory (for `volume inspect`). */
  size(v: Volume): number {
    let n = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) n += statSync(p).size;
      }
    };
    try {
      walk(v.mountpoint);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e; // removed meanwhile
    }
    return n;
  }
}

// Overlay snapshots (or copies, where the kernel has no overlayfs; see
// snapshotterMode): each layer is unpacked once into root/layers/<chainid>/diff
// (overlayfs whiteouts), and a container's root filesystem is an overlay of
// those shared read-only directories plus its own upper directory:
//
//   root/layers/<chainid hex>/diff        the layer's files
//   root/layers/<chainid hex>/committed   written last; a directory without it is redone
//   root/containers/<id>/meta.json        image and layers in use (gc roots)
//   root/containers/<id>/{upper,work,rootfs}
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { digestHex } from "./digest.ts";
import { writeFileAtomic } from "../linux/lock.ts";
import { STORE_DIR_MODE, type Image, type ImageStore } from "./store.ts";
import { mount, MNT_DETACH, SysError, umount2 } from "../linux/sys.ts";

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkContainerId(id: string): string {
  if (typeof id !== "string" || !CONTAINER_ID.test(id)) {
    throw new Error(`container id ${JSON.stringify(id)}: want 1-128 characters of [A-Za-z0-9_.-], not starting with . _ or -`);
  }
  return id;
}

export interface LayerProgress {
  layer: string;
  index: number;
  count: number;
  status: "exists" | "unpacking" | "done";
}

export interface PreparedRootfs {
  rootfs: string;
  upper: string;
  work: string;
  /** Lower layer directories, bottom first. */
  lowerdirs: string[];
  /** The overlay mount options used (lowerdir lists the top layer first). */
  options: string;
}

/** Path of a layer's unpacked directory for its chain ID. */
export function layerDir(store: ImageStore, chainId: string): string {
  return join(store.layersDir, digestHex(chainId), "diff");
}

function committed(store: ImageStore, chainId: string): boolean {
  return existsSync(join(store.layersDir, digestHex(chainId), "committed"));
}

/**
 * Makes sure every layer of `image` is unpacked; returns their directories,
 * bottom first. Concurrent callers may both unpack a layer: the first rename
 * wins and the other copy is discarded. Call under the shared gc lock.
 */
export async function ensureLayers(store: ImageStore, image: Image, onProgress?: (p: LayerProgress) => void): Promise<string[]> {
  const dirs: string[] = [];
  mkdirSync(store.layersDir, { recursive: true, mode: STORE_DIR_MODE });
  for (let i = 0; i < image.layers.length; i++) {
    const chainId = image.chainIds[i]!;
    const final = join(store.layersDir, digestHex(chainId));
    const ev = { layer: image.diffIds[i]!, index: i, count: image.layers.length };
    if (committed(store, chainId)) {
      onProgress?.({ ...ev, status: "exists" });
      dirs.push(join(final, "diff"));
      continue;
    }
    onProgress?.({ ...ev, status: "unpacking" });
    // a directory without the marker is what a crash mid-unpack left: redo it
    if (existsSync(final)) rmSync(final, { recursive: true, force: true });
    const tmp = join(store.layersDir, `.tmp-${digestHex(chainId).slice(0, 16)}-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      mkdirSync(join(tmp, "diff"), { recursive: true, mode: 0o755 });
      // the tar machinery loads only when a layer is unpacked
      const { unpackLayer } = await import("./layer.ts");
      await unpackLayer(store.blobPath(image.layers[i]!.digest), join(tmp, "diff"), {
        whiteouts: "overlay",
        diffId: image.diffIds[i]!,
      });
      writeFileSync(join(tmp, "committed"), JSON.stringify({ chainId, diffId: image.diffIds[i], blob: image.layers[i]!.digest }) + "\n");
      try {
        renameSync(tmp, final);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !committed(store, chainId)) throw e;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    onProgress?.({ ...ev, status: "done" });
    dirs.push(join(final, "diff"));
  }
  return dirs;
}

/** Mount points at or under `path` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(path: string): string[] {
  const info = readFileSync("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of info.split("\n")) {
    const f = line.split(" ");
    if (f.length < 5) continue;
    const mp = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === path || mp.startsWith(path + "/")) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

export function isMounted(path: string): boolean {
  return mountsUnder(path).includes(path);
}

function mountOverlay(target: string, lowerdirs: string[], upper: string, work: string, cwd: string): string {
  const top = [...lowerdirs].reverse();
  const opts = `lowerdir=${top.join(":")},upperdir=${upper},workdir=${work}`;
  if (opts.length < 4000) {
    mount("overlay", target, "overlay", 0, opts);
    return opts;
  }
  // too long for one page: relative paths from the layers directory, through mount(8)
  const rel = `lowerdir=${top.map((d) => relative(cwd, d)).join(":")},upperdir=${upper},workdir=${work}`;
  if (rel.length >= 4000) throw new Error(`image has too many layers (${lowerdirs.length}) for one overlay mount`);
  const r = Bun.spawnSync(["mount", "-t", "overlay", "overlay", "-o", rel, target], { cwd, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mount overlay ${target}: ${r.stderr.toString().trim()}`);
  return rel;
}

/**
 * How containers get their root file systems: "overlay" where the kernel has
 * overlayfs (shared read-only layers plus an upper directory each); else
 * "copy": each container gets its own copy, its image's layers unpacked into
 * it in order (Docker's vfs driver; e.g. User-mode Linux has no overlayfs).
 * BERTH_SNAPSHOTTER=overlay|copy decides instead.
 */
export function snapshotterMode(env: Record<string, string | undefined> = process.env): "overlay" | "copy" {
  const want = env.BERTH_SNAPSHOTTER;
  if (want === "overlay" || want === "copy") return want;
  try {
    return /\toverlay$/m.test(readFileSync("/proc/filesystems", "utf8")) ? "overlay" : "copy";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "overlay"; // no /proc mounted: try overlay, the mount says
    throw e;
  }
}

export class Snapshotter {
  constructor(
    readonly store: ImageStore,
    readonly mode: "overlay" | "copy" = snapshotterMode(),
  ) {}

  containerDir(id: string): string {
    return join(this.store.containersDir, checkContainerId(id));
  }

  /**
   * Creates the container's root filesystem: unpacks missing layers, then
   * mounts overlay(lower = the image's layers, upper/work = the container's)
   * at root/containers/<id>/rootfs. Fails if the id already has one.
   */
  async prepareRootfs(image: string | Image, containerId: string, opts: { onProgress?: (p: LayerProgress) => void } = {}): Promise<PreparedRootfs> {
    const dir = this.containerDir(containerId);
    return this.store.withSharedGcLock(async () => {
      const img = typeof image === "string" ? this.store.image(image) : image;
      if (this.mode === "copy") return this.copyRootfs(img, dir, containerId);
      const lowerdirs = await ensureLayers(this.store, img, opts.onProgress);
      this.makeContainerDir(dir, containerId);
      try {
        writeFileAtomic(
          join(dir, "meta.json"),
          JSON.stringify({
            image: img.digest,
            ref: img.ref,
            layers: img.chainIds.map(digestHex),
          }) + "\n",
        );
        const upper = join(dir, "upper"),
          work = join(dir, "work"),
          rootfs = join(dir, "rootfs");
        mkdirSync(upper, { mode: 0o755 });
        mkdirSync(work, { mode: 0o700 });
        mkdirSync(rootfs, { mode: 0o755 });
        if (lowerdirs.length === 0) {
          const empty = join(dir, "empty");
          mkdirSync(empty, { mode: 0o755 });
          lowerdirs.push(empty);
        }
        const options = mountOverlay(rootfs, lowerdirs, upper, work, this.store.layersDir);
        return { rootfs, upper, work, lowerdirs, options };
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    });
  }

  /** The container's directory, made new (an id that has one already is refused). */
  private makeContainerDir(dir: string, containerId: string): void {
    mkdirSync(this.store.containersDir, { recursive: true, mode: STORE_DIR_MODE });
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`container ${containerId} already has a root filesystem (${dir})`);
      throw e;
    }
  }

  /** The copy snapshotter: the image's layers unpacked in order into the container's own directory. */
  private async copyRootfs(img: Image, dir: string, containerId: string): Promise<PreparedRootfs> {
    this.makeContainerDir(dir, containerId);
    try {
      writeFileAtomic(join(dir, "meta.json"), JSON.stringify({ image: img.digest, ref: img.ref, layers: [], mode: "copy" }) + "\n");
      const rootfs = join(dir, "rootfs");
      mkdirSync(rootfs, { mode: 0o755 });
      const { unpackLayer } = await import("./layer.ts");
      for (let i = 0; i < img.layers.length; i++) {
        await unpackLayer(this.store.blobPath(img.layers[i]!.digest), rootfs, { whiteouts: "flatten", diffId: img.diffIds[i]! });
      }
      return { rootfs, upper: rootfs, work: "", lowerdirs: [], options: "copy" };
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Mounts an existing container root filesystem again (its upper directory
   * keeps the container's changes); does nothing when it is mounted. After a
   * reboot, `start` of an exited container needs this.
   */
  async remountRootfs(image: Image, containerId: string): Promise<string> {
    const dir = this.containerDir(containerId);
    const rootfs = join(dir, "rootfs");
    // a copied root file system is a plain directory: nothing to mount
    if (
      !existsSync(join(dir, "upper")) &&
      existsSync(rootfs) &&
      (JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { mode?: string }).mode === "copy"
    )
      return rootfs;
    if (!existsSync(join(dir, "upper"))) throw new Error(`container ${containerId} has no root filesystem (${dir})`);
    if (mountsUnder(dir).includes(rootfs)) return rootfs;
    return this.store.withSharedGcLock(async () => {
      const lowerdirs = await ensureLayers(this.store, image);
      if (lowerdirs.length === 0) lowerdirs.push(join(dir, "empty"));
      mountOverlay(rootfs, lowerdirs, join(dir, "upper"), join(dir, "work"), this.store.layersDir);
      return rootfs;
    });
  }

  /** Unmounts and removes a container's root filesystem; does nothing when there is none. */
  async removeRootfs(containerId: string): Promise<void> {
    const dir = this.containerDir(containerId);
    for (const mp of mountsUnder(dir)) {
      try {
        umount2(mp);
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        if (e.code === "EINVAL" || e.code === "ENOENT") continue;
        umount2(mp, MNT_DETACH);
      }
    }
    const left = mountsUnder(dir);
    if (left.length > 0) throw new Error(`container ${containerId}: ${left[0]} is still mounted`);
    rmSync(dir, { recursive: true, force: true });
  }
}

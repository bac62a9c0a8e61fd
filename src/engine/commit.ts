// `diff` and `commit`: a container's changes are its overlay upper directory
// (what it wrote; whiteouts for what it removed, opaque directories for
// directories it replaced). diff lists them as Docker does (A added, C
// changed, D deleted); commit packs them into a layer, in the OCI whiteout
// form (.wh.NAME, .wh..wh..opq), on top of the container's image, with the
// container's configuration (Docker's), and names the new image.
import { createReadStream, createWriteStream, existsSync, lstatSync, readdirSync, readlinkSync, rmSync, type Stats } from "node:fs";
import { join, posix } from "node:path";
import tar, { type Header } from "tar-stream";
import { lgetxattr } from "../linux/sys.ts";
import { layerDir } from "../image/snapshot.ts";
import { layerDiffId, MediaType, sha256, type ImageConfig } from "../image/index.ts";
import type { Engine } from "./engine.ts";
import { EngineError, type ContainerRecordE } from "./store.ts";
import { errnoCode } from "../linux/libc.ts";
import { applyChange } from "./images.ts";

export interface Change {
  kind: "A" | "C" | "D";
  path: string;
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(path: string): boolean {
  for (const name of ["trusted.overlay.opaque", "user.overlay.opaque"]) {
    try {
      if (lgetxattr(path, name)?.toString() === "y") return true;
    } catch (e) {
      // not allowed to read it (trusted.* needs privilege), or no xattrs here
      const code = errnoCode(e);
      if (code !== "EPERM" && code !== "EACCES" && code !== "EOPNOTSUPP") throw e;
    }
  }
  return false;
}

/** The container's overlay directories: its upper directory and the image's layers under it. */
function overlayOf(e: Engine, c: ContainerRecordE): { upper: string; lowers: string[] } {
  const upper = join(e.snapshots.containerDir(c.id), "upper");
  if (e.snapshots.mode !== "overlay" || !existsSync(upper)) {
    throw new EngineError(`container ${c.name}: diff and commit need the overlay snapshotter (its root file system is a copy)`);
  }
  const img = e.images.loadImage(c.imageRef, e.images.lookup(c.imageDigest)?.record ?? e.images.lookup(c.imageRef)!.record);
  return { upper, lowers: img.chainIds.map((id) => layerDir(e.images, id)) };
}

/**
 * The mount points berth made in the container's root file system (the
 * network files, volumes, tmpfs mounts): not the container's changes, as in
 * Docker. Each counts only while empty.
 */
function madeMountpoints(c: ContainerRecordE): Set<string> {
  return new Set([
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    ...c.options.volumes.map((v) => posix.normalize(v.destination)),
    ...c.options.tmpfs.map((t) => posix.normalize(t.destination)),
  ]);
}

/**
 * The upper directory's entries (paths from /) that are the container's
 * changes: berth's empty mount points left out, and the directories that
 * hold nothing else.
 */
function changedEntries(upper: string, skip: Set<string>): Set<string> {
  const keep = new Set<string>();
  const walk = (rel: string): boolean => {
    let any = false;
    for (const name of readdirSync(join(upper, rel))) {
      const r = posix.join(rel, name);
      const st = lstatSync(join(upper, r));
      if (skip.has(r) && ((st.isFile() && st.size === 0) || (st.isDirectory() && readdirSync(join(upper, r)).length === 0))) continue;
      if (st.isDirectory() && !isWhiteout(st)) {
        const inner = readdirSync(join(upper, r)).length > 0;
        // a directory copied up only to hold mount points is no change
        if (!walk(r) && inner && !isOpaque(join(upper, r))) continue;
      }
      keep.add(r);
      any = true;
    }
    return any;
  };
  walk("/");
  return keep;
}

/** What the container changed, sorted by path (Docker's `diff`). */
export function containerChanges(e: Engine, ref: string): Change[] {
  const c = e.containers.get(ref);
  const { upper, lowers } = overlayOf(e, c);
  const inLower = (rel: string) => lowers.some((l) => existsSync(join(l, rel)));
  return [...changedEntries(upper, madeMountpoints(c))]
    .sort()
    .map((r) => ({ kind: isWhiteout(lstatSync(join(upper, r))) ? "D" : inLower(r) ? "C" : "A", path: r }));
}

/** Writes the upper directory as a layer tar (OCI whiteouts); warns about what a layer cannot hold. */
async function packUpper(upper: string, out: string, keep: Set<string>, warn: (w: string) => void): Promise<void> {
  const pack = tar.pack();
  const sink = createWriteStream(out, { flags: "wx", mode: 0o600 });
  const finished = new Promise<void>((resolve, reject) => {
    sink.on("finish", () => resolve());
    sink.on("error", reject);
    pack.on("error", reject);
  });
  (pack as unknown as NodeJS.ReadableStream).pipe(sink);
  const entry = (h: Partial<Header> & Pick<Header, "name">, body?: string) =>
    new Promise<void>((res, rej) => {
      // an entry with no body (a whiteout) is given an empty one: a file entry waits for its data
      if (body === undefined && h.type === "file") {
        pack.entry(h, Buffer.alloc(0), (err) => (err ? rej(err) : res()));
        return;
      }
      const w = pack.entry(h, (err) => (err ? rej(err) : res()));
      if (body !== undefined) {
        const rs = createReadStream(body);
        rs.on("error", rej);
        rs.pipe(w as unknown as NodeJS.WritableStream);
      }
    });
  const meta = (st: Stats) => ({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
  const walk = async (rel: string) => {
    for (const name of readdirSync(join(upper, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (!keep.has(`/${r}`)) continue;
      const p = join(upper, r);
      const st = lstatSync(p);
      if (isWhiteout(st)) await entry({ name: rel === "" ? `.wh.${name}` : `${rel}/.wh.${name}`, type: "file", size: 0, mode: 0o600, mtime: st.mtime });
      else if (st.isDirectory()) {
        await entry({ name: `${r}/`, type: "directory", ...meta(st) });
        if (isOpaque(p)) await entry({ name: `${r}/.wh..wh..opq`, type: "file", size: 0, mode: 0o600, mtime: st.mtime });
        await walk(r);
      } else if (st.isFile()) await entry({ name: r, type: "file", size: st.size, ...meta(st) }, p);
      else if (st.isSymbolicLink()) await entry({ name: r, type: "symlink", linkname: readlinkSync(p), ...meta(st) });
      else if (st.isFIFO()) await entry({ name: r, type: "fifo", ...meta(st) });
      else warn(`${r}: a device node or socket is not committed`);
    }
  };
  await walk("");
  pack.finalize();
  await finished;
}

export interface CommitOptions {
  changes: string[];
  message?: string;
  author?: string;
  /** Freeze a running container while its layer is written (Docker's default). */
  pause: boolean;
}

/** Makes an image of the container: its image's layers plus one of its changes; returns the new image's ID. */
export async function commitContainer(
  e: Engine,
  ref: string,
  target: string | undefined,
  o: CommitOptions,
  warn: (w: string) => void,
): Promise<{ configDigest: string; ref?: string }> {
  const c = e.containers.get(ref);
  const { upper } = overlayOf(e, c);
  const base = e.images.loadImage(c.imageRef, e.images.lookup(c.imageDigest)?.record ?? e.images.lookup(c.imageRef)!.record);
  const tmp = `${e.images.tempPath("commit")}.tar`;
  const freeze = o.pause && e.status(c) === "running";
  try {
    if (freeze) e.setPaused(c.id, true);
    try {
      await packUpper(upper, tmp, changedEntries(upper, madeMountpoints(c)), warn);
    } finally {
      if (freeze) e.setPaused(c.id, false);
    }
    const diffId = await layerDiffId(tmp);
    const now = new Date().toISOString();
    const baseCfg = base.config.config ?? {};
    // the container's configuration, as Docker records it in the committed image
    const cfgBody: NonNullable<ImageConfig["config"]> = {
      ...baseCfg,
      Env: c.env,
      WorkingDir: c.cwd === "/" && !baseCfg.WorkingDir ? "" : c.cwd,
      ...(c.options.entrypoint !== undefined ? { Entrypoint: c.options.entrypoint } : {}),
      ...(c.options.cmd !== undefined ? { Cmd: c.options.cmd } : {}),
      ...(c.options.user !== undefined ? { User: c.options.user } : {}),
      ...(c.options.labels ? { Labels: c.options.labels } : {}),
      ...(c.options.stopSignal !== undefined ? { StopSignal: c.options.stopSignal } : {}),
    };
    if (!cfgBody.WorkingDir) delete cfgBody.WorkingDir;
    for (const ch of o.changes) applyChange(cfgBody, ch);
    const config = {
      ...base.config,
      created: now,
      config: cfgBody,
      ...(o.author !== undefined ? { author: o.author } : {}),
      rootfs: { type: "layers", diff_ids: [...base.diffIds, diffId] },
      history: [
        ...(base.config.history ?? []),
        { created: now, created_by: `berth commit ${c.name}`, ...(o.author ? { author: o.author } : {}), ...(o.message ? { comment: o.message } : {}) },
      ],
    } as ImageConfig;
    const cfgBytes = Buffer.from(JSON.stringify(config));
    const configDigest = sha256(cfgBytes);
    return await e.images.ingest(async (tx) => {
      const layer = await tx.store.putBlobFile(tmp);
      tx.added.add(layer.digest);
      await tx.putBlob(cfgBytes, configDigest);
      const manifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: configDigest, size: cfgBytes.length },
        layers: [
          ...base.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
          { mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size },
        ],
      };
      const mBytes = Buffer.from(JSON.stringify(manifest));
      const m = await tx.putBlob(mBytes, sha256(mBytes));
      // an image with no name is kept under its ID (berth's store keeps images by name)
      const name = await e.images.tag(target ?? `localhost/committed:${configDigest.slice(7, 19)}`, m.digest).catch((err) => {
        throw new EngineError(`commit: ${target}: ${(err as Error).message}`);
      });
      return { configDigest, ref: target === undefined ? undefined : name };
    });
  } finally {
    rmSync(tmp, { force: true });
  }
}

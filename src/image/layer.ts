// Unpacking a layer tar (plain, gzip or zstd, detected by magic bytes) into a
// directory, safely: nothing is ever written outside the target.
//
// - Entry names are normalized; a name that climbs out with ".." is refused,
//   an absolute name is taken relative to the target.
// - Every parent directory is resolved inside the target: a symlink on the way
//   is followed as if the target were "/" (so `a -> /etc` then `a/passwd`
//   writes target/etc/passwd, never the host's /etc/passwd).
// - The final component is never followed: whatever is there is replaced, and
//   files are created with O_EXCL|O_NOFOLLOW.
// - Hard link targets are resolved the same way and must exist in the target.
// - Metadata (owner, mode, xattrs, times), also the directory times applied
//   at the end, is written through a descriptor of the entry's parent opened
//   below the target with no symlink on the way (openat2 RESOLVE_BENEATH |
//   RESOLVE_NO_SYMLINKS): a later entry that replaces a directory with a
//   symlink cannot redirect it to the host.
//
// Whiteouts: in "flatten" mode (one directory holding all layers applied in
// order) `.wh.NAME` deletes NAME and `.wh..wh..opq` empties the directory of
// what lower layers put there; in "overlay" mode (each layer in its own
// directory, stacked by overlayfs) they become overlayfs whiteouts: a 0:0
// character device, and the trusted.overlay.opaque=y xattr.
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  constants,
  createReadStream,
  linkSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type Stats,
} from "node:fs";
import { posix } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import type { Header } from "tar-stream";

type Headers = Partial<Header> & { name: string; pax?: Record<string, string> };
import { DigestMismatchError } from "./digest.ts";
import { resolveInRoot, walkInRoot } from "./rootpath.ts";
export { resolveInRoot };
import { errnoCode } from "../linux/libc.ts";
import { lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO, SysError } from "../linux/sys.ts";
import { BENEATH_NO_LINKS, O_DIRECTORY, O_PATH, Root } from "../linux/inroot.ts";

export type WhiteoutMode = "flatten" | "overlay" | "none";

export interface UnpackOptions {
  /** How `.wh.` entries are applied (default "flatten"). */
  whiteouts?: WhiteoutMode;
  /** lchown entries to their uid/gid (default: when running as root). */
  ownership?: boolean;
  /** Create device nodes and fifos (default true); when false they are skipped. */
  devices?: boolean;
  /** Apply xattrs from PAX SCHILY.xattr records (default true). */
  xattrs?: boolean;
  /** When given, the uncompressed stream must hash to this (the layer's DiffID). */
  diffId?: string;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  compression: Compression;
  entries: number;
}

export type Compression = "gzip" | "zstd" | "none";

export class LayerError extends Error {
  constructor(entry: string, why: string) {
    super(`layer entry ${JSON.stringify(entry)}: ${why}`);
    this.name = "LayerError";
  }
}

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

export function fileHead(path: string): Buffer {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(8);
    const n = readSync(fd, b, 0, 8, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Normalizes a tar name to a relative path inside the target; refuses escapes. */
export function entryPath(name: string): string {
  if (name.includes("\0")) throw new LayerError(name, "name contains a NUL byte");
  let n = name.replace(/^\/+/, "");
  n = posix.normalize(n === "" ? "." : n);
  if (n === ".." || n.startsWith("../")) throw new LayerError(name, "path escapes the target directory");
  n = n.replace(/\/+$/, "");
  return n === "" ? "." : n;
}

/**
 * Resolves `rel` (already normalized) to a real directory under `root`,
 * following symlinks as if `root` were "/", and creating missing directories
 * when `create` is set. The result contains no symlink component.
 */
function resolveDir(root: string, rel: string, create: boolean, entry: string, made?: (rel: string) => void): string {
  return walkInRoot(root, rel === "." ? "" : rel, {
    lastIsDir: true,
    missing: (cur, r) => {
      if (!create) throw new LayerError(entry, `${r} does not exist`);
      mkdirSync(cur, 0o755);
      made?.(r);
      return true;
    },
    fail: (why) => {
      throw new LayerError(entry, why);
    },
  })!;
}

function removeAny(path: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // nothing to remove
    throw e;
  }
  if (st.isDirectory()) rmSync(path, { recursive: true, force: true });
  else unlinkSync(path);
}

function numericPax(h: Headers, key: string, fallback: number | undefined): number | undefined {
  const v = h.pax?.[key];
  if (v !== undefined && /^\d+(\.\d+)?$/.test(v)) return Number(v);
  return fallback;
}

class ByteTap extends Transform {
  readonly hash = createHash("sha256");
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/**
 * Unpacks a layer (a file path, or bytes) into `target` (created if missing).
 * On error the target may hold part of the layer: unpack into a fresh
 * directory and discard it on failure (snapshot.ts does).
 */
export async function unpackLayer(source: string | Uint8Array, target: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const mode: WhiteoutMode = opts.whiteouts ?? "flatten";
  const ownership = opts.ownership ?? process.getuid?.() === 0;
  const devices = opts.devices ?? true;
  const xattrs = opts.xattrs ?? true;
  mkdirSync(target, { recursive: true });
  const root = posix.resolve(target);

  const head = typeof source === "string" ? fileHead(source) : source.subarray(0, 8);
  const compression = detectCompression(head);
  const input: Readable = typeof source === "string" ? createReadStream(source) : Readable.from([Buffer.from(source)]);
  const stages: NodeJS.ReadWriteStream[] = [];
  if (compression === "gzip") stages.push(zlib.createGunzip());
  if (compression === "zstd") stages.push(zlib.createZstdDecompress());
  const tap = new ByteTap();
  const extract = tar.extract();
  const piped = (pipeline as unknown as (s: unknown[]) => Promise<void>)([input, ...stages, tap, extract]);
  piped.catch(() => {
    /* reported below */
  });

  const written = new Set<string>(); // rel paths this layer created
  const dirTimes: Array<[string, Date]> = []; // rel paths
  let entries = 0;
  const made = (rel: string) => written.add(rel);

  // every metadata write goes through a descriptor opened inside the target
  const top = new Root(root);
  const beneath = (rel: string, flags: number) => top.open(rel, flags, 0, BENEATH_NO_LINKS);
  /** fn(PATH) with PATH naming REL through a descriptor of its parent directory (the last name is not followed by the l* calls). */
  const atEntry = <T>(rel: string, fn: (path: string) => T): T => {
    const fd = beneath(posix.dirname(rel), O_PATH | O_DIRECTORY);
    try {
      return fn(`/proc/self/fd/${fd}/${posix.basename(rel)}`);
    } finally {
      closeSync(fd);
    }
  };

  /** Owner, mode, xattrs and (with T) times of the entry REL, through one descriptor of its parent. */
  const applyMeta = (rel: string, h: Headers, isLink: boolean, name: string, t?: Date) =>
    atEntry(rel, (path) => {
      if (ownership) {
        const uid = numericPax(h, "uid", h.uid) ?? 0;
        const gid = numericPax(h, "gid", h.gid) ?? 0;
        lchownSync(path, uid, gid);
      }
      if (!isLink && h.mode !== undefined) chmodSync(path, h.mode & 0o7777);
      if (xattrs && h.pax) {
        for (const [k, v] of Object.entries(h.pax)) {
          if (!k.startsWith("SCHILY.xattr.")) continue;
          const xname = k.slice("SCHILY.xattr.".length);
          if (xname.startsWith("trusted.overlay.")) continue; // only berth decides overlay metadata
          try {
            lsetxattr(path, xname, Buffer.from(v, "latin1"));
          } catch (e) {
            if (e instanceof SysError && (e.code === "EOPNOTSUPP" || (isLink && e.code === "EPERM"))) continue;
            throw new LayerError(name, `xattr ${xname}: ${(e as Error).message}`);
          }
        }
      }
      if (t) lutimesSync(path, t, t);
    });

  try {
    try {
      for await (const entry of extract) {
        entries++;
        const h = entry.header as Headers;
        try {
          await handle(h, entry as unknown as AsyncIterable<Buffer>);
        } finally {
          entry.resume();
        }
      }
      await piped;
    } catch (e) {
      input.destroy();
      if (e instanceof LayerError || e instanceof SysError) throw e;
      throw new Error(`unpacking layer: ${(e as Error).message}`);
    }
    // directory mtimes last (creating entries changed them), deepest first; a
    // directory that a later entry removed, or replaced with a symlink, is skipped
    for (let i = dirTimes.length - 1; i >= 0; i--) {
      const [rel, t] = dirTimes[i]!;
      let fd: number;
      try {
        fd = beneath(rel, O_PATH | O_DIRECTORY);
      } catch (e) {
        const code = errnoCode(e);
        if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") continue; // removed, or no longer a directory
        throw e;
      }
      try {
        utimesSync(`/proc/self/fd/${fd}`, t, t);
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    top.close();
  }
  const diffId = "sha256:" + tap.hash.digest("hex");
  if (opts.diffId !== undefined && opts.diffId !== diffId) throw new DigestMismatchError(opts.diffId, diffId, "layer diff_id");
  return { diffId, compression, entries };

  async function drain(s: AsyncIterable<unknown>): Promise<void> {
    for await (const _ of s) {
      /* skip */
    }
  }

  async function handle(h: Headers, data: AsyncIterable<Buffer>): Promise<void> {
    const name = h.name;
    const rel = entryPath(name);
    if (rel === ".") return drain(data); // the root itself: keep the target's own metadata
    const base = posix.basename(rel);
    const parentRel = posix.dirname(rel);

    if (mode !== "none" && base.startsWith(".wh.")) {
      await drain(data);
      if (base === ".wh..wh..opq") {
        if (mode === "overlay") {
          const dir = resolveDir(root, parentRel, true, name, made);
          atEntry(posix.relative(root, dir) || ".", (p) => lsetxattr(p, "trusted.overlay.opaque", Buffer.from("y")));
        } else {
          let dir: string;
          try {
            dir = resolveDir(root, parentRel, false, name);
          } catch (e) {
            if (e instanceof LayerError) return; // no such directory: nothing to hide
            throw e;
          }
          const dirRel = posix.relative(root, dir) || ".";
          for (const child of readdirSync(dir)) {
            const childRel = dirRel === "." ? child : `${dirRel}/${child}`;
            if (!written.has(childRel)) removeAny(posix.join(dir, child));
          }
        }
        return;
      }
      if (base.startsWith(".wh..wh.")) return; // aufs bookkeeping (.wh..wh.plnk etc.)
      const victim = base.slice(".wh.".length);
      if (victim === "" || victim === "." || victim === "..") throw new LayerError(name, "bad whiteout name");
      if (mode === "overlay") {
        const dir = resolveDir(root, parentRel, true, name, made);
        const p = posix.join(dir, victim);
        removeAny(p);
        mknod(p, S_IFCHR | 0o000, 0, 0);
        if (ownership) atEntry(posix.relative(root, p), (q) => lchownSync(q, 0, 0));
      } else {
        let dir: string;
        try {
          dir = resolveDir(root, parentRel, false, name);
        } catch (e) {
          if (e instanceof LayerError) return; // no such directory: nothing to remove
          throw e;
        }
        removeAny(posix.join(dir, victim));
      }
      return;
    }

    const dir = resolveDir(root, parentRel, true, name, made);
    const dest = posix.join(dir, base);
    const destRel = posix.relative(root, dest);
    let existing: Stats | undefined;
    try {
      existing = lstatSync(dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      existing = undefined;
    }
    const type = h.type ?? "file";

    if (type === "directory") {
      if (existing && !existing.isDirectory()) {
        removeAny(dest);
        existing = undefined;
      }
      if (!existing) mkdirSync(dest, 0o700);
      written.add(destRel);
      applyMeta(destRel, h, false, name);
      const mt = numericPax(h, "mtime", undefined);
      dirTimes.push([destRel, mt !== undefined ? new Date(mt * 1000) : (h.mtime ?? new Date(0))]);
      return drain(data);
    }

    if (type === "link") {
      await drain(data);
      const lrel = entryPath(h.linkname ?? "");
      if (lrel === ".") throw new LayerError(name, "hard link to the root directory");
      let src: string;
      let st: Stats;
      try {
        src = posix.join(resolveDir(root, posix.dirname(lrel), false, name), posix.basename(lrel));
        st = lstatSync(src);
      } catch (e) {
        if (!(e instanceof LayerError) && (e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        throw new LayerError(name, `hard link target ${JSON.stringify(h.linkname)} not found in the layer`);
      }
      if (st.isDirectory()) throw new LayerError(name, `hard link target ${JSON.stringify(h.linkname)} is a directory`);
      if (src === dest) return;
      if (existing) removeAny(dest);
      linkSync(src, dest);
      written.add(destRel);
      return;
    }

    if (existing) removeAny(dest);
    switch (type) {
      case "file":
      case "contiguous-file": {
        const fd = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of data) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          }
        } finally {
          closeSync(fd);
        }
        break;
      }
      case "symlink":
        await drain(data);
        if (!h.linkname) throw new LayerError(name, "symlink without a target");
        symlinkSync(h.linkname, dest);
        break;
      case "character-device":
      case "block-device":
      case "fifo": {
        await drain(data);
        if (!devices) return;
        const kind = type === "fifo" ? S_IFIFO : type === "block-device" ? S_IFBLK : S_IFCHR;
        mknod(dest, kind | 0o600, h.devmajor ?? 0, h.devminor ?? 0);
        break;
      }
      default:
        await drain(data); // unknown/unsupported entry types are skipped
        return;
    }
    written.add(destRel);
    const mt = numericPax(h, "mtime", undefined);
    applyMeta(destRel, h, type === "symlink", name, mt !== undefined ? new Date(mt * 1000) : (h.mtime ?? new Date(0)));
  }
}

/** The sha256 of the uncompressed content of a (possibly compressed) layer file. */
export async function layerDiffId(path: string): Promise<string> {
  const compression = detectCompression(fileHead(path));
  const stages: NodeJS.ReadWriteStream[] = [];
  if (compression === "gzip") stages.push(zlib.createGunzip());
  if (compression === "zstd") stages.push(zlib.createZstdDecompress());
  const hash = createHash("sha256");
  let stream: AsyncIterable<Buffer> = createReadStream(path);
  for (const s of stages) stream = (stream as Readable).pipe(s as unknown as NodeJS.WritableStream) as unknown as AsyncIterable<Buffer>;
  for await (const c of stream) hash.update(c);
  return "sha256:" + hash.digest("hex");
}

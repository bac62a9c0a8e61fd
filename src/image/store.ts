// The content store: sha256-addressed blobs, an index of image names, layer
// snapshot directories and per-container directories, all under one root:
//
//   root/blobs/sha256/<hex>        blobs (manifests, configs, layers)
//   root/images.json               name -> manifest digest (atomic writes, images.lock)
//   root/layers/<chainid hex>/     unpacked layers (see snapshot.ts)
//   root/containers/<id>/          upper/work/rootfs of a container (see snapshot.ts)
//   root/tmp/                      partial downloads and imports
//   root/gc.lock                   shared while content is added, exclusive for gc
//
// The root and every directory in it are mode 0700 (STORE_DIR_MODE): the
// layers hold images' setuid binaries and device nodes, which the host's other
// users must not reach (CVE-2021-41091 in Docker). Opening a store makes them
// so again, also in a store an older berth made.
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  createReadStream,
} from "node:fs";
import { join } from "node:path";
import { chainIds, checkDigest, digestHex, DigestMismatchError, sha256 } from "./digest.ts";
import { acquireLock, withLock, writeFileAtomic } from "../linux/lock.ts";
import { parseConfig, parseManifest } from "./manifest.ts";
import { formatReference, parseReference, ReferenceError as BadReference } from "./reference.ts";
import { errnoCode } from "../linux/libc.ts";
import type { Descriptor, ImageConfig, ImageManifest } from "./types.ts";

export const DEFAULT_ROOT = "/var/lib/berth";

/** The mode of the store's root and of the directories directly in it: its owner's alone. */
export const STORE_DIR_MODE = 0o700;

export interface ImageRecord {
  /** Manifest digest (a single-platform image manifest). */
  digest: string;
  mediaType: string;
  size: number;
  /** Config digest: the image ID. */
  config: string;
  /** The digest the source knew the image by, when different (e.g. the index a platform was picked from). */
  repoDigest?: string;
  /** When the name was set (ISO 8601). */
  tagged: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
}

export interface Image {
  /** Canonical name ("docker.io/library/busybox:latest" or "...@sha256:..."), or the manifest digest for unnamed images. */
  ref: string;
  record: ImageRecord;
  digest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  layers: Descriptor[];
  diffIds: string[];
  chainIds: string[];
}

export interface GcResult {
  blobs: string[];
  layers: string[];
}

/** Tracks what one pull/import added, so that a failure can take it back. */
export class Ingest {
  readonly added = new Set<string>();
  constructor(readonly store: ImageStore) {}
  async putBlob(data: Uint8Array | string, expected?: string): Promise<{ digest: string; size: number }> {
    const had = expected !== undefined && this.store.hasBlob(expected);
    const r = await this.store.putBlob(data, expected);
    if (!had) this.added.add(r.digest);
    return r;
  }
  async putBlobStream(src: AsyncIterable<Uint8Array>, expected?: string, onBytes?: (n: number) => void): Promise<{ digest: string; size: number }> {
    const had = expected !== undefined && this.store.hasBlob(expected);
    const r = await this.store.putBlobStream(src, expected, onBytes);
    if (!had) this.added.add(r.digest);
    return r;
  }
}

export class ImageStore {
  readonly root: string;
  constructor(root: string = DEFAULT_ROOT) {
    this.root = root;
    this.keepPrivate();
  }

  /**
   * Makes the root (0700) if it is missing, and the root and every directory
   * directly in it 0700 where they are more open (a store an older berth
   * made, 0755 down to the files). Best effort where this user may not (a
   * store of another user's, which it cannot use anyway).
   */
  private keepPrivate(): void {
    let names: string[];
    try {
      mkdirSync(this.root, { recursive: true, mode: STORE_DIR_MODE });
      names = readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(this.root, d.name));
    } catch (e) {
      // not this user's to make or read (a read-only store is read where it is)
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") return;
      throw e;
    }
    for (const p of [this.root, ...names]) {
      try {
        if ((statSync(p).mode & 0o7777) !== STORE_DIR_MODE) chmodSync(p, STORE_DIR_MODE);
      } catch (e) {
        // not ours (EPERM, EACCES), or removed meanwhile (ENOENT); anything else is a fault
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EPERM" && code !== "EACCES" && code !== "ENOENT") throw e;
      }
    }
  }

  get blobsDir(): string {
    return join(this.root, "blobs", "sha256");
  }
  get layersDir(): string {
    return join(this.root, "layers");
  }
  get containersDir(): string {
    return join(this.root, "containers");
  }
  get tmpDir(): string {
    return join(this.root, "tmp");
  }
  private get indexPath(): string {
    return join(this.root, "images.json");
  }
  private get indexLock(): string {
    return join(this.root, "images.lock");
  }
  private get gcLock(): string {
    return join(this.root, "gc.lock");
  }

  /** A fresh path under root/tmp (same filesystem as the blobs, so rename works). */
  tempPath(prefix: string): string {
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    return join(this.tmpDir, `${prefix}-${process.pid}-${randomBytes(6).toString("hex")}`);
  }

  // ---- blobs -------------------------------------------------------------

  blobPath(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }
  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }
  readBlob(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`blob ${digest} not found in the store ${this.root}`);
      throw e;
    }
  }
  blobSize(digest: string): number {
    return statSync(this.blobPath(digest)).size;
  }

  /** Stores bytes; with `expected`, a mismatch stores nothing and throws DigestMismatchError. */
  async putBlob(data: Uint8Array | string, expected?: string): Promise<{ digest: string; size: number }> {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    if (expected !== undefined && this.hasBlob(expected)) {
      const actual = sha256(bytes);
      if (actual !== expected) throw new DigestMismatchError(expected, actual);
      return { digest: expected, size: bytes.length };
    }
    return this.putBlobStream(
      (async function* () {
        yield bytes;
      })(),
      expected,
    );
  }

  /** Streams a blob into the store: temp file, hash on the way, rename only when the digest matches. */
  async putBlobStream(src: AsyncIterable<Uint8Array>, expected?: string, onBytes?: (n: number) => void): Promise<{ digest: string; size: number }> {
    if (expected !== undefined) checkDigest(expected, "expected digest");
    mkdirSync(this.blobsDir, { recursive: true, mode: STORE_DIR_MODE });
    const tmp = this.tempPath("blob");
    const hash = createHash("sha256");
    let size = 0;
    const fd = openSync(tmp, "wx", 0o644);
    let ok = false;
    try {
      for await (const chunk of src) {
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        size += chunk.length;
        onBytes?.(chunk.length);
      }
      fsyncSync(fd);
      closeSync(fd);
      const digest = "sha256:" + hash.digest("hex");
      if (expected !== undefined && digest !== expected) throw new DigestMismatchError(expected, digest);
      renameSync(tmp, this.blobPath(digest));
      ok = true;
      return { digest, size };
    } finally {
      if (!ok) {
        try {
          closeSync(fd);
        } catch {
          /* already failing: a close error adds nothing */
        }
        rmSync(tmp, { force: true });
      }
    }
  }

  /** Copies a file into the store, verifying `expected` when given. */
  async putBlobFile(path: string, expected?: string): Promise<{ digest: string; size: number }> {
    if (expected !== undefined && this.hasBlob(expected)) return { digest: expected, size: this.blobSize(expected) };
    return this.putBlobStream(createReadStream(path), expected);
  }

  readJsonBlob(digest: string): Buffer {
    return this.readBlob(digest);
  }

  // ---- image index -------------------------------------------------------

  private readIndex(): IndexFile {
    let text: string;
    try {
      text = readFileSync(this.indexPath, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, images: {} };
      throw e;
    }
    const doc = JSON.parse(text) as IndexFile;
    if (doc.version !== 1 || typeof doc.images !== "object") throw new Error(`${this.indexPath}: unknown format`);
    return doc;
  }

  private async updateIndex<T>(fn: (idx: IndexFile) => T): Promise<T> {
    mkdirSync(this.root, { recursive: true, mode: STORE_DIR_MODE });
    return withLock(this.indexLock, "exclusive", () => {
      const idx = this.readIndex();
      const r = fn(idx);
      writeFileAtomic(this.indexPath, JSON.stringify(idx, null, 2) + "\n");
      return r;
    });
  }

  /** All named images, sorted by name. */
  list(): Array<{ ref: string; record: ImageRecord }> {
    const idx = this.readIndex();
    return Object.keys(idx.images)
      .sort()
      .map((ref) => ({ ref, record: idx.images[ref]! }));
  }

  /**
   * Finds an image by name ("busybox", "x:1", "name@sha256:..."), by manifest
   * digest, or by image ID (config digest), full or a prefix of at least 4 hex.
   */
  lookup(ref: string): { ref: string; record: ImageRecord } | undefined {
    const idx = this.readIndex();
    if (idx.images[ref]) return { ref, record: idx.images[ref]! };
    let canonical: string | undefined;
    try {
      canonical = formatReference(parseReference(ref));
    } catch (e) {
      if (!(e instanceof BadReference)) throw e; // not a name: maybe an ID
    }
    if (canonical !== undefined && idx.images[canonical]) return { ref: canonical, record: idx.images[canonical]! };
    const m = /^(?:sha256:)?([a-f0-9]{4,64})$/.exec(ref);
    if (m) {
      const prefix = m[1]!;
      const hits = new Map<string, { ref: string; record: ImageRecord }>();
      for (const [k, r] of Object.entries(idx.images)) {
        if (digestHex(r.config).startsWith(prefix) || digestHex(r.digest).startsWith(prefix)) {
          if (!hits.has(r.digest)) hits.set(r.digest, { ref: k, record: r });
        }
      }
      if (hits.size > 1) throw new Error(`image ID ${ref} is ambiguous (${hits.size} images match)`);
      if (hits.size === 1) return [...hits.values()][0];
    }
    return undefined;
  }

  /** Loads an image's manifest and config; throws "image not known: REF" when absent. */
  image(ref: string): Image {
    const hit = this.lookup(ref);
    if (!hit) throw new Error(`image not known: ${ref}`);
    return this.loadImage(hit.ref, hit.record);
  }

  loadImage(ref: string, record: ImageRecord): Image {
    const parsed = parseManifest(this.readBlob(record.digest), record.mediaType, `manifest ${record.digest}`);
    if (parsed.kind !== "manifest") throw new Error(`manifest ${record.digest}: is an index, not an image manifest`);
    const manifest = parsed.manifest;
    const config = parseConfig(this.readBlob(manifest.config.digest), `config ${manifest.config.digest}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new Error(`image ${ref}: config has ${diffIds.length} diff_ids but the manifest lists ${manifest.layers.length} layers`);
    }
    return {
      ref,
      record,
      digest: record.digest,
      manifest,
      configDigest: manifest.config.digest,
      config,
      layers: manifest.layers,
      diffIds,
      chainIds: chainIds(diffIds),
    };
  }

  /**
   * Names an image. `ref` is normalized (busybox -> docker.io/library/busybox:latest);
   * the manifest blob must be in the store.
   */
  async tag(ref: string, digest: string, extra: { repoDigest?: string } = {}): Promise<string> {
    const name = formatReference(parseReference(ref));
    const bytes = this.readBlob(digest);
    const parsed = parseManifest(bytes, undefined, `manifest ${digest}`);
    if (parsed.kind !== "manifest") throw new Error(`tag ${name}: ${digest} is an index, not an image manifest`);
    const rec: ImageRecord = {
      digest,
      mediaType: parsed.mediaType,
      size: bytes.length,
      config: parsed.manifest.config.digest,
      tagged: new Date().toISOString(),
    };
    if (extra.repoDigest !== undefined && extra.repoDigest !== digest) rec.repoDigest = extra.repoDigest;
    await this.updateIndex((idx) => {
      idx.images[name] = rec;
    });
    return name;
  }

  /** Removes a name; returns false when the name was not there. */
  async untag(ref: string): Promise<boolean> {
    return this.updateIndex((idx) => {
      const candidates = [ref];
      try {
        candidates.push(formatReference(parseReference(ref)));
      } catch (e) {
        if (!(e instanceof BadReference)) throw e; // not a name: the literal only
      }
      for (const c of candidates) {
        if (idx.images[c]) {
          delete idx.images[c];
          return true;
        }
      }
      return false;
    });
  }

  /** Removes an image's name (or all names of an ID) and collects what nothing uses any more. */
  async remove(ref: string): Promise<{ untagged: string[]; gc: GcResult }> {
    const hit = this.lookup(ref);
    if (!hit) throw new Error(`image not known: ${ref}`);
    let names: string[];
    const byId = hit.ref !== ref && !this.isName(ref, hit.ref);
    if (byId) {
      names = this.list()
        .filter((e) => e.record.digest === hit.record.digest)
        .map((e) => e.ref);
    } else {
      names = [hit.ref];
    }
    await this.updateIndex((idx) => {
      for (const n of names) delete idx.images[n];
    });
    return { untagged: names, gc: await this.gc() };
  }

  private isName(input: string, canonical: string): boolean {
    try {
      return formatReference(parseReference(input)) === canonical;
    } catch (e) {
      if (e instanceof BadReference) return false;
      throw e;
    }
  }

  // ---- ingest and garbage collection -------------------------------------

  /**
   * Runs `fn` while holding the shared gc lock (so gc cannot remove blobs an
   * unfinished pull or import has written). If `fn` throws, the blobs it added
   * that no image uses are removed again: a failed pull stores nothing.
   */
  async ingest<T>(fn: (tx: Ingest) => Promise<T>): Promise<T> {
    mkdirSync(this.root, { recursive: true, mode: STORE_DIR_MODE });
    const tx = new Ingest(this);
    const lock = await acquireLock(this.gcLock, "shared");
    try {
      return await fn(tx);
    } catch (e) {
      lock.release();
      if (tx.added.size > 0) {
        await withLock(this.gcLock, "exclusive", () => {
          const used = this.referencedBlobs();
          for (const d of tx.added) if (!used.has(d)) rmSync(this.blobPath(d), { force: true });
        });
      }
      throw e;
    } finally {
      lock.release();
    }
  }

  /** Holds the shared gc lock while `fn` runs (for snapshot preparation). */
  async withSharedGcLock<T>(fn: () => Promise<T> | T): Promise<T> {
    mkdirSync(this.root, { recursive: true, mode: STORE_DIR_MODE });
    return withLock(this.gcLock, "shared", fn);
  }

  private referencedBlobs(): Set<string> {
    const used = new Set<string>();
    for (const { record } of this.list()) {
      used.add(record.digest);
      try {
        const p = parseManifest(this.readBlob(record.digest), record.mediaType);
        if (p.kind === "manifest") {
          used.add(p.manifest.config.digest);
          for (const l of p.manifest.layers) used.add(l.digest);
        }
      } catch (e) {
        // a missing or broken manifest keeps only itself; a system error (EIO,
        // EACCES) stops the gc rather than freeing the blobs the manifest names
        if (errnoCode(e) !== undefined) throw e;
      }
    }
    return used;
  }

  /** Chain IDs (hex) of layer dirs in use by images or containers. */
  private referencedLayers(): Set<string> {
    const used = new Set<string>();
    for (const { ref, record } of this.list()) {
      try {
        for (const c of this.loadImage(ref, record).chainIds) used.add(digestHex(c));
      } catch (e) {
        // blobs missing or broken: nothing to keep; a system error stops the gc
        if (errnoCode(e) !== undefined) throw e;
      }
    }
    if (existsSync(this.containersDir)) {
      for (const id of readdirSync(this.containersDir)) {
        try {
          const meta = JSON.parse(readFileSync(join(this.containersDir, id, "meta.json"), "utf8")) as { layers?: string[] };
          for (const l of meta.layers ?? []) used.add(l);
        } catch (e) {
          // no meta.json yet (written atomically): a container being created,
          // whose lock holder keeps its layers; anything else stops the gc
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`gc: container ${id}: meta.json: ${(e as Error).message}`, { cause: e });
        }
      }
    }
    return used;
  }

  /** Removes blobs and layer directories that no image or container uses, and leftovers in tmp. */
  async gc(): Promise<GcResult> {
    mkdirSync(this.root, { recursive: true, mode: STORE_DIR_MODE });
    return withLock(this.gcLock, "exclusive", () => {
      const result: GcResult = { blobs: [], layers: [] };
      const blobs = this.referencedBlobs();
      if (existsSync(this.blobsDir)) {
        for (const hex of readdirSync(this.blobsDir)) {
          const d = `sha256:${hex}`;
          if (!blobs.has(d)) {
            rmSync(join(this.blobsDir, hex), { force: true });
            result.blobs.push(d);
          }
        }
      }
      const layers = this.referencedLayers();
      if (existsSync(this.layersDir)) {
        for (const name of readdirSync(this.layersDir)) {
          if (!layers.has(name)) {
            rmSync(join(this.layersDir, name), { recursive: true, force: true });
            if (/^[a-f0-9]{64}$/.test(name)) result.layers.push(`sha256:${name}`);
          }
        }
      }
      // every ingest holds the shared lock, so nothing in tmp is in use now
      if (existsSync(this.tmpDir)) {
        for (const name of readdirSync(this.tmpDir)) rmSync(join(this.tmpDir, name), { recursive: true, force: true });
      }
      return result;
    });
  }

  /** Verifies every blob an image needs is present and matches its digest. */
  verify(ref: string): void {
    const img = this.image(ref);
    for (const d of [img.digest, img.configDigest, ...img.layers.map((l) => l.digest)]) {
      const actual = sha256(this.readBlob(d));
      if (actual !== d) throw new DigestMismatchError(d, actual);
    }
  }
}

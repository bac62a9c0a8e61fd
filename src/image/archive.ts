// Import and export of images as files:
//  - OCI image layout directories (oci-layout, index.json, blobs/) and tar
//    archives of them (plain or gzip), which also covers `docker save` from
//    Docker 25+ (an OCI layout with a manifest.json beside it);
//  - `docker save` archives of the older form (manifest.json, <id>.json
//    configs and layer tars), as Docker before 25, skopeo and podman write them;
//  - export to an OCI layout directory or tar (with a docker-style
//    manifest.json too, so `docker load` takes it).
// Every blob is verified; a mismatch stores nothing.
import {
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  copyFileSync,
  writeFileSync,
} from "node:fs";
import { basename, join, posix } from "node:path";
import tar from "tar-stream";
import { checkDigest, digestHex, DigestMismatchError, sha256 } from "./digest.ts";
import { detectCompression, entryPath, fileHead, layerDiffId, resolveInRoot, unpackLayer } from "./layer.ts";
import { hostPlatform, parseConfig, parseManifest, selectPlatform } from "./manifest.ts";
import { familiarReference, formatReference, parseReference, ReferenceError as BadReference } from "./reference.ts";
import type { Ingest, ImageStore } from "./store.ts";
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, MediaType, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from "./types.ts";

export interface ImportOptions {
  /** Repository for images the archive names only by tag, or not at all (default localhost/<file name>). */
  repository?: string;
  /** Platform to pick from multi-platform indexes (default: this host's). */
  platform?: Platform;
}

export interface ImportedImage {
  ref: string;
  digest: string;
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;

function defaultRepository(path: string): string {
  const b = basename(path)
    .replace(/\.(tar|tar\.gz|tgz|oci)$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[._-]+$/g, "");
  return `localhost/${b || "imported"}`;
}

/** Opens a file named inside an archive directory, refusing names that escape it. */
function archiveFile(dir: string, name: string, field: string): string {
  let rel: string;
  try {
    rel = entryPath(name);
  } catch {
    throw new Error(`${field}: ${JSON.stringify(name)} escapes the archive`);
  }
  const p = resolveInRoot(dir, rel);
  if (p === undefined || !lstatSync(p).isFile()) throw new Error(`${field}: ${JSON.stringify(name)} not found in the archive`);
  return p;
}

/** Imports a directory or a tar (plain or gzip) holding an OCI layout or a docker save archive. */
export async function importImages(store: ImageStore, path: string, opts: ImportOptions = {}): Promise<ImportedImage[]> {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new Error(`import: ${path} does not exist`);
    throw new Error(`import: ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (st.isDirectory()) return importDirectory(store, path, opts, path);
  const tmp = store.tempPath("import");
  try {
    try {
      await unpackLayer(path, tmp, { whiteouts: "none", ownership: false, devices: false, xattrs: false });
    } catch (e) {
      throw new Error(`import ${path}: not a readable tar archive (${(e as Error).message})`);
    }
    return await importDirectory(store, tmp, opts, path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function importDirectory(store: ImageStore, dir: string, opts: ImportOptions, origin: string): Promise<ImportedImage[]> {
  const repo = opts.repository ?? defaultRepository(origin);
  if (existsSync(join(dir, "index.json")) && existsSync(join(dir, "oci-layout"))) {
    return importOciLayout(store, dir, opts, repo, origin);
  }
  if (existsSync(join(dir, "manifest.json"))) return importDockerSave(store, dir, repo, origin);
  throw new Error(`import ${origin}: neither an OCI image layout (oci-layout + index.json) nor a docker save archive (manifest.json)`);
}

function ociBlob(dir: string, digest: string, field: string): string {
  checkDigest(digest, field);
  return archiveFile(dir, `blobs/sha256/${digestHex(digest)}`, field);
}

async function importOciLayout(store: ImageStore, dir: string, opts: ImportOptions, repo: string, origin: string): Promise<ImportedImage[]> {
  let layout: { imageLayoutVersion?: unknown };
  try {
    layout = JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8"));
  } catch (e) {
    throw new Error(`${origin}: oci-layout: ${(e as Error).message}`);
  }
  if (typeof layout.imageLayoutVersion !== "string") throw new Error(`${origin}: oci-layout.imageLayoutVersion: missing`);
  const parsed = parseManifest(readFileSync(join(dir, "index.json")), MediaType.ociIndex, "index.json");
  if (parsed.kind !== "index") throw new Error(`${origin}: index.json is not an image index`);
  const platform = opts.platform ?? hostPlatform();

  return store.ingest(async (tx) => {
    const pending: Array<{ names: string[]; digest: string; repoDigest: string }> = [];
    for (const [i, d] of parsed.index.manifests.entries()) {
      const field = `index.json manifests[${i}]`;
      const { digest } = await copyOciImage(tx, dir, d, platform, field);
      const ann = d.annotations ?? {};
      const names: string[] = [];
      const full = ann[ANNOTATION_CONTAINERD_NAME];
      const refName = ann[ANNOTATION_REF_NAME];
      if (full) names.push(full);
      else if (refName && TAG_RE.test(refName)) names.push(`${repo}:${refName}`);
      else if (refName) names.push(refName);
      else names.push(`${repo}:latest`);
      for (const n of names) {
        try {
          parseReference(n);
        } catch (e) {
          throw new Error(`${field}: annotations: ${(e as Error).message}`);
        }
      }
      pending.push({ names, digest, repoDigest: d.digest });
    }
    const out: ImportedImage[] = [];
    for (const p of pending) {
      for (const n of p.names) out.push({ ref: await store.tag(n, p.digest, { repoDigest: p.repoDigest }), digest: p.digest });
    }
    return out;
  });
}

/** Copies one image (following indexes to `platform`) from a layout into the store; returns the manifest digest. */
async function copyOciImage(tx: Ingest, dir: string, d: Descriptor, platform: Platform, field: string): Promise<{ digest: string }> {
  const bytes = readFileSync(ociBlob(dir, d.digest, `${field}.digest`));
  const actual = sha256(bytes);
  if (actual !== d.digest) throw new DigestMismatchError(d.digest, actual, "manifest");
  const p = parseManifest(bytes, d.mediaType, `manifest ${d.digest}`);
  if (p.kind === "index") {
    const chosen = selectPlatform(p.index, platform, `index ${d.digest}`);
    return copyOciImage(tx, dir, chosen, platform, `index ${d.digest}`);
  }
  const m = p.manifest;
  await tx.putBlobStream(createReadStream(ociBlob(dir, m.config.digest, `manifest ${d.digest} config`)), m.config.digest);
  parseConfig(tx.store.readBlob(m.config.digest), `config ${m.config.digest}`);
  for (const [i, l] of m.layers.entries()) {
    if (tx.store.hasBlob(l.digest)) continue;
    await tx.putBlobStream(createReadStream(ociBlob(dir, l.digest, `manifest ${d.digest} layers[${i}]`)), l.digest);
  }
  await tx.putBlob(bytes, d.digest);
  return { digest: d.digest };
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function importDockerSave(store: ImageStore, dir: string, repo: string, origin: string): Promise<ImportedImage[]> {
  let entries: DockerSaveEntry[];
  try {
    entries = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  } catch (e) {
    throw new Error(`${origin}: manifest.json: ${(e as Error).message}`);
  }
  if (!Array.isArray(entries)) throw new Error(`${origin}: manifest.json: must be an array`);
  return store.ingest(async (tx) => {
    const pending: Array<{ names: string[]; digest: string }> = [];
    for (const [i, e] of entries.entries()) {
      const field = `manifest.json[${i}]`;
      if (typeof e !== "object" || e === null) throw new Error(`${field}: must be an object`);
      if (typeof e.Config !== "string") throw new Error(`${field}.Config: must be a string`);
      if (!Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== "string")) throw new Error(`${field}.Layers: must be an array of strings`);
      const configBytes = readFileSync(archiveFile(dir, e.Config, `${field}.Config`));
      const configDigest = sha256(configBytes);
      const named = /([a-f0-9]{64})(\.json)?$/.exec(e.Config);
      if (named && `sha256:${named[1]}` !== configDigest) throw new DigestMismatchError(`sha256:${named[1]}`, configDigest, "image config");
      const config = parseConfig(configBytes, `${field}.Config`);
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== e.Layers.length) {
        throw new Error(`${field}.Layers: ${e.Layers.length} layers but the config lists ${diffIds.length} diff_ids`);
      }
      const layers: Descriptor[] = [];
      for (const [j, name] of e.Layers.entries()) {
        const file = archiveFile(dir, name, `${field}.Layers[${j}]`);
        const comp = detectCompression(fileHead(file));
        let r: { digest: string; size: number };
        if (comp === "none") {
          r = await tx.putBlobStream(createReadStream(file), diffIds[j]!);
        } else {
          const diff = await layerDiffId(file);
          if (diff !== diffIds[j]) throw new DigestMismatchError(diffIds[j]!, diff, "layer diff_id");
          r = await tx.putBlobStream(createReadStream(file));
        }
        layers.push({
          mediaType: comp === "gzip" ? MediaType.ociLayerGzip : comp === "zstd" ? MediaType.ociLayerZstd : MediaType.ociLayer,
          digest: r.digest,
          size: r.size,
        });
      }
      await tx.putBlob(configBytes, configDigest);
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
        layers,
      };
      const mbytes = Buffer.from(JSON.stringify(manifest));
      const { digest } = await tx.putBlob(mbytes, sha256(mbytes));
      const names = (e.RepoTags ?? []).filter((t) => typeof t === "string");
      for (const n of names) {
        try {
          parseReference(n);
        } catch (err) {
          throw new Error(`${field}.RepoTags: ${(err as Error).message}`);
        }
      }
      pending.push({ names: names.length > 0 ? names : [`${repo}:latest`], digest });
    }
    const out: ImportedImage[] = [];
    for (const p of pending) for (const n of p.names) out.push({ ref: await store.tag(n, p.digest), digest: p.digest });
    return out;
  });
}

// ---- export ---------------------------------------------------------------

export interface ExportOptions {
  /** "oci-dir" writes a directory, "oci-archive" a tar file (default: "oci-archive" when dest ends in .tar). */
  format?: "oci-dir" | "oci-archive";
}

/** Writes images to an OCI image layout directory or tar archive. */
export async function exportImages(store: ImageStore, refs: string[], dest: string, opts: ExportOptions = {}): Promise<void> {
  if (refs.length === 0) throw new Error("export: no images given");
  const format = opts.format ?? (dest.endsWith(".tar") ? "oci-archive" : "oci-dir");
  const images = refs.map((r) => store.image(r));
  if (existsSync(dest) && (format === "oci-archive" || readdirSync(dest).length > 0)) {
    throw new Error(`export: ${dest} already exists${format === "oci-dir" ? " and is not empty" : ""}`);
  }
  const dir = format === "oci-dir" ? dest : store.tempPath("export");
  let ok = false;
  try {
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }) + "\n");
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    const dockerManifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
    const copy = (d: string) => {
      const to = join(dir, "blobs", "sha256", digestHex(d));
      if (!existsSync(to)) copyFileSync(store.blobPath(d), to);
    };
    for (const [i, img] of images.entries()) {
      for (const d of [img.digest, img.configDigest, ...img.layers.map((l) => l.digest)]) copy(d);
      const annotations: Record<string, string> = {};
      let name: string | undefined;
      try {
        const r = parseReference(refs[i]!);
        if (r.digest === undefined && img.ref === formatReference(r)) name = img.ref;
      } catch (e) {
        if (!(e instanceof BadReference)) throw e; // not a name: an ID, which has none
      }
      if (name === undefined && !img.ref.includes("@")) name = img.ref;
      if (name !== undefined) {
        const r = parseReference(name);
        annotations[ANNOTATION_CONTAINERD_NAME] = formatReference(r);
        annotations[ANNOTATION_REF_NAME] = r.tag ?? "latest";
      }
      index.manifests.push({
        mediaType: img.record.mediaType,
        digest: img.digest,
        size: img.record.size,
        platform: { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) },
        ...(name !== undefined ? { annotations } : {}),
      });
      dockerManifest.push({
        Config: `blobs/sha256/${digestHex(img.configDigest)}`,
        RepoTags: name !== undefined ? [familiarReference(parseReference(name))] : [],
        Layers: img.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
      });
    }
    writeFileSync(join(dir, "index.json"), JSON.stringify(index) + "\n");
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(dockerManifest) + "\n");
    if (format === "oci-archive") await packDirectory(dir, dest);
    ok = true;
  } finally {
    if (format === "oci-archive") rmSync(dir, { recursive: true, force: true });
    else if (!ok) rmSync(dir, { recursive: true, force: true });
    if (!ok && format === "oci-archive") rmSync(dest, { force: true });
  }
}

/** Streams a directory tree into a tar file (sorted names, zero mtimes, root owner). */
export async function packDirectory(dir: string, out: string): Promise<void> {
  const pack = tar.pack();
  const sink = createWriteStream(out, { flags: "wx" });
  const finished = new Promise<void>((resolve, reject) => {
    sink.on("finish", () => resolve());
    sink.on("error", reject);
    pack.on("error", reject);
  });
  (pack as unknown as NodeJS.ReadableStream).pipe(sink);
  const walk = async (rel: string): Promise<void> => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel === "" ? name : posix.join(rel, name);
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) {
        await new Promise<void>((res, rej) =>
          pack.entry({ name: r + "/", type: "directory", mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 }, (e) => (e ? rej(e) : res())),
        );
        await walk(r);
      } else if (st.isFile()) {
        await new Promise<void>((res, rej) => {
          const w = pack.entry({ name: r, type: "file", size: st.size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, (e) => (e ? rej(e) : res()));
          createReadStream(join(dir, r)).pipe(w as unknown as NodeJS.WritableStream);
        });
      }
    }
  };
  await walk("");
  pack.finalize();
  await finished;
}

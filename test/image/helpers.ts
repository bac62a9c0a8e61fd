import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temp directory; call the returned cleanup in finally/afterAll. */
export function tempDir(prefix = "berth-image-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export const REPO_ROOT = join(import.meta.dir, "..", "..");

import { ImageStore } from "../../src/image/store.ts";
import { sha256 } from "../../src/image/digest.ts";
import { MediaType, type ImageConfig } from "../../src/image/types.ts";

/** Stores an image made of the given (uncompressed or gzip) layer tars and names it. */
export async function buildImage(
  store: ImageStore,
  ref: string,
  layers: Array<{ blob: Buffer; diffId: string; mediaType?: string }>,
  config: Partial<ImageConfig> = {},
): Promise<string> {
  const cfg: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    ...config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
  };
  const cfgBytes = Buffer.from(JSON.stringify(cfg));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(cfgBytes), size: cfgBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType ?? MediaType.ociLayer, digest: sha256(l.blob), size: l.blob.length })),
  };
  const mBytes = Buffer.from(JSON.stringify(manifest));
  return store.ingest(async (tx) => {
    for (const l of layers) await tx.putBlob(l.blob, sha256(l.blob));
    await tx.putBlob(cfgBytes, sha256(cfgBytes));
    await tx.putBlob(mBytes, sha256(mBytes));
    await store.tag(ref, sha256(mBytes));
    return sha256(mBytes);
  });
}

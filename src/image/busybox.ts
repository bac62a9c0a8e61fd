// The built-in image, made offline from the host's static busybox (Debian
// package busybox-static): one uncompressed layer, fixed timestamps and
// owners, entries in a fixed order, so the same busybox gives the same digest.
import { existsSync, readFileSync } from "node:fs";
import { sha256 } from "./digest.ts";
import { hostPlatform } from "./manifest.ts";
import type { ImageStore } from "./store.ts";
import type { TarEntry } from "./tarutil.ts";
import { MediaType, type ImageConfig, type ImageManifest } from "./types.ts";
import { DEFAULT_PATH } from "./config.ts";

export const BUSYBOX_REF = "berth/busybox:latest";
const EPOCH = new Date(0);
const CREATED = "1970-01-01T00:00:00Z";

export interface BuiltImage {
  ref: string;
  digest: string;
  configDigest: string;
}

/** Builds (or rebuilds, to the same digest) the busybox image and tags it `berth/busybox:latest`. */
export async function makeBusyboxImage(store: ImageStore, opts: { busybox?: string; ref?: string } = {}): Promise<BuiltImage> {
  const bin = opts.busybox ?? "/bin/busybox";
  if (!existsSync(bin)) throw new Error(`${bin} not found: install Debian's busybox-static to build the built-in image`);
  const list = Bun.spawnSync([bin, "--list"], { stdout: "pipe", stderr: "pipe" });
  if (list.exitCode !== 0) throw new Error(`${bin} --list failed: ${list.stderr.toString().trim()}`);
  const applets = [
    ...new Set(
      list.stdout
        .toString()
        .split("\n")
        .map((s) => s.trim()),
    ),
  ]
    .filter((a) => /^[A-Za-z0-9_.+\[\]-]+$/.test(a) && a !== "busybox" && a !== "." && a !== "..")
    .sort();

  const dir = (name: string, mode = 0o755): TarEntry => ({ header: { name: `${name}/`, type: "directory", mode, mtime: EPOCH, uid: 0, gid: 0 } });
  const file = (name: string, data: Uint8Array | string, mode = 0o644): TarEntry => ({
    header: { name, type: "file", mode, mtime: EPOCH, uid: 0, gid: 0 },
    data,
  });
  const entries: TarEntry[] = [
    dir("bin"),
    file("bin/busybox", readFileSync(bin), 0o755),
    ...applets.map(
      (a): TarEntry => ({
        header: { name: `bin/${a}`, type: "symlink", linkname: "busybox", mode: 0o777, mtime: EPOCH, uid: 0, gid: 0 },
      }),
    ),
    dir("dev"),
    dir("etc"),
    file("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
    dir("proc"),
    dir("root", 0o700),
    dir("sys"),
    dir("tmp", 0o1777),
  ];
  const { packTar } = await import("./tarutil.ts");
  const layer = await packTar(entries);
  const diffId = sha256(layer);
  const platform = hostPlatform();
  const config: ImageConfig = {
    created: CREATED,
    architecture: platform.architecture,
    os: "linux",
    config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ["/bin/sh"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: CREATED, created_by: "berth: built-in busybox image" }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: [{ mediaType: MediaType.ociLayer, digest: diffId, size: layer.length }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return store.ingest(async (tx) => {
    await tx.putBlob(layer, diffId);
    await tx.putBlob(configBytes, configDigest);
    const { digest } = await tx.putBlob(manifestBytes, sha256(manifestBytes));
    const ref = await store.tag(opts.ref ?? BUSYBOX_REF, digest);
    return { ref, digest, configDigest };
  });
}

// berth's image layer: content store, import/export, registry client, layer
// unpacking, overlay snapshots, image config -> process, built-in image.
export { MediaType, ANNOTATION_REF_NAME, ANNOTATION_CONTAINERD_NAME, isIndexType, isManifestType } from "./types.ts";
export type { Descriptor, ImageConfig, ImageConfigConfig, ImageIndex, ImageManifest, Platform } from "./types.ts";
export { sha256, chainIds, checkDigest, DigestMismatchError, DIGEST_RE } from "./digest.ts";
export {
  parseReference,
  formatReference,
  familiarReference,
  normalizeReference,
  repositoryName,
  ReferenceError,
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
} from "./reference.ts";
export type { Reference } from "./reference.ts";
export { parseManifest, parseConfig, selectPlatform, hostPlatform, parsePlatform, formatPlatform } from "./manifest.ts";
export type { ParsedManifest } from "./manifest.ts";
export { ImageStore, Ingest, DEFAULT_ROOT } from "./store.ts";
export type { Image, ImageRecord, GcResult } from "./store.ts";
export { importImages, exportImages, packDirectory } from "./archive.ts";
export type { ImportOptions, ImportedImage, ExportOptions } from "./archive.ts";
export { unpackLayer, detectCompression, layerDiffId, LayerError } from "./layer.ts";
export { resolveInRoot } from "./rootpath.ts";
export type { UnpackOptions, UnpackResult, WhiteoutMode, Compression } from "./layer.ts";
export { Snapshotter, ensureLayers, layerDir, checkContainerId, mountsUnder, isMounted } from "./snapshot.ts";
export type { PreparedRootfs, LayerProgress } from "./snapshot.ts";
export { imageToProcess, resolveUser, normalizeSignal, parsePasswd, parseGroup, userNames, groupId, DEFAULT_PATH } from "./config.ts";
export type { ProcessOverrides, ImageProcess, ProcessUser } from "./config.ts";
export { makeBusyboxImage, BUSYBOX_REF } from "./busybox.ts";
export type { BuiltImage } from "./busybox.ts";
export { packTar } from "./tarutil.ts";
export type { TarEntry, TarHeader } from "./tarutil.ts";
export { acquireLock, withLock, writeFileAtomic } from "../linux/lock.ts";
export { pullImage, RegistryClient, RegistryError, findCredentials, parseChallenge, MANIFEST_ACCEPT } from "./registry.ts";
export type { RegistryOptions, PullProgress, PullResult, Credentials } from "./registry.ts";

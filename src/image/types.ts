// OCI image-spec and Docker image manifest v2 schema 2 types (only the fields
// berth reads or writes), and media type constants.

export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerList];
export const MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];

export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
export const ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name";

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageConfigConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker's HEALTHCHECK: Test ["CMD", ...] | ["CMD-SHELL", cmd] | ["NONE"]; durations in nanoseconds. */
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ImageConfigConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string; author?: string }>;
}

export function isIndexType(mt: string | undefined): boolean {
  return mt !== undefined && INDEX_TYPES.includes(mt);
}
export function isManifestType(mt: string | undefined): boolean {
  return mt !== undefined && MANIFEST_TYPES.includes(mt);
}

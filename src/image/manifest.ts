// Parsing and validation of manifests, indexes and configs (errors name the
// field), and platform selection from an index.
import { checkDigest } from "./digest.ts";
import { isIndexType, isManifestType, MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from "./types.ts";

function fail(field: string, why: string): never {
  throw new Error(`${field}: ${why}`);
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, "must be an object");
  return v as Record<string, unknown>;
}

function parseJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${(e as Error).message})`);
  }
}

function checkDescriptor(v: unknown, field: string): Descriptor {
  const d = obj(v, field);
  if (typeof d.mediaType !== "string" || d.mediaType.length === 0) fail(`${field}.mediaType`, "must be a non-empty string");
  checkDigest(d.digest, `${field}.digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) fail(`${field}.size`, "must be a non-negative integer");
  if (d.platform !== undefined) {
    const p = obj(d.platform, `${field}.platform`);
    if (typeof p.os !== "string") fail(`${field}.platform.os`, "must be a string");
    if (typeof p.architecture !== "string") fail(`${field}.platform.architecture`, "must be a string");
  }
  return d as unknown as Descriptor;
}

export type ParsedManifest = { kind: "index"; mediaType: string; index: ImageIndex } | { kind: "manifest"; mediaType: string; manifest: ImageManifest };

/**
 * Parses a manifest or index. `contentType` (from a registry or descriptor)
 * is used when the document has no mediaType field.
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string, what = "manifest"): ParsedManifest {
  const doc = obj(parseJson(bytes, what), what);
  if (doc.schemaVersion !== 2) {
    fail(`${what}.schemaVersion`, `unsupported ${JSON.stringify(doc.schemaVersion)} (only schema 2 manifests are supported)`);
  }
  let mt = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  if (mt === undefined && contentType !== undefined) {
    const ct = contentType.split(";")[0]!.trim();
    if (isIndexType(ct) || isManifestType(ct)) mt = ct;
  }
  if (mt === undefined) mt = Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  if (isIndexType(mt)) {
    if (!Array.isArray(doc.manifests)) fail(`${what}.manifests`, "must be an array");
    doc.manifests.forEach((m, i) => checkDescriptor(m, `${what}.manifests[${i}]`));
    return { kind: "index", mediaType: mt, index: doc as unknown as ImageIndex };
  }
  if (!isManifestType(mt)) fail(`${what}.mediaType`, `unsupported media type ${JSON.stringify(mt)}`);
  checkDescriptor(doc.config, `${what}.config`);
  if (!Array.isArray(doc.layers)) fail(`${what}.layers`, "must be an array");
  doc.layers.forEach((l, i) => checkDescriptor(l, `${what}.layers[${i}]`));
  return { kind: "manifest", mediaType: mt, manifest: doc as unknown as ImageManifest };
}

export function parseConfig(bytes: Uint8Array | string, what = "image config"): ImageConfig {
  const c = obj(parseJson(bytes, what), what);
  const rootfs = obj(c.rootfs, `${what}.rootfs`);
  if (rootfs.type !== "layers") fail(`${what}.rootfs.type`, `must be "layers"`);
  if (!Array.isArray(rootfs.diff_ids)) fail(`${what}.rootfs.diff_ids`, "must be an array");
  rootfs.diff_ids.forEach((d, i) => checkDigest(d, `${what}.rootfs.diff_ids[${i}]`));
  if (c.config !== undefined && c.config !== null) {
    const cc = obj(c.config, `${what}.config`);
    for (const k of ["Env", "Entrypoint", "Cmd"] as const) {
      const v = cc[k];
      if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((s) => typeof s !== "string"))) {
        fail(`${what}.config.${k}`, "must be an array of strings");
      }
    }
    for (const k of ["User", "WorkingDir", "StopSignal"] as const) {
      if (cc[k] !== undefined && typeof cc[k] !== "string") fail(`${what}.config.${k}`, "must be a string");
    }
  }
  return c as unknown as ImageConfig;
}

export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return { os: "linux", architecture: arch[process.arch] ?? "amd64" };
}

function normVariant(arch: string, v: string | undefined): string {
  if (arch === "arm64" && (v === undefined || v === "" || v === "v8")) return "v8";
  if (arch === "arm" && (v === undefined || v === "")) return "v7";
  return v ?? "";
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** "linux/arm64/v8" -> Platform */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0)) {
    throw new Error(`platform ${JSON.stringify(s)}: want OS/ARCH[/VARIANT]`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) p.variant = parts[2];
  return p;
}

/**
 * Picks the manifest for `want` from an index: same OS and architecture; the
 * variant must match when asked for (arm64 "" == "v8"), else the closest.
 */
export function selectPlatform(index: ImageIndex, want: Platform, what = "index"): Descriptor {
  const candidates = index.manifests.filter(
    (m) => isManifestType(m.mediaType) && m.platform !== undefined && m.platform.os === want.os && m.platform.architecture === want.architecture,
  );
  const wantV = normVariant(want.architecture, want.variant);
  const exact = candidates.find((m) => normVariant(m.platform!.architecture, m.platform!.variant) === wantV);
  if (exact) return exact;
  if (want.variant === undefined && candidates.length > 0) {
    return candidates[0]!;
  }
  const noPlatform = index.manifests.filter((m) => isManifestType(m.mediaType) && m.platform === undefined);
  if (candidates.length === 0 && noPlatform.length === 1) return noPlatform[0]!;
  const have = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
  throw new Error(`${what}: no manifest for platform ${formatPlatform(want)} (available: ${have.join(", ") || "none"})`);
}

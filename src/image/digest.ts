import { createHash } from "node:crypto";

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export class DigestMismatchError extends Error {
  constructor(
    readonly digest: string,
    readonly actual: string,
    what = "blob",
  ) {
    super(`digest mismatch for ${what} ${digest}: expected ${digest}, got ${actual}`);
    this.name = "DigestMismatchError";
  }
}

export function sha256(data: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(data).digest("hex");
}

/** Throws a clear error unless `d` is a well-formed sha256 digest. */
export function checkDigest(d: unknown, field = "digest"): string {
  if (typeof d !== "string" || !DIGEST_RE.test(d)) {
    throw new Error(`${field}: invalid digest ${JSON.stringify(d)} (want sha256:<64 hex>)`);
  }
  return d;
}

export function digestHex(d: string): string {
  return checkDigest(d).slice("sha256:".length);
}

/** ChainID per the image-spec: ChainID(L0)=DiffID(L0); ChainID(L0..n)=sha256(ChainID(n-1) + " " + DiffID(n)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    checkDigest(d, "rootfs.diff_ids[]");
    out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  }
  return out;
}

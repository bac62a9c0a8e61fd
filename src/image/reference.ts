// Image references, parsed the way Docker and Podman do:
//   busybox                 -> docker.io/library/busybox:latest
//   me/app:1.0              -> docker.io/me/app:1.0
//   localhost:5000/x        -> localhost:5000/x:latest
//   quay.io/a/b@sha256:...  -> by digest
import { DIGEST_RE } from "./digest.ts";

export const DEFAULT_DOMAIN = "docker.io";
export const DEFAULT_TAG = "latest";

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;

export interface Reference {
  /** Registry host (and port): "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path: "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

// biome-ignore lint/suspicious/noShadowRestrictedNames: the module's own error type, always imported by name
export class ReferenceError extends Error {
  constructor(ref: string, why: string) {
    super(`invalid image reference ${JSON.stringify(ref)}: ${why}`);
    this.name = "ReferenceError";
  }
}

export function parseReference(input: string): Reference {
  if (typeof input !== "string" || input.length === 0) throw new ReferenceError(String(input), "empty");
  if (input.length > 4096) throw new ReferenceError(input.slice(0, 40) + "...", "too long");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new ReferenceError(input, `bad digest ${JSON.stringify(digest)} (want sha256:<64 lowercase hex>)`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError(input, `bad tag ${JSON.stringify(tag)}`);
  }
  if (rest.length === 0) throw new ReferenceError(input, "no repository name");
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const first = rest.indexOf("/");
  if (first >= 0) {
    const head = rest.slice(0, first);
    if (head.includes(".") || head.includes(":") || head === "localhost" || head !== head.toLowerCase()) {
      domain = head;
      path = rest.slice(first + 1);
    }
  }
  if (!DOMAIN.test(domain)) throw new ReferenceError(input, `bad registry host ${JSON.stringify(domain)}`);
  if (domain === "index.docker.io" || domain === "registry-1.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
  for (const c of path.split("/")) {
    if (c !== c.toLowerCase()) throw new ReferenceError(input, "repository name must be lowercase");
    if (!COMPONENT.test(c)) throw new ReferenceError(input, `bad repository path component ${JSON.stringify(c)}`);
  }
  if (domain.length + 1 + path.length > 255) throw new ReferenceError(input, "repository name longer than 255 characters");
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** "docker.io/library/busybox" */
export function repositoryName(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** Canonical string: name@digest when a digest is given, else name:tag. */
export function formatReference(r: Reference): string {
  if (r.digest !== undefined) return `${repositoryName(r)}@${r.digest}`;
  return `${repositoryName(r)}:${r.tag ?? DEFAULT_TAG}`;
}

/** Short form users know: "busybox:latest", "me/app:1", "quay.io/a/b:c". */
export function familiarReference(r: Reference): string {
  let name = repositoryName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith("library/") ? r.path.slice("library/".length) : r.path;
  }
  return r.digest !== undefined ? `${name}@${r.digest}` : `${name}:${r.tag ?? DEFAULT_TAG}`;
}

/** Normalizes a reference string to its canonical form. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

// A pull client for OCI distribution-spec registries (Docker Registry HTTP API v2):
// manifests (OCI and Docker schema 2, indexes and manifest lists with platform
// selection), verified blob downloads (bounded parallelism, retries with
// backoff, blobs already present skipped), Bearer token and Basic auth with
// credentials from the usual auth files, HTTPS or plain HTTP.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkDigest, DigestMismatchError, sha256 } from "./digest.ts";
import { hostPlatform, parseConfig, parseManifest, selectPlatform, type ParsedManifest } from "./manifest.ts";
import { formatReference, parseReference, type Reference } from "./reference.ts";
import type { ImageStore, Ingest } from "./store.ts";
import { MediaType, type Platform } from "./types.ts";

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest].join(", ");

export interface Credentials {
  username: string;
  password: string;
}

export interface PullProgress {
  kind: "manifest" | "config" | "layer";
  digest: string;
  /** Bytes expected (from the descriptor; 0 when unknown). */
  total: number;
  /** Bytes received so far. */
  done: number;
  status: "waiting" | "downloading" | "exists" | "retrying" | "done";
}

export interface RegistryOptions {
  /** Verify TLS certificates (default true). When false, HTTPS is tried unverified, then plain HTTP. */
  tlsVerify?: boolean;
  /** Registries (host[:port]) treated as tlsVerify=false. */
  insecureRegistries?: string[];
  /** Use plain HTTP: true for every registry, "localhost" for localhost/127.0.0.1/[::1] only. */
  plainHttp?: boolean | "localhost";
  /** Credentials to use instead of an auth file. */
  credentials?: Credentials;
  /** Auth file to read instead of the usual ones. */
  authFile?: string;
  /** Environment for finding auth files (default process.env). */
  env?: Record<string, string | undefined>;
  platform?: Platform;
  /** Parallel blob downloads (default 3). */
  concurrency?: number;
  /** Attempts per request on network errors and 5xx (default 4). */
  attempts?: number;
  /** First backoff delay in ms, doubled each retry (default 250). */
  retryDelayMs?: number;
  /** Per-request timeout for manifests and tokens, ms (default 30000). */
  timeoutMs?: number;
  onProgress?: (p: PullProgress) => void;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

// ---- credentials ----------------------------------------------------------

function authFiles(env: Record<string, string | undefined>): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  if (env.DOCKER_CONFIG) files.push(join(env.DOCKER_CONFIG, "config.json"));
  files.push(join(env.HOME ?? homedir(), ".docker", "config.json"));
  return files;
}

function normalizeAuthKey(key: string): string {
  let k = key.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
  k = k.replace(/\/v[12]$/, "");
  if (k === "index.docker.io" || k === "registry-1.docker.io") k = "docker.io";
  return k;
}

/**
 * Credentials for a repository from an auth file ({"auths": {"host": {"auth":
 * base64("user:pass")}}}); the most specific key wins (host/ns/repo before host).
 */
export function findCredentials(
  domain: string,
  path: string,
  opts: { authFile?: string; env?: Record<string, string | undefined> } = {},
): Credentials | undefined {
  const files = opts.authFile !== undefined ? [opts.authFile] : authFiles(opts.env ?? process.env);
  const wanted: string[] = [];
  const parts = path.split("/");
  for (let i = parts.length; i >= 1; i--) wanted.push(`${domain}/${parts.slice(0, i).join("/")}`);
  wanted.push(domain);
  for (const file of files) {
    if (!existsSync(file)) continue;
    let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
    try {
      doc = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new RegistryError(`auth file ${file}: ${(e as Error).message}`);
    }
    const auths = doc.auths ?? {};
    const byKey = new Map<string, { auth?: string; username?: string; password?: string }>();
    for (const [k, v] of Object.entries(auths)) byKey.set(normalizeAuthKey(k), v);
    for (const w of wanted) {
      const entry = byKey.get(w);
      if (!entry) continue;
      if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
      if (typeof entry.auth === "string" && entry.auth !== "") {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const i = decoded.indexOf(":");
        if (i < 0) throw new RegistryError(`auth file ${file}: auths["${w}"].auth is not base64("user:password")`);
        return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
      }
    }
  }
  return undefined;
}

// ---- HTTP -------------------------------------------------------------------

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  return { scheme: m[1]!.toLowerCase(), params };
}

function isLocalhost(domain: string): boolean {
  const host = domain.replace(/:\d+$/, "");
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host.startsWith("127.");
}

export class RegistryClient {
  readonly domain: string;
  private readonly host: string;
  private scheme: "https" | "http" | undefined;
  private readonly verify: boolean;
  private authHeader: string | undefined;
  private readonly creds: Credentials | undefined;
  private credsLoaded = false;
  private credsFromFile: Credentials | undefined;

  constructor(
    domain: string,
    readonly opts: RegistryOptions = {},
  ) {
    this.domain = domain;
    this.host = domain === "docker.io" ? "registry-1.docker.io" : domain;
    const insecure = opts.tlsVerify === false || (opts.insecureRegistries ?? []).includes(domain);
    this.verify = !insecure;
    if (opts.plainHttp === true || (opts.plainHttp === "localhost" && isLocalhost(domain))) this.scheme = "http";
    else if (!insecure) this.scheme = "https";
    this.creds = opts.credentials;
  }

  private credentials(path: string): Credentials | undefined {
    if (this.creds) return this.creds;
    if (!this.credsLoaded) {
      this.credsFromFile = findCredentials(this.domain, path, { authFile: this.opts.authFile, env: this.opts.env });
      this.credsLoaded = true;
    }
    return this.credsFromFile;
  }

  private async sleepBackoff(attempt: number): Promise<void> {
    await Bun.sleep((this.opts.retryDelayMs ?? 250) * 2 ** attempt);
  }

  /** One request with scheme fallback (insecure registries) and retries on network errors and 5xx. */
  private async send(url: string, init: RequestInit & { timeout?: boolean }, onRetry?: () => void): Promise<Response> {
    const attempts = Math.max(1, this.opts.attempts ?? 4);
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) {
        onRetry?.();
        await this.sleepBackoff(i - 1);
      }
      const schemes: Array<"https" | "http"> = this.scheme ? [this.scheme] : ["https", "http"];
      for (const scheme of schemes) {
        const full = url.startsWith("/") ? `${scheme}://${this.host}${url}` : url;
        try {
          const res = await fetch(full, {
            ...init,
            ...(init.timeout ? { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) } : {}),
            ...(full.startsWith("https:") && !this.verify ? { tls: { rejectUnauthorized: false } } : {}),
          } as RequestInit);
          if (url.startsWith("/")) this.scheme = scheme;
          if (res.status >= 500 && i < attempts - 1) {
            lastErr = new RegistryError(`${this.domain}: HTTP ${res.status} ${res.statusText}`, res.status);
            await res.body?.cancel().catch(() => {});
            break;
          }
          return res;
        } catch (e) {
          lastErr = e;
          if (!url.startsWith("/")) break;
        }
      }
    }
    if (lastErr instanceof RegistryError) throw lastErr;
    throw new RegistryError(`registry ${this.domain} unreachable: ${(lastErr as Error)?.message ?? lastErr}`);
  }

  /** Fetches a token or sets Basic auth after a 401; throws when it cannot authenticate. */
  private async authenticate(res: Response, path: string): Promise<void> {
    const header = res.headers.get("www-authenticate");
    const ch = header ? parseChallenge(header) : undefined;
    const creds = this.credentials(path);
    const basic = creds ? "Basic " + Buffer.from(`${creds.username}:${creds.password}`).toString("base64") : undefined;
    if (ch?.scheme === "bearer") {
      const realm = ch.params.realm;
      if (!realm) throw new RegistryError(`${this.domain}: Bearer challenge without a realm`);
      const u = new URL(realm);
      if (ch.params.service) u.searchParams.set("service", ch.params.service);
      u.searchParams.set("scope", ch.params.scope ?? `repository:${path}:pull`);
      const tr = await this.send(u.toString(), { headers: basic ? { Authorization: basic } : {}, timeout: true });
      if (tr.status === 401 || tr.status === 403) {
        throw new RegistryError(
          `authentication refused by ${this.domain} for ${path}: the token server said HTTP ${tr.status}${creds ? " (check the credentials)" : " (no credentials given)"}`,
          tr.status,
        );
      }
      if (!tr.ok) throw new RegistryError(`${this.domain}: token request failed: HTTP ${tr.status}`, tr.status);
      const body = (await tr.json()) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (!token) throw new RegistryError(`${this.domain}: token response has no token`);
      this.authHeader = `Bearer ${token}`;
      return;
    }
    if (ch?.scheme === "basic" || ch === undefined) {
      if (!basic)
        throw new RegistryError(`authentication required by ${this.domain} for ${path}: no credentials (give credentials or log in to an auth file)`, 401);
      if (this.authHeader === basic) throw new RegistryError(`authentication refused by ${this.domain} for ${path}: wrong user name or password`, 401);
      this.authHeader = basic;
      return;
    }
    throw new RegistryError(`${this.domain}: unsupported authentication scheme ${ch.scheme}`);
  }

  /** GET with auth: on 401, authenticates once and retries. */
  private async get(
    path: string,
    urlPath: string,
    headers: Record<string, string>,
    opts: { timeout?: boolean; redirect?: "follow" | "manual" } = {},
    onRetry?: () => void,
  ): Promise<Response> {
    let authTried = false;
    for (;;) {
      const h: Record<string, string> = { ...headers };
      if (this.authHeader) h.Authorization = this.authHeader;
      const res = await this.send(urlPath, { headers: h, timeout: opts.timeout, redirect: opts.redirect ?? "follow" }, onRetry);
      if (res.status === 401 && !authTried) {
        authTried = true;
        await res.body?.cancel().catch(() => {});
        await this.authenticate(res, path);
        continue;
      }
      if (res.status === 401 || (res.status === 403 && this.authHeader)) {
        await res.body?.cancel().catch(() => {});
        throw new RegistryError(
          `authentication refused by ${this.domain} for ${path}: HTTP ${res.status}${this.authHeader?.startsWith("Basic") ? " (wrong user name or password)" : ""}`,
          res.status,
        );
      }
      return res;
    }
  }

  /** Fetches a manifest or index by tag or digest; verifies its digest. */
  async manifest(
    path: string,
    reference: string,
    displayRef?: string,
  ): Promise<{ bytes: Buffer; digest: string; parsed: ParsedManifest; contentType: string }> {
    const res = await this.get(path, `/v2/${path}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, { timeout: true });
    const shown = displayRef ?? `${this.domain}/${path}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw new RegistryError(`manifest unknown: ${shown}`, 404);
    }
    if (!res.ok) throw new RegistryError(`${shown}: fetching the manifest failed: HTTP ${res.status} ${await res.text().catch(() => "")}`.trim(), res.status);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > 4 * 1024 * 1024) throw new RegistryError(`${shown}: manifest larger than 4 MiB`);
    const digest = sha256(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) throw new DigestMismatchError(reference, digest, "manifest");
    const claimed = res.headers.get("docker-content-digest");
    if (!reference.startsWith("sha256:") && claimed && claimed.startsWith("sha256:") && claimed !== digest) {
      throw new DigestMismatchError(claimed, digest, "manifest");
    }
    const contentType = res.headers.get("content-type") ?? "";
    return { bytes, digest, parsed: parseManifest(bytes, contentType, `manifest ${shown}`), contentType };
  }

  /** Streams a blob into the store through `tx`, verifying its digest. */
  async fetchBlob(tx: Ingest, path: string, digest: string, onBytes?: (n: number) => void, onRetry?: () => void): Promise<void> {
    checkDigest(digest);
    const attempts = Math.max(1, this.opts.attempts ?? 4);
    for (let i = 0; ; i++) {
      let res = await this.get(path, `/v2/${path}/blobs/${digest}`, {}, { redirect: "manual" }, onRetry);
      for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get("location"); hops++) {
        if (hops > 5) throw new RegistryError(`${this.domain}: too many redirects for blob ${digest}`);
        const loc = new URL(res.headers.get("location")!, res.url || `${this.scheme ?? "https"}://${this.host}/`).toString();
        await res.body?.cancel().catch(() => {});
        res = await this.send(loc, { redirect: "manual" }, onRetry); // no credentials to other hosts
      }
      if (res.status === 404) throw new RegistryError(`blob unknown: ${this.domain}/${path}@${digest}`, 404);
      if (!res.ok || !res.body) throw new RegistryError(`${this.domain}/${path}: fetching blob ${digest} failed: HTTP ${res.status}`, res.status);
      try {
        await tx.putBlobStream(res.body as unknown as AsyncIterable<Uint8Array>, digest, onBytes);
        return;
      } catch (e) {
        if (e instanceof DigestMismatchError || i >= attempts - 1) throw e;
        // the connection broke mid-blob: try again from the start
        onRetry?.();
        await this.sleepBackoff(i);
      }
    }
  }
}

export interface PullResult {
  /** Canonical name the image is stored under. */
  ref: string;
  /** The image manifest's digest. */
  digest: string;
  /** The digest the registry knows the reference by (an index's, for multi-platform images). */
  repoDigest: string;
  configDigest: string;
  /** Blobs downloaded, and blobs skipped because the store had them. */
  downloaded: string[];
  skipped: string[];
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

/**
 * Pulls `ref` into the store and names it. Blobs the store has are not
 * downloaded again. On any error nothing new stays in the store.
 */
export async function pullImage(store: ImageStore, ref: string, opts: RegistryOptions = {}): Promise<PullResult> {
  const r: Reference = parseReference(ref);
  const name = formatReference(r);
  const client = new RegistryClient(r.domain, opts);
  const progress = opts.onProgress;
  const platform = opts.platform ?? hostPlatform();
  return store.ingest(async (tx) => {
    const top = await client.manifest(r.path, r.digest ?? r.tag!, name);
    let chosen = top;
    if (top.parsed.kind === "index") {
      const d = selectPlatform(top.parsed.index, platform, name);
      chosen = await client.manifest(r.path, d.digest, `${name} (${d.digest})`);
      if (chosen.parsed.kind !== "manifest") throw new RegistryError(`${name}: ${d.digest} is a nested index`);
    }
    if (chosen.parsed.kind !== "manifest") throw new RegistryError(`${name}: not an image manifest`);
    const m = chosen.parsed.manifest;
    progress?.({ kind: "manifest", digest: chosen.digest, total: chosen.bytes.length, done: chosen.bytes.length, status: "done" });

    const downloaded: string[] = [];
    const skipped: string[] = [];
    const blobs = [
      { kind: "config" as const, digest: m.config.digest, size: m.config.size },
      ...m.layers.map((l) => ({ kind: "layer" as const, digest: l.digest, size: l.size })),
    ];
    const seen = new Set<string>();
    const todo = blobs.filter((b) => (seen.has(b.digest) ? false : (seen.add(b.digest), true)));
    for (const b of todo) {
      progress?.({ kind: b.kind, digest: b.digest, total: b.size, done: 0, status: store.hasBlob(b.digest) ? "exists" : "waiting" });
    }
    await pool(todo, opts.concurrency ?? 3, async (b) => {
      if (store.hasBlob(b.digest)) {
        skipped.push(b.digest);
        return;
      }
      let done = 0;
      progress?.({ kind: b.kind, digest: b.digest, total: b.size, done, status: "downloading" });
      await client.fetchBlob(
        tx,
        r.path,
        b.digest,
        (n) => {
          done += n;
          progress?.({ kind: b.kind, digest: b.digest, total: b.size, done, status: "downloading" });
        },
        () => {
          done = 0;
          progress?.({ kind: b.kind, digest: b.digest, total: b.size, done, status: "retrying" });
        },
      );
      downloaded.push(b.digest);
      progress?.({ kind: b.kind, digest: b.digest, total: b.size, done, status: "done" });
    });
    const config = parseConfig(store.readBlob(m.config.digest), `${name}: config ${m.config.digest}`);
    if (config.rootfs.diff_ids.length !== m.layers.length) {
      throw new RegistryError(`${name}: config lists ${config.rootfs.diff_ids.length} diff_ids but the manifest ${m.layers.length} layers`);
    }
    await tx.putBlob(chosen.bytes, chosen.digest);
    const stored = await store.tag(name, chosen.digest, { repoDigest: top.digest });
    return { ref: stored, digest: chosen.digest, repoDigest: top.digest, configDigest: m.config.digest, downloaded, skipped };
  });
}

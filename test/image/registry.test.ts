import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ImageStore } from "../../src/image/store.ts";
import { makeBusyboxImage } from "../../src/image/busybox.ts";
import { exportImages } from "../../src/image/archive.ts";
import { pullImage, findCredentials, parseChallenge, type PullProgress } from "../../src/image/registry.ts";
import { digestHex, sha256 } from "../../src/image/digest.ts";
import { packTar } from "../../src/image/tarutil.ts";
import { MediaType } from "../../src/image/types.ts";
import { startRegistry, skopeoPush, type TestRegistry } from "./fixtures/registry.ts";
import { buildImage, removeDir, tempDir } from "./helpers.ts";

const USER = "berthuser",
  PASS = "s3cret-pass";
let work: string;
let open: TestRegistry | undefined;
let authed: TestRegistry | undefined;
let proxy: ReturnType<typeof Bun.serve> | undefined;
let busyboxDigest = "";
let corruptLayer = "";
let multiIndex = "";
const dirs: string[] = [];

function fresh(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
async function remoteManifest(host: string, repo: string, tag: string): Promise<{ digest: string; manifest: { layers: Array<{ digest: string }> } }> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    headers: { Accept: [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifest].join(", ") },
  });
  const bytes = Buffer.from(await r.arrayBuffer());
  return { digest: sha256(bytes), manifest: JSON.parse(bytes.toString()) };
}
function blobCount(store: ImageStore): number {
  return existsSync(store.blobsDir) ? readdirSync(store.blobsDir).length : 0;
}

/** An OCI layout holding an index with an amd64 and an arm64/v8 manifest. */
function multiPlatformLayout(src: string, dest: string): string {
  mkdirSync(join(dest, "blobs", "sha256"), { recursive: true });
  for (const f of readdirSync(join(src, "blobs", "sha256"))) copyFileSync(join(src, "blobs", "sha256", f), join(dest, "blobs", "sha256", f));
  const put = (b: Buffer) => {
    writeFileSync(join(dest, "blobs", "sha256", digestHex(sha256(b))), b);
    return sha256(b);
  };
  const amdDesc = JSON.parse(readFileSync(join(src, "index.json"), "utf8")).manifests[0];
  const amd = JSON.parse(readFileSync(join(src, "blobs", "sha256", digestHex(amdDesc.digest)), "utf8"));
  const cfg = JSON.parse(readFileSync(join(src, "blobs", "sha256", digestHex(amd.config.digest)), "utf8"));
  const armCfg = Buffer.from(JSON.stringify({ ...cfg, architecture: "arm64", variant: "v8" }));
  const armManifest = Buffer.from(JSON.stringify({ ...amd, config: { ...amd.config, digest: put(armCfg), size: armCfg.length } }));
  const armDigest = put(armManifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: armDigest, size: armManifest.length, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { mediaType: MediaType.ociManifest, digest: amdDesc.digest, size: amdDesc.size, platform: { os: "linux", architecture: "amd64" } },
      ],
    }),
  );
  const idx = put(index);
  writeFileSync(join(dest, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dest, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaType.ociIndex, digest: idx, size: index.length, annotations: { "org.opencontainers.image.ref.name": "multi" } }],
    }),
  );
  return armDigest;
}

beforeAll(async () => {
  work = tempDir("berth-registry-test-");
  open = await startRegistry(join(work, "open"));
  authed = await startRegistry(join(work, "authed"), { htpasswd: { user: USER, password: PASS } });

  const scratch = new ImageStore(join(work, "scratch"));
  await makeBusyboxImage(scratch);
  const layout = join(work, "layout");
  await exportImages(scratch, ["berth/busybox"], layout);
  skopeoPush(`oci:${layout}:latest`, `docker://${open.host}/test/busybox:latest`);
  skopeoPush(`oci:${layout}:latest`, `docker://${open.host}/test/busybox:v2s2`, ["--format", "v2s2"]);
  skopeoPush(`oci:${layout}:latest`, `docker://${authed.host}/private/busybox:latest`, ["--dest-creds", `${USER}:${PASS}`]);
  multiPlatformLayout(layout, join(work, "multi"));
  skopeoPush(`oci:${join(work, "multi")}:multi`, `docker://${open.host}/test/multi:latest`, ["--all"]);
  // skopeo compresses layers on push: take the digests the registry serves
  busyboxDigest = (await remoteManifest(open.host, "test/busybox", "latest")).digest;
  multiIndex = (await remoteManifest(open.host, "test/multi", "latest")).digest;

  // an image of its own whose layer we then corrupt in the registry's storage
  const layer = await packTar([{ header: { name: "victim", type: "file" }, data: "x".repeat(5000) }]);
  await buildImage(scratch, "corrupt:1", [{ blob: layer, diffId: sha256(layer) }]);
  await exportImages(scratch, ["corrupt:1"], join(work, "corrupt-layout"));
  skopeoPush(`oci:${join(work, "corrupt-layout")}:1`, `docker://${open.host}/test/corrupt:1`);
  corruptLayer = (await remoteManifest(open.host, "test/corrupt", "1")).manifest.layers[0]!.digest;
  const data = join(open.storage, "docker/registry/v2/blobs/sha256", digestHex(corruptLayer).slice(0, 2), digestHex(corruptLayer), "data");
  const bad = Buffer.from(readFileSync(data));
  const mid = bad.length >> 1;
  bad[mid] = bad[mid]! ^ 0xff;
  writeFileSync(data, bad);

  // a Bearer-token front for the open registry: /token checks Basic credentials
  const upstream = open.host;
  proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/token") {
        const ok = req.headers.get("authorization") === "Basic " + Buffer.from(`${USER}:${PASS}`).toString("base64");
        if (!ok || url.searchParams.get("service") !== "berth-test") return new Response("denied", { status: 401 });
        return Response.json({ token: `tok-${url.searchParams.get("scope")}` });
      }
      const repo = /^\/v2\/(.+?)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? "";
      if (req.headers.get("authorization") !== `Bearer tok-repository:${repo}:pull`) {
        return new Response("{}", {
          status: 401,
          headers: { "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${proxy!.port}/token",service="berth-test",scope="repository:${repo}:pull"` },
        });
      }
      const headers = new Headers(req.headers);
      headers.delete("authorization");
      const r = await fetch(`http://${upstream}${url.pathname}`, { headers });
      return new Response(r.body, { status: r.status, headers: r.headers });
    },
  });
}, 120_000);

afterAll(async () => {
  proxy?.stop(true);
  await open?.stop();
  await authed?.stop();
  removeDir(work);
  for (const d of dirs) removeDir(d);
});

describe("pull from a real registry", () => {
  test("pull by tag, then re-pull downloads nothing", async () => {
    const store = new ImageStore(fresh());
    const events: PullProgress[] = [];
    const r = await pullImage(store, `${open!.host}/test/busybox:latest`, { plainHttp: true, onProgress: (e) => events.push({ ...e }) });
    expect(r.ref).toBe(`${open!.host}/test/busybox:latest`);
    expect(r.digest).toBe(busyboxDigest);
    expect(r.downloaded.length).toBe(2);
    store.verify(r.ref);
    const layerDone = events.find((e) => e.kind === "layer" && e.status === "done");
    expect(layerDone?.done).toBe(layerDone?.total);
    expect(layerDone!.total).toBeGreaterThan(500_000);

    const again: PullProgress[] = [];
    const r2 = await pullImage(store, `${open!.host}/test/busybox:latest`, { plainHttp: true, onProgress: (e) => again.push(e) });
    expect(r2.downloaded).toEqual([]);
    expect(r2.skipped.length).toBe(2);
    expect(again.filter((e) => e.status === "downloading")).toEqual([]);
  }, 60_000);

  test("pull by digest, and a Docker schema 2 manifest", async () => {
    const store = new ImageStore(fresh());
    const r = await pullImage(store, `${open!.host}/test/busybox@${busyboxDigest}`, { plainHttp: true });
    expect(r.ref).toBe(`${open!.host}/test/busybox@${busyboxDigest}`);
    expect(store.image(r.ref).digest).toBe(busyboxDigest);
    const d = await pullImage(store, `${open!.host}/test/busybox:v2s2`, { plainHttp: "localhost" });
    const img = store.image(d.ref);
    expect(img.record.mediaType).toBe(MediaType.dockerManifest);
    expect(img.layers[0]!.mediaType).toBe(MediaType.dockerLayerGzip);
    store.verify(d.ref);
  }, 60_000);

  test("platform selection from an index, variant aware", async () => {
    const store = new ImageStore(fresh());
    const amd = await pullImage(store, `${open!.host}/test/multi:latest`, { plainHttp: true, platform: { os: "linux", architecture: "amd64" } });
    expect(amd.digest).toBe(busyboxDigest);
    expect(amd.repoDigest).toBe(multiIndex);
    const arm = await pullImage(store, `${open!.host}/test/multi:latest`, { plainHttp: true, platform: { os: "linux", architecture: "arm64", variant: "v8" } });
    expect(store.image(arm.ref).config.architecture).toBe("arm64");
    expect(arm.downloaded.length).toBe(1); // only the arm64 config; the layer is shared
    await expect(pullImage(store, `${open!.host}/test/multi:latest`, { plainHttp: true, platform: { os: "linux", architecture: "s390x" } })).rejects.toThrow(
      "no manifest for platform linux/s390x (available: linux/arm64/v8, linux/amd64)",
    );
  }, 60_000);

  test("tlsVerify=false falls back to plain HTTP", async () => {
    const store = new ImageStore(fresh());
    const r = await pullImage(store, `${open!.host}/test/busybox:latest`, { tlsVerify: false });
    expect(r.digest).toBe(busyboxDigest);
  }, 60_000);

  test("a missing tag and an unreachable registry give clear errors", async () => {
    const store = new ImageStore(fresh());
    await expect(pullImage(store, `${open!.host}/test/busybox:nope`, { plainHttp: true })).rejects.toThrow(`manifest unknown: ${open!.host}/test/busybox:nope`);
    await expect(pullImage(store, `${open!.host}/test/absent:1`, { plainHttp: true })).rejects.toThrow(`manifest unknown: ${open!.host}/test/absent:1`);
    await expect(pullImage(store, "127.0.0.1:1/x:1", { plainHttp: true, attempts: 2, retryDelayMs: 10 })).rejects.toThrow("registry 127.0.0.1:1 unreachable");
    expect(store.list()).toEqual([]);
  }, 60_000);

  test("a corrupted blob: clear error naming the digest, nothing stored", async () => {
    const store = new ImageStore(fresh());
    await expect(pullImage(store, `${open!.host}/test/corrupt:1`, { plainHttp: true, retryDelayMs: 10 })).rejects.toThrow(
      `digest mismatch for blob ${corruptLayer}`,
    );
    expect(store.list()).toEqual([]);
    expect(blobCount(store)).toBe(0);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  }, 60_000);

  test("Basic auth: required, refused with wrong credentials, accepted from an auth file", async () => {
    const store = new ImageStore(fresh());
    const ref = `${authed!.host}/private/busybox:latest`;
    const noFiles = { HOME: fresh() };
    await expect(pullImage(store, ref, { plainHttp: true, env: noFiles })).rejects.toThrow(`authentication required by ${authed!.host}`);
    await expect(pullImage(store, ref, { plainHttp: true, credentials: { username: USER, password: "wrong" } })).rejects.toThrow(
      `authentication refused by ${authed!.host}`,
    );
    expect(store.list()).toEqual([]);
    const authFile = join(fresh(), "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [authed!.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString("base64") } } }));
    const r = await pullImage(store, ref, { plainHttp: true, env: { REGISTRY_AUTH_FILE: authFile, HOME: noFiles.HOME } });
    expect(r.digest).toBe(busyboxDigest);
  }, 60_000);

  test("Bearer token auth through a token server", async () => {
    const store = new ImageStore(fresh());
    const ref = `127.0.0.1:${proxy!.port}/test/busybox:latest`;
    await expect(pullImage(store, ref, { plainHttp: true, credentials: { username: USER, password: "wrong" } })).rejects.toThrow(
      `authentication refused by 127.0.0.1:${proxy!.port} for test/busybox`,
    );
    const r = await pullImage(store, ref, { plainHttp: true, credentials: { username: USER, password: PASS } });
    expect(r.digest).toBe(busyboxDigest);
    store.verify(r.ref);
  }, 60_000);

  test("5xx answers are retried with backoff", async () => {
    const seen = new Map<string, number>();
    const flaky = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        const n = (seen.get(url.pathname) ?? 0) + 1;
        seen.set(url.pathname, n);
        if (n === 1 && url.pathname !== "/v2/") return new Response("busy", { status: 503 });
        const r = await fetch(`http://${open!.host}${url.pathname}`, { headers: req.headers });
        return new Response(r.body, { status: r.status, headers: r.headers });
      },
    });
    try {
      const store = new ImageStore(fresh());
      const events: PullProgress[] = [];
      const r = await pullImage(store, `127.0.0.1:${flaky.port}/test/busybox:latest`, { plainHttp: true, retryDelayMs: 5, onProgress: (e) => events.push(e) });
      expect(r.digest).toBe(busyboxDigest);
      expect([...seen.values()].every((n) => n === 2)).toBe(true);
      expect(events.some((e) => e.status === "retrying")).toBe(true);
      const fail = await pullImage(new ImageStore(fresh()), `127.0.0.1:${flaky.port}/test/busybox:nope`, {
        plainHttp: true,
        retryDelayMs: 5,
        attempts: 1,
      }).catch((e: Error) => e);
      expect(String(fail)).toContain("HTTP 503");
    } finally {
      flaky.stop(true);
    }
  }, 60_000);

  test("two concurrent pulls of the same image into one store", async () => {
    const root = fresh();
    const script = join(import.meta.dir, "fixtures", "pull-worker.ts");
    const ref = `${open!.host}/test/busybox:latest`;
    const procs = [0, 1].map(() => Bun.spawn([process.execPath, script, root, ref], { stdout: "pipe", stderr: "pipe" }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
    expect(errs).toEqual(["", ""]);
    expect(codes).toEqual([0, 0]);
    const store = new ImageStore(root);
    expect(store.list().map((e) => e.record.digest)).toEqual([busyboxDigest]);
    store.verify(ref);
    expect(blobCount(store)).toBe(3);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  }, 60_000);
});

describe("credentials and challenges", () => {
  test("auth file lookup order and key forms", () => {
    const d = fresh();
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    mkdirSync(join(d, "home", ".docker"), { recursive: true });
    mkdirSync(join(d, "run", "containers"), { recursive: true });
    writeFileSync(
      join(d, "home", ".docker", "config.json"),
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
          "quay.io": { auth: b64("docker:file") },
        },
      }),
    );
    writeFileSync(
      join(d, "run", "containers", "auth.json"),
      JSON.stringify({
        auths: {
          "quay.io": { auth: b64("xdg:first") },
          "quay.io/team/app": { auth: b64("team:specific") },
        },
      }),
    );
    const env = { HOME: join(d, "home"), XDG_RUNTIME_DIR: join(d, "run") };
    expect(findCredentials("docker.io", "library/busybox", { env })).toEqual({ username: "hubuser", password: "hubpass" });
    expect(findCredentials("quay.io", "other/x", { env })).toEqual({ username: "xdg", password: "first" });
    expect(findCredentials("quay.io", "team/app", { env })).toEqual({ username: "team", password: "specific" });
    expect(findCredentials("ghcr.io", "a/b", { env })).toBeUndefined();
    expect(statSync(join(d, "home")).isDirectory()).toBe(true);
  });

  test("WWW-Authenticate parsing", () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" },
    });
    expect(parseChallenge('Basic realm="berth-test"')?.scheme).toBe("basic");
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ImageStore } from "../../src/image/store.ts";
import { parseReference, formatReference, familiarReference } from "../../src/image/reference.ts";
import { sha256, digestHex } from "../../src/image/digest.ts";
import { makeBusyboxImage } from "../../src/image/busybox.ts";
import { exportImages, importImages, packDirectory } from "../../src/image/archive.ts";
import { packTar } from "../../src/image/tarutil.ts";
import { buildImage, removeDir, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});
function fresh(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
function blobCount(store: ImageStore): number {
  return existsSync(store.blobsDir) ? readdirSync(store.blobsDir).length : 0;
}

describe("references", () => {
  test("the usual normalization", () => {
    const cases: Array<[string, string]> = [
      ["busybox", "docker.io/library/busybox:latest"],
      ["busybox:1.36", "docker.io/library/busybox:1.36"],
      ["me/app", "docker.io/me/app:latest"],
      ["localhost/x", "localhost/x:latest"],
      ["localhost:5000/x", "localhost:5000/x:latest"],
      ["127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1"],
      ["quay.io/a/b@sha256:" + "a".repeat(64), "quay.io/a/b@sha256:" + "a".repeat(64)],
      ["index.docker.io/library/alpine:3", "docker.io/library/alpine:3"],
    ];
    for (const [input, want] of cases) expect(formatReference(parseReference(input))).toBe(want);
    expect(familiarReference(parseReference("docker.io/library/busybox"))).toBe("busybox:latest");
  });
  test("bad references name what is wrong", () => {
    expect(() => parseReference("Busybox")).toThrow("must be lowercase");
    expect(() => parseReference("x@sha256:abc")).toThrow("bad digest");
    expect(() => parseReference("x:bad/tag:")).toThrow("bad tag");
    expect(() => parseReference("")).toThrow("empty");
    expect(() => parseReference("a//b")).toThrow("bad repository path component");
  });
});

describe("content store", () => {
  test("a digest mismatch stores nothing and names expected and actual", async () => {
    const store = new ImageStore(fresh());
    const want = sha256("something else");
    await expect(store.putBlob("hello", want)).rejects.toThrow(`digest mismatch for blob ${want}: expected ${want}, got ${sha256("hello")}`);
    expect(blobCount(store)).toBe(0);
    expect(readdirSync(store.tmpDir)).toEqual([]);
    const ok = await store.putBlob("hello", sha256("hello"));
    expect(ok.digest).toBe(sha256("hello"));
    expect(readFileSync(store.blobPath(ok.digest), "utf8")).toBe("hello");
  });

  test("the built-in busybox image is deterministic", async () => {
    const a = new ImageStore(fresh()),
      b = new ImageStore(fresh());
    const ia = await makeBusyboxImage(a);
    const ib = await makeBusyboxImage(b);
    expect(ia.digest).toBe(ib.digest);
    expect(ia.ref).toBe("docker.io/berth/busybox:latest");
    const img = a.image("berth/busybox");
    expect(img.config.config?.Cmd).toEqual(["/bin/sh"]);
    expect(img.layers.length).toBe(1);
    expect(a.image(digestHex(img.configDigest).slice(0, 12)).digest).toBe(ia.digest);
    a.verify("berth/busybox");
    expect((await makeBusyboxImage(a)).digest).toBe(ia.digest);
  });

  test("tag, lookup, untag; unknown names give a clear error", async () => {
    const store = new ImageStore(fresh());
    const { digest } = await makeBusyboxImage(store);
    await store.tag("me/copy:v1", digest);
    expect(store.list().map((e) => e.ref)).toEqual(["docker.io/berth/busybox:latest", "docker.io/me/copy:v1"]);
    expect(store.image("me/copy:v1").digest).toBe(digest);
    expect(() => store.image("nope:1")).toThrow("image not known: nope:1");
    expect(await store.untag("me/copy:v1")).toBe(true);
    expect(await store.untag("me/copy:v1")).toBe(false);
  });
});

describe("import and export", () => {
  test("OCI layout directory and tar roundtrip", async () => {
    const a = new ImageStore(fresh());
    const built = await makeBusyboxImage(a);
    const out = fresh();
    await exportImages(a, ["berth/busybox"], join(out, "layout"));
    expect(JSON.parse(readFileSync(join(out, "layout", "oci-layout"), "utf8")).imageLayoutVersion).toBe("1.0.0");
    await exportImages(a, ["berth/busybox"], join(out, "image.tar"));

    const b = new ImageStore(fresh());
    const fromDir = await importImages(b, join(out, "layout"));
    expect(fromDir).toEqual([{ ref: "docker.io/berth/busybox:latest", digest: built.digest }]);
    b.verify("berth/busybox");
    const c = new ImageStore(fresh());
    const fromTar = await importImages(c, join(out, "image.tar"));
    expect(fromTar[0]!.digest).toBe(built.digest);
    expect(readdirSync(c.tmpDir)).toEqual([]);
  });

  test("skopeo reads our OCI export and writes docker-archives we import", async () => {
    const a = new ImageStore(fresh());
    const built = await makeBusyboxImage(a);
    const out = fresh();
    await exportImages(a, ["berth/busybox"], join(out, "layout"));
    const r = Bun.spawnSync(
      ["skopeo", "copy", "--quiet", `oci:${join(out, "layout")}:latest`, `docker-archive:${join(out, "d.tar")}:localhost/skopeo-made:v2`],
      { stderr: "pipe" },
    );
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const b = new ImageStore(fresh());
    const got = await importImages(b, join(out, "d.tar"));
    expect(got.map((g) => g.ref)).toEqual(["localhost/skopeo-made:v2"]);
    expect(b.image("localhost/skopeo-made:v2").configDigest).toBe(built.configDigest);
    b.verify("localhost/skopeo-made:v2");
  });

  test("docker save (legacy layout) import, and a corrupted layer stores nothing", async () => {
    const layer = await packTar([{ header: { name: "hello", type: "file" }, data: "world" }]);
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/hello"] }, rootfs: { type: "layers", diff_ids: [sha256(layer)] } }),
    );
    const make = (layerBytes: Buffer) => {
      const dir = fresh();
      const id = digestHex(sha256(config));
      writeFileSync(join(dir, `${id}.json`), config);
      mkdirSync(join(dir, "abc"));
      writeFileSync(join(dir, "abc", "layer.tar"), layerBytes);
      writeFileSync(join(dir, "manifest.json"), JSON.stringify([{ Config: `${id}.json`, RepoTags: ["saved:1"], Layers: ["abc/layer.tar"] }]));
      writeFileSync(join(dir, "repositories"), "{}");
      return dir;
    };
    const good = make(layer);
    const tarPath = join(fresh(), "saved.tar");
    await packDirectory(good, tarPath);
    const store = new ImageStore(fresh());
    const got = await importImages(store, tarPath);
    expect(got.map((g) => g.ref)).toEqual(["docker.io/library/saved:1"]);
    const img = store.image("saved:1");
    expect(img.configDigest).toBe(sha256(config));
    expect(img.layers[0]!.digest).toBe(sha256(layer));

    const bad = Buffer.from(layer);
    bad[600] = bad[600]! ^ 0xff;
    const other = new ImageStore(fresh());
    await expect(importImages(other, make(bad))).rejects.toThrow(`expected ${sha256(layer)}, got ${sha256(bad)}`);
    expect(other.list()).toEqual([]);
    expect(blobCount(other)).toBe(0);
    // an archive whose manifest.json points outside it
    const evil = make(layer);
    writeFileSync(join(evil, "manifest.json"), JSON.stringify([{ Config: "../../../etc/passwd", Layers: [] }]));
    await expect(importImages(other, evil)).rejects.toThrow("manifest.json[0].Config");
  });

  test("import names a missing path, and reports any other error as it is", async () => {
    const d = fresh();
    const store = new ImageStore(join(d, "store"));
    await expect(importImages(store, join(d, "nothing.tar"))).rejects.toThrow("does not exist");
    // a symbolic link loop is not "does not exist": its ELOOP is reported
    symlinkSync("loop", join(d, "loop"));
    const err = await importImages(store, join(d, "loop")).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain("ELOOP");
    expect(err?.message).not.toContain("does not exist");
    expect(store.list()).toEqual([]);
  });

  test("an OCI layout with a corrupted blob stores nothing", async () => {
    const a = new ImageStore(fresh());
    const built = await makeBusyboxImage(a);
    const layout = join(fresh(), "layout");
    await exportImages(a, ["berth/busybox"], layout);
    const layerDigest = a.image("berth/busybox").layers[0]!.digest;
    appendFileSync(join(layout, "blobs", "sha256", digestHex(layerDigest)), "x");
    const b = new ImageStore(fresh());
    await expect(importImages(b, layout)).rejects.toThrow(`digest mismatch for blob ${layerDigest}`);
    expect(b.list()).toEqual([]);
    expect(blobCount(b)).toBe(0);
    expect(built.digest).toMatch(/^sha256:/);
  });

  test("two processes importing the same archive at once end with one consistent store", async () => {
    const a = new ImageStore(fresh());
    const built = await makeBusyboxImage(a);
    const archive = join(fresh(), "bb.tar");
    await exportImages(a, ["berth/busybox"], archive);
    const root = fresh();
    const script = join(import.meta.dir, "fixtures", "import-worker.ts");
    const procs = [0, 1, 2].map(() => Bun.spawn([process.execPath, script, root, archive], { stdout: "pipe", stderr: "pipe" }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
    expect(errs).toEqual(["", "", ""]);
    expect(codes).toEqual([0, 0, 0]);
    const store = new ImageStore(root);
    expect(store.list().map((e) => [e.ref, e.record.digest])).toEqual([["docker.io/berth/busybox:latest", built.digest]]);
    store.verify("berth/busybox");
    expect(blobCount(store)).toBe(3);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  });
});

describe("garbage collection", () => {
  test("remove untags and collects only what nothing else uses", async () => {
    const store = new ImageStore(fresh());
    const shared = await packTar([{ header: { name: "shared", type: "file" }, data: "s" }]);
    const own = await packTar([{ header: { name: "own", type: "file" }, data: "o" }]);
    await buildImage(store, "one:1", [{ blob: shared, diffId: sha256(shared) }]);
    await buildImage(store, "two:1", [
      { blob: shared, diffId: sha256(shared) },
      { blob: own, diffId: sha256(own) },
    ]);
    await store.putBlob("stray");
    expect(blobCount(store)).toBe(7); // 2 manifests, 2 configs, 2 layers, 1 stray
    const r1 = await store.remove("two:1");
    expect(r1.untagged).toEqual(["docker.io/library/two:1"]);
    expect(r1.gc.blobs).toContain(sha256(own));
    expect(r1.gc.blobs).toContain(sha256("stray"));
    expect(r1.gc.blobs).not.toContain(sha256(shared));
    expect(store.hasBlob(sha256(shared))).toBe(true);
    store.verify("one:1");
    await store.remove("one:1");
    expect(blobCount(store)).toBe(0);
    await expect(store.remove("one:1")).rejects.toThrow("image not known: one:1");
  });
});

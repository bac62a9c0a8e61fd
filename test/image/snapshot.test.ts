import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import zlib from "node:zlib";
import { ImageStore } from "../../src/image/store.ts";
import { Snapshotter, isMounted, layerDir, snapshotterMode } from "../../src/image/snapshot.ts";
import { sha256, digestHex } from "../../src/image/digest.ts";
import { packTar } from "../../src/image/tarutil.ts";
import { MediaType } from "../../src/image/types.ts";
import { buildImage, removeDir, tempDir } from "./helpers.ts";

const roots: Array<{ dir: string; snap: Snapshotter; ids: string[] }> = [];
afterAll(async () => {
  for (const r of roots) {
    for (const id of r.ids) await r.snap.removeRootfs(id).catch(() => {});
    removeDir(r.dir);
  }
});

async function twoLayerImage(mode: "overlay" | "copy" = "overlay") {
  const dir = tempDir();
  const store = new ImageStore(dir);
  const snap = new Snapshotter(store, mode);
  const entry = { dir, snap, ids: [] as string[] };
  roots.push(entry);
  const l1 = await packTar([
    { header: { name: "etc/", type: "directory", mode: 0o755 } },
    { header: { name: "etc/motd", type: "file", mode: 0o644 }, data: "lower\n" },
    { header: { name: "gone", type: "file" }, data: "g" },
    { header: { name: "opq/", type: "directory", mode: 0o755 } },
    { header: { name: "opq/old", type: "file" }, data: "old" },
  ]);
  const l2 = await packTar([
    { header: { name: ".wh.gone", type: "file" } },
    { header: { name: "opq/", type: "directory", mode: 0o755 } },
    { header: { name: "opq/.wh..wh..opq", type: "file" } },
    { header: { name: "opq/new", type: "file" }, data: "new" },
  ]);
  const gz = zlib.gzipSync(l2);
  await buildImage(store, "layered:1", [
    { blob: l1, diffId: sha256(l1) },
    { blob: gz, diffId: sha256(l2), mediaType: MediaType.ociLayerGzip },
  ]);
  return { store, snap, ids: entry.ids };
}

describe("copy snapshots (kernels without overlayfs)", () => {
  test("each container gets its own copy of the layers, whiteouts and opaque directories applied; nothing mounted", async () => {
    const { snap, ids } = await twoLayerImage("copy");
    ids.push("k1", "k2");
    const a = await snap.prepareRootfs("layered:1", "k1");
    const b = await snap.prepareRootfs("layered:1", "k2");
    expect(isMounted(a.rootfs)).toBe(false);
    expect(readFileSync(join(a.rootfs, "etc/motd"), "utf8")).toBe("lower\n");
    expect(existsSync(join(a.rootfs, "gone"))).toBe(false);
    expect(readdirSync(join(a.rootfs, "opq"))).toEqual(["new"]);
    expect(statSync(join(a.rootfs, "etc/motd")).ino).not.toBe(statSync(join(b.rootfs, "etc/motd")).ino);
    writeFileSync(join(a.rootfs, "etc/motd"), "changed in k1\n");
    expect(readFileSync(join(b.rootfs, "etc/motd"), "utf8")).toBe("lower\n");
    const img = snap.store.image("layered:1");
    expect(await snap.remountRootfs(img, "k1")).toBe(a.rootfs);
    expect(readFileSync(join(a.rootfs, "etc/motd"), "utf8")).toBe("changed in k1\n");
    await snap.removeRootfs("k1");
    expect(existsSync(snap.containerDir("k1"))).toBe(false);
  });

  test("the mode: BERTH_SNAPSHOTTER decides, else whether the kernel lists overlay", () => {
    expect(snapshotterMode({ BERTH_SNAPSHOTTER: "copy" })).toBe("copy");
    expect(snapshotterMode({ BERTH_SNAPSHOTTER: "overlay" })).toBe("overlay");
    const hasOverlay = /\toverlay$/m.test(readFileSync("/proc/filesystems", "utf8"));
    expect(snapshotterMode({})).toBe(hasOverlay ? "overlay" : "copy");
  });
});

describe("overlay snapshots", () => {
  test("containers share the layer directories; writes stay private; whiteouts apply", async () => {
    const { store, snap, ids } = await twoLayerImage();
    ids.push("c1", "c2");
    const a = await snap.prepareRootfs("layered:1", "c1");
    const b = await snap.prepareRootfs("layered:1", "c2");
    expect(isMounted(a.rootfs)).toBe(true);
    expect(readFileSync(join(a.rootfs, "etc/motd"), "utf8")).toBe("lower\n");
    expect(statSync(join(a.rootfs, "etc/motd")).ino).toBe(statSync(join(b.rootfs, "etc/motd")).ino);
    expect(existsSync(join(a.rootfs, "gone"))).toBe(false);
    expect(readdirSync(join(a.rootfs, "opq"))).toEqual(["new"]);
    writeFileSync(join(a.rootfs, "etc/motd"), "changed in c1\n");
    writeFileSync(join(a.rootfs, "only-c1"), "x");
    expect(readFileSync(join(b.rootfs, "etc/motd"), "utf8")).toBe("lower\n");
    expect(existsSync(join(b.rootfs, "only-c1"))).toBe(false);
    // the shared layer itself is untouched
    const img = store.image("layered:1");
    expect(readFileSync(join(layerDir(store, img.chainIds[0]!), "etc/motd"), "utf8")).toBe("lower\n");
    expect(readdirSync(store.layersDir).sort()).toEqual(img.chainIds.map(digestHex).sort());

    await expect(snap.prepareRootfs("layered:1", "c1")).rejects.toThrow("container c1 already has a root filesystem");
    await expect(snap.prepareRootfs("layered:1", "../x")).rejects.toThrow('container id "../x"');

    // gc keeps layers a container uses even when the image is gone
    await store.remove("layered:1");
    expect(readdirSync(store.layersDir).length).toBe(2);
    await snap.removeRootfs("c1");
    await snap.removeRootfs("c1"); // idempotent
    expect(isMounted(a.rootfs)).toBe(false);
    expect(existsSync(snap.containerDir("c1"))).toBe(false);
    expect(readFileSync(join(b.rootfs, "etc/motd"), "utf8")).toBe("lower\n");
    await snap.removeRootfs("c2");
    const r = await store.gc();
    expect(r.layers.sort()).toEqual([...img.chainIds].sort());
    expect(readdirSync(store.layersDir)).toEqual([]);
  });

  test("a layer left half-unpacked by a crash is unpacked again", async () => {
    const { store, snap, ids } = await twoLayerImage();
    const img = store.image("layered:1");
    const half = layerDir(store, img.chainIds[0]!);
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, "partial"), "junk");
    ids.push("c3");
    const r = await snap.prepareRootfs("layered:1", "c3");
    expect(existsSync(join(r.rootfs, "partial"))).toBe(false);
    expect(readFileSync(join(r.rootfs, "etc/motd"), "utf8")).toBe("lower\n");
    await snap.removeRootfs("c3");
  });

  test("a layer whose content does not match its diff_id fails and leaves nothing", async () => {
    const dir = tempDir();
    const store = new ImageStore(dir);
    const snap = new Snapshotter(store);
    roots.push({ dir, snap, ids: ["bad"] });
    const l = await packTar([{ header: { name: "f", type: "file" }, data: "f" }]);
    await buildImage(store, "liar:1", [{ blob: l, diffId: sha256("not this") }]);
    await expect(snap.prepareRootfs("liar:1", "bad")).rejects.toThrow(`expected ${sha256("not this")}, got ${sha256(l)}`);
    expect(readdirSync(store.layersDir)).toEqual([]);
    expect(existsSync(snap.containerDir("bad"))).toBe(false);
  });
});

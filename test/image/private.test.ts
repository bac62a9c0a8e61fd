// The store is root's alone (the CVE-2021-41091 class, fixed in Docker 20.10.9
// by making its data directories 0710/0700): another user of the host must not
// run an image's setuid-root binary, or read an image's or a container's
// files, straight from the store; and a store an older berth made 0755 is
// closed again when it is opened.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ImageStore, STORE_DIR_MODE } from "../../src/image/store.ts";
import { ensureLayers, Snapshotter } from "../../src/image/snapshot.ts";
import { sha256 } from "../../src/image/digest.ts";
import { packTar } from "../../src/image/tarutil.ts";
import { buildImage, removeDir, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

/** Runs ARGS as nobody (uid and gid 65534, no supplementary groups). Through
 * a shell: setpriv itself keeps root's capabilities until its own execve, so
 * that one lookup would still pass directories nobody may not search. */
function asNobody(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--", "/bin/sh", "-c", 'exec "$@"', "sh", ...args]);
  return { code: r.exitCode ?? 128, out: (r.stdout.toString() + r.stderr.toString()).trim() };
}

describe("the store's permissions", () => {
  test.skipIf(process.getuid?.() !== 0)("another user can neither run an image's setuid binary nor read its files from the store", async () => {
    const base = tempDir();
    dirs.push(base);
    chmodSync(base, 0o755); // like /var/lib: open to every user, so only the store's own modes guard it
    const root = join(base, "store");
    const store = new ImageStore(root);
    const layer = await packTar([
      { header: { name: "bin/", type: "directory", mode: 0o755 } },
      { header: { name: "bin/id", type: "file", mode: 0o4755, uid: 0, gid: 0 }, data: readFileSync("/usr/bin/id") },
      { header: { name: "secret", type: "file", mode: 0o644 }, data: "image secret\n" },
    ]);
    await buildImage(store, "suid:1", [{ blob: layer, diffId: sha256(layer) }]);
    const snap = new Snapshotter(store, "copy"); // a container's own files, without a mount to clean up
    await snap.prepareRootfs("suid:1", "c1");
    await ensureLayers(store, store.image("suid:1")); // the shared layers overlay mode mounts
    const [layerName] = readdirSync(store.layersDir).filter((n) => !n.startsWith("."));
    const layerId = join(store.layersDir, layerName!, "diff/bin/id");
    const targets = {
      id: [layerId, join(store.containersDir, "c1/rootfs/bin/id")],
      secret: [join(store.layersDir, layerName!, "diff/secret"), join(store.containersDir, "c1/rootfs/secret")],
    };
    for (const p of [...targets.id, ...targets.secret]) expect(existsSync(p)).toBe(true);
    expect(statSync(layerId).mode & 0o7777).toBe(0o4755);

    const attempts = () => [...targets.id.map((p) => asNobody([p, "-u"])), ...targets.secret.map((p) => asNobody(["cat", p]))];
    const refused = () => {
      for (const r of attempts()) {
        expect(r.out).not.toBe("0");
        expect(r.out).not.toContain("image secret");
        expect(r.code).not.toBe(0);
        expect(r.out).toContain("Permission denied");
      }
    };
    refused();
    for (const p of [
      root,
      ...readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(root, d.name)),
    ]) {
      expect({ p, mode: statSync(p).mode & 0o7777 }).toEqual({ p, mode: STORE_DIR_MODE });
    }

    // a store an older berth made: 0755 throughout, where nobody runs the binary as root
    for (const p of [root, store.layersDir, store.containersDir, store.blobsDir, join(root, "blobs"), store.tmpDir]) if (existsSync(p)) chmodSync(p, 0o755);
    expect(asNobody([layerId, "-u"])).toEqual({ code: 0, out: "0" });
    new ImageStore(root); // opening it closes it again
    refused();
  });
});

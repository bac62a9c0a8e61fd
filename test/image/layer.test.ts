import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import zlib from "node:zlib";
import { unpackLayer, detectCompression } from "../../src/image/layer.ts";
import { packTar } from "../../src/image/tarutil.ts";
import { lgetxattr } from "../../src/linux/sys.ts";
import { sha256 } from "../../src/image/digest.ts";
import { removeDir, tempDir } from "./helpers.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});
function fresh(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

describe("unpackLayer", () => {
  test("regular files, dirs, symlinks, modes, ownership, mtimes, xattrs; gzip and zstd", async () => {
    const tarball = await packTar([
      { header: { name: "etc/", type: "directory", mode: 0o755, mtime: new Date(1_000_000_000_000) } },
      { header: { name: "etc/hello", type: "file", mode: 0o640, uid: 1234, gid: 4321, mtime: new Date(1_500_000_000_000) }, data: "hi\n" },
      { header: { name: "bin/su", type: "file", mode: 0o4755 }, data: "x" },
      { header: { name: "bin/sh", type: "symlink", linkname: "/bin/busybox", uid: 7, gid: 8 } },
      { header: { name: "tagged", type: "file", mode: 0o644, pax: { "SCHILY.xattr.user.berth": "yes" } }, data: "" },
    ]);
    for (const [kind, bytes] of [
      ["none", tarball],
      ["gzip", zlib.gzipSync(tarball)],
      ["zstd", zlib.zstdCompressSync(tarball)],
    ] as const) {
      expect(detectCompression(bytes)).toBe(kind);
      const dir = fresh();
      const r = await unpackLayer(bytes, dir);
      expect(r.compression).toBe(kind);
      expect(r.diffId).toBe(sha256(tarball));
      expect(readFileSync(join(dir, "etc/hello"), "utf8")).toBe("hi\n");
      const st = statSync(join(dir, "etc/hello"));
      expect(st.mode & 0o7777).toBe(0o640);
      expect(st.uid).toBe(1234);
      expect(st.gid).toBe(4321);
      expect(Math.round(st.mtimeMs)).toBe(1_500_000_000_000);
      expect(Math.round(statSync(join(dir, "etc")).mtimeMs)).toBe(1_000_000_000_000);
      expect(statSync(join(dir, "bin/su")).mode & 0o7777).toBe(0o4755);
      expect(readlinkSync(join(dir, "bin/sh"))).toBe("/bin/busybox");
      expect(lstatSync(join(dir, "bin/sh")).uid).toBe(7);
      expect(lgetxattr(join(dir, "tagged"), "user.berth")?.toString()).toBe("yes");
    }
  });

  test("a wrong diff_id is reported with expected and actual digests", async () => {
    const t = await packTar([{ header: { name: "a", type: "file" }, data: "a" }]);
    const bogus = sha256("other");
    await expect(unpackLayer(t, fresh(), { diffId: bogus })).rejects.toThrow(`expected ${bogus}, got ${sha256(t)}`);
  });

  test("hard links, device nodes and fifos", async () => {
    const dir = fresh();
    await unpackLayer(
      await packTar([
        { header: { name: "data", type: "file", mode: 0o644 }, data: "shared" },
        { header: { name: "sub/alias", type: "link", linkname: "data" } },
        { header: { name: "dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 } },
        { header: { name: "dev/loop9", type: "block-device", mode: 0o660, devmajor: 7, devminor: 9 } },
        { header: { name: "run/pipe", type: "fifo", mode: 0o600 } },
      ]),
      dir,
    );
    const a = statSync(join(dir, "data")),
      b = statSync(join(dir, "sub/alias"));
    expect(b.ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
    const n = lstatSync(join(dir, "dev/null"));
    expect(n.isCharacterDevice()).toBe(true);
    expect(n.rdev).toBe((1 << 8) | 3);
    expect(n.mode & 0o777).toBe(0o666);
    const l = lstatSync(join(dir, "dev/loop9"));
    expect(l.isBlockDevice()).toBe(true);
    expect(l.rdev).toBe((7 << 8) | 9);
    expect(lstatSync(join(dir, "run/pipe")).isFIFO()).toBe(true);
  });

  describe("hostile archives never write outside the target", () => {
    /** A fresh directory: the target to unpack into, beside "outside" holding a passwd file that must stay "original". */
    function victim(): { base: string; target: string; outside: string } {
      const base = fresh();
      const outside = join(base, "outside");
      mkdirSync(outside);
      writeFileSync(join(outside, "passwd"), "original");
      return { base, target: join(base, "target"), outside };
    }

    async function hostile(entries: Parameters<typeof packTar>[0]): Promise<{ outside: string; target: string; error?: Error }> {
      const { target, outside } = victim();
      let error: Error | undefined;
      try {
        await unpackLayer(await packTar(entries), target);
      } catch (e) {
        error = e as Error;
      }
      expect(readFileSync(join(outside, "passwd"), "utf8")).toBe("original");
      expect(readdirSync(outside)).toEqual(["passwd"]);
      return { outside, target, error };
    }

    test("../ names are refused", async () => {
      const r = await hostile([{ header: { name: "../outside/passwd", type: "file" }, data: "pwned" }]);
      expect(r.error?.message).toContain(`"../outside/passwd": path escapes the target`);
      const r2 = await hostile([{ header: { name: "a/../../outside/evil", type: "file" }, data: "pwned" }]);
      expect(r2.error?.message).toContain("path escapes the target");
    });

    test("absolute names land inside the target", async () => {
      const { target, error } = await hostile([{ header: { name: "/abs/file", type: "file" }, data: "in" }]);
      expect(error).toBeUndefined();
      expect(readFileSync(join(target, "abs/file"), "utf8")).toBe("in");
    });

    test("a symlink to an absolute path, then a file through it, stays inside", async () => {
      const { target, outside } = victim();
      await unpackLayer(
        await packTar([
          { header: { name: "a", type: "symlink", linkname: outside } },
          { header: { name: "a/passwd", type: "file" }, data: "pwned" },
          { header: { name: "b", type: "symlink", linkname: "../../../../../../.." + outside } },
          { header: { name: "b/passwd", type: "file" }, data: "pwned2" },
        ]),
        target,
      );
      expect(readFileSync(join(outside, "passwd"), "utf8")).toBe("original");
      expect(readFileSync(join(target, outside, "passwd"), "utf8")).toBe("pwned2");
    });

    test("a symlink as the final component is replaced, not written through", async () => {
      const { target, outside } = victim();
      await unpackLayer(
        await packTar([
          { header: { name: "link", type: "symlink", linkname: join(outside, "passwd") } },
          { header: { name: "link", type: "file" }, data: "replaced" },
        ]),
        target,
      );
      expect(readFileSync(join(outside, "passwd"), "utf8")).toBe("original");
      expect(lstatSync(join(target, "link")).isFile()).toBe(true);
    });

    // issue: the directory times applied at the end went through the path,
    // so a directory replaced by a symlink to the host led them there
    test("a directory replaced by a symlink to the host: its deferred times stay in the target", async () => {
      const base = fresh();
      const target = join(base, "target");
      const host = join(base, "host"); // stands in for a host directory
      mkdirSync(join(host, "stamped"), { recursive: true });
      const before = new Date(1_000_000_000_000);
      utimesSync(join(host, "stamped"), before, before);
      const stamp = new Date(1_234_567_890_000);
      const r = await unpackLayer(
        await packTar([
          { header: { name: "a/", type: "directory", mode: 0o755, mtime: stamp } },
          { header: { name: "a/stamped/", type: "directory", mode: 0o700, mtime: stamp } },
          { header: { name: "a", type: "symlink", linkname: host } },
          { header: { name: "keep/", type: "directory", mode: 0o755, mtime: stamp } },
        ]),
        target,
      );
      expect(r.entries).toBe(4);
      const st = statSync(join(host, "stamped"));
      expect(Math.round(st.mtimeMs)).toBe(1_000_000_000_000);
      expect(st.mode & 0o777).toBe(0o755);
      expect(readlinkSync(join(target, "a"))).toBe(host);
      expect(Math.round(statSync(join(target, "keep")).mtimeMs)).toBe(1_234_567_890_000);
    });

    test("hard links to outside targets are refused", async () => {
      const r = await hostile([{ header: { name: "h", type: "link", linkname: "../outside/passwd" } }]);
      expect(r.error?.message).toContain("path escapes the target");
      const { base, outside } = victim();
      // absolute hard link target: resolved inside the target, where it does not exist
      let err: Error | undefined;
      try {
        await unpackLayer(await packTar([{ header: { name: "h", type: "link", linkname: join(outside, "passwd") } }]), join(base, "t"));
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toContain("not found in the layer");
      // through a symlinked directory: resolved inside the target too
      let err2: Error | undefined;
      try {
        await unpackLayer(
          await packTar([{ header: { name: "d", type: "symlink", linkname: outside } }, { header: { name: "h2", type: "link", linkname: "d/passwd" } }]),
          join(base, "t2"),
        );
      } catch (e) {
        err2 = e as Error;
      }
      expect(err2?.message).toContain("not found in the layer");
      expect(statSync(join(outside, "passwd")).nlink).toBe(1);
    });
  });

  test("whiteouts and opaque dirs, flattened onto lower layers", async () => {
    const dir = fresh();
    await unpackLayer(
      await packTar([
        { header: { name: "keep", type: "file" }, data: "k" },
        { header: { name: "gone", type: "file" }, data: "g" },
        { header: { name: "gonedir/x", type: "file" }, data: "x" },
        { header: { name: "opq/old1", type: "file" }, data: "1" },
        { header: { name: "opq/sub/old2", type: "file" }, data: "2" },
      ]),
      dir,
    );
    await unpackLayer(
      await packTar([
        { header: { name: ".wh.gone", type: "file" } },
        { header: { name: ".wh.gonedir", type: "file" } },
        { header: { name: "opq/", type: "directory", mode: 0o755 } },
        { header: { name: "opq/new", type: "file" }, data: "n" },
        { header: { name: "opq/.wh..wh..opq", type: "file" } },
        { header: { name: ".wh.never-existed", type: "file" } },
      ]),
      dir,
      { whiteouts: "flatten" },
    );
    expect(readdirSync(dir).sort()).toEqual(["keep", "opq"]);
    expect(readdirSync(join(dir, "opq"))).toEqual(["new"]);
  });

  test("whiteouts become overlayfs whiteouts in overlay mode", async () => {
    const dir = fresh();
    await unpackLayer(
      await packTar([
        { header: { name: ".wh.gone", type: "file" } },
        { header: { name: "opq/", type: "directory", mode: 0o755 } },
        { header: { name: "opq/.wh..wh..opq", type: "file" } },
        { header: { name: "opq/new", type: "file" }, data: "n" },
      ]),
      dir,
      { whiteouts: "overlay" },
    );
    const w = lstatSync(join(dir, "gone"));
    expect(w.isCharacterDevice()).toBe(true);
    expect(w.rdev).toBe(0);
    expect(lgetxattr(join(dir, "opq"), "trusted.overlay.opaque")?.toString()).toBe("y");
    expect(existsSync(join(dir, "opq/.wh..wh..opq"))).toBe(false);
  });

  test("overlay xattrs inside an archive are ignored", async () => {
    const dir = fresh();
    await unpackLayer(await packTar([{ header: { name: "d/", type: "directory", pax: { "SCHILY.xattr.trusted.overlay.redirect": "/etc" } } }]), dir, {
      whiteouts: "overlay",
    });
    expect(lgetxattr(join(dir, "d"), "trusted.overlay.redirect")).toBeUndefined();
  });
});

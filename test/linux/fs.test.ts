// The runtime's libc-backed file calls and path helpers (src/linux/fs.ts,
// path.ts) against node:fs and node:path, which they stand in for.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as nfs from "node:fs";
import { tmpdir } from "node:os";
import * as npath from "node:path";
import * as fs from "../../src/linux/fs.ts";
import * as path from "../../src/linux/path.ts";

describe("path helpers give node:path's answers", () => {
  const samples = [
    "",
    ".",
    "..",
    "/",
    "//",
    "a",
    "a/",
    "/a",
    "/a/",
    "a/b",
    "a//b",
    "/a/./b/../c",
    "../a/../../b",
    "/../x",
    "a/b/..",
    "./a",
    "/a/b/c/",
    "x/./",
    "/.",
  ];
  test("normalize, isAbsolute, basename, dirname", () => {
    for (const s of samples) {
      expect([s, path.normalize(s)]).toEqual([s, npath.posix.normalize(s).replace(/(.)\/$/, "$1")]);
      expect([s, path.isAbsolute(s)]).toEqual([s, npath.posix.isAbsolute(s)]);
      expect([s, path.basename(s)]).toEqual([s, npath.posix.basename(s)]);
      if (!s.includes("//")) expect([s, path.dirname(s)]).toEqual([s, npath.posix.dirname(s)]);
    }
  });
  test("join and resolve", () => {
    for (const a of samples) {
      for (const b of ["b", "/b", "../b", "", "b/./c"]) {
        expect([a, b, path.join(a, b)]).toEqual([a, b, npath.posix.join(a, b).replace(/(.)\/$/, "$1")]);
        expect([a, b, path.resolve(a, b)]).toEqual([a, b, npath.posix.resolve(a, b)]);
      }
    }
    expect(path.resolve()).toBe(process.cwd());
  });
});

describe("file calls behave as node:fs", () => {
  let dir = "";
  beforeAll(() => {
    dir = nfs.mkdtempSync(npath.join(tmpdir(), "berth-fs-"));
  });
  afterAll(() => nfs.rmSync(dir, { recursive: true, force: true }));

  test("write, append, read, exists, stat", () => {
    const f = `${dir}/file`;
    fs.writeFileSync(f, "hello", { mode: 0o640 });
    fs.appendFileSync(f, " world");
    expect(fs.readFileSync(f, "utf8")).toBe("hello world");
    expect(nfs.readFileSync(f, "utf8")).toBe("hello world");
    expect(fs.readFileSync(f)).toEqual(Buffer.from("hello world"));
    expect(fs.existsSync(f)).toBe(true);
    expect(fs.existsSync(`${dir}/none`)).toBe(false);
    const ours = fs.statSync(f),
      theirs = nfs.statSync(f);
    expect([ours.ino, ours.mode, ours.size, ours.isFile(), ours.isDirectory()]).toEqual([theirs.ino, theirs.mode, theirs.size, true, false]);
    expect(ours.mode & 0o777).toBe(0o640 & ~process.umask());
    // a file bigger than one read, and a /proc file whose size says 0
    const big = "x".repeat(300_000);
    fs.writeFileSync(f, big);
    expect(fs.readFileSync(f, "utf8")).toBe(big);
    expect(fs.readFileSync("/proc/self/status", "utf8")).toContain("Pid:");
  });

  test("descriptors: open, write at an offset, read, fstat, fsync, close", () => {
    const f = `${dir}/fd`;
    const fd = fs.openSync(f, "wx", 0o600);
    expect(() => fs.openSync(f, "wx")).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(fs.writeSync(fd, Buffer.from("abcdef"), 2)).toBe(4);
    fs.fsyncSync(fd);
    expect(fs.fstatSync(fd).ino).toBe(nfs.statSync(f).ino);
    fs.closeSync(fd);
    // close-on-exec, as every descriptor the runtime opens
    const r = fs.openSync(f, "r");
    const flags = /^flags:\s+(\d+)$/m.exec(nfs.readFileSync(`/proc/self/fdinfo/${r}`, "utf8"))![1]!;
    expect(parseInt(flags, 8) & 0o2000000).toBe(0o2000000);
    const buf = new Uint8Array(16);
    expect(fs.readSync(r, buf)).toBe(4);
    expect(Buffer.from(buf.subarray(0, 4)).toString()).toBe("cdef");
    expect(fs.readSync(r, buf)).toBe(0);
    fs.closeSync(r);
    expect(() => fs.closeSync(r)).toThrow(expect.objectContaining({ code: "EBADF" }));
  });

  test("directories: mkdir (recursive), readdir with types, rename, chmod, readlink, rm", () => {
    const d = `${dir}/a/b/c`;
    fs.mkdirSync(d, { recursive: true, mode: 0o711 });
    fs.mkdirSync(d, { recursive: true });
    expect(() => fs.mkdirSync(d)).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(() => fs.mkdirSync(`${dir}/no/such`)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(nfs.statSync(d).isDirectory()).toBe(true);
    fs.writeFileSync(`${dir}/a/f`, "x");
    nfs.symlinkSync("f", `${dir}/a/l`);
    const types = Object.fromEntries(
      fs.readdirSync(`${dir}/a`, { withFileTypes: true }).map((e) => [e.name, [e.isDirectory(), e.isFile(), e.isSymbolicLink()]]),
    );
    expect(types).toEqual({ b: [true, false, false], f: [false, true, false], l: [false, false, true] });
    expect(fs.readdirSync(`${dir}/a`).sort()).toEqual(nfs.readdirSync(`${dir}/a`).sort());
    expect(fs.readlinkSync(`${dir}/a/l`)).toBe("f");
    expect(fs.lstatSync(`${dir}/a/l`).isSymbolicLink()).toBe(true);
    expect(fs.statSync(`${dir}/a/l`).isFile()).toBe(true);
    fs.chmodSync(`${dir}/a/f`, 0o604);
    expect(nfs.statSync(`${dir}/a/f`).mode & 0o777).toBe(0o604);
    fs.renameSync(`${dir}/a/f`, `${dir}/a/g`);
    expect(nfs.existsSync(`${dir}/a/g`)).toBe(true);
    expect(() => fs.rmdirSync(`${dir}/a`)).toThrow(expect.objectContaining({ code: "ENOTEMPTY" }));
    expect(() => fs.rmSync(`${dir}/a`)).toThrow(expect.objectContaining({ code: "EISDIR" }));
    fs.unlinkSync(`${dir}/a/g`);
    fs.rmSync(`${dir}/a`, { recursive: true });
    expect(nfs.existsSync(`${dir}/a`)).toBe(false);
    fs.rmSync(`${dir}/a`, { force: true });
    expect(() => fs.rmSync(`${dir}/a`)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => fs.readFileSync(`${dir}/a`, "utf8")).toThrow(/open .*\/a: ENOENT/);
  });
});

test("majorMinor undoes makedev, and reads st_rdev as the kernel writes it", async () => {
  const { majorMinor, makedev } = await import("../../src/linux/sys.ts");
  for (const [ma, mi] of [
    [1, 3],
    [10, 229],
    [136, 4],
    [259, 0x12345],
    [4095, 255],
    [4096, 1 << 20],
    [0xfffff, 0xffffffff],
  ] as const) {
    expect(majorMinor(makedev(ma, mi))).toEqual({ major: ma, minor: mi });
  }
  expect(majorMinor(nfs.statSync("/dev/null").rdev)).toEqual({ major: 1, minor: 3 });
});

// The plumbing of src/linux: the removable lock file shared by the runtime's
// and the engine's per-container locks (lock.ts), the atomic write, and the
// per-architecture system call numbers (libc.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withRemovableLock, withRemovableLockSync, writeFileAtomic } from "../../src/linux/lock.ts";
import { syscallNumber } from "../../src/linux/libc.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("removable lock", () => {
  test("the file goes when gone() says so, stays otherwise", () => {
    const path = join(dir, "a.lock");
    expect(
      withRemovableLockSync(
        path,
        () => false,
        () => 7,
      ),
    ).toBe(7);
    expect(existsSync(path)).toBe(true);
    withRemovableLockSync(
      path,
      () => true,
      () => {},
    );
    expect(existsSync(path)).toBe(false);
  });

  test("holders are serialised; one waiting on a file removed meanwhile retakes the new one", async () => {
    const path = join(dir, "b.lock");
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The first holder removes the file on its way out (its container is gone).
    const first = withRemovableLock(
      path,
      () => true,
      async () => {
        order.push("first in");
        await held;
        order.push("first out");
      },
      () => new Error("timed out"),
    );
    await Bun.sleep(20);
    const second = withRemovableLock(
      path,
      () => false,
      () => {
        order.push("second");
        // The file this holder holds is the one at the path (the inode check).
        return statSync(path).ino;
      },
      () => new Error("timed out"),
    );
    await Bun.sleep(50);
    expect(order).toEqual(["first in"]);
    release();
    const ino = await second;
    await first;
    expect(order).toEqual(["first in", "first out", "second"]);
    expect(statSync(path).ino).toBe(ino);
  });

  test("a timeout throws the caller's error", async () => {
    const path = join(dir, "c.lock");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = withRemovableLock(
      path,
      () => false,
      () => held,
      () => new Error("x"),
    );
    await Bun.sleep(20);
    await expect(
      withRemovableLock(
        path,
        () => false,
        () => 1,
        () => new Error("lock of c timed out"),
        100,
      ),
    ).rejects.toThrow("lock of c timed out");
    release();
    await first;
  });
});

test("writeFileAtomic leaves the new file and no temp file, durable or not", () => {
  const d = join(dir, "atomic");
  writeFileAtomic(join(d, "f"), "one", 0o600);
  writeFileAtomic(join(d, "f"), "two", 0o600, { durable: false });
  expect(readFileSync(join(d, "f"), "utf8")).toBe("two");
  expect(statSync(join(d, "f")).mode & 0o777).toBe(0o600);
  expect(readdirSync(d)).toEqual(["f"]);
});

test("writeFileAtomic makes missing directories (several levels), and fails with nothing left where a file stands in for one", () => {
  const deep = join(dir, "deep", "er", "f");
  writeFileAtomic(deep, "x", 0o600, { durable: false });
  expect(readFileSync(deep, "utf8")).toBe("x");
  const blocker = join(dir, "blocker");
  writeFileAtomic(blocker, "not a directory", 0o600);
  expect(() => writeFileAtomic(join(blocker, "f"), "y", 0o600)).toThrow(/ENOTDIR/);
  expect(readFileSync(blocker, "utf8")).toBe("not a directory");
});

test("bpf's system call number per architecture (x86-64 321, aarch64 280); unknown ones refused by name", () => {
  expect(syscallNumber("bpf", "x64")).toBe(321);
  expect(syscallNumber("bpf", "arm64")).toBe(280);
  expect(() => syscallNumber("bpf", "vax")).toThrow("bpf system call's number is not known for vax");
  expect(syscallNumber("bpf")).toBeGreaterThan(0);
});

test("errnoCode reads the errno through causes, never the message (the rootless cgroup fallback decides on it)", async () => {
  const { errnoCode } = await import("../../src/linux/libc.ts");
  const { CgroupError } = await import("../../src/cgroups/types.ts");
  const fs = await import("../../src/linux/fs.ts");
  let sys: unknown;
  try {
    fs.mkdirSync(join(dir, "no", "such", "parent"));
  } catch (e) {
    sys = e;
  }
  expect(errnoCode(sys)).toBe("ENOENT");
  expect(errnoCode(new CgroupError("cannot create x", "linux.cgroupsPath", sys))).toBe("ENOENT");
  const { RuntimeError } = await import("../../src/runtime/state.ts");
  expect(errnoCode(new RuntimeError("outer", 1, new CgroupError("inner", undefined, sys)))).toBe("ENOENT");
  expect(errnoCode(new Error("mkdir /x: EACCES (Permission denied)"))).toBeUndefined();
});

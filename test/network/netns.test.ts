import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, isNetns, netnsPath, releaseNetnsDir, removeNetns } from "../../src/network/netns.ts";
import { inNetns } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-netns-"));
const nsDir = join(dir, "netns");

afterAll(async () => {
  for (const n of ["a", "b"]) await removeNetns(join(nsDir, n)).catch(() => {});
  await releaseNetnsDir(nsDir).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe("persistent network namespaces", () => {
  test("createNetns binds a new, empty network namespace to a file", async () => {
    const p = await createNetns("a", nsDir);
    expect(p).toBe(netnsPath("a", nsDir));
    expect(isNetns(p)).toBe(true);
    const inside = inNetns(p, ["readlink", "/proc/self/ns/net"]).stdout.trim();
    expect(inside).toMatch(/^net:\[\d+\]$/);
    expect(inside).not.toBe(readlinkSync("/proc/self/ns/net"));
    const links = inNetns(p, ["ip", "-o", "link", "show"]).stdout.trim().split("\n");
    expect(links).toHaveLength(1);
    expect(links[0]).toContain("lo:");
    // a second namespace is a different one
    const q = await createNetns("b", nsDir);
    expect(inNetns(q, ["readlink", "/proc/self/ns/net"]).stdout.trim()).not.toBe(inside);
    await removeNetns(q);
  });

  test("a name in use is refused and the existing namespace is kept", async () => {
    const p = netnsPath("a", nsDir);
    const before = inNetns(p, ["readlink", "/proc/self/ns/net"]).stdout.trim();
    await expect(createNetns("a", nsDir)).rejects.toThrow("already exists");
    expect(isNetns(p)).toBe(true);
    expect(inNetns(p, ["readlink", "/proc/self/ns/net"]).stdout.trim()).toBe(before);
  });

  test("bad names are refused before anything is made", async () => {
    for (const bad of ["", "../x", "a/b", ".hidden", "x".repeat(200)]) {
      await expect(createNetns(bad, nsDir)).rejects.toThrow("network namespace name");
    }
    expect(existsSync(join(dir, "x"))).toBe(false);
  });

  test("removeNetns unmounts and unlinks, and succeeds when already gone", async () => {
    const p = netnsPath("a", nsDir);
    await removeNetns(p);
    expect(isNetns(p)).toBe(false);
    expect(existsSync(p)).toBe(false);
    await removeNetns(p);
    // a plain leftover file (a crash between create and mount) is removed too
    writeFileSync(p, "");
    await removeNetns(p);
    expect(existsSync(p)).toBe(false);
  });

  test("concurrent creations in a fresh directory mount it once", async () => {
    const fresh = join(dir, "fresh");
    try {
      const paths = await Promise.all(["p1", "p2", "p3"].map((n) => createNetns(n, fresh)));
      for (const p of paths) expect(isNetns(p)).toBe(true);
      const mounts = readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l.split(" ")[4] === fresh);
      expect(mounts).toHaveLength(1);
      expect(mounts[0]).toContain("shared:");
    } finally {
      for (const n of ["p1", "p2", "p3"]) await removeNetns(join(fresh, n));
      await releaseNetnsDir(fresh);
    }
    expect(existsSync(fresh)).toBe(false);
  });

  test("releaseNetnsDir keeps a directory that still holds namespaces", async () => {
    const p = await createNetns("b", nsDir);
    expect(await releaseNetnsDir(nsDir)).toBe(false);
    expect(isNetns(p)).toBe(true);
    await removeNetns(p);
    expect(await releaseNetnsDir(nsDir)).toBe(true);
    expect(existsSync(nsDir)).toBe(false);
  });
});

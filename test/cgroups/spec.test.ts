// `berth spec` and the cgroup namespace: the runtime-spec leaves the namespace
// list to the config; `runc spec` (1.1) and `crun spec` add a cgroup namespace
// only on a pure cgroup v2 host, and callers that start from their bundle
// expect the same of berth's.
import { expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH, ensureBuilt } from "../runtime/helpers.ts";
import { defaultSpec } from "../../src/spec/defaults.ts";
import { layout } from "./helpers.ts";

function specNamespaces(...flags: string[]): string[] {
  ensureBuilt();
  const d = mkdtempSync(join(tmpdir(), "berth-spec-"));
  try {
    execFileSync(BERTH, ["spec", "--bundle", d, ...flags]);
    const cfg = JSON.parse(readFileSync(join(d, "config.json"), "utf8")) as { linux: { namespaces: { type: string }[] } };
    return cfg.linux.namespaces.map((n) => n.type);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

test("berth spec has a cgroup namespace on a pure cgroup v2 host only (as runc spec)", () => {
  const want = layout.mode === "v2";
  expect(specNamespaces().includes("cgroup")).toBe(want);
  expect(specNamespaces("--rootless").includes("cgroup")).toBe(want);
});

test("defaultSpec: cgroupns on by default (the engine's containers), off on request", () => {
  expect(defaultSpec().linux!.namespaces!.map((n) => n.type)).toContain("cgroup");
  expect(defaultSpec({ cgroupns: false }).linux!.namespaces!.map((n) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
});

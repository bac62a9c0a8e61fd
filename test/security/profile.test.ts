// The engine's default seccomp profile, loaded into real containers.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { defaultSeccompProfile } from "../../src/security/profile.ts";
import { validateConfig } from "../../src/spec/validate.ts";
import { berth, bundleTracker, ensureCore, uniqueId } from "../cli/helpers.ts";

beforeAll(ensureCore);
const tracker = bundleTracker();
afterEach(tracker.cleanupAll);

const PROBE = [
  "echo $((6*7)) & wait",                                   // fork (clone without namespace flags)
  "unshare -n true 2>/dev/null && echo unshare-ok || echo unshare-refused",
  "unshare -m true 2>/dev/null && echo unshare-m-ok || echo unshare-m-refused",
  "mount -t tmpfs none /mnt 2>/dev/null && echo mount-ok || echo mount-refused",
].join("; ");

test("the default profile is a valid OCI seccomp section", () => {
  const b = tracker.bundle(["true"], (s) => {
    s.linux!.seccomp = defaultSeccompProfile();
  });
  expect(() => validateConfig(b.spec)).not.toThrow();
});

test("forks work; namespaces and mounts are refused", () => {
  const b = tracker.bundle(["sh", "-c", PROBE], (s) => {
    s.linux!.seccomp = defaultSeccompProfile(s.process!.capabilities!.bounding);
  });
  const r = berth(b.root, ["run", "--bundle", b.dir, uniqueId("sc")]);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim().split("\n")).toEqual(["42", "unshare-refused", "unshare-m-refused", "mount-refused"]);
});

test("CAP_SYS_ADMIN granted on purpose lets namespaces and mounts through", () => {
  const b = tracker.bundle(["sh", "-c", PROBE], (s) => {
    const caps = [...s.process!.capabilities!.bounding!, "CAP_SYS_ADMIN"];
    s.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
    s.linux!.seccomp = defaultSeccompProfile(caps);
    s.mounts!.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs" });
  });
  const r = berth(b.root, ["run", "--bundle", b.dir, uniqueId("sc")]);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim().split("\n")).toEqual(["42", "unshare-ok", "unshare-m-ok", "mount-ok"]);
});

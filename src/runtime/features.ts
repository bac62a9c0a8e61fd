// What this runtime supports, as the runtime-spec's features document
// (`features`), and the configuration it proposes (`spec`'s config.json).
import { existsSync, writeFileSync } from "../linux/fs.ts";
import { join } from "../linux/path.ts";
import { detectCgroups } from "../cgroups/index.ts";
import { MEMPOLICY_FLAGS, MEMPOLICY_MODES } from "../spec/constants.ts";
import { baseFeatures, defaultSpec } from "../spec/defaults.ts";
import { RuntimeError } from "./state.ts";

/** What berth really supports on this host; VERSION goes into the annotations. */
export function features(version: string): object {
  const f = baseFeatures() as unknown as Record<string, unknown>;
  const linux = (f.linux ?? {}) as Record<string, unknown>;
  const layout = detectCgroups();
  linux.cgroup = { v1: layout.mode !== "v2", v2: layout.mode === "v2" || layout.mode === "hybrid", systemd: false, systemdUser: false, rdma: true };
  linux.mountExtensions = { idmap: { enabled: true } };
  linux.intelRdt = { enabled: false };
  linux.memoryPolicy = { modes: Object.keys(MEMPOLICY_MODES), flags: Object.keys(MEMPOLICY_FLAGS) };
  linux.netDevices = { enabled: true };
  const seccomp = (linux.seccomp ?? {}) as Record<string, unknown>;
  linux.seccomp = {
    ...seccomp,
    enabled: true,
    actions: (seccomp.actions as string[]) ?? [],
    supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
  };
  linux.apparmor = { enabled: existsSync("/sys/kernel/security/apparmor") };
  linux.selinux = { enabled: existsSync("/sys/fs/selinux/enforce") };
  f.mountOptions = [
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "relatime",
    "noatime",
    "strictatime",
    "nodiratime",
    "diratime",
    "nosymfollow",
    "symfollow",
    "rro",
    "rrw",
    "rnosuid",
    "rnodev",
    "rnoexec",
    "bind",
    "rbind",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
    "tmpcopyup",
    "idmap",
    "ridmap",
  ];
  f.linux = linux;
  f.annotations = { "org.opencontainers.runc.version": version, "io.github.berth.version": version, "io.github.berth.seccomp.enabled": "true" };
  f.potentiallyUnsafeConfigAnnotations = [];
  return f;
}

/** Writes the default config.json into DIR (an existing one is refused, as runc does). */
export function writeDefaultSpec(dir: string, rootless: boolean): void {
  const path = join(dir, "config.json");
  if (existsSync(path)) throw new RuntimeError(`File ${path} exists. Remove it first`);
  // a cgroup namespace only on a pure cgroup v2 host, as `runc spec` does
  const cgroupns = detectCgroups().mode === "v2";
  writeFileSync(path, JSON.stringify(defaultSpec({ rootless, cgroupns }), null, "\t") + "\n");
}

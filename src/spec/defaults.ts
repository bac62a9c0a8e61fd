/**
 * The default config.json that `berth spec` writes, and the default lists the
 * other layers share (capabilities, masked and read-only paths).
 */
import type { Features, LinuxNamespace, Mount, Spec } from "./types.ts";
import { ALL_CAPABILITIES, NAMESPACE_TYPES, OCI_VERSION, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "./constants.ts";

export {
  ALL_CAPABILITIES,
  CAPABILITY_NUMBERS,
  NAMESPACE_TYPES,
  OCI_VERSION,
  RLIMIT_NUMBERS,
  RLIMIT_TYPES,
} from "./constants.ts";

/** Capabilities a default container keeps (bounding, effective, permitted). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);

/** Paths hidden from the container (a /dev/null or empty read-only tmpfs is mounted over them). */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
]);

/** Paths remounted read-only inside the container. */
export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);

/** The PATH a process gets when nothing gives it one (runc's spec, images without Env, CNI plugins, a self-started agent). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const DEFAULT_PATH_ENV = `PATH=${DEFAULT_PATH}`;

function defaultMounts(rootless: boolean): Mount[] {
  const mounts: Mount[] = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      // gid=5 (tty) only exists when the host's gid 5 is mapped, which it is not in a rootless user namespace.
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(rootless ? [] : ["gid=5"])],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  ];
  if (rootless) {
    // Without its own network namespace a container may not mount a fresh sysfs: bind the host's, read-only.
    mounts.push({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
  } else {
    mounts.push({ destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] });
    mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] });
  }
  return mounts;
}

function currentIds(): { uid: number; gid: number } {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const gid = typeof process.getgid === "function" ? process.getgid() : 0;
  return { uid, gid };
}

/**
 * A fresh default spec (a new object each call, safe to modify).
 *
 * cgroupns (default true): a cgroup namespace of the container's own. The
 * runtime-spec leaves it to the config; `runc spec` and `crun spec` add one
 * only on a pure cgroup v2 host, and `berth spec` follows them (a v1 or hybrid
 * host's containers then see their own cgroups bound at /sys/fs/cgroup/<hierarchy>).
 *
 * rootless: the container gets a user namespace mapping root inside to the
 * calling user (uid and gid), no network namespace (it could not be wired up
 * without privileges), /sys bind-mounted instead of a new sysfs, no gid= on
 * devpts, and no cgroup resources (an unprivileged user cannot apply them).
 */
export function defaultSpec(opts: { rootless?: boolean; cgroupns?: boolean } = {}): Spec {
  const rootless = opts.rootless === true;
  const caps = [...DEFAULT_CAPABILITIES];
  const namespaces: LinuxNamespace[] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (opts.cgroupns !== false) namespaces.push({ type: "cgroup" });
  if (!rootless) namespaces.splice(1, 0, { type: "network" });

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: [DEFAULT_PATH_ENV, "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "berth",
    mounts: defaultMounts(rootless),
    linux: {
      namespaces,
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };

  if (rootless) {
    const { uid, gid } = currentIds();
    spec.linux!.namespaces!.push({ type: "user" });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  } else {
    // Deny access to all devices; the runtime allows the standard ones it creates.
    spec.linux!.resources = { devices: [{ allow: false, access: "rwm" }] };
  }
  return spec;
}

/**
 * The parts of the `features` document that follow from the vocabulary this
 * layer validates (a new object each call). The runtime adds what depends on
 * the build and the host: mountOptions, cgroup, seccomp.enabled and
 * supportedFlags, apparmor, selinux, and so on.
 */
export function baseFeatures(): Features {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: [...ALL_CAPABILITIES],
      seccomp: {
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...SECCOMP_ARCHES],
        knownFlags: [...SECCOMP_FLAGS],
      },
    },
  };
}

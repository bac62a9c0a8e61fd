// The busybox bundle every container peer runs, made offline from the host's
// static busybox (Debian busybox-static): one shared read-only rootfs, and a
// small bundle directory with its own config.json per container.
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, which } from "./util.ts";

export function findBusybox(): string {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    if (existsSync(p)) {
      const r = must(["file", "-L", p], "file(1) on busybox", { stdout: true });
      if (/statically linked/.test(r.stdout)) return p;
    }
  }
  const p = which("busybox");
  if (p) return p;
  throw new Error("no busybox found: install the Debian package busybox-static");
}

/** Builds ROOTFS: /bin/busybox, a symlink per applet, empty mount points. */
export function makeRootfs(rootfs: string, busybox: string): void {
  for (const d of ["bin", "proc", "dev", "tmp", "data", "etc"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(busybox, join(rootfs, "bin", "busybox"));
  const list = must([busybox, "--list"], "busybox --list", { stdout: true }).stdout.split("\n");
  for (const a of list) {
    if (!a || a === "busybox" || a.includes("/")) continue;
    const link = join(rootfs, "bin", a);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\n");
}

export interface Bind {
  source: string;
  destination: string;
  readonly?: boolean;
}

export interface ContainerOpts {
  rootfs: string;
  args: string[];
  cgroupsPath: string;
  binds?: Bind[];
  memoryLimit?: number;
  hostname?: string;
}

const CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/**
 * An OCI runtime config: no terminal; pid, ipc, uts, mount and network
 * namespaces; minimal mounts (proc, a tmpfs /dev); read-only shared rootfs.
 */
export function containerConfig(o: ContainerOpts): object {
  const mounts: object[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
  ];
  for (const b of o.binds ?? []) {
    mounts.push({ destination: b.destination, type: "bind", source: b.source, options: ["rbind", b.readonly ? "ro" : "rw", "nosuid", "nodev"] });
  }
  const linux: Record<string, unknown> = {
    namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }],
    cgroupsPath: o.cgroupsPath,
    resources: {
      devices: [{ allow: false, access: "rwm" }],
      ...(o.memoryLimit ? { memory: { limit: o.memoryLimit } } : {}),
    },
  };
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: ["PATH=/bin", "HOME=/"],
      cwd: "/",
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: true },
    hostname: o.hostname ?? "bench",
    mounts,
    linux,
  };
}

/** Writes DIR/config.json for one container; returns DIR. */
export function writeBundle(dir: string, o: ContainerOpts): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(containerConfig(o), null, 1));
  return dir;
}

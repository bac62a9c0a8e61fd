// What `version` and `info` report, in Docker's field names (for their
// --format templates): berth is daemonless, so the "server" is the engine
// library this same process runs.
import { readFileSync } from "node:fs";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import type { Engine } from "./engine.ts";

export const ENGINE_VERSION = "0.1.0";
/** The Docker Engine API version whose field names berth's JSON follows. */
export const API_VERSION = "1.43";

function goArch(): string {
  const a = arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "Linux"; // no os-release: the kernel's name
    throw e;
  }
}

export function versionInfo(): object {
  const common = { Version: ENGINE_VERSION, ApiVersion: API_VERSION, Os: "linux", Arch: goArch(), KernelVersion: release(), BuildTime: "", GitCommit: "" };
  return {
    Client: { Platform: { Name: "berth" }, ...common, DefaultAPIVersion: API_VERSION, Runtime: `bun ${Bun.version}`, Context: "default" },
    Server: {
      Platform: { Name: "berth (daemonless)" },
      ...common,
      MinAPIVersion: API_VERSION,
      Components: [{ Name: "Engine", Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, Os: "linux", Arch: goArch() } }],
    },
  };
}

export function systemInfo(e: Engine): object {
  const cs = e.containers.list();
  const st = cs.map((c) => e.status(c));
  const cgroup2 = (() => {
    try {
      return readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .some((l) => / \/sys\/fs\/cgroup - cgroup2 /.test(l));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false; // no /proc: nothing mounted that it can see
      throw e;
    }
  })();
  return {
    ID: "",
    Name: hostname(),
    ServerVersion: ENGINE_VERSION,
    Containers: cs.length,
    ContainersRunning: st.filter((s) => s === "running").length,
    ContainersPaused: st.filter((s) => s === "paused").length,
    ContainersStopped: st.filter((s) => s === "exited" || s === "created").length,
    Images: e.images.list().length,
    Driver: e.snapshots.mode === "overlay" ? "overlay2" : "vfs",
    DockerRootDir: e.paths.root,
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSType: "linux",
    Architecture: arch() === "x64" ? "x86_64" : arch(),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    CgroupDriver: "cgroupfs",
    CgroupVersion: cgroup2 ? "2" : "1",
    LoggingDriver: "json-file",
    DefaultRuntime: "berth",
    Runtimes: { berth: { path: process.execPath } },
    SecurityOptions: ["name=seccomp,profile=builtin"],
    Volumes: e.volumes.list().length,
  };
}

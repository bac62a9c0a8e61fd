// What the list and inspect commands show of containers and images, as data
// in Docker's field names (ps, images, inspect), and the human-readable
// times and sizes of their tables: for the command line and any other
// front end of the engine.
import { familiarReference, parseReference, ReferenceError as BadReference } from "../image/reference.ts";
import { errnoCode } from "../linux/libc.ts";
import type { ImageRecord } from "../image/store.ts";
import { EngineUsageError, type PublishedPort } from "./args.ts";
import { alive, type Engine } from "./engine.ts";
import { builtinBridge, onNetwork, type UserNetwork } from "./networks.ts";
import { EngineError, type ContainerRecordE } from "./store.ts";
import { volumesOf } from "./volumes.ts";
import { defaultCgroupns } from "./spec.ts";

/** How long ago a time was, as Docker's tables say it: "5 minutes ago"; "N/A" for the epoch (a reproducible image's date). */
export function ago(iso: string | undefined): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  // reproducible images carry the epoch as their date: it says nothing
  if (!Number.isFinite(t) || t <= 0) return "N/A";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return s <= 1 ? "Less than a second ago" : `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? "About a minute ago" : `${m} minutes ago`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? "About an hour ago" : `${h} hours ago`;
  const d = Math.round(h / 24);
  if (d < 30) return `${d} days ago`;
  if (d < 730) return `${Math.round(d / 30)} months ago`;
  return `${Math.round(d / 365)} years ago`;
}

/** n in units of base: the value and the unit's index. */
function scaled(n: number, base: number, units: number): [number, number] {
  let i = 0;
  let v = n;
  while (v >= base && i < units - 1) {
    v /= base;
    i++;
  }
  return [v, i];
}

/** A size in decimal units, as Docker's tables show it: 512B, 1.5kB, 12.3MB, 123MB. */
export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  const [v, i] = scaled(n, 1000, units.length);
  return `${i === 0 ? v : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[i]}`;
}

/** A size in binary units, as stats shows memory: 512B, 1.5KiB, 64MiB. */
export function binarySize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  const [v, i] = scaled(n, 1024, units.length);
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, "")}${units[i]}`;
}

/** An image's size: its layers' and config's blobs. */
export function imageSize(e: Engine, digest: string): number {
  try {
    const img = e.images.loadImage(digest, e.images.lookup(digest)!.record);
    return img.layers.reduce((s, l) => s + l.size, 0) + img.manifest.config.size;
  } catch (e) {
    // an image whose manifest is damaged or half-removed shows size 0, as a
    // list must go on; a system error (EACCES, EIO) is reported
    if (errnoCode(e) !== undefined) throw e;
    return 0;
  }
}

function splitName(ref: string): { repo: string; tag: string } {
  try {
    const f = familiarReference(parseReference(ref));
    const at = f.indexOf("@");
    if (at >= 0) return { repo: f.slice(0, at), tag: "<none>" };
    const c = f.lastIndexOf(":");
    return { repo: f.slice(0, c), tag: f.slice(c + 1) };
  } catch (e) {
    if (!(e instanceof BadReference)) throw e;
    return { repo: ref, tag: "<none>" }; // a stored name that is no valid reference: shown as it is
  }
}

/** One row of `images`: the name split as Docker shows it, the image's date, labels and size. */
export interface ImageListRow {
  ref: string;
  repo: string;
  tag: string;
  id: string;
  digest: string;
  created: string;
  labels: Record<string, string> | undefined;
  size: number;
}

/** The row of one named image. */
export function imageRow(e: Engine, ref: string, record: ImageRecord): ImageListRow {
  let created = "";
  let labels: Record<string, string> | undefined;
  try {
    const cfg = e.images.loadImage(ref, record).config;
    created = cfg.created ?? "";
    labels = cfg.config?.Labels;
  } catch (e) {
    if (errnoCode(e) !== undefined) throw e; // a system error is reported; a broken image has no date
  }
  return { ref, ...splitName(ref), id: record.config, digest: record.repoDigest ?? record.digest, created, labels, size: imageSize(e, ref) };
}

/** A container's STATUS column: "Up 5 minutes (healthy)", "Exited (0) 2 hours ago"... */
export function statusText(e: Engine, c: ContainerRecordE): string {
  const st = e.status(c);
  const h = c.healthcheck ? (c.state.health?.status ?? "starting") : undefined;
  if (st === "running") return `Up ${ago(c.state.startedAt).replace(/ ago$/, "")}${h ? (h === "starting" ? " (health: starting)" : ` (${h})`) : ""}`;
  if (st === "paused") return `Up ${ago(c.state.startedAt).replace(/ ago$/, "")} (Paused)`;
  if (st === "created") return "Created";
  if (c.state.restarting && alive(c.state.monitorPid)) return `Restarting (${c.state.exitCode ?? "unknown"}) ${ago(c.state.finishedAt)}`;
  return `Exited (${c.state.exitCode ?? "unknown"}) ${ago(c.state.finishedAt)}`;
}

export function inspectContainer(e: Engine, c: ContainerRecordE): object {
  const st = e.status(c);
  return {
    Id: c.id,
    Name: c.name,
    Created: c.created,
    Path: c.path,
    Args: c.args.slice(1),
    State: {
      Status: st,
      Running: st === "running" || st === "paused",
      Paused: st === "paused",
      Pid: st === "exited" ? 0 : c.state.pid,
      ExitCode: c.state.exitCode ?? (st === "exited" ? -1 : 0),
      StartedAt: c.state.startedAt ?? "",
      FinishedAt: c.state.finishedAt ?? "",
      ...(c.state.error ? { Error: c.state.error } : {}),
      Restarting: !!c.state.restarting && alive(c.state.monitorPid),
      OOMKilled: !!c.state.oomKilled,
      Dead: false,
      ...(c.healthcheck
        ? {
            Health: {
              Status: c.state.health?.status ?? "starting",
              FailingStreak: c.state.health?.failingStreak ?? 0,
              Log: (c.state.health?.log ?? []).map((l) => ({ Start: l.start, End: l.end, ExitCode: l.exitCode, Output: l.output })),
            },
          }
        : {}),
    },
    RestartCount: c.state.restartCount ?? 0,
    Image: c.imageId,
    ImageName: c.imageRef,
    ImageDigest: c.imageDigest,
    Rootfs: c.rootfs,
    LogPath: c.logPath,
    Config: {
      Hostname: c.hostname,
      User: c.options.user ?? "",
      Env: c.env,
      Cmd: c.args,
      WorkingDir: c.cwd,
      Entrypoint: c.options.entrypoint ?? null,
      Tty: c.options.tty,
      OpenStdin: c.options.interactive,
      StopSignal: c.stopSignal,
      Image: c.image,
      Labels: c.options.labels ?? {},
      ...(c.options.stopTimeout !== undefined ? { StopTimeout: c.options.stopTimeout } : {}),
      ...(c.healthcheck
        ? {
            Healthcheck: {
              Test: c.healthcheck.test,
              Interval: c.healthcheck.intervalMs * 1e6,
              Timeout: c.healthcheck.timeoutMs * 1e6,
              StartPeriod: c.healthcheck.startPeriodMs * 1e6,
              Retries: c.healthcheck.retries,
            },
          }
        : {}),
    },
    HostConfig: {
      AutoRemove: c.autoRemove,
      NetworkMode: c.network.name ?? c.network.mode,
      ReadonlyRootfs: c.options.readOnly,
      Privileged: !!c.options.privileged,
      CgroupnsMode: c.options.cgroupns ?? defaultCgroupns(),
      RestartPolicy: { Name: c.options.restart?.name ?? "no", MaximumRetryCount: c.options.restart?.maxRetries ?? 0 },
      Memory: c.options.memory ?? 0,
      NanoCpus: c.options.cpus ? Math.round(c.options.cpus * 1e9) : 0,
      PidsLimit: c.options.pidsLimit ?? 0,
      CapAdd: c.options.capAdd,
      CapDrop: c.options.capDrop,
      Binds: c.options.volumes.map((v) => `${v.source}:${v.destination}${v.readonly ? ":ro" : ""}`),
      Tmpfs: Object.fromEntries(c.options.tmpfs.map((t) => [t.destination, t.options.join(",")])),
      SecurityOpt: [
        ...(c.options.noNewPrivileges ? ["no-new-privileges"] : []),
        ...(c.options.seccomp === null ? ["seccomp=unconfined"] : c.options.seccomp ? ["seccomp=profile"] : []),
      ],
    },
    NetworkSettings: {
      IPAddress: c.network.ips[0] ?? "",
      IPAddresses: c.network.ips,
      Gateway: c.network.gateway ?? "",
      SandboxKey: c.network.netnsPath ?? "",
      Ports: Object.fromEntries(
        (c.network.ports ?? []).map((p) => [`${p.containerPort}/${p.protocol}`, [{ HostIp: p.hostIP ?? "0.0.0.0", HostPort: String(p.hostPort) }]]),
      ),
      Networks:
        c.network.mode === "none" && !c.network.name
          ? {}
          : {
              [c.network.name ?? c.network.mode]: {
                Aliases: c.network.aliases ?? null,
                IPAddress: c.network.ips[0] ?? "",
                Gateway: c.network.gateway ?? "",
                NetworkID: c.network.name ? (e.networks.find(c.network.name)?.Id ?? "") : c.network.mode,
              },
              // joined with network connect
              ...Object.fromEntries(
                (c.network.connected ?? []).map((n) => [
                  n.name,
                  { Aliases: n.aliases ?? null, IPAddress: n.ips[0] ?? "", Gateway: "", NetworkID: e.networks.find(n.name)?.Id ?? "" },
                ]),
              ),
            },
    },
    Mounts: c.options.volumes.map((v) => ({
      Type: v.name ? "volume" : "bind",
      ...(v.name ? { Name: v.name } : {}),
      Source: v.source,
      Destination: v.destination,
      RW: !v.readonly,
    })),
  };
}

export function inspectImage(e: Engine, ref: string): object | undefined {
  const hit = e.images.lookup(ref);
  if (!hit) return undefined;
  const img = e.images.loadImage(hit.ref, hit.record);
  const names = e.images
    .list()
    .filter((x) => x.record.digest === img.digest)
    .map((x) => x.ref);
  return {
    Id: img.configDigest,
    Digest: img.digest,
    RepoTags: names.filter((n) => !n.includes("@")),
    RepoDigests: [...new Set(names.map((n) => `${n.replace(/[:@].*$/, "").replace(/:[^/]*$/, "")}@${hit.record.repoDigest ?? img.digest}`))],
    Created: img.config.created ?? "",
    Architecture: img.config.architecture,
    Os: img.config.os,
    Author: img.config.author ?? "",
    Config: img.config.config ?? {},
    RootFS: { Type: "layers", Layers: img.diffIds },
    Size: imageSize(e, hit.ref),
    Manifest: { MediaType: img.record.mediaType, Layers: img.layers },
  };
}

/** ps --format json's object of a container. */
export function psEntry(e: Engine, c: ContainerRecordE): object {
  return {
    Id: c.id,
    Names: [c.name],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.args,
    Created: c.created,
    State: e.status(c),
    Status: statusText(e, c),
    ExitCode: c.state.exitCode ?? null,
    Pid: c.state.pid,
    Ports: (c.network.ports ?? []).map((pm) => ({ host_ip: pm.hostIP ?? "", host_port: pm.hostPort, container_port: pm.containerPort, protocol: pm.protocol })),
  };
}

/** inspect's object of a container or (unless type says otherwise) an image by that name; undefined when neither is known. */
export function inspectObject(e: Engine, ref: string, type?: "image" | "container"): object | undefined {
  let found: object | undefined;
  if (type !== "image") {
    const c = e.containers.find(ref);
    if (c) found = inspectContainer(e, c);
  }
  if (!found && type !== "container") found = inspectImage(e, ref);
  return found;
}

/** port: the container's published ports, or those of one container port (PORT[/PROTOCOL], an error when it has none). */
export function publishedPorts(c: ContainerRecordE, want?: string): PublishedPort[] {
  const ports = c.network.ports ?? [];
  if (want === undefined) return ports;
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(want);
  if (!m) throw new EngineUsageError(`port ${JSON.stringify(want)}: want PORT[/tcp|udp|sctp]`);
  const hits = ports.filter((x) => x.containerPort === Number(m[1]) && x.protocol === (m[2] ?? "tcp"));
  if (hits.length === 0) throw new EngineError(`no public port ${want} published for ${c.name}`);
  return hits;
}

/** volume inspect's object; an error for a volume not known. */
export function inspectVolume(e: Engine, name: string): object {
  const v = e.volumes.get(name);
  if (!v) throw new EngineError(`no such volume: ${name}`);
  const users = e.containers
    .list()
    .filter((c) => volumesOf(c).includes(name))
    .map((c) => c.name);
  return {
    Name: v.name,
    Driver: "local",
    Mountpoint: v.mountpoint,
    CreatedAt: v.created,
    Labels: {},
    Options: {},
    Scope: "local",
    UsageData: { Size: e.volumes.size(v), RefCount: users.length },
    Containers: users,
  };
}

/** A network as the network commands show it (`user`: a user-defined one's record). */
export interface NetworkView {
  Name: string;
  Id: string;
  Driver: string;
  Scope: "local";
  Internal: boolean;
  Labels: Record<string, string>;
  Created: string;
  Subnet?: string;
  Gateway?: string;
  user?: UserNetwork;
}

/** Every network, the built-in ones first. */
export function allNetworks(e: Engine): NetworkView[] {
  const b = builtinBridge();
  const builtin: NetworkView[] = [
    { Name: "bridge", Id: "bridge", Driver: "bridge", Scope: "local", Internal: false, Labels: {}, Created: "", ...b },
    { Name: "host", Id: "host", Driver: "host", Scope: "local", Internal: false, Labels: {}, Created: "" },
    { Name: "none", Id: "none", Driver: "null", Scope: "local", Internal: false, Labels: {}, Created: "" },
  ];
  return [
    ...builtin,
    ...e.networks.list().map((n) => ({
      Name: n.Name,
      Id: n.Id,
      Driver: n.Driver,
      Scope: "local" as const,
      Internal: n.Internal,
      Labels: n.Labels,
      Created: n.Created,
      Subnet: n.Subnet,
      Gateway: n.Gateway,
      user: n,
    })),
  ];
}

/** network inspect's object (and network ls --format json's). */
export function inspectNetwork(e: Engine, n: NetworkView): object {
  const members = e.containers.list().filter((c) => onNetwork(c, n.Name) && e.status(c) !== "exited" && e.status(c) !== "created");
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: "local",
    Driver: n.Driver,
    EnableIPv6: false,
    Internal: n.Internal,
    Attachable: false,
    IPAM: { Driver: "default", Config: n.Subnet ? [{ Subnet: n.Subnet, Gateway: n.Gateway }] : [] },
    Options: n.user ? { "com.docker.network.bridge.name": n.user.Bridge } : {},
    Labels: n.Labels,
    Containers: Object.fromEntries(
      members.map((c) => {
        const ip = (c.network.connected ?? []).find((x) => x.name === n.Name)?.ips[0] ?? c.network.ips[0];
        return [c.id, { Name: c.name, IPv4Address: ip ? `${ip}/${(n.Subnet ?? "/16").split("/")[1]}` : "" }];
      }),
    ),
  };
}

/** A network by name, id or id prefix (a user-defined one's), as network inspect finds it. */
export function findNetwork(e: Engine, all: NetworkView[], ref: string): NetworkView | undefined {
  return (
    all.find((x) => x.Name === ref || x.Id === ref) ??
    (() => {
      const u = e.networks.find(ref);
      return u ? all.find((x) => x.Id === u.Id) : undefined;
    })()
  );
}

// The engine commands (daemonless, in the conventions of Podman and Docker):
// images (pull, images, rmi, load, import, save, tag, inspect) and
// containers (run, ps, logs, exec, stop, kill, rm, stats, inspect).
// Exit codes: 125 for an engine error (bad flag, unknown image...), 126 when
// the command cannot be invoked, 127 when it is not found, else the container's.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import { familiarReference, parseReference } from "../image/reference.ts";
import { normalizeSignal, userNames } from "../image/config.ts";
import type { PullProgress, RegistryOptions } from "../image/registry.ts";
import type { ImageRecord } from "../image/store.ts";
import { alive, Engine, type CreateRequest } from "../engine/engine.ts";
import { enginePaths } from "../engine/paths.ts";
import { EngineError, type ContainerRecordE } from "../engine/store.ts";
import { volumesOf } from "../engine/volumes.ts";
import { copy, parseCpEnd } from "../engine/cp.ts";
import { isRecordLog, parseRecords, parseTimeBound, type LogRecord } from "../engine/logs.ts";
import { checkRetries, type HealthFlags } from "../engine/health.ts";
import { majorMinor } from "../linux/sys.ts";
import { EngineUsageError, fBool, fList, fStr, parseBytes, parseDuration, parseFlags, parsePublish, publishText, type Flag, type ParsedFlags } from "../engine/args.ts";
import { findInit, normalizeCap, parseDevice, parsePairs, parseRestart, parseTmpfs, parseUlimit, parseVolume, readSeccompProfile, signalNumber, type ContainerOptions } from "../engine/spec.ts";
import type { NetworkMode } from "../network/index.ts";
import { defaultNetwork } from "../engine/networks.ts";
import { checkAliases } from "../engine/network-connect.ts";
import { goTime, HEADERS, isTemplate, labelMethod, labelText, writeEach, writeRows } from "./engine-format.ts";
import { context } from "../engine/template.ts";
import { filterContainers, filterImages, filterVolumes, IMAGE_FILTERS, parseFilters, pruneSelects, PRUNE_FILTERS, psWantsAll, PS_FILTERS, VOLUME_FILTERS, type Filters } from "../engine/filters.ts";

export interface EngineGlobals {
  /** --root when given explicitly (the runtime state directory) */
  root?: string;
  debug: boolean;
}

const USAGE = `berth engine commands (images and containers by name; state under $BERTH_ENGINE_ROOT, default /var/lib/berth)

Images:
  pull IMAGE                  pull from a registry (--tls-verify=false for HTTP/self-signed registries)
  images [-q] [--format json] list images
  rmi [-f] IMAGE...           remove images
  load [-i FILE]              load a docker save or OCI archive (stdin without -i)
  import FILE [REF]           make an image of a root filesystem tarball
  save [-o FILE] IMAGE...     write images as an OCI layout tar (stdout without -o)
  tag SOURCE TARGET           name an image
  inspect [--type image|container] NAME...   details as JSON
Networks:
  network create [--subnet CIDR] [--gateway IP] [--internal] [-l K=V] NAME | ls [-q] [--filter] [--format]
          | inspect [-f] NAME... | rm NAME... | prune [--filter]
                              user-defined bridge networks: run --network NAME [--network-alias A]; members find each other by name
Volumes:
  volume create NAME | ls [-q] [--format json] | inspect NAME... | rm NAME... | prune
                              named volumes (also made by run -v NAME:/path)
Containers:
  run [flags] IMAGE [COMMAND [ARG...]]   (--rm -d -i -t --name -e --env-file -v --tmpfs -w -u --entrypoint
                               --memory --cpus --pids-limit --read-only --cap-add --cap-drop
                               --security-opt seccomp=FILE|unconfined|no-new-privileges
                               --network none|host|bridge|NAME --network-alias -p [[IP:][HOSTPORT[-END]]:]PORT[-END][/PROTO] -P --hostname
                               --pull always|missing|never --tls-verify
                               --restart no|on-failure[:N]|always|unless-stopped (with -d)
                               --health-cmd --health-interval --health-timeout --health-retries --health-start-period
                               --init [--init-path PATH] --no-healthcheck --privileged --ulimit T=S[:H] --sysctl K=V -l/--label K=V --shm-size --stop-signal --stop-timeout
                               --device HOST[:CTR[:rwm]] --group-add --cpu-shares --cpuset-cpus --cpuset-mems
                               --memory-swap --memory-reservation --add-host NAME:IP --dns --dns-search --dns-option)
  create [run's flags] IMAGE [COMMAND [ARG...]]   a container that waits for start
  ps [-a] [-q] [--format json] list containers
  logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER   a container's output (stdout, stderr)
  exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND...
  stop [-t SECONDS] CONTAINER...   stop signal, then SIGKILL
  start [-a] CONTAINER...     start created containers, or run exited ones again (same rootfs and options; -a: in the foreground)
  start --all [--filter restart-policy=P]...   every exited container (with those policies): for a boot-time unit
  restart [-t SECONDS] CONTAINER...   stop, then start
  pause CONTAINER... / unpause CONTAINER...   freeze and thaw through the cgroup
  kill [-s SIGNAL] CONTAINER...    send a signal (default SIGKILL)
  rm [-f] [-v] CONTAINER...   remove containers (-v: and their anonymous volumes)
  stats [--no-stream] [CONTAINER...]   CPU, memory and pids from the cgroups
  top CONTAINER               the container's processes (every process of its cgroup)
  wait CONTAINER...           wait until each has exited; print its exit code
  healthcheck run CONTAINER   run the container's health check once (exit 0: healthy)
  port CONTAINER [PORT[/PROTO]]   the published ports
  cp [-a] [-L] SRC DEST       copy files between a container and the host (CONTAINER:PATH on one side)
  rename CONTAINER NEW_NAME   give a container a new name
  update [--memory M] [--cpus N] [--pids-limit N] [--restart P] ... CONTAINER...   new limits (a running container's at once)
  diff CONTAINER              what the container changed (A added, C changed, D deleted)
  commit [-c CHANGE] [-m MSG] [-a AUTHOR] CONTAINER [REPOSITORY[:TAG]]   an image of the container's changes
  history IMAGE               the image's layers and the steps that made them
  version, info               berth's version, the engine's state (--format TEMPLATE)
Clean-up:
  container prune             remove every exited container
  image prune [-a]            remove unused blobs and layers (-a: and every image no container uses)
  system prune [-a] [--volumes]   both (--volumes: and unused volumes)
`;

/** The exit code of an engine error: Docker's 125 for run and create (and any bad command line), 1 for the other commands. */
let errorCode = 1;

/** Docker's exit code for an error: 125 for a bad flag, 126/127 as classified, else the command's (errorCode). */
function codeOf(err: unknown): number {
  if (err instanceof EngineUsageError) return 125;
  if (err instanceof EngineError && err.exitCode !== 125) return err.exitCode;
  return errorCode;
}

function out(s: string): void {
  process.stdout.write(s.endsWith("\n") ? s : s + "\n");
}

function makeEngine(): Engine {
  return new Engine(enginePaths());
}

function parse(argv: string[], flags: Flag[], stop = false): ParsedFlags {
  return parseFlags(argv, [...flags, { name: "help", kind: "bool" }], stop);
}

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

export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[i]}`;
}

function binarySize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, "")}${units[i]}`;
}

function table(rows: string[][]): void {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]! + 3))).join("").trimEnd());
}

function registryOptions(p: ParsedFlags): RegistryOptions {
  const o: RegistryOptions = {};
  if (p.flags.has("tls-verify")) o.tlsVerify = fBool(p, "tls-verify");
  const af = fStr(p, "authfile");
  if (af) o.authFile = af;
  return o;
}

/** A progress display on a terminal (stderr); nothing otherwise. */
function pullProgress(): ((p: PullProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const shown = new Set<string>();
  return (p) => {
    const key = `${p.digest}:${p.status}`;
    if (p.status === "downloading" || shown.has(key)) return;
    shown.add(key);
    process.stderr.write(`${p.kind} ${p.digest.slice(7, 19)}: ${p.status}\n`);
  };
}

// ---- images -------------------------------------------------------------

function imageSize(e: Engine, digest: string): number {
  try {
    const img = e.images.loadImage(digest, e.images.lookup(digest)!.record);
    return img.layers.reduce((s, l) => s + l.size, 0) + img.manifest.config.size;
  } catch {
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
  } catch {
    return { repo: ref, tag: "<none>" };
  }
}

async function cmdImages(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "quiet", short: "q", kind: "bool" }, { name: "format", kind: "string" }, { name: "all", short: "a", kind: "bool" }, { name: "no-trunc", kind: "bool" },
    { name: "filter", short: "f", kind: "list" },
  ]);
  const f = parseFilters(fList(p, "filter"), IMAGE_FILTERS);
  const e = makeEngine();
  await e.ensureBuiltin();
  const list = e.images.list();
  const row = (ref: string, record: ImageRecord) => {
    let created = "";
    let labels: Record<string, string> | undefined;
    try {
      const cfg = e.images.loadImage(ref, record).config;
      created = cfg.created ?? "";
      labels = cfg.config?.Labels;
    } catch {
      /* broken image: no date */
    }
    return { ref, ...splitName(ref), id: record.config, digest: record.repoDigest ?? record.digest, created, labels, size: imageSize(e, ref) };
  };
  const rows = filterImages(list.map(({ ref, record }) => row(ref, record)), f, (r) => {
    const hit = e.images.lookup(r);
    return hit ? row(hit.ref, hit.record) : undefined;
  }) as Array<ReturnType<typeof row>>;
  const fmt = fStr(p, "format");
  if (fmt === "json") {
    out(JSON.stringify(rows.map((r) => ({ Id: r.id, Names: [r.ref], Repository: r.repo, Tag: r.tag, Digest: r.digest, Created: r.created, Size: r.size })), null, 2));
    return 0;
  }
  const nt = fBool(p, "no-trunc");
  if (isTemplate(fmt) && !fBool(p, "quiet")) {
    writeRows(fmt, rows.map((r) => context("*formatter.ImageContext", {
      ID: nt ? r.id : r.id.slice(7, 19), Repository: r.repo, Tag: r.tag, Digest: r.digest, CreatedSince: ago(r.created), CreatedAt: goTime(r.created),
      Size: humanSize(r.size), VirtualSize: humanSize(r.size), SharedSize: "N/A", UniqueSize: "N/A", Containers: "N/A",
    })), HEADERS.images);
    return 0;
  }
  if (fBool(p, "quiet")) {
    for (const id of [...new Set(rows.map((r) => r.id.slice(7, 19)))]) out(id);
    return 0;
  }
  table([["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], ...rows.map((r) => [r.repo, r.tag, nt ? r.id : r.id.slice(7, 19), ago(r.created), humanSize(r.size)])]);
  return 0;
}

async function cmdPull(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "tls-verify", kind: "bool" }, { name: "authfile", kind: "string" }, { name: "quiet", short: "q", kind: "bool" }, { name: "platform", kind: "string" }]);
  if (p.args.length !== 1) throw new EngineUsageError("pull needs exactly one image name");
  const e = makeEngine();
  const ref = p.args[0]!;
  if (/^(docker\.io\/)?berth\/busybox(:latest)?$/.test(ref)) {
    await e.ensureBuiltin();
    out(e.images.lookup(ref)!.record.config);
    return 0;
  }
  const opts = registryOptions(p);
  if (!fBool(p, "quiet")) opts.onProgress = pullProgress();
  const { pullImage } = await import("../image/registry.ts");
  const r = await pullImage(e.images, ref, opts).catch((err) => {
    throw new EngineError(`pulling ${ref}: ${(err as Error).message}`);
  });
  if (!fBool(p, "quiet")) process.stderr.write(`Pulled ${r.ref} (${r.downloaded.length} blobs downloaded, ${r.skipped.length} already present)\nDigest: ${r.repoDigest}\n`);
  out(r.configDigest);
  return 0;
}

async function cmdRmi(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "force", short: "f", kind: "bool" }]);
  if (p.args.length === 0) throw new EngineUsageError("rmi needs at least one image");
  const e = makeEngine();
  let code = 0;
  for (const ref of p.args) {
    try {
      const hit = e.images.lookup(ref);
      if (!hit) throw new EngineError(`image not known: ${ref}`);
      const users = e.containers.list().filter((c) => c.imageDigest === hit.record.digest);
      const names = e.images.list().filter((x) => x.record.digest === hit.record.digest);
      if (users.length > 0 && names.length <= 1) {
        if (!fBool(p, "force")) throw new EngineError(`image ${ref} is in use by container ${users.map((c) => c.name).join(", ")}: remove the container first, or use rmi -f`);
        for (const c of users) await e.remove(c.id, true);
      }
      const r = await e.images.remove(ref);
      for (const u of r.untagged) out(`Untagged: ${u}`);
      if (!e.images.list().some((x) => x.record.digest === hit.record.digest)) out(`Deleted: ${hit.record.config}`);
    } catch (err) {
      process.stderr.write(`berth: ${(err as Error).message}\n`);
      code = codeOf(err);
    }
  }
  return code;
}

async function cmdLoad(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "input", short: "i", kind: "string" }, { name: "quiet", short: "q", kind: "bool" }]);
  const file = fStr(p, "input") ?? p.args[0];
  const e = makeEngine();
  if (!file) {
    // Docker's: the archive on stdin, unless that is a terminal
    if (process.stdin.isTTY) throw new EngineError("load: requested load from stdin, but stdin is a terminal (give an archive on stdin, or -i FILE)");
    const { loadFromStdin } = await import("../engine/images.ts");
    for (const i of await loadFromStdin(e.images)) out(`Loaded image: ${i.ref}`);
    return 0;
  }
  const { importImages } = await import("../image/archive.ts");
  const imgs = await importImages(e.images, file).catch((err) => {
    throw new EngineError((err as Error).message);
  });
  for (const i of imgs) out(`Loaded image: ${i.ref}`);
  return 0;
}

async function cmdImport(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "change", short: "c", kind: "list" }, { name: "message", short: "m", kind: "string" }]);
  if (p.args.length < 1 || p.args.length > 2) throw new EngineUsageError("import needs a root filesystem tarball and an optional image name");
  const e = makeEngine();
  const file = p.args[0]!;
  const ref = p.args[1] ?? `localhost/${basename(file).replace(/\.(tar|tgz|tar\.gz)$/, "").toLowerCase().replace(/[^a-z0-9._-]+/g, "-") || "imported"}:latest`;
  const { importRootfs } = await import("../engine/images.ts");
  const r = await importRootfs(e.images, file, ref, fList(p, "change"));
  out(r.configDigest);
  return 0;
}

async function cmdSave(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "output", short: "o", kind: "string" }, { name: "format", kind: "string" }]);
  const dest = fStr(p, "output");
  if (p.args.length === 0) throw new EngineUsageError("save needs at least one image");
  if (!dest) {
    // Docker's: the archive to stdout, unless that is a terminal
    if (process.stdout.isTTY) throw new EngineError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    if (fStr(p, "format") === "oci-dir") throw new EngineUsageError("--format oci-dir needs -o DIR");
    const e = makeEngine();
    if (p.args.some((r) => /berth\/busybox/.test(r))) await e.ensureBuiltin();
    const { saveToStdout } = await import("../engine/images.ts");
    await saveToStdout(e.images, p.args);
    return 0;
  }
  const fmt = fStr(p, "format") ?? "oci-archive";
  if (fmt !== "oci-archive" && fmt !== "oci-dir") throw new EngineUsageError(`--format: oci-archive or oci-dir, not ${JSON.stringify(fmt)}`);
  const e = makeEngine();
  if (p.args.some((r) => /berth\/busybox/.test(r))) await e.ensureBuiltin();
  const { exportImages } = await import("../image/archive.ts");
  await exportImages(e.images, p.args, dest, { format: fmt }).catch((err) => {
    throw new EngineError((err as Error).message);
  });
  return 0;
}

async function cmdTag(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  if (p.args.length !== 2) throw new EngineUsageError("tag needs SOURCE and TARGET");
  const e = makeEngine();
  if (/berth\/busybox/.test(p.args[0]!)) await e.ensureBuiltin();
  const hit = e.images.lookup(p.args[0]!);
  if (!hit) throw new EngineError(`image not known: ${p.args[0]}`);
  try {
    await e.images.tag(p.args[1]!, hit.record.digest);
  } catch (err) {
    throw new EngineError(`tag ${p.args[1]}: ${(err as Error).message}`);
  }
  return 0;
}

// ---- containers -----------------------------------------------------------

const RUN_FLAGS: Flag[] = [
  { name: "rm", kind: "bool" },
  { name: "detach", short: "d", kind: "bool" },
  { name: "interactive", short: "i", kind: "bool" },
  { name: "tty", short: "t", kind: "bool" },
  { name: "name", kind: "string" },
  { name: "env", short: "e", kind: "list" },
  { name: "env-file", kind: "list" },
  { name: "volume", short: "v", kind: "list" },
  { name: "tmpfs", kind: "list" },
  { name: "workdir", short: "w", kind: "string" },
  { name: "user", short: "u", kind: "string" },
  { name: "entrypoint", kind: "string" },
  { name: "memory", short: "m", kind: "string" },
  { name: "cpus", kind: "string" },
  { name: "pids-limit", kind: "string" },
  { name: "read-only", kind: "bool" },
  { name: "cap-add", kind: "list" },
  { name: "cap-drop", kind: "list" },
  { name: "security-opt", kind: "list" },
  { name: "network", kind: "string", alias: ["net"] },
  { name: "network-alias", kind: "list", alias: ["net-alias"] },
  { name: "publish", short: "p", kind: "list" },
  { name: "hostname", short: "h", kind: "string" },
  { name: "pull", kind: "string" },
  { name: "tls-verify", kind: "bool" },
  { name: "authfile", kind: "string" },
  { name: "label", short: "l", kind: "list" },
  { name: "privileged", kind: "bool" },
  { name: "publish-all", short: "P", kind: "bool" },
  { name: "cpu-shares", short: "c", kind: "string" },
  ...["ulimit", "sysctl", "device", "group-add", "add-host", "dns", "dns-search", "dns-option"].map((name): Flag => ({ name, kind: "list" })),
  ...["restart", "shm-size", "stop-signal", "stop-timeout", "cpuset-cpus", "cpuset-mems", "memory-swap", "memory-reservation"].map((name): Flag => ({ name, kind: "string" })),
  ...["health-cmd", "health-interval", "health-timeout", "health-retries", "health-start-period"].map((name): Flag => ({ name, kind: "string" })),
  { name: "no-healthcheck", kind: "bool" },
  { name: "init", kind: "bool" },
  { name: "init-path", kind: "string" },
];

function envFromHost(e: string): string | undefined {
  if (e.includes("=")) return e;
  const v = process.env[e];
  return v === undefined ? undefined : `${e}=${v}`;
}

function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new EngineUsageError(`--env-file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const outv: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) return;
    const k = line.split("=")[0]!;
    if (!/^[^\s=]+$/.test(k)) throw new EngineUsageError(`--env-file ${file}, line ${i + 1}: invalid variable name ${JSON.stringify(k)}`);
    const v = envFromHost(line);
    if (v !== undefined) outv.push(v);
  });
  return outv;
}

/** The flags beyond the basics: limits, devices, groups, sysctls, labels, stop, name resolution. */
function moreOptions(p: ParsedFlags, o: ContainerOptions): void {
  if (fBool(p, "privileged")) o.privileged = true;
  const health: HealthFlags = {};
  const hcmd = fStr(p, "health-cmd");
  if (hcmd !== undefined) health.cmd = hcmd;
  for (const [flag, key] of [["health-interval", "intervalMs"], ["health-timeout", "timeoutMs"], ["health-start-period", "startPeriodMs"]] as const) {
    const v = fStr(p, flag);
    if (v !== undefined) health[key] = parseDuration(v, `--${flag}`);
  }
  const hr = fStr(p, "health-retries");
  if (hr !== undefined) health.retries = checkRetries(hr);
  if (fBool(p, "no-healthcheck")) {
    if (Object.keys(health).length > 0) throw new EngineUsageError("--no-healthcheck conflicts with the --health-* flags");
    health.none = true;
  }
  if (Object.keys(health).length > 0) o.health = health;
  const ul = fList(p, "ulimit");
  if (ul.length) o.ulimits = ul.map(parseUlimit);
  const sc = fList(p, "sysctl");
  if (sc.length) o.sysctls = parsePairs(sc, "--sysctl");
  const lb = fList(p, "label");
  if (lb.length) o.labels = parsePairs(lb.map((l) => (l.includes("=") ? l : `${l}=`)), "--label");
  const shm = fStr(p, "shm-size");
  if (shm !== undefined) o.shmSize = parseBytes(shm, "--shm-size");
  const ss = fStr(p, "stop-signal");
  if (ss !== undefined) {
    signalNumber(ss, "--stop-signal");
    o.stopSignal = normalizeSignal(ss);
  }
  const st = fStr(p, "stop-timeout");
  if (st !== undefined) {
    if (!/^\d+$/.test(st)) throw new EngineUsageError(`--stop-timeout ${JSON.stringify(st)}: want whole seconds`);
    o.stopTimeout = Number(st);
  }
  const dev = fList(p, "device");
  if (dev.length) o.devices = dev.map(parseDevice);
  const ga = fList(p, "group-add");
  if (ga.length) o.groupAdd = ga;
  const cs = fStr(p, "cpu-shares");
  if (cs !== undefined) {
    if (!/^\d+$/.test(cs) || Number(cs) < 2 || Number(cs) > 262144) throw new EngineUsageError(`--cpu-shares ${JSON.stringify(cs)}: want a number from 2 to 262144`);
    o.cpuShares = Number(cs);
  }
  const cpuset = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
  for (const [flag, key] of [["cpuset-cpus", "cpusetCpus"], ["cpuset-mems", "cpusetMems"]] as const) {
    const v = fStr(p, flag);
    if (v === undefined) continue;
    if (!cpuset.test(v)) throw new EngineUsageError(`--${flag} ${JSON.stringify(v)}: want a list such as 0-2,4`);
    o[key] = v;
  }
  const swap = fStr(p, "memory-swap");
  if (swap !== undefined) {
    o.memorySwap = swap === "-1" ? -1 : parseBytes(swap, "--memory-swap");
    if (o.memorySwap !== -1 && (o.memory === undefined || o.memorySwap < o.memory)) {
      throw new EngineUsageError(`--memory-swap ${swap}: memory plus swap, so at least --memory (which it needs), or -1 for unlimited`);
    }
  }
  const res = fStr(p, "memory-reservation");
  if (res !== undefined) o.memoryReservation = parseBytes(res, "--memory-reservation");
  const hosts = fList(p, "add-host");
  if (hosts.length) {
    o.addHosts = hosts.map((h) => {
      const i = h.indexOf(":");
      if (i <= 0) throw new EngineUsageError(`--add-host ${JSON.stringify(h)}: want NAME:IP`);
      return [h.slice(0, i), h.slice(i + 1)] as [string, string];
    });
  }
  for (const [flag, key] of [["dns", "dns"], ["dns-search", "dnsSearch"], ["dns-option", "dnsOptions"]] as const) {
    const v = fList(p, flag);
    if (v.length) o[key] = v;
  }
}

export function containerOptions(p: ParsedFlags, cmd: string[] | undefined): ContainerOptions {
  const env: string[] = [];
  for (const f of fList(p, "env-file")) env.push(...readEnvFile(f));
  for (const e of fList(p, "env")) {
    if (e === "" || e.startsWith("=")) throw new EngineUsageError(`--env ${JSON.stringify(e)}: want KEY=VALUE or KEY`);
    const v = envFromHost(e);
    if (v !== undefined) env.push(v);
  }
  const o: ContainerOptions = {
    cmd, env, tty: fBool(p, "tty"), interactive: fBool(p, "interactive"),
    volumes: fList(p, "volume").map(parseVolume), tmpfs: fList(p, "tmpfs").map(parseTmpfs),
    readOnly: fBool(p, "read-only"),
    capAdd: fList(p, "cap-add").flatMap((c) => c.split(",")).map((c) => normalizeCap(c, "--cap-add")),
    capDrop: fList(p, "cap-drop").flatMap((c) => c.split(",")).map((c) => normalizeCap(c, "--cap-drop")),
    noNewPrivileges: false,
  };
  const ep = fStr(p, "entrypoint");
  if (ep !== undefined) o.entrypoint = ep === "" ? [] : [ep];
  const w = fStr(p, "workdir");
  if (w !== undefined) {
    if (!w.startsWith("/")) throw new EngineUsageError(`--workdir ${JSON.stringify(w)}: must be an absolute path`);
    o.workdir = w;
  }
  const u = fStr(p, "user");
  if (u !== undefined) o.user = u;
  const h = fStr(p, "hostname");
  if (h !== undefined) o.hostname = h;
  const mem = fStr(p, "memory");
  if (mem !== undefined) {
    o.memory = parseBytes(mem, "--memory");
    if (o.memory < 6 * 1024 * 1024) throw new EngineUsageError(`--memory ${mem}: the minimum is 6MB`);
  }
  const cpus = fStr(p, "cpus");
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!/^\d+(\.\d+)?$/.test(cpus) || !(n > 0) || n > 1024) throw new EngineUsageError(`--cpus ${JSON.stringify(cpus)}: want a positive number of CPUs, e.g. 0.5`);
    o.cpus = n;
  }
  moreOptions(p, o);
  if (fBool(p, "init") || fStr(p, "init-path") !== undefined) o.init = findInit(fStr(p, "init-path"));
  const rs = fStr(p, "restart");
  if (rs !== undefined) {
    o.restart = parseRestart(rs);
    if (o.restart.name !== "no" && fBool(p, "rm")) throw new EngineUsageError(`--restart ${rs} and --rm conflict: a container removed when it exits cannot be restarted`);
  }
  const pl = fStr(p, "pids-limit");
  if (pl !== undefined) {
    if (!/^-?\d+$/.test(pl) || Number(pl) === 0 || Number(pl) < -1) throw new EngineUsageError(`--pids-limit ${JSON.stringify(pl)}: want a positive number, or -1 for no limit`);
    if (Number(pl) > 0) o.pidsLimit = Number(pl);
  }
  for (const so of fList(p, "security-opt")) {
    const [k, v] = so.includes("=") ? [so.slice(0, so.indexOf("=")), so.slice(so.indexOf("=") + 1)] : so.includes(":") ? [so.slice(0, so.indexOf(":")), so.slice(so.indexOf(":") + 1)] : [so, undefined];
    if (k === "no-new-privileges") {
      if (v !== undefined && !/^(true|false)$/.test(v)) throw new EngineUsageError(`--security-opt ${so}: want no-new-privileges[=true|false]`);
      o.noNewPrivileges = v !== "false";
    } else if (k === "seccomp") {
      if (!v) throw new EngineUsageError(`--security-opt ${so}: want seccomp=FILE or seccomp=unconfined`);
      o.seccomp = v === "unconfined" ? null : readSeccompProfile(v);
    } else throw new EngineUsageError(`--security-opt ${JSON.stringify(so)}: unsupported (supported: seccomp=FILE|unconfined, no-new-privileges)`);
  }
  return o;
}

/** What `run` and `create` make of their flags: the engine's create request. */
function createRequest(p: ParsedFlags, what: "run" | "create"): CreateRequest {
  const [image, ...cmd] = p.args;
  if (!image) throw new EngineUsageError(`${what} needs an image: berth ${what} [flags] IMAGE [COMMAND [ARG...]]`);
  const ports = fList(p, "publish").flatMap(parsePublish);
  const publishAll = fBool(p, "publish-all");
  // the default ("default"): the bridge network, as Docker's and Podman's (BERTH_DEFAULT_NETWORK
  // can change it); publishing a port needs the bridge network: it is the default then, as in Docker
  const given = fStr(p, "network");
  const asked = given === undefined && (ports.length || publishAll) ? "bridge" : given === undefined || given === "default" ? defaultNetwork() : given;
  // any other name is a user-defined network (network create): a bridge network of its own
  const networkName = ["none", "host", "bridge"].includes(asked) ? undefined : asked;
  const network = (networkName !== undefined ? "bridge" : asked) as NetworkMode;
  const aliases = fList(p, "network-alias");
  if (aliases.length && networkName === undefined) throw new EngineUsageError("--network-alias: network-scoped aliases are only supported for user-defined networks (--network NAME)");
  checkAliases(aliases, "--network-alias");
  if ((ports.length || publishAll) && network !== "bridge") throw new EngineUsageError(`-p/--publish needs --network bridge (with --network ${network} ${network === "host" ? "the container's ports are the host's already" : "there is nothing to publish to"})`);
  const pull = fStr(p, "pull") ?? "missing";
  if (!["missing", "always", "never"].includes(pull)) throw new EngineUsageError(`--pull ${JSON.stringify(pull)}: want missing, always or never`);
  const detach = what === "create" || fBool(p, "detach");
  const opts = containerOptions(p, cmd.length ? cmd : undefined);
  if (what === "run" && !detach && opts.restart && opts.restart.name !== "no") {
    throw new EngineUsageError(`--restart ${opts.restart.name}: needs -d (a detached container's monitor restarts it)`);
  }
  if (what === "run" && opts.tty && !detach && opts.interactive && !process.stdin.isTTY) throw new EngineUsageError("the input device is not a TTY (-i -t need a terminal on stdin; drop -t)");
  return {
    image, name: fStr(p, "name"), opts, network, ...(networkName !== undefined ? { networkName, aliases } : {}), ports, autoRemove: fBool(p, "rm"), detach, standalone: what === "create", publishAll,
    pull: pull as "missing", registry: registryOptions(p), onPullProgress: pullProgress(),
  };
}

async function cmdRun(argv: string[]): Promise<number> {
  const p = parse(argv, RUN_FLAGS, true);
  if (fBool(p, "help")) {
    out(USAGE);
    return 0;
  }
  const req = createRequest(p, "run");
  const detach = req.detach;
  const e = makeEngine();
  const rec = await e.create(req);
  if (detach) {
    await e.runDetached(rec);
    out(rec.id);
    return 0;
  }
  return e.runForeground(rec);
}

/** create: a container that waits for `start` (the same flags as run). */
async function cmdCreate(argv: string[]): Promise<number> {
  const p = parse(argv, RUN_FLAGS, true);
  if (fBool(p, "help")) {
    out(USAGE);
    return 0;
  }
  const rec = await makeEngine().create(createRequest(p, "create"));
  out(rec.id);
  return 0;
}

function statusText(e: Engine, c: ContainerRecordE): string {
  const st = e.status(c);
  const h = c.healthcheck ? c.state.health?.status ?? "starting" : undefined;
  if (st === "running") return `Up ${ago(c.state.startedAt).replace(/ ago$/, "")}${h ? (h === "starting" ? " (health: starting)" : ` (${h})`) : ""}`;
  if (st === "paused") return `Up ${ago(c.state.startedAt).replace(/ ago$/, "")} (Paused)`;
  if (st === "created") return "Created";
  if (c.state.restarting && alive(c.state.monitorPid)) return `Restarting (${c.state.exitCode ?? "unknown"}) ${ago(c.state.finishedAt)}`;
  return `Exited (${c.state.exitCode ?? "unknown"}) ${ago(c.state.finishedAt)}`;
}

async function cmdPs(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "all", short: "a", kind: "bool" }, { name: "quiet", short: "q", kind: "bool" }, { name: "format", kind: "string" }, { name: "no-trunc", kind: "bool" },
    { name: "filter", short: "f", kind: "list" },
  ]);
  const e = makeEngine();
  const f = parseFilters(fList(p, "filter"), PS_FILTERS);
  const all = filterContainers(e, e.containers.list().filter((c) => fBool(p, "all") || psWantsAll(f) || ["running", "paused"].includes(e.status(c))), f);
  const fmt = fStr(p, "format");
  if (fmt === "json") {
    out(JSON.stringify(all.map((c) => ({
      Id: c.id, Names: [c.name], Image: c.image, ImageID: c.imageId, Command: c.args, Created: c.created,
      State: e.status(c), Status: statusText(e, c), ExitCode: c.state.exitCode ?? null, Pid: c.state.pid,
      Ports: (c.network.ports ?? []).map((pm) => ({ host_ip: pm.hostIP ?? "", host_port: pm.hostPort, container_port: pm.containerPort, protocol: pm.protocol })),
    })), null, 2));
    return 0;
  }
  if (fBool(p, "quiet")) {
    if (isTemplate(fmt)) process.stderr.write("WARNING: Ignoring custom format, because both --format and --quiet are set.\n");
    for (const c of all) out(fBool(p, "no-trunc") ? c.id : c.id.slice(0, 12));
    return 0;
  }
  const cmdText = (c: ContainerRecordE) => {
    const s = c.args.join(" ");
    return JSON.stringify(fBool(p, "no-trunc") || s.length <= 20 ? s : s.slice(0, 19) + "…");
  };
  if (isTemplate(fmt)) {
    writeRows(fmt, all.map((c) => context("*formatter.ContainerContext", {
      ID: fBool(p, "no-trunc") ? c.id : c.id.slice(0, 12), Names: c.name, Image: c.image, Command: cmdText(c), CreatedAt: goTime(c.created), RunningFor: ago(c.created),
      Ports: (c.network.ports ?? []).map(publishText).join(", "), State: e.status(c), Status: statusText(e, c), Size: "0B",
      Labels: labelText(c.options.labels), Label: labelMethod(c.options.labels), Mounts: volumesOf(c).join(","), LocalVolumes: String(volumesOf(c).length),
      Networks: [c.network.name ?? c.network.mode, ...(c.network.connected ?? []).map((n) => n.name)].join(","), Platform: "linux",
    })), HEADERS.ps);
    return 0;
  }
  table([["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], ...all.map((c) => [c.id.slice(0, 12), c.image, cmdText(c), ago(c.created), statusText(e, c), (c.network.ports ?? []).map(publishText).join(", "), c.name])]);
  return 0;
}

async function cmdLogs(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "follow", short: "f", kind: "bool" }, { name: "tail", short: "n", kind: "string" }, { name: "timestamps", short: "t", kind: "bool" },
    { name: "since", kind: "string" }, { name: "until", kind: "string" },
  ]);
  if (p.args.length !== 1) throw new EngineUsageError("logs needs exactly one container");
  const tail = fStr(p, "tail");
  if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) throw new EngineUsageError(`--tail ${JSON.stringify(tail)}: want a number or all`);
  const bound = (flag: "since" | "until") => {
    const v = fStr(p, flag);
    if (v === undefined) return undefined;
    try {
      return parseTimeBound(v, `--${flag}`);
    } catch (err) {
      throw new EngineUsageError((err as Error).message);
    }
  };
  const since = bound("since"), until = bound("until");
  const e = makeEngine();
  const rec = e.containers.get(p.args[0]!);
  let fd: number;
  try {
    fd = openSync(rec.logPath, "r");
  } catch {
    throw new EngineError(`container ${rec.name} has no log (it has not run yet, or was removed)`);
  }
  try {
    const head = Buffer.alloc(1);
    const records = readSync(fd, head, 0, 1, 0) === 0 || isRecordLog(head);
    if (!records && (fBool(p, "timestamps") || since !== undefined || until !== undefined)) {
      throw new EngineUsageError(`container ${rec.name}'s log was written before berth kept timestamps: -t, --since and --until need a newer one`);
    }
    let pos = 0;
    let pending = Buffer.alloc(0);
    const show = (r: LogRecord) => {
      const t = Date.parse(r.time);
      if ((since !== undefined && t < since) || (until !== undefined && t > until)) return;
      const text = fBool(p, "timestamps") ? `${r.time} ${r.log}` : r.log;
      (r.stream === "stderr" ? process.stderr : process.stdout).write(text);
    };
    /** Reads what was appended since the last call; in record logs only whole records are shown. */
    const drain = (limit?: number) => {
      const buf = Buffer.alloc(65536);
      const got: Buffer[] = [];
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        got.push(Buffer.from(buf.subarray(0, n)));
      }
      if (!records) {
        const all = Buffer.concat(got);
        if (limit === undefined) process.stdout.write(all);
        else process.stdout.write(lastLines(all, limit));
        return;
      }
      pending = Buffer.concat([pending, ...got]);
      const { records: rs, used } = parseRecords(pending);
      pending = pending.subarray(used);
      for (const r of limit === undefined ? rs : limit === 0 ? [] : rs.slice(-limit)) show(r);
    };
    drain(tail === undefined || tail === "all" ? undefined : Number(tail));
    if (!fBool(p, "follow")) return 0;
    for (;;) {
      const cur = e.containers.load(rec.id);
      const running = cur !== undefined && e.status(cur) !== "exited";
      drain();
      if (!running) break;
      await Bun.sleep(100);
    }
    drain();
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** The last N lines of raw output (an older log). */
function lastLines(text: Buffer, n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  let i = text.length;
  if (i > 0 && text[i - 1] === 10) i--;
  while (i > 0 && n > 0) {
    i--;
    if (text[i] === 10) n--;
  }
  return text.subarray(n > 0 ? 0 : i + 1);
}

async function cmdExec(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "interactive", short: "i", kind: "bool" }, { name: "tty", short: "t", kind: "bool" }, { name: "detach", short: "d", kind: "bool" },
    { name: "env", short: "e", kind: "list" }, { name: "user", short: "u", kind: "string" }, { name: "workdir", short: "w", kind: "string" },
  ], true);
  const [ref, ...cmd] = p.args;
  if (!ref) throw new EngineUsageError("exec needs a container and a command");
  if (cmd.length === 0) throw new EngineUsageError("exec needs a command");
  const w = fStr(p, "workdir");
  if (w !== undefined && !w.startsWith("/")) throw new EngineUsageError(`--workdir ${JSON.stringify(w)}: must be an absolute path`);
  const env: string[] = [];
  for (const x of fList(p, "env")) {
    const v = envFromHost(x);
    if (v !== undefined) env.push(v);
  }
  const e = makeEngine();
  return e.exec(ref, cmd, { interactive: fBool(p, "interactive"), tty: fBool(p, "tty"), detach: fBool(p, "detach"), env, user: fStr(p, "user"), workdir: w });
}

async function each(refs: string[], what: string, fn: (ref: string) => Promise<void>, o: { quiet?: boolean } = {}): Promise<number> {
  if (refs.length === 0) throw new EngineUsageError(`${what} needs at least one container`);
  let code = 0;
  for (const r of refs) {
    try {
      await fn(r);
      if (!o.quiet) out(r);
    } catch (err) {
      process.stderr.write(`berth: ${(err as Error).message}\n`);
      code = codeOf(err);
    }
  }
  return code;
}

/** The container's --stop-timeout, else Docker's 10 s. */
function stopTimeoutOf(c: ContainerRecordE): number {
  return (c.options.stopTimeout ?? 10) * 1000;
}

async function cmdStop(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "time", short: "t", kind: "string", alias: ["timeout"] }, { name: "signal", short: "s", kind: "string" }]);
  const t = fStr(p, "time");
  const ms = t === undefined ? undefined : parseDuration(t, "--time");
  const sig = fStr(p, "signal");
  const n = sig === undefined ? undefined : signalNumber(sig, "--signal");
  const e = makeEngine();
  return each(p.args, "stop", async (r) => {
    await e.stop(r, ms ?? stopTimeoutOf(e.containers.get(r)), n);
  });
}

/**
 * start --all [--filter restart-policy=P]...: every exited container (with
 * those policies); what a boot-time unit runs, since no daemon outlives a
 * reboot. A container the user stopped stays stopped under unless-stopped.
 */
function startAllSelection(e: Engine, filters: string[]): string[] {
  const policies = filters.map((f) => {
    const m = /^restart-policy=(no|on-failure|always|unless-stopped)$/.exec(f);
    if (!m) throw new EngineUsageError(`--filter ${JSON.stringify(f)}: want restart-policy=no|on-failure|always|unless-stopped`);
    return m[1]!;
  });
  return e.containers.list().filter((c) => {
    if (e.status(c) !== "exited") return false;
    const policy = c.options.restart?.name ?? "no";
    if (policies.length > 0 && !policies.includes(policy)) return false;
    return !(policy === "unless-stopped" && c.state.stoppedByUser);
  }).map((c) => c.id);
}

async function cmdStart(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "attach", short: "a", kind: "bool" }, { name: "interactive", short: "i", kind: "bool" },
    { name: "all", kind: "bool" }, { name: "filter", kind: "list" },
  ]);
  const e = makeEngine();
  if (fBool(p, "all")) {
    if (p.args.length > 0 || fBool(p, "attach")) throw new EngineUsageError("start --all takes no container and no -a");
    const ids = startAllSelection(e, fList(p, "filter"));
    if (ids.length === 0) return 0;
    return each(ids, "start", async (id) => {
      await e.runDetached(await e.prepareRestart(id));
    });
  }
  if (fList(p, "filter").length > 0) throw new EngineUsageError("--filter goes with --all");
  if (fBool(p, "attach")) {
    // attached: one container, in the foreground, with its exit code
    if (p.args.length !== 1) throw new EngineUsageError("start -a takes exactly one container");
    const cur = e.containers.get(p.args[0]!);
    if (e.status(cur) === "running") throw new EngineError(`container ${cur.name} is already running (berth cannot attach to it)`);
    const rec = await e.prepareRestart(p.args[0]!);
    return e.runForeground(rec);
  }
  return each(p.args, "start", async (r) => {
    // a running container is left as it is, as in Docker
    if (e.status(e.containers.get(r)) === "running") return;
    await e.runDetached(await e.prepareRestart(r));
  });
}

async function cmdRestart(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "time", short: "t", kind: "string", alias: ["timeout"] }]);
  const t = fStr(p, "time");
  const ms = t === undefined ? undefined : parseDuration(t, "--time");
  const e = makeEngine();
  return each(p.args, "restart", async (r) => {
    await e.stop(r, ms ?? stopTimeoutOf(e.containers.get(r)));
    await e.runDetached(await e.prepareRestart(r));
  });
}

async function cmdPause(argv: string[], paused: boolean): Promise<number> {
  const p = parse(argv, []);
  const e = makeEngine();
  return each(p.args, paused ? "pause" : "unpause", async (r) => {
    e.setPaused(r, paused);
  });
}

async function cmdKill(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "signal", short: "s", kind: "string" }]);
  const sig = signalNumber(fStr(p, "signal") ?? "KILL", "--signal");
  const e = makeEngine();
  return each(p.args, "kill", async (r) => {
    e.kill(r, sig);
  });
}

async function cmdRm(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "force", short: "f", kind: "bool" }, { name: "volumes", short: "v", kind: "bool" }]);
  const e = makeEngine();
  return each(p.args, "rm", async (r) => {
    await e.remove(r, fBool(p, "force"), { volumes: fBool(p, "volumes") });
  });
}

// ---- inspect ---------------------------------------------------------------

function inspectContainer(e: Engine, c: ContainerRecordE): object {
  const st = e.status(c);
  return {
    Id: c.id, Name: c.name, Created: c.created, Path: c.path, Args: c.args.slice(1),
    State: {
      Status: st, Running: st === "running" || st === "paused", Paused: st === "paused", Pid: st === "exited" ? 0 : c.state.pid,
      ExitCode: c.state.exitCode ?? (st === "exited" ? -1 : 0), StartedAt: c.state.startedAt ?? "", FinishedAt: c.state.finishedAt ?? "",
      ...(c.state.error ? { Error: c.state.error } : {}),
      Restarting: !!c.state.restarting && alive(c.state.monitorPid), OOMKilled: !!c.state.oomKilled, Dead: false,
      ...(c.healthcheck ? {
        Health: {
          Status: c.state.health?.status ?? "starting", FailingStreak: c.state.health?.failingStreak ?? 0,
          Log: (c.state.health?.log ?? []).map((l) => ({ Start: l.start, End: l.end, ExitCode: l.exitCode, Output: l.output })),
        },
      } : {}),
    },
    RestartCount: c.state.restartCount ?? 0,
    Image: c.imageId, ImageName: c.imageRef, ImageDigest: c.imageDigest,
    Rootfs: c.rootfs, LogPath: c.logPath,
    Config: {
      Hostname: c.hostname, User: c.options.user ?? "", Env: c.env, Cmd: c.args, WorkingDir: c.cwd, Entrypoint: c.options.entrypoint ?? null,
      Tty: c.options.tty, OpenStdin: c.options.interactive, StopSignal: c.stopSignal, Image: c.image, Labels: c.options.labels ?? {},
      ...(c.options.stopTimeout !== undefined ? { StopTimeout: c.options.stopTimeout } : {}),
      ...(c.healthcheck ? {
        Healthcheck: {
          Test: c.healthcheck.test, Interval: c.healthcheck.intervalMs * 1e6, Timeout: c.healthcheck.timeoutMs * 1e6,
          StartPeriod: c.healthcheck.startPeriodMs * 1e6, Retries: c.healthcheck.retries,
        },
      } : {}),
    },
    HostConfig: {
      AutoRemove: c.autoRemove, NetworkMode: c.network.name ?? c.network.mode, ReadonlyRootfs: c.options.readOnly, Privileged: !!c.options.privileged,
      RestartPolicy: { Name: c.options.restart?.name ?? "no", MaximumRetryCount: c.options.restart?.maxRetries ?? 0 },
      Memory: c.options.memory ?? 0, NanoCpus: c.options.cpus ? Math.round(c.options.cpus * 1e9) : 0, PidsLimit: c.options.pidsLimit ?? 0,
      CapAdd: c.options.capAdd, CapDrop: c.options.capDrop,
      Binds: c.options.volumes.map((v) => `${v.source}:${v.destination}${v.readonly ? ":ro" : ""}`),
      Tmpfs: Object.fromEntries(c.options.tmpfs.map((t) => [t.destination, t.options.join(",")])),
      SecurityOpt: [...(c.options.noNewPrivileges ? ["no-new-privileges"] : []), ...(c.options.seccomp === null ? ["seccomp=unconfined"] : c.options.seccomp ? ["seccomp=profile"] : [])],
    },
    NetworkSettings: {
      IPAddress: c.network.ips[0] ?? "", IPAddresses: c.network.ips, Gateway: c.network.gateway ?? "", SandboxKey: c.network.netnsPath ?? "",
      Ports: Object.fromEntries((c.network.ports ?? []).map((p) => [`${p.containerPort}/${p.protocol}`, [{ HostIp: p.hostIP ?? "0.0.0.0", HostPort: String(p.hostPort) }]])),
      Networks: c.network.mode === "none" && !c.network.name ? {} : {
        [c.network.name ?? c.network.mode]: {
          Aliases: c.network.aliases ?? null, IPAddress: c.network.ips[0] ?? "", Gateway: c.network.gateway ?? "",
          NetworkID: c.network.name ? e.networks.find(c.network.name)?.Id ?? "" : c.network.mode,
        },
        // joined with network connect
        ...Object.fromEntries((c.network.connected ?? []).map((n) => [n.name, { Aliases: n.aliases ?? null, IPAddress: n.ips[0] ?? "", Gateway: "", NetworkID: e.networks.find(n.name)?.Id ?? "" }])),
      },
    },
    Mounts: c.options.volumes.map((v) => ({ Type: v.name ? "volume" : "bind", ...(v.name ? { Name: v.name } : {}), Source: v.source, Destination: v.destination, RW: !v.readonly })),
  };
}

function inspectImage(e: Engine, ref: string): object | undefined {
  const hit = e.images.lookup(ref);
  if (!hit) return undefined;
  const img = e.images.loadImage(hit.ref, hit.record);
  const names = e.images.list().filter((x) => x.record.digest === img.digest).map((x) => x.ref);
  return {
    Id: img.configDigest, Digest: img.digest,
    RepoTags: names.filter((n) => !n.includes("@")),
    RepoDigests: [...new Set(names.map((n) => `${n.replace(/[:@].*$/, "").replace(/:[^/]*$/, "")}@${hit.record.repoDigest ?? img.digest}`))],
    Created: img.config.created ?? "", Architecture: img.config.architecture, Os: img.config.os, Author: img.config.author ?? "",
    Config: img.config.config ?? {}, RootFS: { Type: "layers", Layers: img.diffIds }, Size: imageSize(e, hit.ref),
    Manifest: { MediaType: img.record.mediaType, Layers: img.layers },
  };
}

async function cmdInspect(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "type", kind: "string" }, { name: "format", short: "f", kind: "string" }]);
  const type = fStr(p, "type");
  if (type !== undefined && type !== "image" && type !== "container") throw new EngineUsageError(`--type: image or container, not ${JSON.stringify(type)}`);
  if (p.args.length === 0) throw new EngineUsageError("inspect needs at least one image or container");
  const e = makeEngine();
  if (p.args.some((r) => /berth\/busybox/.test(r))) await e.ensureBuiltin();
  const results: object[] = [];
  let code = 0;
  for (const ref of p.args) {
    let found: object | undefined;
    if (type !== "image") {
      const c = e.containers.find(ref);
      if (c) found = inspectContainer(e, c);
    }
    if (!found && type !== "container") found = inspectImage(e, ref);
    if (found) results.push(found);
    else {
      process.stderr.write(`berth: no such ${type ?? "object"}: ${ref}\n`);
      code = 1;
    }
  }
  const fmt = fStr(p, "format");
  if (fmt !== undefined && fmt !== "json") writeEach(fmt, results);
  else out(JSON.stringify(results, null, 4));
  return code;
}

// ---- stats -------------------------------------------------------------------

interface Sample {
  cpu: number;
  at: number;
  mem: number;
  limit: number;
  pids: number;
}

function sample(e: Engine, c: ContainerRecordE): Sample | undefined {
  try {
    const s = e.runtime.stats(c.id);
    const hostMem = (() => {
      try {
        return Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;
      } catch {
        return 0;
      }
    })();
    const limit = s.memory.usage.limit > 0 && s.memory.usage.limit < hostMem ? s.memory.usage.limit : hostMem;
    const cache = s.memory.raw.total_inactive_file ?? s.memory.raw.inactive_file ?? 0;
    return { cpu: s.cpu.usage.total, at: performance.now(), mem: Math.max(0, s.memory.usage.usage - cache), limit, pids: s.pids.current };
  } catch {
    return undefined;
  }
}

async function cmdStats(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "no-stream", kind: "bool" }, { name: "all", short: "a", kind: "bool" }, { name: "format", kind: "string" }]);
  const e = makeEngine();
  const pick = () => (p.args.length ? p.args.map((r) => e.containers.get(r)) : e.containers.list()).filter((c) => fBool(p, "all") || p.args.length > 0 || e.status(c) === "running");
  for (const r of p.args) e.containers.get(r);
  const fmt = fStr(p, "format");
  let prev = new Map<string, Sample>();
  for (const c of pick()) {
    const s = sample(e, c);
    if (s) prev.set(c.id, s);
  }
  const live = !fBool(p, "no-stream");
  let stopping = false;
  const onInt = () => {
    stopping = true;
  };
  if (live) process.on("SIGINT", onInt);
  try {
    for (let first = true; ; first = false) {
      await Bun.sleep(first && !live ? 500 : 1000);
      const now = new Map<string, Sample>();
      const rows: Array<{ c: ContainerRecordE; s?: Sample; cpu: number }> = [];
      for (const c of pick()) {
        const s = sample(e, c);
        const before = prev.get(c.id);
        const cpu = s && before && s.at > before.at ? ((s.cpu - before.cpu) / 1e6 / (s.at - before.at)) * 100 : 0;
        if (s) now.set(c.id, s);
        rows.push({ c, s, cpu });
      }
      prev = now;
      if (fmt === "json") {
        out(JSON.stringify(rows.map(({ c, s, cpu }) => ({ id: c.id, name: c.name, cpu_percent: Number(cpu.toFixed(2)), mem_usage: s?.mem ?? 0, mem_limit: s?.limit ?? 0, pids: s?.pids ?? 0 }))));
      } else if (isTemplate(fmt)) {
        if (live && process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
        writeRows(fmt, rows.map(({ c, s, cpu }) => context("formatter.StatsEntry", {
          Container: c.name, Name: c.name, ID: c.id.slice(0, 12), CPUPerc: `${cpu.toFixed(2)}%`,
          MemUsage: s ? `${binarySize(s.mem)} / ${binarySize(s.limit)}` : "-- / --", MemPerc: s && s.limit > 0 ? `${((s.mem / s.limit) * 100).toFixed(2)}%` : "--",
          NetIO: "--", BlockIO: "--", PIDs: s ? String(s.pids) : "--",
        })), HEADERS.stats);
      } else {
        if (live && process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
        table([["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"], ...rows.map(({ c, s, cpu }) => [
          c.id.slice(0, 12), c.name, `${cpu.toFixed(2)}%`,
          s ? `${binarySize(s.mem)} / ${binarySize(s.limit)}` : "-- / --",
          s && s.limit > 0 ? `${((s.mem / s.limit) * 100).toFixed(2)}%` : "--", s ? String(s.pids) : "--",
        ])]);
      }
      if (!live || stopping) break;
      if (p.args.length > 0 && rows.every((r) => !r.s)) break;
    }
  } finally {
    if (live) process.off("SIGINT", onInt);
  }
  return 0;
}

// ---- healthcheck -------------------------------------------------------------

/** healthcheck run CONTAINER: one probe now; prints the status; exit 0 healthy, 1 otherwise. */
async function cmdHealthcheck(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "run") throw new EngineUsageError("healthcheck needs a subcommand: run CONTAINER");
  const p = parse(rest, []);
  if (p.args.length !== 1) throw new EngineUsageError("healthcheck run needs exactly one container");
  const st = await makeEngine().healthcheckNow(p.args[0]!);
  out(st.status);
  return st.status === "healthy" ? 0 : 1;
}

// ---- wait, port --------------------------------------------------------------

/** wait CONTAINER...: blocks until each has exited; prints its exit code. */
async function cmdWait(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  const e = makeEngine();
  return each(p.args, "wait", async (r) => {
    const c = e.containers.get(r);
    while (!(await e.waitExit(c.id, 60_000))) {
      /* still running */
    }
    const done = e.containers.load(c.id);
    out(String(done?.state.exitCode ?? c.state.exitCode ?? -1));
  }, { quiet: true });
}

/** port CONTAINER [PORT[/PROTO]]: the published ports, as "80/tcp -> 0.0.0.0:8080". */
async function cmdPort(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  if (p.args.length < 1 || p.args.length > 2) throw new EngineUsageError("port needs a container and at most one PORT[/PROTOCOL]");
  const c = makeEngine().containers.get(p.args[0]!);
  let ports = c.network.ports ?? [];
  const want = p.args[1];
  if (want !== undefined) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(want);
    if (!m) throw new EngineUsageError(`port ${JSON.stringify(want)}: want PORT[/tcp|udp|sctp]`);
    ports = ports.filter((x) => x.containerPort === Number(m[1]) && x.protocol === (m[2] ?? "tcp"));
    if (ports.length === 0) throw new EngineError(`no public port ${want} published for ${c.name}`);
    for (const x of ports) out(`${x.hostIP ?? "0.0.0.0"}:${x.hostPort}`);
    return 0;
  }
  for (const x of ports) out(`${x.containerPort}/${x.protocol} -> ${x.hostIP ?? "0.0.0.0"}:${x.hostPort}`);
  return 0;
}

// ---- top ---------------------------------------------------------------------

/** CPU time as ps shows it: [DD-]HH:MM:SS. */
function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const hms = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

/** A terminal's name from its device number (stat's tty_nr), "?" for none. */
function ttyName(nr: number): string {
  if (nr === 0) return "?";
  const { major, minor } = majorMinor(nr);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 5 && minor === 1) return "console";
  return `${major}:${minor}`;
}

interface TopRow { uid: number; pid: number; ppid: number; c: number; stime: string; tty: string; time: string; cmd: string }

/** One process's row, from /proc; undefined if it is gone. */
function topRow(pid: number, now: number, bootTime: number, hz: number): TopRow | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const cpu = (Number(f[11]) + Number(f[12])) / hz;
    const started = bootTime + Number(f[19]) / hz;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").split("\0").join(" ");
    const at = new Date(started * 1000);
    const today = new Date(now * 1000).toDateString() === at.toDateString();
    const stime = today ? at.toTimeString().slice(0, 5) : at.toDateString().slice(4, 10);
    return {
      uid, pid, ppid: Number(f[1]), c: Math.floor((cpu / Math.max(now - started, 1e-3)) * 100), stime,
      tty: ttyName(Number(f[4])), time: cpuTime(cpu), cmd: cmdline || `[${comm}]`,
    };
  } catch {
    return undefined;
  }
}

async function cmdTop(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "format", kind: "string" }]);
  if (p.args.length !== 1) throw new EngineUsageError("top needs exactly one container");
  const fmt = fStr(p, "format");
  if (fmt !== undefined && fmt !== "json" && fmt !== "table") throw new EngineUsageError(`--format: json or table, not ${JSON.stringify(fmt)}`);
  const e = makeEngine();
  const c = e.containers.get(p.args[0]!);
  const st = e.status(c);
  if (st !== "running" && st !== "paused") throw new EngineError(`container ${c.name} is not running`);
  const pids = e.runtime.processes(c.id).sort((a, b) => a - b);
  const bootTime = Number(/^btime (\d+)/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0);
  const hz = 100; // USER_HZ: /proc reports clock ticks in units of 1/100 s on Linux
  const now = Date.now() / 1000;
  const names = userNames(c.rootfs);
  const rows = pids.map((pid) => topRow(pid, now, bootTime, hz)).filter((r): r is TopRow => r !== undefined);
  const user = (uid: number) => names.get(uid) ?? String(uid);
  if (fmt === "json") {
    out(JSON.stringify(rows.map((r) => ({ user: user(r.uid), uid: r.uid, pid: r.pid, ppid: r.ppid, c: r.c, stime: r.stime, tty: r.tty, time: r.time, cmd: r.cmd }))));
    return 0;
  }
  table([["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], ...rows.map((r) => [user(r.uid), String(r.pid), String(r.ppid), String(r.c), r.stime, r.tty, r.time, r.cmd])]);
  return 0;
}

// ---- cp ----------------------------------------------------------------------

async function cmdCp(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "archive", short: "a", kind: "bool" }, { name: "follow-link", short: "L", kind: "bool" }]);
  if (p.args.length !== 2) throw new EngineUsageError("cp needs SRC and DEST, one of them CONTAINER:PATH");
  const e = makeEngine();
  const warnings = await copy(e, parseCpEnd(p.args[0]!), parseCpEnd(p.args[1]!), { archive: fBool(p, "archive"), followLink: fBool(p, "follow-link") });
  for (const w of warnings) process.stderr.write(`berth: cp: ${w}\n`);
  return 0;
}

// ---- volumes ---------------------------------------------------------------------

async function cmdVolume(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const e = makeEngine();
  switch (sub) {
    case "create": {
      const p = parse(rest, []);
      if (p.args.length !== 1) throw new EngineUsageError("volume create needs exactly one name (berth does not make up volume names)");
      out((await e.volumes.ensure(p.args[0]!)).volume.name);
      return 0;
    }
    case "ls":
    case "list": {
      const p = parse(rest, [{ name: "quiet", short: "q", kind: "bool" }, { name: "format", kind: "string" }, { name: "filter", short: "f", kind: "list" }]);
      const f = parseFilters(fList(p, "filter"), VOLUME_FILTERS);
      const cs = e.containers.list();
      const vols = filterVolumes(e.volumes.list(), f, (n) => cs.filter((c) => volumesOf(c).includes(n)).length);
      const fmt = fStr(p, "format");
      if (fmt === "json") out(JSON.stringify(vols.map((v) => ({ Name: v.name, Driver: "local", Mountpoint: v.mountpoint, CreatedAt: v.created })), null, 2));
      else if (fBool(p, "quiet")) for (const v of vols) out(v.name);
      else if (isTemplate(fmt)) {
        writeRows(fmt, vols.map((v) => context("*formatter.VolumeContext", {
          Name: v.name, Driver: "local", Scope: "local", Mountpoint: v.mountpoint, CreatedAt: goTime(v.created), Labels: "", Label: labelMethod({}), Links: "N/A", Size: "N/A",
        })), HEADERS.volumes);
      }
      else table([["DRIVER", "VOLUME NAME"], ...vols.map((v) => ["local", v.name])]);
      return 0;
    }
    case "inspect": {
      const p = parse(rest, [{ name: "format", short: "f", kind: "string" }]);
      if (p.args.length === 0) throw new EngineUsageError("volume inspect needs at least one name");
      const found = p.args.map((n) => {
        const v = e.volumes.get(n);
        if (!v) throw new EngineError(`no such volume: ${n}`);
        const users = e.containers.list().filter((c) => volumesOf(c).includes(n)).map((c) => c.name);
        return { Name: v.name, Driver: "local", Mountpoint: v.mountpoint, CreatedAt: v.created, Labels: {}, Options: {}, Scope: "local", UsageData: { Size: e.volumes.size(v), RefCount: users.length }, Containers: users };
      });
      const fmt = fStr(p, "format");
      if (fmt !== undefined && fmt !== "json") writeEach(fmt, found);
      else out(JSON.stringify(found, null, 2));
      return 0;
    }
    case "rm":
    case "remove": {
      const p = parse(rest, []);
      if (p.args.length === 0) throw new EngineUsageError("volume rm needs at least one name");
      let code = 0;
      for (const n of p.args) {
        try {
          await e.volumes.remove(n, () => e.containers.list());
          out(n);
        } catch (err) {
          process.stderr.write(`berth: ${(err as Error).message}\n`);
          code = codeOf(err);
        }
      }
      return code;
    }
    case "prune": {
      const p = parse(rest, [{ name: "force", short: "f", kind: "bool" }, { name: "filter", kind: "list" }, { name: "all", short: "a", kind: "bool" }]);
      await pruneVolumes(e, parseFilters(fList(p, "filter"), PRUNE_FILTERS));
      return 0;
    }
    default:
      throw new EngineUsageError("volume needs a subcommand: create, ls, inspect, rm, prune");
  }
}

// ---- prune -------------------------------------------------------------------

/** Removes every volume no container refers to (that the filters select). */
async function pruneVolumes(e: Engine, f: Filters): Promise<void> {
  for (const v of e.volumes.list()) {
    if (!pruneSelects(f, v.created, undefined)) continue;
    try {
      await e.volumes.remove(v.name, () => e.containers.list());
      out(`Deleted: ${v.name}`);
    } catch {
      /* in use: kept */
    }
  }
}

/** container prune: removes every exited container (that the filters select). */
async function pruneContainers(e: Engine, f: Filters): Promise<void> {
  for (const c of e.containers.list()) {
    if (e.status(c) !== "exited" || (c.state.restarting && alive(c.state.monitorPid))) continue;
    if (!pruneSelects(f, c.created, c.options.labels)) continue;
    try {
      await e.remove(c.id, false);
      out(c.id);
    } catch (err) {
      process.stderr.write(`berth: ${(err as Error).message}\n`);
    }
  }
}

/** image prune: blobs and layers nothing refers to; with all, every image no container uses (that the filters select). */
async function pruneImages(e: Engine, all: boolean, f: Filters): Promise<void> {
  if (all) {
    const used = new Set(e.containers.list().map((c) => c.imageDigest));
    for (const { ref, record } of e.images.list()) {
      if (used.has(record.digest)) continue;
      if (f.size) {
        let cfg;
        try {
          cfg = e.images.loadImage(ref, record).config;
        } catch {
          continue;
        }
        if (!pruneSelects(f, cfg.created, cfg.config?.Labels)) continue;
      }
      const r = await e.images.remove(ref);
      for (const u of r.untagged) out(`Untagged: ${u}`);
    }
  }
  const gc = await e.images.gc();
  for (const l of gc.layers) out(`Deleted layer: ${l}`);
  out(`Deleted ${gc.blobs.length} unused blob${gc.blobs.length === 1 ? "" : "s"}`);
}

async function cmdPrune(what: "container" | "image" | "system", argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "force", short: "f", kind: "bool" }, { name: "all", short: "a", kind: "bool" }, { name: "volumes", kind: "bool" }, { name: "filter", kind: "list" }]);
  if (p.args.length) throw new EngineUsageError(`${what} prune takes no arguments`);
  const f = parseFilters(fList(p, "filter"), PRUNE_FILTERS);
  const e = makeEngine();
  if (what !== "image") await pruneContainers(e, f);
  if (what !== "container") await pruneImages(e, fBool(p, "all"), f);
  if (what === "system" && fBool(p, "volumes")) await pruneVolumes(e, f);
  return 0;
}

// ---- dispatch ------------------------------------------------------------------

const SYSTEM_SUB: Record<string, (a: string[]) => Promise<number>> = {
  prune: (a) => cmdPrune("system", a),
};
const IMAGE_SUB: Record<string, (a: string[]) => Promise<number>> = {
  prune: (a) => cmdPrune("image", a),
  ls: cmdImages, list: cmdImages, pull: cmdPull, rm: cmdRmi, load: cmdLoad, import: cmdImport, save: cmdSave, tag: cmdTag,
  history: async (a) => (await import("./engine-manage.ts")).cmdHistory(a),
  inspect: (a) => cmdInspect(["--type", "image", ...a]),
};
const CONTAINER_SUB: Record<string, (a: string[]) => Promise<number>> = {
  prune: (a) => cmdPrune("container", a),
  ls: cmdPs, list: cmdPs, ps: cmdPs, run: cmdRun, create: cmdCreate, logs: cmdLogs, exec: cmdExec, stop: cmdStop, start: cmdStart, restart: cmdRestart, pause: (a) => cmdPause(a, true), unpause: (a) => cmdPause(a, false), kill: cmdKill, rm: cmdRm, stats: cmdStats,
  inspect: (a) => cmdInspect(["--type", "container", ...a]),
  rename: async (a) => (await import("./engine-manage.ts")).cmdRename(a),
  update: async (a) => (await import("./engine-manage.ts")).cmdUpdate(a),
  diff: async (a) => (await import("./engine-manage.ts")).cmdDiff(a),
  commit: async (a) => (await import("./engine-manage.ts")).cmdCommit(a),
  // internal: the process that waits for a detached container (started by run -d)
  monitor: async (a) => {
    if (a.length !== 1 || !/^[a-f0-9]{64}$/.test(a[0]!)) throw new EngineUsageError("container monitor is internal to run -d");
    return makeEngine().monitor(a[0]!);
  },
};

async function dispatch(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case "pull": return cmdPull(argv);
    case "images": return cmdImages(argv);
    case "rmi": return cmdRmi(argv);
    case "load": return cmdLoad(argv);
    case "import": return cmdImport(argv);
    case "save": return cmdSave(argv);
    case "tag": return cmdTag(argv);
    case "inspect": return cmdInspect(argv);
    case "run": return cmdRun(argv);
    case "create": return cmdCreate(argv);
    case "ps": return cmdPs(argv);
    case "logs": return cmdLogs(argv);
    case "exec": return cmdExec(argv);
    case "stop": return cmdStop(argv);
    case "start": return cmdStart(argv);
    case "restart": return cmdRestart(argv);
    case "pause": return cmdPause(argv, true);
    case "unpause": return cmdPause(argv, false);
    case "kill": return cmdKill(argv);
    case "rm": return cmdRm(argv);
    case "stats": return cmdStats(argv);
    case "top": return cmdTop(argv);
    case "wait": return cmdWait(argv);
    case "healthcheck": return cmdHealthcheck(argv);
    case "port": return cmdPort(argv);
    case "cp": return cmdCp(argv);
    case "volume": return cmdVolume(argv);
    case "network": return (await import("./engine-network.ts")).cmdNetwork(argv);
    case "rename": return (await import("./engine-manage.ts")).cmdRename(argv);
    case "update": return (await import("./engine-manage.ts")).cmdUpdate(argv);
    case "diff": return (await import("./engine-manage.ts")).cmdDiff(argv);
    case "commit": return (await import("./engine-manage.ts")).cmdCommit(argv);
    case "history": return (await import("./engine-manage.ts")).cmdHistory(argv);
    case "version": return (await import("./engine-system.ts")).cmdVersion(argv);
    case "info": return (await import("./engine-system.ts")).cmdInfo(argv);
    case "image":
    case "container":
    case "system": {
      const [sub, ...rest] = argv;
      const table = cmd === "image" ? IMAGE_SUB : cmd === "system" ? SYSTEM_SUB : CONTAINER_SUB;
      const fn = table[sub ?? ""];
      if (!fn) throw new EngineUsageError(`${cmd} needs a subcommand: ${Object.keys(table).filter((k) => k !== "monitor").join(", ")}`);
      return fn(rest);
    }
    case "serve":
      throw new EngineError("serve (the long-running engine) is not available yet: the engine commands work without it");
    default:
      throw new EngineUsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

export async function engineCommand(cmd: string, argv: string[], g: EngineGlobals): Promise<number> {
  errorCode = cmd === "run" || cmd === "create" || (cmd === "container" && (argv[0] === "run" || argv[0] === "create")) ? 125 : 1;
  if (argv.includes("--help") && cmd !== "run" && cmd !== "exec") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await dispatch(cmd, argv);
  } catch (e) {
    const code = codeOf(e);
    const msg = (e as Error).message ?? String(e);
    process.stderr.write(`berth: ${msg}${g.debug || process.env.BERTH_DEBUG ? `\n${(e as Error).stack}` : ""}\n`);
    return code;
  }
}

// The network layer's API for the engine: give a container a network ("none",
// "host" or a CNI "bridge" network) and take it away again.
//
// Layout under `runDir` (per boot, e.g. /run/berth):
//   netns/<id>                 the container's network namespace (nsfs bind mount)
//   network/<id>/state.json    what was set up, so teardown needs only the id
//   network/<id>/resolv.conf, hosts, hostname   files for the runtime to bind-mount
// Under `dataDir` (persistent, e.g. /var/lib/berth/network): host-local IPAM state
// (`ipam/`) and the cached CNI results (`results/`).

import { hostname as osHostname } from "node:os";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../linux/lock.ts";
import { join, resolve } from "node:path";
import {
  addNetworkList,
  delNetworkList,
  findPlugin,
  invokePlugin,
  listCachedAttachments,
  loadNetworkList,
  parseNetworkList,
  DEFAULT_CNI_PATH,
  DEFAULT_DATA_DIR,
  type CniResult,
  type NetworkConfigList,
  type PortMapping,
} from "./cni.ts";
import { createNetns, removeNetns, validateNetnsName } from "./netns.ts";
import {
  buildHostname,
  buildHosts,
  buildResolvConf,
  hostnameFromId,
  readHostResolvConf,
  validateHostname,
  writeNetworkFiles,
  type NetworkFiles,
} from "./files.ts";
import { execOk } from "./exec.ts";
import { trace } from "../linux/trace.ts";

export * from "./cni.ts";
export * from "./netns.ts";
export * from "./files.ts";

export type NetworkMode = "none" | "host" | "bridge";

export interface SetupOptions {
  /** Container id (also the netns file name and the CNI container id). */
  id: string;
  mode: NetworkMode;
  /** Runtime directory (tmpfs, per boot), e.g. /run/berth. */
  runDir: string;
  /** Persistent directory for IPAM state and the CNI result cache (default /var/lib/berth/network). */
  dataDir?: string;
  /** Container hostname (default: the first 12 characters of the id; the host's name in host mode). */
  hostname?: string;
  /** Port mappings, passed to plugins with the `portMappings` capability (bridge mode). */
  portMappings?: PortMapping[];
  /** Network to join in bridge mode: a name looked up in `configDir`, or a configuration list (default "berth"). */
  network?: string | NetworkConfigList;
  /** Directory of `*.conflist` files (default /etc/berth/cni). */
  configDir?: string;
  /** Plugin directories (default: Debian's /usr/lib/cni, then /usr/libexec/cni, /opt/cni/bin). */
  cniPath?: string[];
  /** Run the CNI plugins in this network namespace instead of the caller's (the bridge's side). */
  hostNetns?: string;
  /** Interface name inside the container (default eth0). */
  ifName?: string;
  /** DNS overrides for resolv.conf. */
  dns?: { nameservers?: string[]; search?: string[]; options?: string[] };
  /** Extra /etc/hosts entries: [name, address]. */
  extraHosts?: [string, string][];
  /**
   * "none" only: make no network namespace here; the runtime gives the
   * container a new one with its loopback up (no namespace to keep, no plugin
   * to run: the engine's fast path). The result has no netnsPath.
   */
  runtimeNetns?: boolean;
  /** Host files to start from (defaults /etc/resolv.conf and /etc/hosts). */
  hostResolvConfPath?: string;
  hostHostsPath?: string;
}

export interface NetworkSetup {
  id: string;
  mode: NetworkMode;
  /** The network namespace to join (linux.namespaces[{type:"network", path}]); absent in host mode. */
  netnsPath?: string;
  /** The container's addresses, without prefix length. */
  ips: string[];
  /** The same, in CIDR form. */
  cidrs: string[];
  gateway?: string;
  /** The CNI network joined (bridge mode). */
  network?: string;
  /** The final CNI result (bridge mode). */
  result?: CniResult;
  hostname: string;
  /** Paths of the generated files, to bind-mount onto /etc/resolv.conf, /etc/hosts, /etc/hostname. */
  files: NetworkFiles;
}

export interface TeardownOptions {
  id: string;
  runDir: string;
  dataDir?: string;
  cniPath?: string[];
  hostNetns?: string;
}

interface State {
  kind: "berth.network.state";
  id: string;
  mode: NetworkMode;
  netnsPath?: string;
  network?: string;
  ifName?: string;
  dataDir: string;
  cniPath: string[];
  hostNetns?: string;
  setup?: NetworkSetup;
}

const MODES: NetworkMode[] = ["none", "host", "bridge"];

function containerDir(runDir: string, id: string): string {
  return join(resolve(runDir), "network", id);
}

/** Not fsynced: it lives under the run directory and does not outlive a reboot. */
function writeState(dir: string, state: State): void {
  writeFileAtomic(join(dir, "state.json"), JSON.stringify(state, null, 2), 0o600, { durable: false });
}

function readState(dir: string): State | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as State;
    return s.kind === "berth.network.state" ? s : undefined;
  } catch (e) {
    // no network set up for it, or a file that is not berth's (it writes them whole, atomically)
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

function validatePortMappings(pms: PortMapping[]): void {
  pms.forEach((pm, i) => {
    const at = `portMappings[${i}]`;
    for (const k of ["hostPort", "containerPort"] as const) {
      const v = pm[k];
      if (!Number.isInteger(v) || v < 1 || v > 65535) throw new Error(`${at}.${k}: must be a port number 1-65535 (got ${JSON.stringify(v)})`);
    }
    if (pm.protocol !== undefined && !["tcp", "udp", "sctp"].includes(pm.protocol)) {
      throw new Error(`${at}.protocol: must be "tcp", "udp" or "sctp" (got ${JSON.stringify(pm.protocol)})`);
    }
  });
}

async function loopbackUp(netnsPath: string, id: string, cniPath: string[]): Promise<void> {
  const lo = findPlugin("loopback", cniPath);
  if (lo) {
    await invokePlugin(
      lo,
      "ADD",
      { cniVersion: "1.0.0", name: "loopback", type: "loopback" },
      { containerId: id, netns: netnsPath, ifName: "lo" },
      { cniPath, network: "loopback" },
    );
  } else {
    await execOk(["nsenter", `--net=${netnsPath}`, "ip", "link", "set", "lo", "up"], "bringing up loopback");
  }
}

/** The container's addresses (without and with prefix) and gateway on interface `ifName` of a CNI result. */
export function summarizeResult(result: CniResult, ifName: string): { ips: string[]; cidrs: string[]; gateway?: string } {
  const ifaces = result.interfaces ?? [];
  const cidrs: string[] = [];
  let gateway: string | undefined;
  for (const ip of result.ips ?? []) {
    const iface = ip.interface !== undefined ? ifaces[ip.interface] : undefined;
    if (iface && (iface.name !== ifName || !iface.sandbox)) continue; // an address of the host side
    cidrs.push(ip.address);
    if (!gateway && ip.gateway) gateway = ip.gateway;
  }
  return { ips: cidrs.map((c) => c.replace(/\/\d+$/, "")), cidrs, gateway };
}

/**
 * Gives container `id` its network. On failure, everything made so far is undone
 * and the error is thrown.
 */
export async function setupNetwork(opts: SetupOptions): Promise<NetworkSetup> {
  const { id, mode } = opts;
  validateNetnsName(id);
  if (!MODES.includes(mode)) throw new Error(`mode: ${JSON.stringify(mode)} is not one of ${MODES.join(", ")}`);
  if (opts.hostname !== undefined) validateHostname(opts.hostname);
  if (opts.portMappings?.length) {
    if (mode !== "bridge") throw new Error(`portMappings: only available in bridge mode (mode is ${mode})`);
    validatePortMappings(opts.portMappings);
  }
  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const ifName = opts.ifName ?? "eth0";
  let list: NetworkConfigList | undefined;
  if (mode === "bridge") {
    list = typeof opts.network === "object" ? parseNetworkList(opts.network) : loadNetworkList(opts.network, { configDir: opts.configDir, cniPath });
  }
  const hostname = opts.hostname ?? (mode === "host" ? osHostname() : hostnameFromId(id));

  const dir = containerDir(opts.runDir, id);
  mkdirSync(join(resolve(opts.runDir), "network"), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`container ${id}: network already set up (${dir} exists)`);
    throw e;
  }

  const state: State = { kind: "berth.network.state", id, mode, dataDir, cniPath, hostNetns: opts.hostNetns, ifName };
  let netnsPath: string | undefined;
  try {
    writeState(dir, state);
    let summary: { ips: string[]; cidrs: string[]; gateway?: string } = { ips: [], cidrs: [] };
    let result: CniResult | undefined;
    if (opts.runtimeNetns && mode !== "none") throw new Error(`runtimeNetns: only for mode none (mode is ${mode})`);
    if (mode !== "host" && !opts.runtimeNetns) {
      trace("network: netns");
      netnsPath = await createNetns(id, join(resolve(opts.runDir), "netns"));
      trace("network: netns made");
      state.netnsPath = netnsPath;
      writeState(dir, state);
      await loopbackUp(netnsPath, id, cniPath);
    }
    if (list && netnsPath) {
      state.network = list.name;
      writeState(dir, state);
      const capabilityArgs: Record<string, unknown> = {};
      if (opts.portMappings?.length) {
        capabilityArgs.portMappings = opts.portMappings.map((pm) => ({ ...pm, protocol: pm.protocol ?? "tcp" }));
      }
      result = await addNetworkList(list, { containerId: id, netns: netnsPath, ifName, capabilityArgs }, { cniPath, dataDir, hostNetns: opts.hostNetns });
      summary = summarizeResult(result, ifName);
    }

    trace("network: files");
    const hostRc = readHostResolvConf(opts.hostResolvConfPath);
    const dnsFromCni = result?.dns;
    const resolvConf = buildResolvConf({
      host: hostRc.host,
      hostUpstream: hostRc.hostUpstream,
      ownNetns: mode !== "host",
      nameservers: opts.dns?.nameservers?.length ? opts.dns.nameservers : dnsFromCni?.nameservers,
      search: opts.dns?.search?.length ? opts.dns.search : dnsFromCni?.search,
      options: opts.dns?.options?.length ? opts.dns.options : dnsFromCni?.options,
    });
    let hosts: string;
    if (mode === "host") {
      let hostHosts = "";
      try {
        hostHosts = readFileSync(opts.hostHostsPath ?? "/etc/hosts", "utf8");
      } catch {
        hostHosts = buildHosts({ hostname }); // the host has no readable hosts file: the container gets a minimal one
      }
      const extra = (opts.extraHosts ?? []).map(([n, a]) => `${a}\t${n}`);
      buildHosts({ hostname, extraHosts: opts.extraHosts }); // validates the extra entries
      hosts = hostHosts.replace(/\n?$/, "\n") + (extra.length ? extra.join("\n") + "\n" : "");
    } else {
      hosts = buildHosts({ hostname, ips: summary.ips, extraHosts: opts.extraHosts });
    }
    const files = writeNetworkFiles(dir, { resolvConf, hosts, hostname: buildHostname(hostname) });
    const setup: NetworkSetup = {
      id,
      mode,
      netnsPath,
      ips: summary.ips,
      cidrs: summary.cidrs,
      gateway: summary.gateway,
      network: list?.name,
      result,
      hostname,
      files,
    };
    state.setup = setup;
    writeState(dir, state);
    return setup;
  } catch (e) {
    try {
      await teardownNetwork({ id, runDir: opts.runDir, dataDir, cniPath, hostNetns: opts.hostNetns });
    } catch (cleanupErr) {
      if (e instanceof Error) e.message += `; cleanup also failed: ${(cleanupErr as Error).message}`;
    }
    throw e;
  }
}

/** Where a container's network lives (namespace, IPAM and cache directory, plugins), if it is set up. */
export function networkPlaces(
  runDir: string,
  id: string,
): { netnsPath?: string; dataDir: string; cniPath: string[]; hostNetns?: string; ifName: string } | undefined {
  validateNetnsName(id);
  const s = readState(containerDir(runDir, id));
  return s?.setup ? { netnsPath: s.netnsPath, dataDir: s.dataDir, cniPath: s.cniPath, hostNetns: s.hostNetns, ifName: s.ifName ?? "eth0" } : undefined;
}

/** The recorded setup of a container, if its network is set up. */
export function inspectNetwork(runDir: string, id: string): NetworkSetup | undefined {
  validateNetnsName(id);
  return readState(containerDir(runDir, id))?.setup;
}

/**
 * Takes container `id`'s network away: CNI DEL (reverse order) for every cached
 * attachment, removes the netns and the generated files. Idempotent: succeeds when
 * nothing (or only part) is left. Errors of DEL are thrown after the rest is cleaned.
 */
export async function teardownNetwork(opts: TeardownOptions): Promise<void> {
  validateNetnsName(opts.id);
  const dir = containerDir(opts.runDir, opts.id);
  const state = readState(dir);
  const dataDir = resolve(opts.dataDir ?? state?.dataDir ?? DEFAULT_DATA_DIR);
  const cniPath = opts.cniPath ?? state?.cniPath ?? DEFAULT_CNI_PATH;
  const hostNetns = opts.hostNetns ?? state?.hostNetns;
  const netnsPath = state?.netnsPath ?? join(resolve(opts.runDir), "netns", opts.id);
  const errors: string[] = [];

  for (const att of listCachedAttachments(dataDir, opts.id)) {
    try {
      await delNetworkList(
        att.config,
        {
          containerId: att.containerId,
          netns: existsSync(att.netns) ? att.netns : "",
          ifName: att.ifName,
          args: att.args,
          capabilityArgs: att.capabilityArgs,
        },
        { cniPath, dataDir, hostNetns: hostNetns ?? att.hostNetns },
      );
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  try {
    await removeNetns(netnsPath);
  } catch (e) {
    errors.push((e as Error).message);
  }
  if (errors.length === 0) rmSync(dir, { recursive: true, force: true });
  if (errors.length) throw new Error(`teardown of container ${opts.id}'s network: ${errors.join("; ")}`);
}

// A container on more than one user-defined network (Docker's `network
// connect` / `disconnect`), and the name resolution between the members of a
// network.
//
// connect: the record gains the network (with its aliases); a running
// container joins it at once (a CNI ADD into its namespace on eth1, eth2...,
// without a second default route), a stopped one at its next start.
// disconnect: the CNI DEL of that attachment and the record without it.
//
// Names: every member's /etc/hosts (the file berth bind-mounts, rewritten in
// place: the same inode, so running containers see it) has one section per
// user-defined network it is on, listing the other members' addresses on that
// network with their names, aliases and short ids. Names resolve through the
// C library as any /etc/hosts entry; no DNS server runs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireLock } from "../linux/lock.ts";
import { connectNetwork, disconnectNetwork } from "../network/attach.ts";
import { inspectNetwork, type NetworkConfigList, type NetworkMode } from "../network/index.ts";
import type { Engine } from "./engine.ts";
import { BUILTIN_NETWORKS, defaultNetwork, type UserNetwork } from "./networks.ts";
import { EngineError, type ContainerRecordE } from "./store.ts";
import { EngineUsageError } from "./args.ts";

/** Refuses an alias that is not a host name (flag: the option that gave it). */
export function checkAliases(aliases: string[], flag: string): void {
  for (const a of aliases) if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(a)) throw new EngineUsageError(`${flag} ${JSON.stringify(a)}: not a host name`);
}

/**
 * The network run and create put a container on: given (--network: none,
 * host, bridge, default or a user-defined network's name) or else the
 * default, which is the bridge when ports are published (as in Docker).
 * Aliases (--network-alias) need a user-defined network.
 */
export function chooseNetwork(
  given: string | undefined,
  publishing: boolean,
  aliases: string[],
): { network: NetworkMode; networkName?: string; aliases?: string[] } {
  // the default ("default"): the bridge network, as Docker's and Podman's (BERTH_DEFAULT_NETWORK
  // can change it); publishing a port needs the bridge network: it is the default then, as in Docker
  const asked = given === undefined && publishing ? "bridge" : given === undefined || given === "default" ? defaultNetwork() : given;
  // any other name is a user-defined network (network create): a bridge network of its own
  const networkName = ["none", "host", "bridge"].includes(asked) ? undefined : asked;
  const network = (networkName !== undefined ? "bridge" : asked) as NetworkMode;
  if (aliases.length && networkName === undefined)
    throw new EngineUsageError("--network-alias: network-scoped aliases are only supported for user-defined networks (--network NAME)");
  checkAliases(aliases, "--network-alias");
  if (publishing && network !== "bridge")
    throw new EngineUsageError(
      `-p/--publish needs --network bridge (with --network ${network} ${network === "host" ? "the container's ports are the host's already" : "there is nothing to publish to"})`,
    );
  return { network, ...(networkName !== undefined ? { networkName, aliases } : {}) };
}

export interface Membership {
  network: string;
  ip?: string;
  aliases: string[];
}

/** The user-defined networks a container is on, with its address (while it has one) and aliases on each. */
export function memberships(rec: ContainerRecordE): Membership[] {
  const out: Membership[] = [];
  if (rec.network.name) out.push({ network: rec.network.name, ip: rec.network.ips[0], aliases: rec.network.aliases ?? [] });
  for (const c of rec.network.connected ?? []) out.push({ network: c.name, ip: c.ips[0], aliases: c.aliases ?? [] });
  return out;
}

/** A network's CNI list for a container's second, third... interface: no default route (the first network keeps it). */
async function secondaryList(e: Engine, net: UserNetwork): Promise<NetworkConfigList> {
  const list = await e.networks.cniList(net, { ports: false });
  const bridge = list.plugins[0] as Record<string, unknown>;
  bridge.ipam = { ...(bridge.ipam as object), routes: [] };
  return list;
}

function hostsPath(e: Engine, id: string): string {
  return join(e.paths.runRoot, "network", id, "hosts");
}

const MARK = "# berth network ";

/** A hosts file with network `name`'s section replaced by `lines` (removed when undefined). */
function withSection(text: string, name: string, lines: string[] | undefined): string {
  const parts = text.split(new RegExp(`(?=^${MARK})`, "m"));
  const kept = parts.filter((p) => !p.startsWith(`${MARK}${name}\n`));
  const body = kept.join("");
  return lines === undefined ? body : body + `${MARK}${name}\n` + lines.map((l) => l + "\n").join("");
}

/**
 * Rewrites network `name`'s section of each member's /etc/hosts (members: the
 * containers on it with their network set up, less `leaving`, whose section
 * goes).
 */
export async function refreshHosts(e: Engine, name: string, leaving?: string): Promise<void> {
  const members = e.containers.list().flatMap((c) => {
    if (c.id === leaving || inspectNetwork(e.paths.runRoot, c.id) === undefined) return [];
    const m = memberships(c).find((x) => x.network === name);
    return m ? [{ rec: c, m }] : [];
  });
  const lock = await acquireLock(join(e.networks.dir, ".lock"), "exclusive");
  try {
    const rewrite = (id: string, lines: string[] | undefined) => {
      let text: string;
      try {
        text = readFileSync(hostsPath(e, id), "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // its network went meanwhile
        throw e;
      }
      // in place: the container's bind mount holds this inode
      writeFileSync(hostsPath(e, id), withSection(text, name, lines));
    };
    for (const { rec } of members) {
      const others = members.filter((o) => o.rec.id !== rec.id && o.m.ip);
      rewrite(
        rec.id,
        others.map((o) => `${o.m.ip}\t${[o.rec.name, ...o.m.aliases, o.rec.id.slice(0, 12)].join(" ")}`),
      );
    }
    if (leaving !== undefined) rewrite(leaving, undefined);
  } finally {
    lock.release();
  }
}

/** Refreshes the hosts sections of every user-defined network `rec` is on. */
export async function refreshHostsOf(e: Engine, rec: ContainerRecordE, leaving?: string): Promise<void> {
  // best effort: one network's hosts file failing (or gone) must not keep the others stale
  for (const m of memberships(rec)) await refreshHosts(e, m.network, leaving).catch(() => {});
}

/** Joins, at its start, the networks a container was connected to (network connect); records its addresses on them. */
export async function attachConnected(e: Engine, rec: ContainerRecordE): Promise<void> {
  for (const c of rec.network.connected ?? []) {
    const net = e.networks.get(c.name);
    const got = await connectNetwork({ id: rec.id, runDir: e.paths.runRoot, network: await secondaryList(e, net) });
    c.ips = got.ips;
  }
}

function userNetwork(e: Engine, ref: string): UserNetwork {
  if ((BUILTIN_NETWORKS as readonly string[]).includes(ref)) {
    throw new EngineError(`network ${ref}: berth connects and disconnects user-defined networks only (the built-in one is chosen with run --network)`, 1);
  }
  return e.networks.get(ref);
}

/** `network connect NET CONTAINER`. */
export async function connect(e: Engine, netRef: string, ctrRef: string, aliases: string[] = []): Promise<ContainerRecordE> {
  const net = userNetwork(e, netRef);
  const found = e.containers.get(ctrRef);
  const rec = await e.containers.withLock(found.id, async () => {
    const cur = e.containers.get(found.id);
    if (cur.network.mode !== "bridge") {
      throw new EngineError(`container ${cur.name} is on network ${cur.network.mode}: it cannot be connected to other networks`, 1);
    }
    if (memberships(cur).some((m) => m.network === net.Name)) throw new EngineError(`container ${cur.name} is already connected to network ${net.Name}`, 1);
    const entry = { name: net.Name, ips: [] as string[], ...(aliases.length ? { aliases } : {}) };
    if (inspectNetwork(e.paths.runRoot, cur.id)) {
      const got = await connectNetwork({ id: cur.id, runDir: e.paths.runRoot, network: await secondaryList(e, net) }).catch((err) => {
        throw new EngineError(`network connect ${net.Name} ${cur.name}: ${(err as Error).message}`, 1);
      });
      entry.ips = got.ips;
    }
    cur.network.connected = [...(cur.network.connected ?? []), entry];
    e.containers.save(cur);
    return cur;
  });
  await refreshHosts(e, net.Name);
  return rec;
}

/** `network disconnect NET CONTAINER`: a network joined with connect. */
export async function disconnect(e: Engine, netRef: string, ctrRef: string): Promise<ContainerRecordE> {
  const net = userNetwork(e, netRef);
  const found = e.containers.get(ctrRef);
  const rec = await e.containers.withLock(found.id, async () => {
    const cur = e.containers.get(found.id);
    if (cur.network.name === net.Name) {
      throw new EngineError(
        `container ${cur.name} was started on network ${net.Name} (run --network): berth disconnects only networks joined with network connect`,
        1,
      );
    }
    if (!(cur.network.connected ?? []).some((c) => c.name === net.Name))
      throw new EngineError(`container ${cur.name} is not connected to network ${net.Name}`, 1);
    if (inspectNetwork(e.paths.runRoot, cur.id)) {
      await disconnectNetwork({ id: cur.id, runDir: e.paths.runRoot, network: e.networks.configList(net).name }).catch((err) => {
        // not attached (it joins at its next start): nothing to undo
        if (!/is not connected/.test((err as Error).message)) throw new EngineError(`network disconnect ${net.Name} ${cur.name}: ${(err as Error).message}`, 1);
      });
    }
    cur.network.connected = (cur.network.connected ?? []).filter((c) => c.name !== net.Name);
    if (cur.network.connected.length === 0) delete cur.network.connected;
    e.containers.save(cur);
    return cur;
  });
  await refreshHosts(e, net.Name, rec.id);
  return rec;
}

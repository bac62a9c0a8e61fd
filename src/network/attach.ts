// More networks for a container that has one already (Docker's `network
// connect` / `disconnect`): a CNI ADD of another network list into the
// container's namespace on the next free interface (eth1, eth2, ...), and the
// DEL of it. Teardown of the container takes every attachment away at once
// (teardownNetwork runs DEL for each cached attachment of the container).

import { existsSync } from "node:fs";
import { addNetworkList, delNetworkList, listCachedAttachments, type NetworkConfigList } from "./cni.ts";
import { networkPlaces, summarizeResult } from "./index.ts";

export interface Connection {
  network: string;
  ifName: string;
  ips: string[];
  cidrs: string[];
  gateway?: string;
}

function placesOf(runDir: string, id: string): NonNullable<ReturnType<typeof networkPlaces>> & { netnsPath: string } {
  const p = networkPlaces(runDir, id);
  if (!p) throw new Error(`container ${id}: its network is not set up (is it running?)`);
  if (!p.netnsPath) throw new Error(`container ${id}: it has no network namespace of berth's to join (network none or host)`);
  return p as typeof p & { netnsPath: string };
}

/** The container's networks and their interfaces (the first one's included). */
export function connections(runDir: string, id: string): { network: string; ifName: string }[] {
  const p = networkPlaces(runDir, id);
  if (!p) return [];
  return listCachedAttachments(p.dataDir, id).map((a) => ({ network: a.network, ifName: a.ifName }));
}

/**
 * Joins network `list` on the first free ethN. The list should leave the
 * default route alone (the first network has it). On failure nothing is left.
 */
export async function connectNetwork(o: { id: string; runDir: string; network: NetworkConfigList }): Promise<Connection> {
  const p = placesOf(o.runDir, o.id);
  const have = listCachedAttachments(p.dataDir, o.id);
  if (have.some((a) => a.network === o.network.name)) throw new Error(`container ${o.id} is already connected to network ${o.network.name}`);
  const used = new Set([p.ifName, ...have.map((a) => a.ifName)]);
  let n = 1;
  while (used.has(`eth${n}`)) n++;
  const ifName = `eth${n}`;
  const result = await addNetworkList(
    o.network,
    { containerId: o.id, netns: p.netnsPath, ifName },
    { cniPath: p.cniPath, dataDir: p.dataDir, hostNetns: p.hostNetns },
  );
  return { network: o.network.name, ifName, ...summarizeResult(result, ifName) };
}

/** Leaves CNI network `network` (its list's name): DEL of that attachment. */
export async function disconnectNetwork(o: { id: string; runDir: string; network: string }): Promise<void> {
  const p = networkPlaces(o.runDir, o.id);
  const att = p ? listCachedAttachments(p.dataDir, o.id).find((a) => a.network === o.network) : undefined;
  if (!p || !att) throw new Error(`container ${o.id} is not connected to network ${o.network}`);
  await delNetworkList(
    att.config,
    { containerId: o.id, netns: existsSync(att.netns) ? att.netns : "", ifName: att.ifName, args: att.args, capabilityArgs: att.capabilityArgs },
    { cniPath: p.cniPath, dataDir: p.dataDir, hostNetns: att.hostNetns ?? p.hostNetns },
  );
}

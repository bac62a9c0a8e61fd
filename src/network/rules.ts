// The engine's bridge networks without per-container iptables work: the CNI
// `bridge` plugin without ipMasq, no `firewall` plugin, `portmap` only for a
// container that publishes ports; instead, once per network (and per boot),
// the rules Docker installs for each of its bridges:
//   nat    POSTROUTING -s SUBNET ! -d SUBNET -j MASQUERADE   (not for --internal)
//   filter FORWARD -i BRIDGE -j ACCEPT                        (--internal: only to the same bridge)
//   filter FORWARD -o BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT
// Each iptables run costs a process and the xtables lock (tens of ms on a busy
// host): the plugins ran about ten of them per container start and stop; now a
// marker under the run directory says the rules are in place in that network
// namespace. A firewall reload that flushes them is not noticed: they come back
// after a reboot or when the marker is removed (as Docker's, which only
// firewalld's reload signal restores).
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { acquireLock } from "../linux/lock.ts";
import type { NetworkConfigList, PluginConf } from "./cni.ts";
import { execCapture } from "./exec.ts";

export interface BridgeRules {
  /** The CNI network's name (the marker's and the rules' comment). */
  name: string;
  bridge: string;
  subnet: string;
  /** No way out: no masquerading, forwarding only between the bridge's ports. */
  internal: boolean;
}

/** The bridge, subnet of a bridge network list (its first plugin). */
export function bridgeRulesOf(list: NetworkConfigList, internal: boolean): BridgeRules {
  const b = list.plugins[0] as PluginConf & { bridge?: string; ipam?: { ranges?: Array<Array<{ subnet: string }>> } };
  const subnet = b.ipam?.ranges?.[0]?.[0]?.subnet;
  if (b.type !== "bridge" || !b.bridge || !subnet) throw new Error(`network ${list.name}: not a bridge network with a subnet`);
  return { name: list.name, bridge: b.bridge, subnet, internal };
}

/** The list as the engine runs it: no masquerading or firewall plugin (the network's rules do that), portmap only with ports. */
export function leanList(list: NetworkConfigList, o: { ports: boolean }): NetworkConfigList {
  const plugins = list.plugins
    .filter((p) => p.type !== "firewall" && (o.ports || p.type !== "portmap"))
    .map((p) => (p.type === "bridge" ? { ...p, ipMasq: false } : p));
  return { ...list, plugins };
}

function rules(r: BridgeRules): string[][] {
  const tag = ["-m", "comment", "--comment", `berth ${r.name}`];
  return [
    ...(r.internal ? [] : [["-t", "nat", "POSTROUTING", "-s", r.subnet, "!", "-d", r.subnet, ...tag, "-j", "MASQUERADE"]]),
    r.internal ? ["-t", "filter", "FORWARD", "-i", r.bridge, "-o", r.bridge, ...tag, "-j", "ACCEPT"] : ["-t", "filter", "FORWARD", "-i", r.bridge, ...tag, "-j", "ACCEPT"],
    ["-t", "filter", "FORWARD", "-o", r.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", ...tag, "-j", "ACCEPT"],
  ];
}

async function iptables(op: "-C" | "-I" | "-D", rule: string[], hostNetns?: string): Promise<{ code: number; stderr: string }> {
  const [t, table, chain, ...rest] = rule;
  const cmd = ["iptables", "-w", t!, table!, op, chain!, ...rest];
  const r = await execCapture(hostNetns ? ["nsenter", `--net=${hostNetns}`, "--", ...cmd] : cmd, { timeoutMs: 30_000 });
  return { code: r.code ?? 1, stderr: r.stderr };
}

function markerDir(runDir: string): string {
  return join(resolve(runDir), "network-rules");
}

/** The marker of a network's rules in one network namespace (the host's, or hostNetns): its name and the namespace's inode. */
function markerOf(r: BridgeRules, o: { runDir: string; hostNetns?: string }): string {
  return join(markerDir(o.runDir), `${r.name}@${statSync(o.hostNetns ?? "/proc/self/ns/net").ino}`);
}

/** Puts the network's rules in place unless this boot's marker says they are (in this network namespace). */
export async function ensureBridgeRules(r: BridgeRules, o: { runDir: string; hostNetns?: string }): Promise<void> {
  const marker = markerOf(r, o);
  if (existsSync(marker)) return;
  mkdirSync(markerDir(o.runDir), { recursive: true, mode: 0o700 });
  const lock = await acquireLock(join(markerDir(o.runDir), ".lock"), "exclusive");
  try {
    if (existsSync(marker)) return;
    for (const rule of rules(r)) {
      if ((await iptables("-C", rule, o.hostNetns)).code === 0) continue;
      const add = await iptables("-I", rule, o.hostNetns);
      if (add.code !== 0) throw new Error(`network ${r.name}: iptables ${rule.join(" ")}: ${add.stderr.trim()}`);
    }
    writeFileSync(marker, JSON.stringify(r) + "\n", { mode: 0o600 });
  } finally {
    lock.release();
  }
}

/** Takes the network's rules away (network rm); idempotent. */
export async function removeBridgeRules(r: BridgeRules, o: { runDir: string; hostNetns?: string }): Promise<void> {
  mkdirSync(markerDir(o.runDir), { recursive: true, mode: 0o700 });
  const lock = await acquireLock(join(markerDir(o.runDir), ".lock"), "exclusive");
  try {
    rmSync(markerOf(r, o), { force: true });
    for (const rule of rules(r)) while ((await iptables("-D", rule, o.hostNetns)).code === 0);
  } finally {
    lock.release();
  }
}

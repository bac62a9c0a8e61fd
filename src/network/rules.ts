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
import { FFIType, ptr } from "bun:ffi";
import { lazyLibc, sym } from "../linux/libc.ts";
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
    r.internal
      ? ["-t", "filter", "FORWARD", "-i", r.bridge, "-o", r.bridge, ...tag, "-j", "ACCEPT"]
      : ["-t", "filter", "FORWARD", "-i", r.bridge, ...tag, "-j", "ACCEPT"],
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

const lib = lazyLibc({
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
});
const AF_UNIX = 1,
  SOCK_DGRAM = 2,
  SOCK_CLOEXEC = 0o2000000,
  SOL_SOCKET = 1,
  SO_NETNS_COOKIE = 71;

/**
 * The cookie of the caller's network namespace (SO_NETNS_COOKIE, Linux 5.14):
 * unlike its inode number, which the next namespace made after it dies often
 * gets, a cookie is never given to another namespace before a reboot.
 * Undefined on older kernels.
 */
function netnsCookie(): bigint | undefined {
  const fd = lib().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const val = new BigUint64Array(1);
    const len = new Uint32Array([8]);
    return lib().getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, ptr(val), ptr(len)) === 0 ? val[0] : undefined;
  } finally {
    sym.close(fd);
  }
}

/**
 * The marker of a network's rules in one network namespace: its name and the
 * namespace's cookie (the caller's), else its inode (hostNetns, or a kernel
 * before 5.14: a namespace made after that one died may then be taken for it).
 */
function markerOf(r: BridgeRules, o: { runDir: string; hostNetns?: string }): string {
  const cookie = o.hostNetns ? undefined : netnsCookie();
  const id = cookie !== undefined ? `c${cookie}` : String(statSync(o.hostNetns ?? "/proc/self/ns/net").ino);
  return join(markerDir(o.runDir), `${r.name}@${id}`);
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

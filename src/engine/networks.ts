// User-defined networks (`network create NAME`), as Docker's and Podman's:
// each is a CNI bridge network of its own (bridge br-ID12, a subnet of its
// own, host-local IPAM), kept as ROOT/networks/NAME.json. The built-in ones
// are `bridge` (CNI's `berth`, 10.89.0.0/16), `host` and `none`.
//
// Name resolution between the members of a network, and network connect /
// disconnect: src/engine/network-connect.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { isIPv4 } from "node:net";
import { acquireLock, writeFileAtomic } from "../linux/lock.ts";
import { defaultNetworkList, type NetworkConfigList } from "../network/index.ts";
import { bridgeRulesOf, ensureBridgeRules, leanList, removeBridgeRules } from "../network/rules.ts";
import type { EnginePaths } from "./paths.ts";
import { EngineError, NAME_RE, type ContainerRecordE } from "./store.ts";

export interface UserNetwork {
  Name: string;
  Id: string;
  Driver: "bridge";
  Subnet: string;
  Gateway: string;
  Bridge: string;
  Internal: boolean;
  Labels: Record<string, string>;
  Created: string;
}

export const BUILTIN_NETWORKS = ["bridge", "host", "none"] as const;

/** The network of run/create without --network: BERTH_DEFAULT_NETWORK, else the bridge network. */
export function defaultNetwork(): string {
  return process.env.BERTH_DEFAULT_NETWORK || "bridge";
}

/** Whether a container is on network `name` (built-in, run --network NAME or network connect). */
export function onNetwork(c: ContainerRecordE, name: string): boolean {
  return (c.network.name ?? c.network.mode) === name || (c.network.connected ?? []).some((x) => x.name === name);
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** An IPv4 CIDR's first address and size; an error naming the flag when it is not one. */
export function parseCidr(cidr: string, flag = "--subnet"): { base: number; size: number; prefix: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) < 8 || Number(m[2]) > 30)
    throw new EngineError(`${flag} ${JSON.stringify(cidr)}: want an IPv4 subnet such as 10.90.0.0/24 (prefix 8 to 30)`, 125);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = ipToInt(m[1]!);
  if (base % size !== 0)
    throw new EngineError(`${flag} ${cidr}: the address has bits set past the prefix (want ${intToIp(base - (base % size))}/${prefix})`, 125);
  return { base, size, prefix };
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a),
    y = parseCidr(b);
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

export class NetworkStore {
  readonly dir: string;
  constructor(readonly paths: EnginePaths) {
    this.dir = join(paths.root, "networks");
  }

  private async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(join(this.dir, ".lock"), "exclusive");
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  list(): UserNetwork[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".json"))
      .flatMap((f) => {
        try {
          return [JSON.parse(readFileSync(join(this.dir, f), "utf8")) as UserNetwork];
        } catch (e) {
          // removed meanwhile, or a file that is not berth's (it writes them whole, atomically)
          if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return [];
          throw e;
        }
      })
      .sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** A user-defined network by name, full id or unique id prefix. */
  find(ref: string): UserNetwork | undefined {
    const all = this.list();
    const hit = all.find((n) => n.Name === ref || n.Id === ref);
    if (hit) return hit;
    if (/^[a-f0-9]{3,}$/.test(ref)) {
      const hits = all.filter((n) => n.Id.startsWith(ref));
      if (hits.length > 1) throw new EngineError(`network ID prefix ${ref} is ambiguous`);
      return hits[0];
    }
    return undefined;
  }

  get(ref: string): UserNetwork {
    const n = this.find(ref);
    if (!n) throw new EngineError(`network ${ref} not found`);
    return n;
  }

  async create(name: string, o: { subnet?: string; gateway?: string; internal?: boolean; labels?: Record<string, string> } = {}): Promise<UserNetwork> {
    if (!NAME_RE.test(name))
      throw new EngineError(`network name ${JSON.stringify(name)}: use letters, digits and _ . - (starting with a letter or digit)`, 125);
    if ((BUILTIN_NETWORKS as readonly string[]).includes(name)) throw new EngineError(`network name ${name} is taken by a built-in network`);
    return this.locked(() => {
      const all = this.list();
      if (all.some((n) => n.Name === name)) throw new EngineError(`network with name ${name} already exists`);
      const used = [builtinBridge().Subnet, ...all.map((n) => n.Subnet)].filter(Boolean);
      let subnet = o.subnet;
      if (subnet !== undefined) {
        parseCidr(subnet);
        const clash = used.find((u) => overlaps(u, subnet!));
        if (clash) throw new EngineError(`--subnet ${subnet}: overlaps the subnet ${clash} of another network`);
      } else {
        for (let i = 0; i < 256 && subnet === undefined; i++) {
          const s = `10.90.${i}.0/24`;
          if (!used.some((u) => overlaps(u, s))) subnet = s;
        }
        if (subnet === undefined) throw new EngineError("no free subnet left in 10.90.0.0/16: give --subnet");
      }
      const { base, size } = parseCidr(subnet);
      const gateway = o.gateway ?? intToIp(base + 1);
      if (!isIPv4(gateway) || ipToInt(gateway) <= base || ipToInt(gateway) >= base + size - 1)
        throw new EngineError(`--gateway ${JSON.stringify(gateway)}: want an address inside ${subnet}`, 125);
      const id = randomBytes(32).toString("hex");
      const net: UserNetwork = {
        Name: name,
        Id: id,
        Driver: "bridge",
        Subnet: subnet,
        Gateway: gateway,
        Bridge: `br-${id.slice(0, 12)}`,
        Internal: !!o.internal,
        Labels: o.labels ?? {},
        Created: new Date().toISOString(),
      };
      writeFileAtomic(join(this.dir, `${name}.json`), JSON.stringify(net, null, 1) + "\n", 0o600);
      return net;
    });
  }

  /** Removes a network no container refers to, and its bridge. */
  async remove(ref: string, containers: () => ContainerRecordE[]): Promise<UserNetwork> {
    if ((BUILTIN_NETWORKS as readonly string[]).includes(ref)) throw new EngineError(`${ref} is a built-in network and cannot be removed`);
    return this.locked(async () => {
      const net = this.get(ref);
      const users = containers().filter((c) => onNetwork(c, net.Name));
      if (users.length) throw new EngineError(`network ${net.Name} is in use by container ${users.map((c) => c.name).join(", ")}`);
      rmSync(join(this.dir, `${net.Name}.json`), { force: true });
      // the CNI bridge plugin leaves its bridge: it goes with the network, as Docker's
      Bun.spawnSync(["ip", "link", "del", net.Bridge], { stdout: "ignore", stderr: "ignore" });
      await removeBridgeRules(bridgeRulesOf(this.configList(net), net.Internal), { runDir: this.paths.runRoot });
      return net;
    });
  }

  /**
   * The CNI list a container joins (a user-defined network, else the default
   * bridge), lean: the network's iptables rules, put in place here once per
   * boot, masquerade and forward for every member (src/network/rules.ts).
   */
  async cniList(net: UserNetwork | undefined, o: { ports: boolean }): Promise<NetworkConfigList> {
    const full = net ? this.configList(net) : defaultNetworkList();
    await ensureBridgeRules(bridgeRulesOf(full, !!net?.Internal), { runDir: this.paths.runRoot });
    return leanList(full, o);
  }

  /** The CNI configuration of a user-defined network. */
  configList(net: UserNetwork): NetworkConfigList {
    const list = defaultNetworkList({ name: `berth-${net.Name}`, bridge: net.Bridge, subnet: net.Subnet, gateway: net.Gateway });
    const bridge = list.plugins[0] as Record<string, unknown>;
    if (net.Internal) {
      bridge.ipMasq = false;
      bridge.ipam = { ...(bridge.ipam as object), routes: [] };
    }
    return list;
  }
}

/** The built-in bridge network's subnet and gateway (CNI's default list `berth`). */
export function builtinBridge(): { Subnet: string; Gateway: string } {
  const bridge = defaultNetworkList().plugins[0] as { ipam?: { ranges?: Array<Array<{ subnet: string; gateway?: string }>> } };
  const r = bridge.ipam?.ranges?.[0]?.[0];
  return { Subnet: r?.subnet ?? "", Gateway: r?.gateway ?? "" };
}

// linux.netDevices (runtime-spec 1.3): host network devices moved into the
// container's network namespace at create, under the name the config gives,
// keeping their addresses and whether they were up (the kernel drops a
// device's addresses when it changes namespace); moved back at delete while
// that namespace still exists. Done with iproute2 (`ip`, a set-up package),
// entering a namespace with nsenter.
import { statSync } from "../linux/fs.ts";
import type { LinuxNetDevice } from "../spec/types.ts";
import { RuntimeError } from "./state.ts";
import { callerEnv } from "../linux/caller.ts";

/** A network namespace: the path of its nsfs file. */
export type NetnsPath = string;

/** This process's own (the runtime's) network namespace. */
export function runtimeNetns(): NetnsPath {
  return `/proc/${process.pid}/ns/net`;
}

function ip(netns: NetnsPath, args: string[]): { ok: boolean; out: string; err: string } {
  const argv = netns === runtimeNetns() ? ["ip", ...args] : ["nsenter", `--net=${netns}`, "ip", ...args];
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: callerEnv() });
  return { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString().trim() };
}

interface LinkInfo {
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/**
 * Moves device NAME from one network namespace to another, renamed to
 * NEWNAME in the same netlink request, then gives it back its addresses and
 * its up state. `what` names the config field in errors.
 */
function moveLink(from: NetnsPath, to: NetnsPath, name: string, newName: string, what: string): void {
  const show = ip(from, ["-j", "addr", "show", "dev", name]);
  if (!show.ok)
    throw new RuntimeError(
      `${what}: no network device ${JSON.stringify(name)}${from === runtimeNetns() ? " on the host" : " in the container"} (${show.err || "ip failed"})`,
    );
  let info: LinkInfo = {};
  try {
    info = (JSON.parse(show.out) as LinkInfo[])[0] ?? {};
  } catch (e) {
    // ip printed no JSON: the addresses cannot be kept, so nothing is moved
    throw new RuntimeError(`${what}: reading the addresses of ${JSON.stringify(name)}: ${(e as Error).message}`);
  }
  const mv = ip(from, ["link", "set", "dev", name, "netns", to, "name", newName]);
  if (!mv.ok) throw new RuntimeError(`${what}: moving ${JSON.stringify(name)} as ${JSON.stringify(newName)}: ${mv.err || "ip failed"}`);
  for (const a of info.addr_info ?? []) {
    // IPv6 link-local addresses come back by themselves when the device is up
    if ((a.family !== "inet" && a.family !== "inet6") || (a.family === "inet6" && a.scope === "link")) continue;
    const add = ip(to, ["addr", "add", `${a.local}/${a.prefixlen}`, "dev", newName]);
    if (!add.ok) throw new RuntimeError(`${what}: restoring address ${a.local}/${a.prefixlen} on ${JSON.stringify(newName)}: ${add.err}`);
  }
  if (info.flags?.includes("UP")) {
    const up = ip(to, ["link", "set", "dev", newName, "up"]);
    if (!up.ok) throw new RuntimeError(`${what}: bringing ${JSON.stringify(newName)} up: ${up.err}`);
  }
}

/** The name a device gets in the container. */
function inside(host: string, d: LinuxNetDevice): string {
  return d.name || host;
}

/**
 * Moves every device of linux.netDevices into the network namespace NETNS.
 * On an error the devices moved so far go back, and the error is thrown.
 */
export function moveNetDevicesIn(devices: Record<string, LinuxNetDevice>, netns: NetnsPath): void {
  // namespaces live on one file system (nsfs): the inode number tells them apart
  if (statSync(netns).ino === statSync(runtimeNetns()).ino)
    throw new RuntimeError("linux.netDevices: the container's network namespace is the runtime's own: devices can only move into another one");
  const moved: string[] = [];
  try {
    for (const [host, d] of Object.entries(devices)) {
      moveLink(runtimeNetns(), netns, host, inside(host, d), `linux.netDevices[${JSON.stringify(host)}]`);
      moved.push(host);
    }
  } catch (e) {
    // the first error is the one to report
    moveNetDevicesOut(Object.fromEntries(moved.map((h) => [h, devices[h]!])), netns);
    throw e;
  }
}

/** Moves the devices back from NETNS to the runtime's namespace, under their host names; returns the problems. */
export function moveNetDevicesOut(devices: Record<string, LinuxNetDevice>, netns: NetnsPath): string[] {
  const problems: string[] = [];
  for (const [host, d] of Object.entries(devices)) {
    try {
      moveLink(netns, runtimeNetns(), inside(host, d), host, `linux.netDevices[${JSON.stringify(host)}]`);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

// The name-resolution files a container sees: /etc/resolv.conf, /etc/hosts and
// /etc/hostname, generated per container and written into a directory from which
// the runtime bind-mounts them.

import { mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../linux/lock.ts";
import { isIP } from "node:net";
import { join } from "node:path";

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** Used when no usable nameserver is left (as Docker does). */
export const FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];
/** systemd-resolved's file listing the real upstream servers. */
export const RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf";

const HOSTNAME_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Checks a container hostname: dot-separated RFC 1123 labels, at most 64 characters (the kernel's limit). */
export function validateHostname(hostname: string, field = "hostname"): void {
  if (typeof hostname !== "string" || hostname.length === 0 || hostname.length > 64 || !hostname.split(".").every((l) => HOSTNAME_LABEL.test(l))) {
    throw new Error(`${field} ${JSON.stringify(hostname)}: must be 1-64 characters of dot-separated labels of letters, digits and '-'`);
  }
}

/** A hostname derived from a container id: its first 12 characters, made valid. */
export function hostnameFromId(id: string): string {
  const h = id
    .slice(0, 12)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "");
  return h || "container";
}

export function parseResolvConf(text: string): ResolvConf {
  const rc: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0]) rc.nameservers.push(rest[0]);
    else if (key === "search" || key === "domain")
      rc.search = rest; // the last of these wins, as in libc
    else if (key === "options") rc.options.push(...rest);
  }
  return rc;
}

export function formatResolvConf(rc: ResolvConf): string {
  const lines: string[] = [];
  if (rc.search.length) lines.push(`search ${rc.search.join(" ")}`);
  for (const ns of rc.nameservers) lines.push(`nameserver ${ns}`);
  if (rc.options.length) lines.push(`options ${rc.options.join(" ")}`);
  return lines.join("\n") + "\n";
}

/** True for addresses that only mean something in the host's own network namespace. */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.replace(/%.*$/, "");
  if (isIP(a) === 4) return a.startsWith("127.");
  if (isIP(a) === 6) return a === "::1" || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(a);
  return false;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

export interface ResolvConfInput {
  /** Text of the host's resolv.conf. */
  host: string;
  /** Text of systemd-resolved's upstream list, tried when the host's servers are all loopback. */
  hostUpstream?: string;
  /** The container has its own network namespace: loopback servers of the host are unreachable. */
  ownNetns: boolean;
  /** Overrides: when given (non-empty), they replace the host's. */
  nameservers?: string[];
  search?: string[];
  options?: string[];
  /** Servers to use when none is left. */
  fallback?: string[];
}

/**
 * A container's resolv.conf: the host's, with loopback nameservers dropped when the
 * container has its own netns (then systemd-resolved's upstream list, then the
 * fallback servers, are used if none is left).
 */
export function buildResolvConf(input: ResolvConfInput): string {
  const host = parseResolvConf(input.host);
  const rc: ResolvConf = {
    nameservers: input.nameservers?.length ? [...input.nameservers] : host.nameservers,
    search: input.search?.length ? [...input.search] : host.search,
    options: input.options?.length ? [...input.options] : host.options,
  };
  for (const ns of rc.nameservers) {
    if (isIP(ns.replace(/%.*$/, "")) === 0) throw new Error(`dns.nameservers: ${JSON.stringify(ns)} is not an IP address`);
  }
  if (input.ownNetns) {
    rc.nameservers = rc.nameservers.filter((ns) => !isLoopbackAddress(ns));
    if (rc.nameservers.length === 0 && !input.nameservers?.length && input.hostUpstream) {
      rc.nameservers = parseResolvConf(input.hostUpstream).nameservers.filter((ns) => !isLoopbackAddress(ns));
    }
    if (rc.nameservers.length === 0) rc.nameservers = [...(input.fallback ?? FALLBACK_NAMESERVERS)];
  } else if (rc.nameservers.length === 0) {
    rc.nameservers = [...(input.fallback ?? FALLBACK_NAMESERVERS)];
  }
  rc.nameservers = unique(rc.nameservers);
  rc.search = unique(rc.search);
  rc.options = unique(rc.options);
  return formatResolvConf(rc);
}

/** Reads the host's resolv.conf and systemd-resolved's upstream list ("" for a missing file). */
export function readHostResolvConf(path = "/etc/resolv.conf", upstreamPath = RESOLVED_UPSTREAM): { host: string; hostUpstream: string } {
  const read = (p: string): string => {
    try {
      return readFileSync(p, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw e;
    }
  };
  return { host: read(path), hostUpstream: read(upstreamPath) };
}

export interface HostsInput {
  hostname: string;
  /** The container's own addresses (plain, without prefix length). */
  ips?: string[];
  /** Extra entries: [name, address]. */
  extraHosts?: [string, string][];
}

/** A container's /etc/hosts: localhost entries, its hostname on its addresses, extra entries. */
export function buildHosts(input: HostsInput): string {
  validateHostname(input.hostname);
  const short = input.hostname.split(".")[0] as string;
  const names = short !== input.hostname ? `${input.hostname} ${short}` : input.hostname;
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
  ];
  const ips = (input.ips ?? []).map((ip) => ip.replace(/\/\d+$/, ""));
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new Error(`ips: ${JSON.stringify(ip)} is not an IP address`);
    lines.push(`${ip}\t${names}`);
  }
  if (ips.length === 0) lines.push(`127.0.1.1\t${names}`);
  for (const [i, [name, addr]] of (input.extraHosts ?? []).entries()) {
    if (isIP(addr) === 0) throw new Error(`extraHosts[${i}]: ${JSON.stringify(addr)} is not an IP address`);
    if (!name || /\s/.test(name)) throw new Error(`extraHosts[${i}]: invalid host name ${JSON.stringify(name)}`);
    lines.push(`${addr}\t${name}`);
  }
  return lines.join("\n") + "\n";
}

export function buildHostname(hostname: string): string {
  validateHostname(hostname);
  return `${hostname}\n`;
}

export interface NetworkFiles {
  resolvConf: string;
  hosts: string;
  hostname: string;
}

function writeAtomic(path: string, content: string): void {
  writeFileAtomic(path, content, 0o644);
}

/** Writes the three files into `dir` (created if needed) and returns their paths. */
export function writeNetworkFiles(dir: string, content: NetworkFiles): NetworkFiles {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const paths: NetworkFiles = {
    resolvConf: join(dir, "resolv.conf"),
    hosts: join(dir, "hosts"),
    hostname: join(dir, "hostname"),
  };
  writeAtomic(paths.resolvConf, content.resolvConf);
  writeAtomic(paths.hosts, content.hosts);
  writeAtomic(paths.hostname, content.hostname);
  return paths;
}

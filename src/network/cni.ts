// CNI (Container Network Interface) invocation: network configuration lists, the
// plugin protocol (ADD / DEL / CHECK / VERSION), prevResult chaining and a result
// cache so that DEL and CHECK get the result of the ADD they undo or check.
//
// The plugins are the real ones (Debian's containernetworking-plugins); berth only
// runs them as the CNI specification asks a runtime to.

import { accessSync, constants, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { writeFileAtomic } from "../linux/lock.ts";
import { isIP } from "node:net";
import { join } from "node:path";
import { execCapture } from "./exec.ts";
import { trace } from "../linux/trace.ts";
import { isContainerId } from "../spec/id.ts";
import { DEFAULT_PATH } from "../spec/defaults.ts";

// ---------------------------------------------------------------------------
// Types

export interface IpamConf {
  type: string;
  [key: string]: unknown;
}

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IpamConf;
  [key: string]: unknown;
}

export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
  mtu?: number;
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  version?: string;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDns;
  [key: string]: unknown;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: "tcp" | "udp" | "sctp";
  hostIP?: string;
}

/** One container's attachment to one network. */
export interface Attachment {
  containerId: string;
  /** Path of the container's network namespace ("" on DEL when it is gone). */
  netns: string;
  ifName: string;
  /** CNI_ARGS key/value pairs. */
  args?: [string, string][];
  /** Values for `runtimeConfig`, passed to plugins that declare the capability (e.g. portMappings). */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniOptions {
  /** Directories searched for plugin executables (CNI_PATH). */
  cniPath?: string[];
  /** Where IPAM state (host-local `dataDir`) and the result cache live. */
  dataDir?: string;
  /** Run the plugins inside this network namespace (the "host" side), instead of the caller's. */
  hostNetns?: string;
  /** Time limit per plugin call (ms). */
  timeoutMs?: number;
}

/** Spec versions this runtime can drive. */
export const SUPPORTED_CNI_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];
export const DEFAULT_CNI_PATH = ["/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin"];
export const DEFAULT_DATA_DIR = "/var/lib/berth/network";
export const DEFAULT_CONFIG_DIR = "/etc/berth/cni";
export const DEFAULT_NETWORK_NAME = "berth";
export const DEFAULT_BRIDGE = "berth0";
export const DEFAULT_SUBNET = "10.89.0.0/16";
export const DEFAULT_GATEWAY = "10.89.0.1";
const DEFAULT_TIMEOUT_MS = 60_000;

const CNI_ERROR_NAMES: Record<number, string> = {
  1: "incompatible CNI version",
  2: "unsupported field in network configuration",
  3: "container unknown or does not exist",
  4: "invalid necessary environment variables",
  5: "I/O failure",
  6: "failed to decode content",
  7: "invalid network config",
  11: "try again later",
  50: "plugin not available",
  51: "plugin not available; limited connectivity",
};

// ---------------------------------------------------------------------------
// Errors

/** A network configuration is invalid; `field` is the path of the offending field. */
export class NetworkConfigError extends Error {
  constructor(
    readonly network: string,
    readonly field: string,
    readonly problem: string,
    readonly source?: string,
  ) {
    const what = [network ? JSON.stringify(network) : "", source ? `(${source})` : ""].filter(Boolean).join(" ");
    super(`network config${what ? ` ${what}` : ""}: ${field}: ${problem}`);
    this.name = "NetworkConfigError";
  }
}

/** A plugin failed; carries the CNI error code and message when the plugin printed one. */
export class CniError extends Error {
  constructor(
    readonly network: string,
    readonly plugin: string,
    readonly index: number,
    readonly command: string,
    readonly code: number | undefined,
    readonly cniMsg: string,
    readonly details: string | undefined,
    readonly stderr: string,
  ) {
    const where = index >= 0 ? `plugins[${index}] ` : "";
    const codeText = code !== undefined ? ` (CNI error ${code}${CNI_ERROR_NAMES[code] ? `: ${CNI_ERROR_NAMES[code]}` : ""})` : "";
    super(`network ${JSON.stringify(network)}: ${where}plugin "${plugin}" ${command} failed${codeText}: ${cniMsg}` + (details ? ` (${details})` : ""));
    this.name = "CniError";
  }
}

// ---------------------------------------------------------------------------
// Configuration

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True for "a.b.c.d/n" or an IPv6 CIDR. */
export function isCidr(s: unknown): boolean {
  if (typeof s !== "string") return false;
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len)) return false;
  const v = isIP(ip);
  const n = Number(len);
  return (v === 4 && n <= 32) || (v === 6 && n <= 128);
}

function validateIpam(net: string, at: string, ipam: unknown, source?: string): void {
  if (!isObject(ipam)) throw new NetworkConfigError(net, at, "must be an object", source);
  if (typeof ipam.type !== "string" || !TYPE_RE.test(ipam.type)) {
    throw new NetworkConfigError(net, `${at}.type`, "required: the IPAM plugin name", source);
  }
  if (ipam.type !== "host-local") return;
  const hasSubnet = ipam.subnet !== undefined;
  const hasRanges = ipam.ranges !== undefined;
  if (!hasSubnet && !hasRanges) {
    throw new NetworkConfigError(net, `${at}.subnet`, `required: host-local needs "subnet" or "ranges"`, source);
  }
  if (hasSubnet && !isCidr(ipam.subnet)) {
    throw new NetworkConfigError(net, `${at}.subnet`, `${JSON.stringify(ipam.subnet)} is not a CIDR subnet`, source);
  }
  if (hasRanges) {
    if (!Array.isArray(ipam.ranges) || ipam.ranges.length === 0) {
      throw new NetworkConfigError(net, `${at}.ranges`, "must be a non-empty array of range sets", source);
    }
    ipam.ranges.forEach((set, i) => {
      if (!Array.isArray(set) || set.length === 0) {
        throw new NetworkConfigError(net, `${at}.ranges[${i}]`, "must be a non-empty array of ranges", source);
      }
      set.forEach((r, j) => {
        if (!isObject(r) || !isCidr(r.subnet)) {
          throw new NetworkConfigError(net, `${at}.ranges[${i}][${j}].subnet`, "required: a CIDR subnet", source);
        }
        for (const k of ["gateway", "rangeStart", "rangeEnd"]) {
          if (r[k] !== undefined && (typeof r[k] !== "string" || isIP(r[k] as string) === 0)) {
            throw new NetworkConfigError(net, `${at}.ranges[${i}][${j}].${k}`, "must be an IP address", source);
          }
        }
      });
    });
  }
  if (ipam.dataDir !== undefined && typeof ipam.dataDir !== "string") {
    throw new NetworkConfigError(net, `${at}.dataDir`, "must be a string", source);
  }
}

/**
 * Validates a parsed network configuration list and returns it typed.
 * Errors name the field path (e.g. `plugins[0].ipam.subnet`).
 */
export function parseNetworkList(input: unknown, source?: string): NetworkConfigList {
  if (!isObject(input)) throw new NetworkConfigError("", "(root)", "must be a JSON object", source);
  const name = input.name;
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    const problem = "required: letters, digits, '_', '.', '-', starting with a letter or digit";
    throw new NetworkConfigError("", "name", problem, source);
  }
  if (typeof input.cniVersion !== "string") throw new NetworkConfigError(name, "cniVersion", "required: a string", source);
  if (!SUPPORTED_CNI_VERSIONS.includes(input.cniVersion)) {
    throw new NetworkConfigError(
      name,
      "cniVersion",
      `unsupported version ${JSON.stringify(input.cniVersion)} (supported: ${SUPPORTED_CNI_VERSIONS.join(", ")})`,
      source,
    );
  }
  if (input.disableCheck !== undefined && typeof input.disableCheck !== "boolean") {
    throw new NetworkConfigError(name, "disableCheck", "must be a boolean", source);
  }
  if (input.plugins === undefined && input.type !== undefined) {
    throw new NetworkConfigError(name, "plugins", "required: single-plugin configurations are not supported, use a list", source);
  }
  if (!Array.isArray(input.plugins) || input.plugins.length === 0) {
    throw new NetworkConfigError(name, "plugins", "required: a non-empty array of plugin configurations", source);
  }
  input.plugins.forEach((p, i) => {
    const at = `plugins[${i}]`;
    if (!isObject(p)) throw new NetworkConfigError(name, at, "must be an object", source);
    if (typeof p.type !== "string" || !TYPE_RE.test(p.type)) {
      throw new NetworkConfigError(name, `${at}.type`, "required: the plugin name (letters, digits, '_', '.', '-')", source);
    }
    if (p.capabilities !== undefined) {
      if (!isObject(p.capabilities) || Object.values(p.capabilities).some((v) => typeof v !== "boolean")) {
        throw new NetworkConfigError(name, `${at}.capabilities`, "must be an object of booleans", source);
      }
    }
    if (p.ipam !== undefined) validateIpam(name, `${at}.ipam`, p.ipam, source);
  });
  return input as unknown as NetworkConfigList;
}

/** Finds a plugin executable in the CNI path, or undefined. */
export function findPlugin(type: string, cniPath: string[] = DEFAULT_CNI_PATH): string | undefined {
  if (!TYPE_RE.test(type)) return undefined;
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* missing or not executable in this directory: the next one */
    }
  }
  return undefined;
}

/**
 * The built-in default network: a `berth0` bridge acting as gateway with IP
 * masquerade, host-local IPAM on 10.89.0.0/16 (Podman uses 10.88.0.0/16), plus
 * portmap (port mappings) and firewall where those plugins are installed.
 */
export function defaultNetworkList(opts: { name?: string; bridge?: string; subnet?: string; gateway?: string; cniPath?: string[] } = {}): NetworkConfigList {
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const range: Record<string, string> = { subnet: opts.subnet ?? DEFAULT_SUBNET };
  const gateway = opts.gateway ?? (opts.subnet ? undefined : DEFAULT_GATEWAY);
  if (gateway) range.gateway = gateway;
  const plugins: PluginConf[] = [
    {
      type: "bridge",
      bridge: opts.bridge ?? DEFAULT_BRIDGE,
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: "host-local", ranges: [[range]], routes: [{ dst: "0.0.0.0/0" }] },
    },
  ];
  if (findPlugin("portmap", cniPath)) plugins.push({ type: "portmap", capabilities: { portMappings: true } });
  if (findPlugin("firewall", cniPath)) plugins.push({ type: "firewall", backend: "iptables" });
  return { cniVersion: "1.0.0", name: opts.name ?? DEFAULT_NETWORK_NAME, plugins };
}

/** Reads and validates one `.conflist` (or `.json`) file. */
export function readNetworkListFile(path: string): NetworkConfigList {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`network config ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new NetworkConfigError("", "(root)", `not valid JSON: ${(e as Error).message}`, path);
  }
  return parseNetworkList(parsed, path);
}

/**
 * Finds the network called `name` in `configDir` (files `*.conflist` / `*.json`, in
 * name order). The default network is used when no file defines `name` and
 * `name` is the default network's name.
 */
export function loadNetworkList(name: string = DEFAULT_NETWORK_NAME, opts: { configDir?: string; cniPath?: string[] } = {}): NetworkConfigList {
  const dir = opts.configDir ?? DEFAULT_CONFIG_DIR;
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith(".conflist") || f.endsWith(".json"))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`network config dir ${dir}: ${(e as Error).message}`);
  }
  for (const f of files) {
    const path = join(dir, f);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      continue; // a broken file defines no network; it is reported if asked for by path
    }
    if (isObject(parsed) && parsed.name === name) return parseNetworkList(parsed, path);
  }
  if (name === DEFAULT_NETWORK_NAME) return defaultNetworkList({ cniPath: opts.cniPath });
  throw new Error(`network ${JSON.stringify(name)}: not found in ${dir}`);
}

// ---------------------------------------------------------------------------
// Invocation

interface ResolvedPlugin {
  conf: PluginConf;
  index: number;
  path: string;
}

function resolvePlugins(list: NetworkConfigList, cniPath: string[]): ResolvedPlugin[] {
  return list.plugins.map((conf, index) => {
    const path = findPlugin(conf.type, cniPath);
    if (!path) {
      throw new NetworkConfigError(list.name, `plugins[${index}].type`, `plugin "${conf.type}" not found in CNI path ${cniPath.join(":")}`);
    }
    const ipamType = conf.ipam?.type;
    if (ipamType && !findPlugin(ipamType, cniPath)) {
      throw new NetworkConfigError(
        list.name,
        `plugins[${index}].ipam.type`,
        `IPAM plugin "${ipamType}" (of plugin "${conf.type}") not found in CNI path ${cniPath.join(":")}`,
      );
    }
    return { conf, index, path };
  });
}

/** The configuration one plugin receives on stdin (spec section 3, "deriving execution configuration"). */
export function pluginExecConfig(
  list: NetworkConfigList,
  conf: PluginConf,
  opts: { dataDir?: string; capabilityArgs?: Record<string, unknown>; prevResult?: CniResult },
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...conf, cniVersion: list.cniVersion, name: list.name };
  if (conf.ipam?.type === "host-local" && opts.dataDir && conf.ipam.dataDir === undefined) {
    out.ipam = { ...conf.ipam, dataDir: join(opts.dataDir, "ipam") };
  }
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(conf.capabilities ?? {})) {
    if (on && opts.capabilityArgs && opts.capabilityArgs[cap] !== undefined) rc[cap] = opts.capabilityArgs[cap];
  }
  delete out.runtimeConfig;
  if (Object.keys(rc).length > 0) out.runtimeConfig = rc;
  delete out.prevResult;
  if (opts.prevResult) out.prevResult = opts.prevResult;
  return out;
}

function cniEnv(command: string, att: Attachment | undefined, cniPath: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CNI_")) env[k] = v;
  if (!env.PATH) env.PATH = DEFAULT_PATH;
  env.CNI_COMMAND = command;
  env.CNI_PATH = cniPath.join(":");
  if (att) {
    env.CNI_CONTAINERID = att.containerId;
    env.CNI_NETNS = att.netns;
    env.CNI_IFNAME = att.ifName;
    const args = att.args ?? [];
    env.CNI_ARGS = args.length ? ["IgnoreUnknown=1", ...args.map(([k, v]) => `${k}=${v}`)].join(";") : "";
  }
  return env;
}

/**
 * Runs one plugin executable with one CNI command. Returns its parsed stdout
 * (undefined when it printed nothing); throws CniError on failure.
 */
export async function invokePlugin(
  pluginPath: string,
  command: "ADD" | "DEL" | "CHECK" | "VERSION",
  stdinConf: Record<string, unknown>,
  att: Attachment | undefined,
  opts: CniOptions & { network?: string; index?: number } = {},
): Promise<Record<string, unknown> | undefined> {
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const type = String(stdinConf.type ?? pluginPath.split("/").pop());
  const network = opts.network ?? String(stdinConf.name ?? "");
  const cmd = opts.hostNetns ? ["nsenter", `--net=${opts.hostNetns}`, "--", pluginPath] : [pluginPath];
  trace(`cni ${command} ${type}`);
  const r = await execCapture(cmd, {
    stdin: JSON.stringify(stdinConf),
    env: cniEnv(command, att, cniPath),
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  trace(`cni ${command} ${type} done`);
  const index = opts.index ?? -1;
  const out = r.stdout.trim();
  let parsed: unknown;
  if (out) {
    try {
      parsed = JSON.parse(out);
    } catch {
      parsed = undefined; // not a CNI result or error: reported below as the plugin printed it
    }
  }
  if (r.code !== 0 || r.timedOut) {
    if (isObject(parsed) && (parsed.code !== undefined || parsed.msg !== undefined)) {
      throw new CniError(
        network,
        type,
        index,
        command,
        typeof parsed.code === "number" ? parsed.code : undefined,
        String(parsed.msg ?? "(no message)").trim(),
        parsed.details ? String(parsed.details) : undefined,
        r.stderr,
      );
    }
    const tail = (r.stderr.trim() || out).split("\n").slice(-5).join(" | ");
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : `exit status ${r.code}`;
    throw new CniError(network, type, index, command, undefined, `${why}${tail ? `: ${tail}` : ""}`, undefined, r.stderr);
  }
  if (out && !isObject(parsed)) {
    throw new CniError(network, type, index, command, undefined, `printed invalid JSON: ${out.slice(0, 200)}`, undefined, r.stderr);
  }
  return parsed as Record<string, unknown> | undefined;
}

/** Asks a plugin which spec versions it supports (CNI_COMMAND=VERSION). */
export async function pluginVersion(type: string, opts: CniOptions = {}): Promise<{ cniVersion: string; supportedVersions: string[] }> {
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const path = findPlugin(type, cniPath);
  if (!path) throw new Error(`plugin "${type}" not found in CNI path ${cniPath.join(":")}`);
  const out = await invokePlugin(path, "VERSION", { cniVersion: "1.0.0", type }, undefined, { ...opts, hostNetns: undefined });
  if (!out || !Array.isArray(out.supportedVersions)) {
    throw new Error(`plugin "${type}" VERSION: no supportedVersions in its answer`);
  }
  return { cniVersion: String(out.cniVersion ?? ""), supportedVersions: out.supportedVersions.map(String) };
}

/**
 * Checks that every plugin of the list (and its IPAM plugin) is installed and
 * supports the list's cniVersion, by asking each with VERSION.
 */
export async function validateNetworkList(list: NetworkConfigList, opts: CniOptions = {}): Promise<void> {
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const plugins = resolvePlugins(list, cniPath);
  for (const p of plugins) {
    const types: [string, string][] = [[p.conf.type, `plugins[${p.index}].type`]];
    if (p.conf.ipam?.type) types.push([p.conf.ipam.type, `plugins[${p.index}].ipam.type`]);
    for (const [type, field] of types) {
      const v = await pluginVersion(type, opts);
      if (!v.supportedVersions.includes(list.cniVersion)) {
        throw new NetworkConfigError(
          list.name,
          field,
          `plugin "${type}" does not support cniVersion ${list.cniVersion} (it supports ${v.supportedVersions.join(", ")})`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Result cache

/** What is remembered of an ADD, so that DEL/CHECK can be run later with only the container id. */
export interface CachedAttachment extends Attachment {
  kind: "berth.cni.attachment";
  network: string;
  /** The namespace the plugins ran in, if not the caller's. */
  hostNetns?: string;
  config: NetworkConfigList;
  result?: CniResult;
}

function cacheDir(dataDir: string): string {
  return join(dataDir, "results");
}

function cacheFile(dataDir: string, network: string, containerId: string, ifName: string): string {
  return join(cacheDir(dataDir), `${network}-${containerId}-${ifName}.json`);
}

function writeCache(dataDir: string, entry: CachedAttachment): void {
  const dir = cacheDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = cacheFile(dataDir, entry.network, entry.containerId, entry.ifName);
  writeFileAtomic(file, JSON.stringify(entry), 0o600);
}

function removeCache(dataDir: string, network: string, containerId: string, ifName: string): void {
  try {
    unlinkSync(cacheFile(dataDir, network, containerId, ifName));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/** The cached ADD of one attachment, if any. */
export function readCachedAttachment(dataDir: string, network: string, containerId: string, ifName: string): CachedAttachment | undefined {
  try {
    const v = JSON.parse(readFileSync(cacheFile(dataDir, network, containerId, ifName), "utf8")) as CachedAttachment;
    return v.kind === "berth.cni.attachment" ? v : undefined;
  } catch (e) {
    // no ADD cached, or a file that is not one (berth writes them whole, atomically)
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** All cached attachments of a container (any network, any interface). */
export function listCachedAttachments(dataDir: string, containerId: string): CachedAttachment[] {
  let files: string[];
  try {
    files = readdirSync(cacheDir(dataDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: CachedAttachment[] = [];
  for (const f of files) {
    if (!f.endsWith(".json")) continue;
    try {
      const v = JSON.parse(readFileSync(join(cacheDir(dataDir), f), "utf8")) as CachedAttachment;
      if (v.kind === "berth.cni.attachment" && v.containerId === containerId) out.push(v);
    } catch {
      /* removed meanwhile (a DEL), or not one of berth's attachments */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// List operations

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function checkAttachment(att: Attachment): void {
  // berth's container id rule less "+", which the CNI spec leaves out of CNI_CONTAINERID.
  if (!isContainerId(att.containerId) || att.containerId.includes("+")) {
    throw new Error(`containerId ${JSON.stringify(att.containerId)}: must be letters, digits, '_', '.', '-'`);
  }
  if (typeof att.ifName !== "string" || !IFNAME_RE.test(att.ifName) || att.ifName === "." || att.ifName === "..") {
    throw new Error(`ifName ${JSON.stringify(att.ifName)}: must be 1-15 characters of [A-Za-z0-9_.-]`);
  }
  for (const [k, v] of att.args ?? []) {
    if (!k || /[=;]/.test(k) || /[;]/.test(v)) throw new Error(`args: invalid CNI_ARGS pair ${JSON.stringify([k, v])}`);
  }
}

/**
 * ADD: runs the plugins in order, passing each the previous result, and returns the
 * final result. On failure, runs DEL for every plugin (in reverse) so that nothing is
 * left behind, and throws the original error.
 */
export async function addNetworkList(list: NetworkConfigList, att: Attachment, opts: CniOptions = {}): Promise<CniResult> {
  checkAttachment(att);
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const plugins = resolvePlugins(list, cniPath);
  const entry: CachedAttachment = {
    kind: "berth.cni.attachment",
    network: list.name,
    containerId: att.containerId,
    ifName: att.ifName,
    netns: att.netns,
    args: att.args,
    capabilityArgs: att.capabilityArgs,
    hostNetns: opts.hostNetns,
    config: list,
  };
  // Recorded before the first plugin runs, so that a DEL after a crash mid-ADD still finds it.
  writeCache(dataDir, entry);
  let prev: CniResult | undefined;
  try {
    for (const p of plugins) {
      const conf = pluginExecConfig(list, p.conf, { dataDir, capabilityArgs: att.capabilityArgs, prevResult: prev });
      const out = await invokePlugin(p.path, "ADD", conf, att, { ...opts, cniPath, network: list.name, index: p.index });
      if (!out) {
        throw new CniError(list.name, p.conf.type, p.index, "ADD", undefined, "printed no result", undefined, "");
      }
      prev = out as CniResult;
    }
  } catch (e) {
    try {
      await runDel(list, plugins, att, undefined, { ...opts, cniPath, dataDir });
      removeCache(dataDir, list.name, att.containerId, att.ifName);
    } catch (cleanupErr) {
      if (e instanceof Error) e.message += `; cleanup (DEL) also failed: ${(cleanupErr as Error).message}`;
    }
    throw e;
  }
  const result = prev as CniResult;
  writeCache(dataDir, { ...entry, result });
  return result;
}

async function runDel(
  list: NetworkConfigList,
  plugins: ResolvedPlugin[],
  att: Attachment,
  prevResult: CniResult | undefined,
  opts: CniOptions & { cniPath: string[]; dataDir: string },
): Promise<void> {
  const errors: Error[] = [];
  for (const p of [...plugins].reverse()) {
    const conf = pluginExecConfig(list, p.conf, { dataDir: opts.dataDir, capabilityArgs: att.capabilityArgs, prevResult });
    try {
      await invokePlugin(p.path, "DEL", conf, att, { ...opts, network: list.name, index: p.index });
    } catch (e) {
      errors.push(e as Error); // keep going: release as much as possible
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new Error(errors.map((e) => e.message).join("; "));
}

/**
 * DEL: runs the plugins in reverse order with the cached ADD result as prevResult.
 * Succeeds when the attachment is already gone. The netns may be "" or a path that
 * no longer exists.
 */
export async function delNetworkList(list: NetworkConfigList, att: Attachment, opts: CniOptions = {}): Promise<void> {
  checkAttachment(att);
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const plugins = resolvePlugins(list, cniPath);
  const cached = readCachedAttachment(dataDir, list.name, att.containerId, att.ifName);
  const effective: Attachment = {
    ...att,
    args: att.args ?? cached?.args,
    capabilityArgs: att.capabilityArgs ?? cached?.capabilityArgs,
  };
  await runDel(list, plugins, effective, cached?.result, { ...opts, cniPath, dataDir });
  removeCache(dataDir, list.name, att.containerId, att.ifName);
}

/** CHECK: asks each plugin, in order, to verify the attachment against the cached ADD result. */
export async function checkNetworkList(list: NetworkConfigList, att: Attachment, opts: CniOptions = {}): Promise<void> {
  checkAttachment(att);
  if (list.disableCheck) return;
  if (list.cniVersion === "0.3.0" || list.cniVersion === "0.3.1") {
    throw new Error(`network ${JSON.stringify(list.name)}: CHECK needs cniVersion 0.4.0 or later (has ${list.cniVersion})`);
  }
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const plugins = resolvePlugins(list, cniPath);
  const cached = readCachedAttachment(dataDir, list.name, att.containerId, att.ifName);
  if (!cached?.result) {
    throw new Error(`network ${JSON.stringify(list.name)}: no cached ADD result for container ${att.containerId} ${att.ifName}`);
  }
  const capabilityArgs = att.capabilityArgs ?? cached.capabilityArgs;
  for (const p of plugins) {
    const conf = pluginExecConfig(list, p.conf, { dataDir, capabilityArgs, prevResult: cached.result });
    await invokePlugin(p.path, "CHECK", conf, { ...att, capabilityArgs }, { ...opts, cniPath, network: list.name, index: p.index });
  }
}

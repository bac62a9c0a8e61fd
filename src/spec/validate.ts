/**
 * Validation of OCI runtime-spec documents.
 *
 * Two stages: the JSON schema of schema.ts (compiled by ajv ahead of time into
 * validators.generated.ts, so importing this module compiles nothing), then
 * semantic checks a schema cannot express (duplicates, cross-field rules).
 * The first problem found is thrown as a SpecError whose one-line message
 * names the document and the field path, e.g.
 *   config.json: linux.namespaces[2].type: unknown namespace "foo" (allowed: pid, ...)
 * Validation never modifies its input.
 */
import type { LinuxResources, Process, Spec, State } from "./types.ts";
import type * as Generated from "./validators.generated.ts";
import { CAPABILITY_NUMBERS, CPU_LIMIT, MEMPOLICY_FLAGS, MEMPOLICY_MODES, parseIdList } from "./constants.ts";
import { tryParseJSON } from "./json.ts";

export class SpecError extends Error {
  override name = "SpecError";
  /** The document, e.g. "config.json" or a file path. */
  readonly source: string;
  /** Field path like `linux.namespaces[2].type`; "" for the whole document. */
  readonly path: string;
  /** What is wrong, without source and path. */
  readonly detail: string;

  constructor(source: string, path: string, detail: string) {
    super(`${source}: ${path ? `${path}: ` : ""}${detail}`);
    this.source = source;
    this.path = path;
    this.detail = detail;
  }
}

export interface ValidateConfigOptions {
  /** `process` is needed to create a container; stored configs may omit it. Default true. */
  requireProcess?: boolean;
}

/**
 * The compiled schema (about 200 KB of generated code) is loaded on first use,
 * so that lifecycle steps which validate nothing (state, kill, delete) do not
 * pay for parsing it.
 */
let generated: typeof Generated | undefined;
function compiled(): typeof Generated {
  generated ??= require("./validators.generated.ts") as typeof Generated;
  return generated;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

/** Parse JSON text; syntax errors become a SpecError with line and column. */
export function parseJSON(text: string, source = "config.json"): unknown {
  const r = tryParseJSON(text);
  if (!r.ok) {
    const p = r.problem;
    throw new SpecError(source, "", `invalid JSON at line ${p.line}, column ${p.column}: ${p.message}`);
  }
  return r.value;
}

/** Parse and validate the text of a config.json. */
export function parseConfig(text: string, source = "config.json", opts: ValidateConfigOptions = {}): Spec {
  return validateConfig(parseJSON(text, source), source, opts);
}

/** Validate a parsed config.json; returns it typed (the same object). */
export function validateConfig(raw: unknown, source = "config.json", opts: ValidateConfigOptions = {}): Spec {
  runSchema(compiled().checkConfig, raw, source);
  const spec = raw as Spec;
  const c = new Checker(source);
  if (opts.requireProcess !== false && spec.process === undefined) c.fail("process", "required (the process to run in the container)");
  checkSpecSemantics(spec, c);
  return spec;
}

/** Validate a process document (as given to `exec --process FILE`). */
export function validateProcess(raw: unknown, source = "process.json"): Process {
  runSchema(compiled().checkProcess, raw, source);
  const p = raw as Process;
  checkProcessSemantics(p, "", new Checker(source));
  return p;
}

/** Validate a resources document (as given to `update -r FILE`). */
export function validateResources(raw: unknown, source = "resources.json"): LinuxResources {
  runSchema(compiled().checkResources, raw, source);
  const r = raw as LinuxResources;
  checkResourcesSemantics(r, "", new Checker(source));
  return r;
}

/** Validate a state document (runtime.md "State"). */
export function validateState(raw: unknown, source = "state.json"): State {
  runSchema(compiled().checkState, raw, source);
  const s = raw as State;
  const c = new Checker(source);
  if ((s.status === "created" || s.status === "running") && s.pid === undefined) {
    c.fail("pid", `required when status is "${s.status}"`);
  }
  return s;
}

/** Capability names in `caps` that this kernel vocabulary does not know (callers may warn). */
export function unknownCapabilities(caps: readonly string[]): string[] {
  return caps.filter((n) => !Object.hasOwn(CAPABILITY_NUMBERS, n));
}

/* ------------------------------------------------------------------ */
/* Schema stage                                                        */
/* ------------------------------------------------------------------ */

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  propertyName?: string;
  schema?: unknown;
  parentSchema?: Record<string, unknown>;
  data?: unknown;
}

type CompiledCheck = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

function runSchema(check: CompiledCheck, raw: unknown, source: string): void {
  if (check(raw)) return;
  const err = check.errors?.[0];
  if (!err) throw new SpecError(source, "", "invalid document");
  const { path, detail } = describeSchemaError(err, raw);
  throw new SpecError(source, path, detail);
}

function describeSchemaError(err: AjvError, root: unknown): { path: string; detail: string } {
  const segments = pointerSegments(err.instancePath);
  const ps = err.parentSchema ?? {};
  const p = err.params;
  let detail: string;
  switch (err.keyword) {
    case "required":
      segments.push(String(p.missingProperty));
      detail = "required";
      break;
    case "additionalProperties": {
      segments.push(String(p.additionalProperty));
      const allowed = Object.keys((ps.properties as Record<string, unknown> | undefined) ?? {});
      detail = `unknown field${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`;
      break;
    }
    case "type":
      detail = `expected ${String(p.type)}, got ${kindOf(err.data)}`;
      break;
    case "enum":
      detail = `unknown ${typeof ps.title === "string" ? ps.title : "value"} ${JSON.stringify(err.data)} (allowed: ${(p.allowedValues as unknown[]).join(", ")})`;
      break;
    case "pattern":
      detail = `must be ${typeof ps.description === "string" ? ps.description : `a string matching /${String(p.pattern)}/`}, got ${JSON.stringify(err.data)}`;
      break;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      detail = `must be ${String(p.comparison)} ${String(p.limit)}, got ${JSON.stringify(err.data)}`;
      break;
    case "minItems":
      detail = p.limit === 1 ? "must not be empty" : `must have at least ${String(p.limit)} items`;
      break;
    default:
      detail = `fails the "${err.keyword}" check`;
  }
  if (err.propertyName !== undefined) {
    // The error is about an object key (propertyNames); point at the key.
    segments.push(err.propertyName);
    detail = `invalid key: ${detail}`;
  }
  return { path: formatPath(segments, root), detail };
}

function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** `["linux","namespaces","2","type"]` → `linux.namespaces[2].type`, using the data to tell array indices from keys. */
export function formatPath(segments: readonly (string | number)[], root?: unknown): string {
  let out = "";
  let node: unknown = root;
  for (const seg of segments) {
    const key = String(seg);
    if (Array.isArray(node) || (root === undefined && typeof seg === "number")) {
      out += `[${key}]`;
    } else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) {
      out += out ? `.${key}` : key;
    } else {
      out += `[${JSON.stringify(key)}]`;
    }
    node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === "number") return `${Number.isInteger(v) ? "integer" : "number"} ${v}`;
  return `${typeof v} ${String(v)}`;
}

/* ------------------------------------------------------------------ */
/* Semantic stage                                                      */
/* ------------------------------------------------------------------ */

class Checker {
  constructor(readonly source: string) {}
  fail(path: string, detail: string): never {
    throw new SpecError(this.source, path, detail);
  }
}

const join = (base: string, key: string | number): string => (typeof key === "number" ? `${base}[${key}]` : base ? `${base}.${key}` : key);

function checkSpecSemantics(spec: Spec, c: Checker): void {
  const major = Number(spec.ociVersion.split(".")[0]);
  if (major !== 1) c.fail("ociVersion", `unsupported version "${spec.ociVersion}" (major version must be 1)`);

  if (spec.process) checkProcessSemantics(spec.process, "process", c);

  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const nsIndex = new Map<string, number>();
  namespaces.forEach((ns, i) => {
    const first = nsIndex.get(ns.type);
    if (first !== undefined) {
      c.fail(`linux.namespaces[${i}].type`, `duplicate namespace "${ns.type}" (also linux.namespaces[${first}])`);
    }
    nsIndex.set(ns.type, i);
  });
  const has = (t: string) => nsIndex.has(t);
  const created = (t: string) => {
    const i = nsIndex.get(t);
    return i !== undefined && !namespaces[i]!.path;
  };

  if (spec.hostname !== undefined && spec.hostname !== "" && !has("uts")) {
    c.fail("hostname", 'setting the hostname requires a UTS namespace (add {"type": "uts"} to linux.namespaces)');
  }
  if (spec.domainname !== undefined && spec.domainname !== "" && !has("uts")) {
    c.fail("domainname", 'setting the domainname requires a UTS namespace (add {"type": "uts"} to linux.namespaces)');
  }

  for (const key of ["uidMappings", "gidMappings"] as const) {
    const maps = linux[key];
    if (maps && maps.length > 0) {
      if (!has("user")) c.fail(`linux.${key}`, 'ID mappings require a user namespace (add {"type": "user"} to linux.namespaces)');
      checkIdMappings(maps, `linux.${key}`, c);
    }
    // A new user namespace without mappings is accepted (crun's rootless spec writes one):
    // the runtime then maps the calling user to root, as crun does.
  }

  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length > 0) {
    if (!has("time")) c.fail("linux.timeOffsets", 'time offsets require a time namespace (add {"type": "time"} to linux.namespaces)');
    if (!created("time")) c.fail("linux.timeOffsets", "cannot set time offsets of a time namespace that is joined by path");
  }

  for (const [key] of Object.entries(linux.sysctl ?? {})) {
    const need = sysctlNamespace(key);
    const path = `linux.sysctl[${JSON.stringify(key)}]`;
    if (need === null) c.fail(path, "not isolated by any namespace: setting it would change the host");
    if (!has(need)) c.fail(path, `requires a ${need} namespace (add {"type": "${need}"} to linux.namespaces)`);
  }

  const devicePaths = new Map<string, number>();
  (linux.devices ?? []).forEach((d, i) => {
    const at = `linux.devices[${i}]`;
    if (d.type !== "p") {
      if (d.major === undefined) c.fail(`${at}.major`, `required for device type "${d.type}"`);
      if (d.minor === undefined) c.fail(`${at}.minor`, `required for device type "${d.type}"`);
    }
    const first = devicePaths.get(d.path);
    if (first !== undefined) c.fail(`${at}.path`, `duplicate device "${d.path}" (also linux.devices[${first}])`);
    devicePaths.set(d.path, i);
  });

  if (linux.cgroupsPath !== undefined && linux.cgroupsPath.split(/[/:]/).includes("..")) {
    c.fail("linux.cgroupsPath", `must not contain ".." components, got ${JSON.stringify(linux.cgroupsPath)}`);
  }

  if (linux.resources) checkResourcesSemantics(linux.resources, "linux.resources", c);

  const sc = linux.seccomp;
  if (sc) {
    if (sc.defaultAction === "SCMP_ACT_NOTIFY") c.fail("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
    if (sc.defaultErrnoRet !== undefined && !errnoAction(sc.defaultAction)) {
      c.fail("linux.seccomp.defaultErrnoRet", `only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${sc.defaultAction}`);
    }
    (sc.syscalls ?? []).forEach((s, i) => {
      const at = `linux.seccomp.syscalls[${i}]`;
      if (s.errnoRet !== undefined && !errnoAction(s.action)) {
        c.fail(`${at}.errnoRet`, `only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${s.action}`);
      }
      if (s.action === "SCMP_ACT_NOTIFY" && !sc.listenerPath) {
        c.fail("linux.seccomp.listenerPath", `required because ${at}.action is SCMP_ACT_NOTIFY`);
      }
    });
  }

  const nd = linux.netDevices ?? {};
  if (Object.keys(nd).length > 0) {
    if (!has("network")) c.fail("linux.netDevices", 'moving network devices needs a network namespace (add {"type": "network"} to linux.namespaces)');
    const inside = new Map<string, string>();
    for (const [host, d] of Object.entries(nd)) {
      const at = `linux.netDevices[${JSON.stringify(host)}]`;
      if (!isIfName(host)) c.fail(at, `not a network device name: ${JSON.stringify(host)} (1 to 15 characters, no "/", ":" or white space)`);
      if (d.name !== undefined && d.name !== "" && !isIfName(d.name))
        c.fail(`${at}.name`, `not a network device name: ${JSON.stringify(d.name)} (1 to 15 characters, no "/", ":" or white space)`);
      const name = d.name || host;
      const other = inside.get(name);
      if (other !== undefined) c.fail(`${at}.name`, `${JSON.stringify(name)} is also the container's name for linux.netDevices[${JSON.stringify(other)}]`);
      inside.set(name, host);
    }
  }

  const mp = linux.memoryPolicy;
  if (mp) {
    if (MEMPOLICY_MODES[mp.mode] === undefined)
      c.fail("linux.memoryPolicy.mode", `unknown mode ${JSON.stringify(mp.mode)} (allowed: ${Object.keys(MEMPOLICY_MODES).join(", ")})`);
    (mp.flags ?? []).forEach((f, i) => {
      if (MEMPOLICY_FLAGS[f] === undefined)
        c.fail(`linux.memoryPolicy.flags[${i}]`, `unknown flag ${JSON.stringify(f)} (allowed: ${Object.keys(MEMPOLICY_FLAGS).join(", ")})`);
    });
    const nodes = parseIdList(mp.nodes ?? "");
    if (nodes === null) c.fail("linux.memoryPolicy.nodes", `not a node list like "0-3,7": ${JSON.stringify(mp.nodes)}`);
    const empty = nodes!.length === 0;
    // these two modes take no nodes and no flags; every other but MPOL_PREFERRED (empty: local) needs nodes
    const nodeless = mp.mode === "MPOL_DEFAULT" || mp.mode === "MPOL_LOCAL";
    if (nodeless && !empty) c.fail("linux.memoryPolicy.nodes", `must be empty with ${mp.mode}`);
    if (!nodeless && mp.mode !== "MPOL_PREFERRED" && empty) c.fail("linux.memoryPolicy.nodes", `required with ${mp.mode}`);
    if (nodeless && (mp.flags ?? []).length > 0) c.fail("linux.memoryPolicy.flags", `not allowed with ${mp.mode}`);
  }

  (spec.mounts ?? []).forEach((m, i) => {
    // "For compatibility with old tools and configurations, it MAY be a relative path, in which
    // case it MUST be interpreted as relative to "/"" (config.md, mounts, since runtime-spec 1.1)
    if (!m.destination.startsWith("/")) m.destination = `/${m.destination}`;
    if (m.uidMappings?.length) checkIdMappings(m.uidMappings, `mounts[${i}].uidMappings`, c);
    if (m.gidMappings?.length) checkIdMappings(m.gidMappings, `mounts[${i}].gidMappings`, c);
    if (!!m.uidMappings?.length !== !!m.gidMappings?.length) {
      c.fail(`mounts[${i}]`, "an idmapped mount needs both uidMappings and gidMappings");
    }
  });
}

/** A valid Linux network interface name (IFNAMSIZ - 1 bytes, dev_valid_name). */
function isIfName(s: string): boolean {
  return s.length > 0 && Buffer.byteLength(s) <= 15 && s !== "." && s !== ".." && !/[/:\s]/.test(s);
}

const errnoAction = (a: string) => a === "SCMP_ACT_ERRNO" || a === "SCMP_ACT_TRACE";

const IPC_SYSCTLS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

/** The namespace that isolates a sysctl, or null when it is host-wide. */
export function sysctlNamespace(key: string): "ipc" | "network" | "uts" | null {
  const k = key.replace(/\//g, ".");
  if (IPC_SYSCTLS.has(k) || k.startsWith("fs.mqueue.")) return "ipc";
  if (k.startsWith("net.")) return "network";
  if (k === "kernel.hostname" || k === "kernel.domainname") return "uts";
  return null;
}

function checkIdMappings(maps: readonly { containerID: number; hostID: number; size: number }[], at: string, c: Checker): void {
  const LIMIT = 2 ** 32;
  maps.forEach((m, i) => {
    if (m.containerID + m.size > LIMIT) c.fail(`${at}[${i}]`, "containerID + size exceeds the 32-bit ID range");
    if (m.hostID + m.size > LIMIT) c.fail(`${at}[${i}]`, "hostID + size exceeds the 32-bit ID range");
    for (let j = 0; j < i; j++) {
      const o = maps[j]!;
      if (m.containerID < o.containerID + o.size && o.containerID < m.containerID + m.size) {
        c.fail(`${at}[${i}]`, `container ID range overlaps ${at}[${j}]`);
      }
    }
  });
}

function checkProcessSemantics(p: Process, base: string, c: Checker): void {
  for (const k of ["initial", "final"] as const) {
    const v = p.execCPUAffinity?.[k];
    if (v !== undefined && parseIdList(v, CPU_LIMIT) === null)
      c.fail(join(join(base, "execCPUAffinity"), k), `not a CPU list like "0-3,7": ${JSON.stringify(v)}`);
  }
  const seen = new Map<string, number>();
  (p.rlimits ?? []).forEach((r, i) => {
    const at = join(join(base, "rlimits"), i);
    const first = seen.get(r.type);
    if (first !== undefined) c.fail(`${at}.type`, `duplicate rlimit ${r.type} (also ${join(join(base, "rlimits"), first)})`);
    seen.set(r.type, i);
    if (r.soft > r.hard) c.fail(`${at}.soft`, `soft limit ${r.soft} exceeds hard limit ${r.hard}`);
  });

  const s = p.scheduler;
  if (s) {
    const at = join(base, "scheduler");
    const realtime = s.policy === "SCHED_FIFO" || s.policy === "SCHED_RR";
    if (realtime && (s.priority === undefined || s.priority < 1 || s.priority > 99)) {
      c.fail(`${at}.priority`, `must be 1..99 for ${s.policy}`);
    }
    if (!realtime && s.priority !== undefined && s.priority !== 0) {
      c.fail(`${at}.priority`, `must be 0 for ${s.policy} (only SCHED_FIFO and SCHED_RR use a priority)`);
    }
    if (s.policy === "SCHED_DEADLINE") {
      if (!s.runtime) c.fail(`${at}.runtime`, "required (> 0) for SCHED_DEADLINE");
      const deadline = s.deadline || s.period || 0;
      if (deadline && s.runtime! > deadline) c.fail(`${at}.runtime`, "must not exceed deadline");
      if (s.period && deadline > s.period) c.fail(`${at}.deadline`, "must not exceed period");
    }
  }

  if (p.env) {
    p.env.forEach((e, i) => {
      if (e.includes("\0")) c.fail(`${join(join(base, "env"), i)}`, "must not contain a NUL byte");
    });
  }
  p.args?.forEach((a, i) => {
    if (a.includes("\0")) c.fail(`${join(join(base, "args"), i)}`, "must not contain a NUL byte");
  });
}

function checkResourcesSemantics(r: LinuxResources, base: string, c: Checker): void {
  const m = r.memory;
  if (m && m.limit !== undefined && m.swap !== undefined && m.limit > 0 && m.swap > 0 && m.swap < m.limit) {
    c.fail(`${join(join(base, "memory"), "swap")}`, `memory+swap limit ${m.swap} is below the memory limit ${m.limit}`);
  }
  if (m && m.limit !== undefined && m.reservation !== undefined && m.limit > 0 && m.reservation > m.limit) {
    c.fail(`${join(join(base, "memory"), "reservation")}`, `reservation ${m.reservation} is above the memory limit ${m.limit}`);
  }
  const cpu = r.cpu;
  if (cpu && cpu.quota !== undefined && cpu.quota > 0 && cpu.period === 0) {
    c.fail(`${join(join(base, "cpu"), "period")}`, "must be > 0 when a quota is set");
  }
  (r.devices ?? []).forEach((d, i) => {
    if (d.type === "a" && ((d.major !== undefined && d.major !== -1) || (d.minor !== undefined && d.minor !== -1))) {
      c.fail(`${join(join(base, "devices"), i)}`, 'type "a" (all devices) cannot have a major or minor number');
    }
  });
  const sizes = new Map<string, number>();
  (r.hugepageLimits ?? []).forEach((h, i) => {
    const first = sizes.get(h.pageSize);
    if (first !== undefined) c.fail(`${join(join(base, "hugepageLimits"), i)}.pageSize`, `duplicate page size ${h.pageSize}`);
    sizes.set(h.pageSize, i);
  });
}

/**
 * JSON Schema (draft-07) for the parts of the OCI runtime-spec config that
 * berth consumes, plus the state document.
 *
 * This module is plain data. It is compiled by ajv at build time into
 * `validators.generated.ts` (see `gen-validators.ts`), so that the runtime
 * never pays for schema compilation; a test checks the generated file is in
 * sync with this schema.
 *
 * Annotations used by the error formatter in validate.ts:
 *  - `title` on an `enum` node: the noun in "unknown <title> "x" (allowed: ...)".
 *  - `description` on a `pattern` node: the phrase in "must be <description>".
 *
 * Unknown keys are allowed everywhere (the spec allows extensions) except
 * inside `linux.resources`, where a typo would silently drop a limit.
 */
import {
  CONTAINER_STATUSES,
  DEVICE_TYPES,
  IOPRIO_CLASSES,
  NAMESPACE_TYPES,
  RLIMIT_TYPES,
  ROOTFS_PROPAGATIONS,
  SCHEDULER_FLAGS,
  SCHEDULER_POLICIES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  TIME_OFFSET_CLOCKS,
} from "./constants.ts";

type Schema = Record<string, unknown>;

export const SCHEMA_ID = "berth:oci-runtime";

const UINT32_MAX = 4294967295;
const UINT16_MAX = 65535;

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
const str: Schema = { type: "string" };
const nonEmptyStr: Schema = { type: "string", pattern: "[\\s\\S]", description: "a non-empty string" };
const bool: Schema = { type: "boolean" };
const int: Schema = { type: "integer" };
const uint: Schema = { type: "integer", minimum: 0 };
const uint16: Schema = { type: "integer", minimum: 0, maximum: UINT16_MAX };
const uint32: Schema = { type: "integer", minimum: 0, maximum: UINT32_MAX };
/** int64 where -1 means "unlimited" and other negatives are meaningless. */
const limit64: Schema = { type: "integer", minimum: -1 };
const arrayOf = (items: Schema, extra: Schema = {}): Schema => ({ type: "array", items, ...extra });
const stringMap: Schema = { type: "object", additionalProperties: str };
const oneOfEnum = (title: string, values: readonly string[]): Schema => ({ type: "string", title, enum: [...values] });

const ABS_PATH: Schema = { type: "string", pattern: "^/", description: "an absolute path" };
/** An absolute path, or "" meaning "not set" (what Go clients write for an empty optional field). */
const ABS_PATH_OR_EMPTY: Schema = { type: "string", pattern: "^(/|$)", description: "an absolute path" };

function object(properties: Record<string, Schema>, required: string[] = [], closed = false): Schema {
  const s: Schema = { type: "object", properties };
  if (required.length) s.required = required;
  if (closed) s.additionalProperties = false;
  return s;
}

const definitions: Record<string, Schema> = {
  /* ---------------- process ---------------- */
  idMapping: object({ containerID: uint32, hostID: uint32, size: { type: "integer", minimum: 1, maximum: UINT32_MAX } }, ["containerID", "hostID", "size"]),
  user: object(
    {
      uid: uint32,
      gid: uint32,
      umask: { type: "integer", minimum: 0, maximum: 0o7777 },
      additionalGids: arrayOf(uint32),
      username: str,
    },
    ["uid", "gid"],
  ),
  capabilityList: arrayOf({ type: "string", pattern: "^CAP_[A-Z0-9_]+$", description: "a capability name like CAP_KILL" }),
  capabilities: object({
    bounding: ref("capabilityList"),
    effective: ref("capabilityList"),
    inheritable: ref("capabilityList"),
    permitted: ref("capabilityList"),
    ambient: ref("capabilityList"),
  }),
  rlimit: object({ type: oneOfEnum("rlimit type", RLIMIT_TYPES), hard: uint, soft: uint }, ["type", "hard", "soft"]),
  scheduler: object(
    {
      policy: oneOfEnum("scheduler policy", SCHEDULER_POLICIES),
      nice: { type: "integer", minimum: -20, maximum: 19 },
      priority: int,
      flags: arrayOf(oneOfEnum("scheduler flag", SCHEDULER_FLAGS)),
      runtime: uint,
      deadline: uint,
      period: uint,
    },
    ["policy"],
  ),
  ioPriority: object({ class: oneOfEnum("I/O priority class", IOPRIO_CLASSES), priority: { type: "integer", minimum: 0, maximum: 7 } }, ["class", "priority"]),
  process: object(
    {
      terminal: bool,
      consoleSize: object({ height: uint, width: uint }, ["height", "width"]),
      user: ref("user"),
      args: arrayOf(str, { minItems: 1 }),
      commandLine: str,
      env: arrayOf({ type: "string", pattern: "^[^=]+=", description: "of the form NAME=value" }),
      cwd: ABS_PATH,
      capabilities: ref("capabilities"),
      rlimits: arrayOf(ref("rlimit")),
      noNewPrivileges: bool,
      apparmorProfile: str,
      oomScoreAdj: { type: "integer", minimum: -1000, maximum: 1000 },
      scheduler: ref("scheduler"),
      selinuxLabel: str,
      ioPriority: ref("ioPriority"),
      execCPUAffinity: object({ initial: ref("cpuList"), final: ref("cpuList") }),
    },
    ["user", "args", "cwd"],
  ),
  cpuList: { type: "string", pattern: "^$|^\\s*\\d+(-\\d+)?(\\s*,\\s*\\d+(-\\d+)?)*\\s*$", description: "a cpu list like 0-3,7" },

  /* ---------------- mounts, hooks ---------------- */
  mount: object(
    {
      // runtime-spec 1.1 on: SHOULD be absolute; a relative one (deprecated) is read relative to "/" (validate.ts)
      destination: nonEmptyStr,
      source: str,
      type: str,
      options: arrayOf(str),
      uidMappings: arrayOf(ref("idMapping")),
      gidMappings: arrayOf(ref("idMapping")),
    },
    ["destination"],
  ),
  hook: object(
    {
      path: ABS_PATH,
      args: arrayOf(str),
      env: arrayOf(str),
      timeout: { type: "integer", minimum: 1 },
    },
    ["path"],
  ),
  hookList: arrayOf(ref("hook")),
  hooks: object({
    prestart: ref("hookList"),
    createRuntime: ref("hookList"),
    createContainer: ref("hookList"),
    startContainer: ref("hookList"),
    poststart: ref("hookList"),
    poststop: ref("hookList"),
  }),

  /* ---------------- linux ---------------- */
  namespace: object({ type: oneOfEnum("namespace", NAMESPACE_TYPES), path: ABS_PATH_OR_EMPTY }, ["type"]),
  device: object(
    {
      path: ABS_PATH,
      type: oneOfEnum("device type", DEVICE_TYPES),
      major: { type: "integer", minimum: 0 },
      minor: { type: "integer", minimum: 0 },
      // Permission bits; Go clients may add os.FileMode type bits, which the runtime masks off.
      fileMode: uint32,
      uid: uint32,
      gid: uint32,
    },
    ["path", "type"],
  ),
  timeOffset: object({ secs: int, nanosecs: { type: "integer", minimum: 0, maximum: 999999999 } }),
  seccompArg: object(
    {
      index: { type: "integer", minimum: 0, maximum: 5 },
      value: uint,
      valueTwo: uint,
      op: oneOfEnum("seccomp operator", SECCOMP_OPERATORS),
    },
    ["index", "value", "op"],
  ),
  syscall: object(
    {
      names: arrayOf(nonEmptyStr, { minItems: 1 }),
      action: oneOfEnum("seccomp action", SECCOMP_ACTIONS),
      errnoRet: uint32,
      args: arrayOf(ref("seccompArg")),
    },
    ["names", "action"],
  ),
  seccomp: object(
    {
      defaultAction: oneOfEnum("seccomp action", SECCOMP_ACTIONS),
      defaultErrnoRet: uint32,
      architectures: arrayOf(oneOfEnum("seccomp architecture", SECCOMP_ARCHES)),
      flags: arrayOf(oneOfEnum("seccomp flag", SECCOMP_FLAGS)),
      listenerPath: ABS_PATH_OR_EMPTY,
      listenerMetadata: str,
      syscalls: arrayOf(ref("syscall")),
    },
    ["defaultAction"],
  ),
  personality: object({ domain: oneOfEnum("personality domain", ["LINUX", "LINUX32"]), flags: arrayOf(str) }, ["domain"]),
  intelRdt: object({
    closID: str,
    schemata: str,
    l3CacheSchema: str,
    memBwSchema: str,
    enableCMT: bool,
    enableMBM: bool,
    enableMonitoring: bool,
  }),

  /* ---------------- resources (closed objects) ---------------- */
  deviceCgroup: object(
    {
      allow: bool,
      type: oneOfEnum("device cgroup type", ["a", "c", "b"]),
      major: { type: "integer", minimum: -1 },
      minor: { type: "integer", minimum: -1 },
      access: { type: "string", pattern: "^[rwm]{0,3}$", description: "a combination of r, w and m" },
    },
    ["allow"],
    true,
  ),
  memory: object(
    {
      limit: limit64,
      reservation: limit64,
      swap: limit64,
      kernel: limit64,
      kernelTCP: limit64,
      swappiness: { type: "integer", minimum: 0, maximum: 100 },
      disableOOMKiller: bool,
      useHierarchy: bool,
      checkBeforeUpdate: bool,
    },
    [],
    true,
  ),
  cpu: object(
    {
      shares: uint,
      quota: limit64,
      burst: uint,
      period: uint,
      realtimeRuntime: limit64,
      realtimePeriod: uint,
      cpus: ref("cpuList"),
      mems: ref("cpuList"),
      idle: { type: "integer", minimum: 0, maximum: 1 },
    },
    [],
    true,
  ),
  pids: object({ limit: limit64 }, ["limit"], true),
  weightDevice: object({ major: uint, minor: uint, weight: uint16, leafWeight: uint16 }, ["major", "minor"], true),
  throttleDevice: object({ major: uint, minor: uint, rate: uint }, ["major", "minor", "rate"], true),
  blockIO: object(
    {
      weight: uint16,
      leafWeight: uint16,
      weightDevice: arrayOf(ref("weightDevice")),
      throttleReadBpsDevice: arrayOf(ref("throttleDevice")),
      throttleWriteBpsDevice: arrayOf(ref("throttleDevice")),
      throttleReadIOPSDevice: arrayOf(ref("throttleDevice")),
      throttleWriteIOPSDevice: arrayOf(ref("throttleDevice")),
    },
    [],
    true,
  ),
  hugepageLimit: object(
    {
      pageSize: { type: "string", pattern: "^[1-9][0-9]*[KMG]B$", description: "a page size like 2MB or 1GB" },
      limit: uint,
    },
    ["pageSize", "limit"],
    true,
  ),
  network: object(
    {
      classID: uint32,
      priorities: arrayOf(object({ name: nonEmptyStr, priority: uint32 }, ["name", "priority"], true)),
    },
    [],
    true,
  ),
  rdma: object({ hcaHandles: uint32, hcaObjects: uint32 }, [], true),
  resources: object(
    {
      devices: arrayOf(ref("deviceCgroup")),
      memory: ref("memory"),
      cpu: ref("cpu"),
      pids: ref("pids"),
      blockIO: ref("blockIO"),
      hugepageLimits: arrayOf(ref("hugepageLimit")),
      network: ref("network"),
      rdma: { type: "object", additionalProperties: ref("rdma") },
      unified: {
        type: "object",
        propertyNames: { pattern: "^[a-z][a-z0-9_]*\\.[A-Za-z0-9_.]+$", description: "a cgroup v2 file name like memory.max" },
        additionalProperties: str,
      },
    },
    [],
    true,
  ),

  linux: object({
    namespaces: arrayOf(ref("namespace")),
    uidMappings: arrayOf(ref("idMapping")),
    gidMappings: arrayOf(ref("idMapping")),
    timeOffsets: {
      type: "object",
      propertyNames: oneOfEnum("clock", TIME_OFFSET_CLOCKS),
      additionalProperties: ref("timeOffset"),
    },
    devices: arrayOf(ref("device")),
    cgroupsPath: str,
    resources: ref("resources"),
    intelRdt: ref("intelRdt"),
    sysctl: {
      type: "object",
      propertyNames: { pattern: "^[A-Za-z0-9_]+([./][A-Za-z0-9_@:+-]+)+$", description: "a sysctl name like net.ipv4.ip_forward" },
      additionalProperties: str,
    },
    seccomp: ref("seccomp"),
    rootfsPropagation: oneOfEnum("rootfs propagation", ROOTFS_PROPAGATIONS),
    maskedPaths: arrayOf(ABS_PATH),
    readonlyPaths: arrayOf(ABS_PATH),
    mountLabel: str,
    personality: ref("personality"),
    memoryPolicy: object({ mode: nonEmptyStr, nodes: str, flags: arrayOf(str) }, ["mode"]),
    netDevices: { type: "object", additionalProperties: object({ name: str }) },
  }),

  /* ---------------- documents ---------------- */
  config: object(
    {
      ociVersion: {
        type: "string",
        pattern: "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$",
        description: "a SemVer version like 1.2.0",
      },
      root: object({ path: nonEmptyStr, readonly: bool }, ["path"]),
      process: ref("process"),
      hostname: str,
      domainname: str,
      mounts: arrayOf(ref("mount")),
      hooks: ref("hooks"),
      annotations: stringMap,
      linux: ref("linux"),
    },
    ["ociVersion", "root"],
  ),
  state: object(
    {
      ociVersion: nonEmptyStr,
      id: nonEmptyStr,
      status: oneOfEnum("container status", CONTAINER_STATUSES),
      pid: uint,
      bundle: ABS_PATH,
      annotations: stringMap,
    },
    ["ociVersion", "id", "status", "bundle"],
  ),
};

export const SCHEMA: Schema = {
  $id: SCHEMA_ID,
  $schema: "http://json-schema.org/draft-07/schema#",
  definitions,
};

/** The documents that get a compiled validator, by exported function name. */
export const ENTRY_POINTS = {
  checkConfig: "config",
  checkProcess: "process",
  checkResources: "resources",
  checkState: "state",
} as const;

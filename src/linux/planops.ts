// The plan contract between the TypeScript runtime and the C core: every
// operation the core knows, with its code, its named and typed fields in wire
// order, and when the core applies it. This table is the one definition:
// the PlanOp type below is derived from it, encodePlan (core.ts) serializes
// from it, and scripts/gen-plan-header.ts generates core/plan.gen.h (op codes,
// field indices and kinds) from it, which the core's parser (core/plan.c)
// validates each plan against.
//
// Field kinds:
//   str    one string (no NUL byte)
//   int    a signed decimal integer (64-bit)
//   u64    an unsigned decimal integer (64-bit)
//   [...]  one string out of the values listed
//   strs   the rest of the record: any number of strings (last field only)
//   u64s   the rest of the record: any number of u64 (last field only)
//   nstrs  a count (u64), then that many strings (anywhere)
//
// `once`: the op appears at most once in a plan. The order the core applies
// ops in is described in docs/architecture.md ("The plan contract"); the
// groups below follow it.

export type FieldKind = "str" | "int" | "u64" | "strs" | "u64s" | "nstrs" | readonly string[];

interface OpDef {
  readonly code: number;
  readonly fields: readonly (readonly [string, FieldKind])[];
  readonly once?: boolean;
}

const NAMESPACES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;

/** Every plan operation, by name (the name is what the wire carries). */
export const PLAN_OPS = {
  // how the core runs
  mode: { code: 1, fields: [["mode", ["create", "exec"]]], once: true },
  foreground: { code: 2, fields: [], once: true },
  "preserve-fds": { code: 3, fields: [["count", "u64"]], once: true },
  unprivileged: { code: 4, fields: [], once: true },
  // the core's parent half, before and around the clone
  "cgroup-join": { code: 10, fields: [["tasks", "str"]] },
  "cgroup-into": {
    code: 11,
    fields: [
      ["dir", "str"],
      ["need", ["required", "optional"]],
    ],
    once: true,
  },
  "cgroup-return": { code: 12, fields: [["tasks", "str"]] },
  "console-socket": { code: 13, fields: [["path", "str"]], once: true },
  "pidfd-socket": { code: 14, fields: [["path", "str"]], once: true },
  "exec-fifo": {
    code: 15,
    fields: [
      ["dir", "str"],
      ["name", "str"],
    ],
    once: true,
  },
  "ns-join": {
    code: 16,
    fields: [
      ["type", NAMESPACES],
      ["path", "str"],
    ],
  },
  "ns-new": { code: 17, fields: [["types", "strs"]], once: true },
  setgroups: { code: 18, fields: [["value", ["deny", "allow"]]], once: true },
  uidmap: { code: 19, fields: [["map", "str"]], once: true },
  gidmap: { code: 20, fields: [["map", "str"]], once: true },
  "timens-offsets": { code: 21, fields: [["offsets", "str"]], once: true },
  "idmap-tree": {
    code: 22,
    fields: [
      ["slot", "u64"],
      ["source", "str"],
      ["recursive", "u64"],
      ["attrSet", "u64"],
      ["attrClr", "u64"],
      ["attrRecursive", "u64"],
      ["idmapRecursive", "u64"],
      ["uidMap", "str"],
      ["gidMap", "str"],
    ],
  },
  "seccomp-listener": {
    code: 23,
    fields: [
      ["path", "str"],
      ["state", "str"],
    ],
    once: true,
  },
  "cpu-affinity": {
    code: 24,
    fields: [
      ["which", ["initial", "final"]],
      ["cpus", "u64s"],
    ],
  },
  // the container's init, before its root is in place (create)
  hostname: { code: 30, fields: [["name", "str"]], once: true },
  domainname: { code: 31, fields: [["name", "str"]], once: true },
  "session-keyring": { code: 32, fields: [["name", "str"]], once: true },
  "oom-score-adj": { code: 33, fields: [["score", "int"]], once: true },
  rootfs: { code: 34, fields: [["path", "str"]], once: true },
  "rootfs-propagation": { code: 35, fields: [["flags", "u64"]], once: true },
  "shared-mount-ns": { code: 36, fields: [], once: true },
  "no-pivot": { code: 37, fields: [], once: true },
  mount: {
    code: 38,
    fields: [
      ["kind", ["bind", "rbind", "fs", "fs-copyup", "idmapped"]],
      ["source", "str"],
      ["target", "str"],
      ["fstype", "str"],
      ["attrSet", "u64"],
      ["attrClr", "u64"],
      ["attrRecursive", "u64"],
      ["propagation", "u64"],
      ["propRecursive", "u64"],
      ["data", "str"],
      ["mkkind", "u64"],
    ],
  },
  mkdev: {
    code: 39,
    fields: [
      ["path", "str"],
      ["type", ["c", "b", "p", "u"]],
      ["major", "u64"],
      ["minor", "u64"],
      ["mode", "u64"],
      ["uid", "u64"],
      ["gid", "u64"],
    ],
  },
  "bind-dev": {
    code: 40,
    fields: [
      ["path", "str"],
      ["source", "str"],
    ],
  },
  symlink: {
    code: 41,
    fields: [
      ["target", "str"],
      ["link", "str"],
    ],
  },
  mkdir: {
    code: 42,
    fields: [
      ["path", "str"],
      ["mode", "u64"],
    ],
  },
  "mount-readonly": { code: 43, fields: [["path", "str"]] },
  hook: {
    code: 44,
    fields: [
      ["phase", ["createContainer", "startContainer"]],
      ["timeout", "u64"],
      ["path", "str"],
      ["args", "nstrs"],
      ["env", "strs"],
    ],
  },
  // after pivot_root (create)
  chroot: { code: 50, fields: [["path", "str"]], once: true },
  sysctl: {
    code: 51,
    fields: [
      ["key", "str"],
      ["value", "str"],
    ],
  },
  "loopback-up": { code: 52, fields: [], once: true },
  mask: { code: 53, fields: [["path", "str"]] },
  readonly: { code: 54, fields: [["path", "str"]] },
  "root-readonly": { code: 55, fields: [], once: true },
  // the process (create and exec)
  terminal: {
    code: 60,
    fields: [
      ["rows", "u64"],
      ["cols", "u64"],
      ["uid", "u64"],
    ],
    once: true,
  },
  rlimit: {
    code: 61,
    fields: [
      ["resource", "u64"],
      ["soft", "u64"],
      ["hard", "u64"],
      ["label", "str"],
    ],
  },
  mempolicy: {
    code: 62,
    fields: [
      ["mode", "u64"],
      ["maxnode", "u64"],
      ["words", "u64s"],
    ],
    once: true,
  },
  personality: { code: 63, fields: [["domain", "u64"]] },
  ioprio: { code: 64, fields: [["value", "u64"]] },
  sched: {
    code: 65,
    fields: [
      ["policy", "u64"],
      ["priority", "int"],
      ["nice", "int"],
      ["flags", "u64"],
      ["runtime", "u64"],
      ["deadline", "u64"],
      ["period", "u64"],
    ],
  },
  "lsm-exec": {
    code: 66,
    fields: [
      ["file", "str"],
      ["content", "str"],
    ],
  },
  umask: { code: 67, fields: [["mask", "u64"]], once: true },
  "no-new-privs": { code: 68, fields: [], once: true },
  user: {
    code: 69,
    fields: [
      ["uid", "u64"],
      ["gid", "u64"],
    ],
    once: true,
  },
  groups: { code: 70, fields: [["gids", "u64s"]], once: true },
  caps: {
    code: 71,
    fields: [
      ["bounding", "u64"],
      ["effective", "u64"],
      ["permitted", "u64"],
      ["inheritable", "u64"],
      ["ambient", "u64"],
    ],
    once: true,
  },
  cwd: { code: 72, fields: [["path", "str"]], once: true },
  env: { code: 73, fields: [["entry", "str"]] },
  home: {
    code: 74,
    fields: [
      ["uid", "u64"],
      ["fallback", "str"],
    ],
    once: true,
  },
  args: { code: 75, fields: [["argv", "strs"]], once: true },
  seccomp: {
    code: 76,
    fields: [
      ["defaultAction", "u64"],
      ["architectures", "strs"],
    ],
    once: true,
  },
  "seccomp-flag": { code: 77, fields: [["flag", ["log", "spec_allow", "tsync"]]] },
  "seccomp-rule": {
    code: 78,
    fields: [
      ["action", "u64"],
      ["syscall", "str"],
      ["conditions", "u64s"],
    ],
  },
} as const satisfies Record<string, OpDef>;

export type PlanOpName = keyof typeof PLAN_OPS;

type Num = number | bigint;
type FieldType<K> = K extends "str"
  ? string
  : K extends "int" | "u64"
    ? Num
    : K extends "strs" | "nstrs"
      ? readonly string[]
      : K extends "u64s"
        ? readonly Num[]
        : K extends readonly (infer V)[]
          ? V
          : never;
type FieldsOf<F extends readonly (readonly [string, FieldKind])[]> = { readonly [E in F[number] as E[0]]: FieldType<E[1]> };

/** One plan operation, with its fields by name: `{ op: "mount", kind: "bind", source, target, ... }`. */
export type PlanOp = { [N in PlanOpName]: { readonly op: N } & FieldsOf<(typeof PLAN_OPS)[N]["fields"]> }[PlanOpName];

/** The op called N. */
export type PlanOpOf<N extends PlanOpName> = Extract<PlanOp, { op: N }>;

function decimal(v: unknown, kind: "int" | "u64", where: string): string {
  if (typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v))) {
    if (kind === "u64" && (v < 0 || BigInt(v) >= 1n << 64n)) throw new Error(`${where}: ${v} is not an unsigned 64-bit number`);
    return String(v);
  }
  throw new Error(`${where}: ${String(v)} is not an integer`);
}

/** The op's strings in wire order: its name, then its fields as the definition orders them. */
export function opStrings(o: PlanOp): string[] {
  const def = PLAN_OPS[o.op] as OpDef;
  if (!def) throw new Error(`plan: unknown op ${JSON.stringify(o.op)}`);
  const out: string[] = [o.op];
  const rec = o as unknown as Record<string, unknown>;
  for (const [name, kind] of def.fields) {
    const where = `plan: ${o.op}.${name}`;
    const v = rec[name];
    if (kind === "strs" || kind === "u64s" || kind === "nstrs") {
      if (!Array.isArray(v)) throw new Error(`${where}: a list is required`);
      if (kind === "nstrs") out.push(String(v.length));
      for (const x of v) out.push(kind === "u64s" ? decimal(x, "u64", where) : String(x));
    } else if (kind === "int" || kind === "u64") {
      out.push(decimal(v, kind, where));
    } else {
      if (typeof v !== "string") throw new Error(`${where}: a string is required`);
      if (typeof kind !== "string" && !kind.includes(v)) throw new Error(`${where}: ${JSON.stringify(v)} is not one of ${kind.join(", ")}`);
      out.push(v);
    }
  }
  for (const s of out) if (s.includes("\0")) throw new Error(`plan: ${o.op}: an argument contains a NUL byte`);
  return out;
}

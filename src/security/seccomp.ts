// The OCI seccomp profile -> the core's seccomp operations. Actions, operators
// and architectures become libseccomp's numbers and names here; the core hands
// the rules to libseccomp, which compiles and loads the filter.
import type { LinuxSeccomp, LinuxSeccompAction } from "../spec/types.ts";
import type { PlanOp } from "../linux/planops.ts";

const EPERM = 1;

/** libseccomp's value for an OCI action (SCMP_ACT_ERRNO/TRACE carry their errno). */
export function actionValue(action: LinuxSeccompAction | string, errnoRet: number | undefined, field: string): number {
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return 0x00000000;
    case "SCMP_ACT_KILL_PROCESS":
      return 0x80000000;
    case "SCMP_ACT_TRAP":
      return 0x00030000;
    case "SCMP_ACT_ERRNO":
      return 0x00050000 | ((errnoRet ?? EPERM) & 0xffff);
    case "SCMP_ACT_TRACE":
      return 0x7ff00000 | ((errnoRet ?? EPERM) & 0xffff);
    case "SCMP_ACT_LOG":
      return 0x7ffc0000;
    case "SCMP_ACT_ALLOW":
      return 0x7fff0000;
    case "SCMP_ACT_NOTIFY":
      return 0x7fc00000;
    default:
      throw new Error(`${field}: unknown seccomp action ${JSON.stringify(action)}`);
  }
}

const OPS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

const FLAGS: Record<string, "log" | "spec_allow" | "tsync"> = {
  SECCOMP_FILTER_FLAG_LOG: "log",
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: "spec_allow",
  SECCOMP_FILTER_FLAG_TSYNC: "tsync",
};

/** libseccomp's name for an OCI architecture: SCMP_ARCH_X86_64 -> "x86_64". */
export function archName(arch: string): string {
  return arch.replace(/^SCMP_ARCH_/, "").toLowerCase();
}

/** What the seccomp agent is told about the container (runtime-spec's container process state). */
export interface ListenerState {
  ociVersion: string;
  id: string;
  status: string;
  bundle: string;
  annotations?: Record<string, string>;
}

/** The pid's place in the state the core sends: a byte JSON text never contains raw. */
const PID_MARK = "\u0001";

/**
 * The container process state for the listener, as JSON with PID_MARK where
 * the core puts the process's pid (only it knows that pid).
 */
function listenerStateTemplate(s: LinuxSeccomp, st: ListenerState): string {
  const mark = "@@BERTH_PID@@";
  const state = {
    ociVersion: st.ociVersion,
    fds: ["seccompFd"],
    pid: mark,
    ...(s.listenerMetadata !== undefined ? { metadata: s.listenerMetadata } : {}),
    state: {
      ociVersion: st.ociVersion,
      id: st.id,
      status: st.status,
      pid: mark,
      bundle: st.bundle,
      ...(st.annotations ? { annotations: st.annotations } : {}),
    },
  };
  return JSON.stringify(state).split(JSON.stringify(mark)).join(PID_MARK);
}

export function seccompOps(s: LinuxSeccomp | undefined, listener?: ListenerState): PlanOp[] {
  if (!s) return [];
  const ops: PlanOp[] = [];
  const notify = s.defaultAction === "SCMP_ACT_NOTIFY" || (s.syscalls ?? []).some((sc) => sc.action === "SCMP_ACT_NOTIFY");
  if (notify) {
    if (!s.listenerPath) throw new Error("linux.seccomp.listenerPath: required for SCMP_ACT_NOTIFY");
    if (!listener) throw new Error("linux.seccomp: SCMP_ACT_NOTIFY needs the container's state");
    if (s.defaultAction === "SCMP_ACT_NOTIFY")
      throw new Error("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY as the default would notify the runtime's own set-up calls; name the syscalls instead");
    ops.push({ op: "seccomp-listener", path: s.listenerPath, state: listenerStateTemplate(s, listener) });
  }
  ops.push({
    op: "seccomp",
    defaultAction: actionValue(s.defaultAction, s.defaultErrnoRet, "linux.seccomp.defaultAction"),
    architectures: (s.architectures ?? []).map(archName),
  });
  for (const f of s.flags ?? []) {
    const name = FLAGS[f];
    if (!name) throw new Error(`linux.seccomp.flags: unsupported flag ${JSON.stringify(f)}`);
    ops.push({ op: "seccomp-flag", flag: name });
  }
  (s.syscalls ?? []).forEach((sc, i) => {
    const field = `linux.seccomp.syscalls[${i}]`;
    const act = actionValue(sc.action, sc.errnoRet ?? s.defaultErrnoRet, `${field}.action`);
    const conds: [number, number, bigint, bigint][] = [];
    for (const [j, a] of (sc.args ?? []).entries()) {
      const op = OPS[a.op];
      if (op === undefined) throw new Error(`${field}.args[${j}].op: unknown operator ${JSON.stringify(a.op)}`);
      conds.push([a.index, op, BigInt(a.value), BigInt(a.valueTwo ?? 0)]);
    }
    // Conditions on different arguments must all hold (one rule). libseccomp
    // refuses two conditions on the same argument in one rule; runc and crun
    // then add each condition as a rule of its own (any one matching), and
    // profiles are written for that (e.g. two SCMP_CMP_MASKED_EQ on clone's flags).
    const indices = conds.map((c) => c[0]);
    const rules = new Set(indices).size === indices.length ? [conds.flat()] : conds.map((c) => [...c]);
    for (const name of sc.names) for (const conditions of rules) ops.push({ op: "seccomp-rule", action: act, syscall: name, conditions });
  });
  return ops;
}

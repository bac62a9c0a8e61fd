// berth's default seccomp profile for containers the engine runs: allow by
// default, and refuse (EPERM) the system calls that reach the host kernel's
// global state or that a container has no use for. Capabilities already stop
// most of these; the filter is a second wall that holds even if a kernel bug
// makes one of them reachable. A capability granted on purpose (--cap-add)
// lets its calls through again.
import type { LinuxSeccomp, LinuxSyscall } from "../spec/types.ts";

/** System calls refused unless the container holds the capability named. */
const GUARDED: Record<string, string[]> = {
  "": [
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "nfsservctl",
    "sysfs",
    "_sysctl",
    "uselib",
    "ustat",
    "vm86",
    "vm86old",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "fanotify_init",
    // io_uring runs work in kernel threads that seccomp never sees, and has been
    // the source of many kernel escapes; Docker's default refuses it since 2023
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
  ],
  CAP_SYS_ADMIN: [
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsmount",
    "fspick",
    "fsconfig",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    "swapon",
    "swapoff",
    "quotactl",
    "quotactl_fd",
    "vhangup",
  ],
  CAP_SYS_MODULE: ["init_module", "finit_module", "delete_module"],
  CAP_SYS_BOOT: ["reboot", "kexec_load", "kexec_file_load"],
  CAP_SYS_TIME: ["settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime"],
  CAP_SYS_PTRACE: ["process_vm_readv", "process_vm_writev", "kcmp"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYSLOG: ["syslog"],
  CAP_SYS_NICE: ["move_pages", "mbind", "set_mempolicy", "migrate_pages"],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
};

/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET */
const CLONE_NEW_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

/** The default profile; `caps` are the container's capabilities (bounding set). */
export function defaultSeccompProfile(caps: readonly string[] = []): LinuxSeccomp {
  const held = new Set(caps.map((c) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`)));
  const refused: string[] = [];
  for (const [cap, names] of Object.entries(GUARDED)) if (!cap || !held.has(cap)) refused.push(...names);
  const syscalls: LinuxSyscall[] = [{ names: refused, action: "SCMP_ACT_ERRNO", errnoRet: 1 }];
  if (!held.has("CAP_SYS_ADMIN")) {
    // clone may make threads and processes, not namespaces: one rule per flag
    for (const f of CLONE_NEW_FLAGS) {
      syscalls.push({ names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 0, value: f, valueTwo: f, op: "SCMP_CMP_MASKED_EQ" }] });
    }
    // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
  }
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
    syscalls,
  };
}

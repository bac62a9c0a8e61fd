// Which mounts inside /proc berth refuses: runc's rule (libcontainer's
// checkProcMount) — /proc takes only a proc file system, and below it only the
// files lxcfs emulates may be covered.
import { expect, test } from "bun:test";
import { procMountRefusal } from "../../src/security/procmounts.ts";

test("/proc itself: a proc file system, or a bind of a mounted procfs's root", () => {
  expect(procMountRefusal("/proc", "proc", false, "")).toBeUndefined();
  expect(procMountRefusal("/proc", "bind", true, "/proc")).toBeUndefined();
  expect(procMountRefusal("/proc", "tmpfs", false, "")).toMatch(/only a proc file system can be mounted at \/proc/);
  expect(procMountRefusal("/proc", "bind", true, "/tmp")).toMatch(/a bind of \/tmp/);
});

test("below /proc: the lxcfs files only, whatever the spelling of the path", () => {
  expect(procMountRefusal("/proc/cpuinfo", "bind", true, "/var/lib/lxcfs/proc/cpuinfo")).toBeUndefined();
  expect(procMountRefusal("/proc/sys/net/ipv4", "bind", true, "/tmp")).toMatch(/\/proc\/sys\/net\/ipv4 is inside \/proc/);
  expect(procMountRefusal("/proc//sys/./kernel/", "tmpfs", false, "")).toMatch(/\/proc\/sys\/kernel is inside \/proc/);
  expect(procMountRefusal("/proc/self/../sys", "tmpfs", false, "")).toMatch(/\/proc\/sys is inside/);
  expect(procMountRefusal("/procfs", "tmpfs", false, "")).toBeUndefined();
  expect(procMountRefusal("/sys/fs/cgroup", "cgroup", false, "")).toBeUndefined();
});

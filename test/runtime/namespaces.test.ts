// Namespaces, checked from inside the container: new ones are really new,
// configured ones (hostname, id maps, time offsets) took effect, and a
// namespace given by path is joined rather than created.
import { describe, expect } from "bun:test";
import { readlinkSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { berthOnly, ctest, kv, ok, onlyOnBerth, UML_KERNEL, type Ctx } from "./helpers.ts";

const hostNs = (t: string) => readlinkSync(`/proc/self/ns/${t}`);

describe("namespaces", () => {
  ctest("pid, uts, ipc, net, mount and cgroup namespaces are new; hostname and domainname are set", async (c) => {
    const r = ok(
      await c.sh(
        'echo pid=$$; for n in pid uts ipc net mnt cgroup; do echo ns_$n=$(readlink /proc/self/ns/$n); done; echo hostname=$(cat /proc/sys/kernel/hostname); echo domain=$(cat /proc/sys/kernel/domainname); echo uname=$(uname -n); echo links=$(ls /sys/class/net | tr "\\n" " "); echo cgroup=$(cut -d: -f3 /proc/self/cgroup | sort -u | tr "\\n" " "); echo nprocs=$(ls -d /proc/[0-9]* | wc -l)',
        (cfg) => {
          // `berth spec` (like runc's) has a cgroup namespace only on a pure cgroup v2 host
          if (!cfg.linux!.namespaces!.some((n) => n.type === "cgroup")) cfg.linux!.namespaces!.push({ type: "cgroup" });
          cfg.hostname = "box-one";
          cfg.domainname = "example.test";
        },
      ),
    );
    const v = kv(r.stdout);
    expect(v.pid).toBe("1");
    for (const n of ["pid", "uts", "ipc", "net", "mnt", "cgroup"]) {
      expect(v[`ns_${n}`]).toMatch(new RegExp(`^${n}:\\[\\d+\\]$`));
      expect(v[`ns_${n}`]).not.toBe(hostNs(n));
    }
    expect(v.hostname).toBe("box-one");
    expect(v.uname).toBe("box-one");
    onlyOnBerth("runc 1.1 ignores domainname (runtime-spec 1.1)", () => expect(v.domain).toBe("example.test"));
    // a new network namespace has only the loopback device
    expect(v.links).toBe("lo");
    // a new cgroup namespace is rooted at the container's cgroup
    expect(v.cgroup).toBe("/");
    // sh, and the subshell running ls (plus wc): only the container's processes
    expect(Number(v.nprocs)).toBeLessThan(5);
    // the host's names are untouched
    expect(readlinkSync("/proc/self/ns/uts")).toBe(hostNs("uts"));
  });

  ctest("without a uts or network namespace the host's are shared", async (c) => {
    const r = ok(
      await c.sh("echo net=$(readlink /proc/self/ns/net); echo uts=$(readlink /proc/self/ns/uts)", (cfg) => {
        cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== "network" && n.type !== "uts");
        delete cfg.hostname;
      }),
    );
    const v = kv(r.stdout);
    expect(v.net).toBe(hostNs("net"));
    expect(v.uts).toBe(hostNs("uts"));
  });

  ctest("user namespace: uid/gid maps, root inside is an unprivileged uid outside", async (c) => {
    const b = c.bundle(
      [
        "sh",
        "-c",
        "echo id=$(id); echo uid_map=$(cat /proc/self/uid_map); echo gid_map=$(cat /proc/self/gid_map); echo ns=$(readlink /proc/self/ns/user); echo owner=$(stat -c %u:%g /bin/busybox); touch /tmp/made; echo made=$(stat -c %u /tmp/made)",
      ],
      (cfg) => {
        cfg.linux!.namespaces!.push({ type: "user" });
        cfg.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        cfg.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        cfg.root!.readonly = false;
      },
    );
    // the container's root (host uid 100000) may write /tmp of the image
    spawnSync("chown", ["100000:100000", `${b.rootfs}/tmp`]);
    const r = ok(await c.run(b));
    const v = kv(r.stdout);
    expect(v.id).toStartWith("uid=0(root) gid=0(root)");
    expect(v.uid_map!.split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(v.gid_map!.split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(v.ns).not.toBe(hostNs("user"));
    // files owned by host root are not mapped: they show as the overflow uid
    expect(v.owner).toBe("65534:65534");
    // what the container's root creates belongs to host uid 100000
    expect(v.made).toBe("0");
    expect(statSync(`${b.rootfs}/tmp/made`).uid).toBe(100000);
  });

  ctest("user namespace with a non-root process user maps to the matching host uid", async (c) => {
    const b = c.bundle(["sh", "-c", "echo id=$(id -u):$(id -g); touch /tmp/u; sleep 0"], (cfg) => {
      cfg.linux!.namespaces!.push({ type: "user" });
      cfg.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 2000 }];
      cfg.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 2000 }];
      cfg.process!.user = { uid: 1000, gid: 1000 };
      cfg.root!.readonly = false;
    });
    spawnSync("chmod", ["1777", `${b.rootfs}/tmp`]);
    const r = ok(await c.run(b));
    expect(kv(r.stdout).id).toBe("1000:1000");
    const st = statSync(`${b.rootfs}/tmp/u`);
    expect([st.uid, st.gid]).toEqual([201000, 201000]);
  });

  ctest(
    "time namespace: boottime and monotonic offsets shift /proc/uptime",
    async (c) => {
      const hostUptime = Number((await Bun.file("/proc/uptime").text()).split(" ")[0]);
      const r = ok(
        await c.sh("echo uptime=$(cut -d' ' -f1 /proc/uptime); echo ns=$(readlink /proc/self/ns/time)", (cfg) => {
          cfg.linux!.namespaces!.push({ type: "time" });
          cfg.linux!.timeOffsets = { boottime: { secs: 1000000, nanosecs: 0 }, monotonic: { secs: 500000, nanosecs: 0 } };
        }),
      );
      const v = kv(r.stdout);
      expect(v.ns).not.toBe(hostNs("time"));
      const up = Number(v.uptime);
      expect(up).toBeGreaterThanOrEqual(hostUptime + 1000000);
      expect(up).toBeLessThan(hostUptime + 1000000 + 60);
    },
    30000,
    { skip: UML_KERNEL || berthOnly("time namespaces (runtime-spec 1.2) are not in runc 1.1") },
  );

  ctest("a network namespace given by path (ip netns add) is joined", async (c) => {
    const name = `berth-rt-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    const added = spawnSync("ip", ["netns", "add", name], { encoding: "utf8" });
    expect(added.stderr).toBe("");
    c.defer(() => {
      spawnSync("ip", ["netns", "delete", name]);
    });
    const path = `/run/netns/${name}`;
    const ino = statSync(path).ino;
    const r = ok(
      await c.sh("echo net=$(readlink /proc/self/ns/net); echo uts=$(readlink /proc/self/ns/uts)", (cfg) => {
        cfg.linux!.namespaces = cfg.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path } : n));
      }),
    );
    const v = kv(r.stdout);
    expect(v.net).toBe(`net:[${ino}]`);
    expect(v.uts).not.toBe(hostNs("uts"));
  });

  ctest("namespaces of another container (/proc/PID/ns/...) are joined", async (c) => {
    const a = c.bundle(["sleep", "30"], (cfg) => {
      cfg.hostname = "first";
    });
    const idA = c.id("nsA");
    ok(await c.run(a, idA, ["-d"]));
    const pidA = (await c.state(idA)).pid as number;
    const netA = readlinkSync(`/proc/${pidA}/ns/net`);
    const ipcA = readlinkSync(`/proc/${pidA}/ns/ipc`);
    const r = ok(
      await c.sh("echo net=$(readlink /proc/self/ns/net); echo ipc=$(readlink /proc/self/ns/ipc); echo host=$(hostname)", (cfg) => {
        cfg.hostname = "second";
        cfg.linux!.namespaces = cfg.linux!.namespaces!.map((n) =>
          n.type === "network" ? { type: "network", path: `/proc/${pidA}/ns/net` } : n.type === "ipc" ? { type: "ipc", path: `/proc/${pidA}/ns/ipc` } : n,
        );
      }),
    );
    const v = kv(r.stdout);
    expect(v.net).toBe(netA);
    expect(v.ipc).toBe(ipcA);
    expect(v.host).toBe("second");
  });
});

describe("network devices (linux.netDevices)", () => {
  const NETDEV = berthOnly("linux.netDevices (runtime-spec 1.3) is not in runc 1.1");
  /** A veth pair on the host: END0 (with an address, up) is the device to move. */
  function vethPair(c: Ctx): [string, string] {
    const tag = Math.random().toString(36).slice(2, 7);
    const a = `bt${tag}a`,
      b = `bt${tag}b`;
    const r = spawnSync("ip", ["link", "add", a, "type", "veth", "peer", "name", b], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip link add: ${r.stderr}`);
    c.defer(() => {
      spawnSync("ip", ["link", "del", a]);
      spawnSync("ip", ["link", "del", b]);
    });
    spawnSync("ip", ["addr", "add", "10.251.7.1/24", "dev", a]);
    spawnSync("ip", ["link", "set", a, "up"]);
    return [a, b];
  }
  const onHost = (dev: string) => spawnSync("ip", ["-o", "addr", "show", "dev", dev], { encoding: "utf8" });

  ctest(
    "a host device moves in under its new name with its address and up state, and back at delete",
    async (c) => {
      const [a] = vethPair(c);
      const id = c.id("netdev");
      ok(
        await c.run(
          c.bundle(["sleep", "60"], (cfg) => (cfg.linux!.netDevices = { [a]: { name: "eth7" } })),
          id,
          ["-d"],
        ),
      );
      expect(onHost(a).status).not.toBe(0);
      const inside = ok(await c.berth(["exec", id, "sh", "-c", "ip -o addr show dev eth7; ip -o link show dev eth7"])).stdout;
      expect(inside).toContain("inet 10.251.7.1/24");
      expect(inside).toMatch(/<[^>]*\bUP\b[^>]*>/);
      ok(await c.berth(["delete", "--force", id]));
      const back = onHost(a);
      expect(back.status).toBe(0);
      expect(back.stdout).toContain("inet 10.251.7.1/24");
    },
    30000,
    { skip: (UML_KERNEL && "no veth in the User-mode Linux kernel") || NETDEV },
  );

  ctest(
    "a device the host does not have, or no network namespace: create fails naming it, nothing left",
    async (c) => {
      const id = c.id("netdevbad");
      const r = await c.berth(["create", "--bundle", c.bundle(["true"], (cfg) => (cfg.linux!.netDevices = { "bt-none0": {} })).dir, id]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('linux.netDevices["bt-none0"]: no network device "bt-none0" on the host');
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      const noNs = await c.berth([
        "create",
        "--bundle",
        c.bundle(["true"], (cfg) => {
          cfg.linux!.netDevices = { lo: {} };
          cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== "network");
        }).dir,
        id,
      ]);
      expect(noNs.code).not.toBe(0);
      expect(noNs.stderr).toContain("linux.netDevices: moving network devices needs a network namespace");
    },
    30000,
    { skip: NETDEV },
  );

  ctest(
    "when a later device fails, the ones already moved go back",
    async (c) => {
      const [a] = vethPair(c);
      const id = c.id("netdevhalf");
      const r = await c.berth(["create", "--bundle", c.bundle(["true"], (cfg) => (cfg.linux!.netDevices = { [a]: { name: "eth7" }, "bt-none1": {} })).dir, id]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("bt-none1");
      const back = onHost(a);
      expect(back.status).toBe(0);
      expect(back.stdout).toContain("inet 10.251.7.1/24");
    },
    30000,
    { skip: (UML_KERNEL && "no veth in the User-mode Linux kernel") || NETDEV },
  );
});

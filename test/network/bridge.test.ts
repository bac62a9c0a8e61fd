// CNI bridge networking on the real kernel with Debian's plugins. All plugins run in a
// private network namespace (sandbox.hostNetns): the machine's own network is untouched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  CniError,
  NetworkConfigError,
  checkNetworkList,
  defaultNetworkList,
  inspectNetwork,
  isNetns,
  pluginVersion,
  removeNetns,
  setupNetwork,
  teardownNetwork,
  validateNetworkList,
  type NetworkConfigList,
  type NetworkSetup,
} from "../../src/network/index.ts";
import { inNetns, makeSandbox, reservedIps, sh, type Sandbox } from "./helpers.ts";

// A tiny private test network: two usable addresses, so that reuse after DEL is observable.
const NET: NetworkConfigList = {
  cniVersion: "1.0.0",
  name: "berth-test",
  plugins: [
    {
      type: "bridge",
      bridge: "bt0",
      isGateway: true,
      ipMasq: true,
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: "10.231.7.0/29", gateway: "10.231.7.1", rangeStart: "10.231.7.2", rangeEnd: "10.231.7.3" }]],
        routes: [{ dst: "0.0.0.0/0" }],
      },
    },
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "firewall", backend: "iptables" },
  ],
};

let sb: Sandbox;

beforeAll(async () => {
  sb = await makeSandbox("bridge");
});

afterAll(async () => {
  await sb?.cleanup();
});

async function setup(id: string, extra: Partial<Parameters<typeof setupNetwork>[0]> = {}): Promise<NetworkSetup> {
  sb.ids.add(id);
  return setupNetwork({
    id,
    mode: "bridge",
    runDir: sb.runDir,
    dataDir: sb.dataDir,
    hostNetns: sb.hostNetns,
    network: NET,
    ...extra,
  });
}

/** What setup throws (undefined where it succeeds). */
function setupError(id: string, extra: Partial<Parameters<typeof setupNetwork>[0]> = {}): Promise<unknown> {
  return setup(id, extra).then(
    () => undefined,
    (e: unknown) => e,
  );
}

function hostLinks(): string {
  return inNetns(sb.hostNetns, ["ip", "-o", "link", "show"]).stdout;
}

describe("CNI bridge network", () => {
  test("the installed plugins speak CNI 1.0.0 and the default network validates", async () => {
    const v = await pluginVersion("bridge");
    expect(v.supportedVersions).toContain("1.0.0");
    await validateNetworkList(defaultNetworkList());
    await validateNetworkList(NET);
  });

  test("ADD gives the container an eth0 with an address in the subnet and a default route", async () => {
    const a = await setup("ca");
    expect(a.netnsPath).toBeDefined();
    expect(isNetns(a.netnsPath!)).toBe(true);
    expect(a.ips).toHaveLength(1);
    expect(a.ips[0]).toMatch(/^10\.231\.7\.[23]$/);
    expect(a.gateway).toBe("10.231.7.1");
    const addr = inNetns(a.netnsPath!, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    expect(addr.code).toBe(0);
    expect(addr.stdout).toContain(`inet ${a.ips[0]}/29`);
    const route = inNetns(a.netnsPath!, ["ip", "-4", "route", "show", "default"]);
    expect(route.stdout).toContain("default via 10.231.7.1 dev eth0");
    const lo = inNetns(a.netnsPath!, ["ip", "-o", "link", "show", "lo"]);
    expect(lo.stdout).toMatch(/[<,]UP[,>]/);
    // the bridge is in the sandbox's host namespace, not in ours
    expect(hostLinks()).toContain("bt0");
    expect(sh(["ip", "link", "show", "bt0"]).code).not.toBe(0);
    // the generated files
    expect(readFileSync(a.files.hosts, "utf8")).toContain(`${a.ips[0]}\tca`);
    expect(readFileSync(a.files.hostname, "utf8")).toBe("ca\n");
    expect(readFileSync(a.files.resolvConf, "utf8")).toMatch(/^nameserver /m);
    expect(inspectNetwork(sb.runDir, "ca")?.ips).toEqual(a.ips);
    // CHECK agrees with the cached ADD result
    await checkNetworkList(NET, { containerId: "ca", netns: a.netnsPath!, ifName: "eth0" }, { dataDir: sb.dataDir, hostNetns: sb.hostNetns });
  }, 30_000);

  test("two containers on the bridge can ping each other", async () => {
    const a = inspectNetwork(sb.runDir, "ca")!;
    const b = await setup("cb");
    expect(b.ips[0]).not.toBe(a.ips[0]);
    const ab = inNetns(a.netnsPath!, ["/bin/busybox", "ping", "-c1", "-W3", b.ips[0]!]);
    expect(ab.stdout + ab.stderr).toContain("1 packets received");
    expect(ab.code).toBe(0);
    const ba = inNetns(b.netnsPath!, ["/bin/busybox", "ping", "-c1", "-W3", a.ips[0]!]);
    expect(ba.code).toBe(0);
  }, 30_000);

  test("the subnet is full: a third ADD fails and leaves nothing behind", async () => {
    const before = hostLinks().split("\n").length;
    const err = await setupError("cfull");
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).plugin).toBe("bridge");
    expect((err as Error).message).toContain("plugins[0]");
    expect(existsSync(join(sb.runDir, "netns", "cfull"))).toBe(false);
    expect(existsSync(join(sb.runDir, "network", "cfull"))).toBe(false);
    expect((err as Error).message).not.toContain("cleanup");
    expect(reservedIps(sb.dataDir, NET.name)).toHaveLength(2);
    expect(readdirSync(join(sb.dataDir, "results")).some((f) => f.includes("cfull"))).toBe(false);
    expect(hostLinks().split("\n").length).toBe(before);
  }, 30_000);

  test("DEL removes the veth and releases the address, which the next ADD reuses", async () => {
    const a = inspectNetwork(sb.runDir, "ca")!;
    const hostVeth = a.result!.interfaces!.find((i) => !i.sandbox && i.name.startsWith("veth"))!.name;
    expect(hostLinks()).toContain(hostVeth);
    expect(reservedIps(sb.dataDir, NET.name)).toContain(a.ips[0]!);
    await teardownNetwork({ id: "ca", runDir: sb.runDir });
    expect(hostLinks()).not.toContain(hostVeth);
    expect(reservedIps(sb.dataDir, NET.name)).not.toContain(a.ips[0]!);
    expect(existsSync(a.netnsPath!)).toBe(false);
    expect(existsSync(join(sb.runDir, "network", "ca"))).toBe(false);
    expect(inNetns(sb.hostNetns, ["iptables-save"]).stdout).not.toContain(`${a.ips[0]}/32`);
    // idempotent
    await teardownNetwork({ id: "ca", runDir: sb.runDir });
    await teardownNetwork({ id: "never-set-up", runDir: sb.runDir, dataDir: sb.dataDir });
    const c = await setup("cc");
    expect(c.ips).toEqual(a.ips);
  }, 30_000);

  test("port mappings: a published port reaches the container through the gateway", async () => {
    await teardownNetwork({ id: "cc", runDir: sb.runDir });
    const srv = await setup("srv", { portMappings: [{ hostPort: 18080, containerPort: 80 }] });
    const b = inspectNetwork(sb.runDir, "cb")!;
    const server = Bun.spawn({
      cmd: ["nsenter", `--net=${srv.netnsPath}`, "/bin/busybox", "sh", "-c", "echo hello-from-srv | /bin/busybox nc -l -p 80"],
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      let got = "";
      for (let i = 0; i < 20 && !got.includes("hello-from-srv"); i++) {
        await Bun.sleep(100);
        got = inNetns(b.netnsPath!, ["/bin/busybox", "nc", "-w", "2", "10.231.7.1", "18080"]).stdout;
      }
      expect(got).toContain("hello-from-srv");
    } finally {
      server.kill();
      await server.exited;
    }
    await teardownNetwork({ id: "srv", runDir: sb.runDir });
    expect(inNetns(sb.hostNetns, ["iptables-save", "-t", "nat"]).stdout).not.toContain("18080");
  }, 30_000);

  test("a failing plugin later in the list: clear error, earlier plugins undone", async () => {
    const bad: NetworkConfigList = {
      ...NET,
      name: "berth-test-bad",
      plugins: [
        { ...NET.plugins[0]!, bridge: "bt1", ipam: { ...NET.plugins[0]!.ipam!, ranges: [[{ subnet: "10.231.8.0/29" }]] } },
        { type: "tuning", sysctl: { "net.ipv4.conf.eth0.no_such_sysctl": "1" } },
      ],
    };
    const before = hostLinks()
      .split("\n")
      .filter((l) => l.includes("veth")).length;
    const err = await setupError("cbad", { network: bad });
    expect(err).toBeInstanceOf(CniError);
    const ce = err as CniError;
    expect(ce.plugin).toBe("tuning");
    expect(ce.index).toBe(1);
    expect(ce.command).toBe("ADD");
    expect(ce.message).toContain('plugin "tuning" ADD failed');
    expect(ce.message).toContain("no_such_sysctl");
    expect(reservedIps(sb.dataDir, "berth-test-bad")).toHaveLength(0);
    expect(
      hostLinks()
        .split("\n")
        .filter((l) => l.includes("veth")).length,
    ).toBe(before);
    expect(existsSync(join(sb.runDir, "netns", "cbad"))).toBe(false);
    expect(existsSync(join(sb.runDir, "network", "cbad"))).toBe(false);
    expect(readdirSync(join(sb.dataDir, "results")).some((f) => f.includes("cbad"))).toBe(false);
  }, 30_000);

  test("an unknown plugin type or a missing subnet is refused before anything is made", async () => {
    const unknown: NetworkConfigList = { ...NET, plugins: [NET.plugins[0]!, { type: "no-such-plugin" }] };
    let err = await setupError("cunk", { network: unknown });
    expect(err).toBeInstanceOf(NetworkConfigError);
    expect((err as NetworkConfigError).field).toBe("plugins[1].type");
    expect((err as Error).message).toContain('"no-such-plugin"');
    expect(existsSync(join(sb.runDir, "netns", "cunk"))).toBe(false);
    expect(existsSync(join(sb.runDir, "network", "cunk"))).toBe(false);

    const noSubnet = { ...NET, plugins: [{ type: "bridge", bridge: "bt2", ipam: { type: "host-local" } }] };
    err = await setupError("cnosub", { network: noSubnet });
    expect(err).toBeInstanceOf(NetworkConfigError);
    expect((err as NetworkConfigError).field).toBe("plugins[0].ipam.subnet");
    expect((err as Error).message).toContain("host-local");
    expect(existsSync(join(sb.runDir, "network", "cnosub"))).toBe(false);
    expect(hostLinks()).not.toContain("bt2");
  }, 30_000);
});

describe("default network", () => {
  test("containers set up concurrently on the default berth network get distinct addresses", async () => {
    const ids = ["d1", "d2", "d3"];
    for (const id of ids) sb.ids.add(id);
    const all = await Promise.all(ids.map((id) => setupNetwork({ id, mode: "bridge", runDir: sb.runDir, dataDir: sb.dataDir, hostNetns: sb.hostNetns })));
    const ips = all.map((s) => s.ips[0]);
    expect(new Set(ips).size).toBe(3);
    for (const s of all) {
      expect(s.network).toBe("berth");
      expect(s.ips[0]).toMatch(/^10\.89\./);
      expect(s.gateway).toBe("10.89.0.1");
    }
    expect(hostLinks()).toContain("master berth0");
    const p = inNetns(all[0]!.netnsPath!, ["/bin/busybox", "ping", "-c1", "-W3", all[2]!.ips[0]!]);
    expect(p.code).toBe(0);
    // d1's namespace vanishes first (e.g. a crash): its teardown must still release its address
    await removeNetns(all[0]!.netnsPath!);
    await Promise.all(ids.map((id) => teardownNetwork({ id, runDir: sb.runDir })));
    expect(reservedIps(sb.dataDir, "berth")).toHaveLength(0);
    expect(hostLinks()).not.toContain("master berth0");
  }, 30_000);
});

describe("none and host modes", () => {
  test("none: a private netns with only loopback, up", async () => {
    sb.ids.add("cnone");
    const n = await setupNetwork({ id: "cnone", mode: "none", runDir: sb.runDir, dataDir: sb.dataDir });
    expect(n.ips).toEqual([]);
    const links = inNetns(n.netnsPath!, ["ip", "-o", "link", "show"]).stdout.trim().split("\n");
    expect(links).toHaveLength(1);
    expect(links[0]).toContain("lo:");
    expect(links[0]).toMatch(/[<,]UP[,>]/);
    expect(readFileSync(n.files.hosts, "utf8")).toContain("127.0.1.1\tcnone");
    expect(readFileSync(n.files.resolvConf, "utf8")).not.toMatch(/nameserver 127\./);
    await teardownNetwork({ id: "cnone", runDir: sb.runDir });
    expect(existsSync(n.netnsPath!)).toBe(false);
  }, 30_000);

  test("host: no netns; resolv.conf and hosts follow the host's", async () => {
    sb.ids.add("chost");
    const resolv = join(sb.dir, "host-resolv.conf");
    const hostsFile = join(sb.dir, "host-hosts");
    await Bun.write(resolv, "nameserver 127.0.0.53\nsearch example.test\n");
    await Bun.write(hostsFile, "127.0.0.1 localhost\n192.0.2.10 db.example.test\n");
    const h = await setupNetwork({
      id: "chost",
      mode: "host",
      runDir: sb.runDir,
      dataDir: sb.dataDir,
      hostname: "hosty",
      hostResolvConfPath: resolv,
      hostHostsPath: hostsFile,
    });
    expect(h.netnsPath).toBeUndefined();
    expect(readFileSync(h.files.resolvConf, "utf8")).toBe("search example.test\nnameserver 127.0.0.53\n");
    expect(readFileSync(h.files.hosts, "utf8")).toContain("192.0.2.10 db.example.test");
    expect(readFileSync(h.files.hostname, "utf8")).toBe("hosty\n");
    await expect(setupNetwork({ id: "chost", mode: "host", runDir: sb.runDir, dataDir: sb.dataDir })).rejects.toThrow("already set up");
    await teardownNetwork({ id: "chost", runDir: sb.runDir });
    expect(existsSync(h.files.hosts)).toBe(false);
  }, 30_000);

  test("bad options are refused with the field named", async () => {
    const base = { runDir: sb.runDir, dataDir: sb.dataDir };
    await expect(setupNetwork({ ...base, id: "../x", mode: "none" })).rejects.toThrow("network namespace name");
    await expect(setupNetwork({ ...base, id: "x1", mode: "bogus" as "none" })).rejects.toThrow("mode");
    await expect(setupNetwork({ ...base, id: "x2", mode: "none", hostname: "bad_name!" })).rejects.toThrow("hostname");
    await expect(setupNetwork({ ...base, id: "x3", mode: "bridge", network: NET, portMappings: [{ hostPort: 0, containerPort: 80 }] })).rejects.toThrow(
      "portMappings[0].hostPort",
    );
    for (const id of ["x1", "x2", "x3"]) expect(existsSync(join(sb.runDir, "network", id))).toBe(false);
  });
});

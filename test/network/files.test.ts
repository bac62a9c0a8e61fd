import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHostname, buildHosts, buildResolvConf, hostnameFromId, parseResolvConf, writeNetworkFiles } from "../../src/network/files.ts";
import { NetworkConfigError, isCidr, loadNetworkList, parseNetworkList, pluginExecConfig, readNetworkListFile } from "../../src/network/cni.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-netfiles-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOST = `# generated
nameserver 127.0.0.53
nameserver 10.255.255.53
nameserver ::1
search corp.example lab.example
options edns0 trust-ad
`;

describe("resolv.conf", () => {
  test("parses nameservers, search and options", () => {
    const rc = parseResolvConf(HOST + "domain other.example\n");
    expect(rc.nameservers).toEqual(["127.0.0.53", "10.255.255.53", "::1"]);
    expect(rc.search).toEqual(["other.example"]);
    expect(rc.options).toEqual(["edns0", "trust-ad"]);
  });

  test("own netns: loopback nameservers are dropped, the rest kept", () => {
    expect(buildResolvConf({ host: HOST, ownNetns: true })).toBe("search corp.example lab.example\nnameserver 10.255.255.53\noptions edns0 trust-ad\n");
  });

  test("host network: the host's servers are kept as they are", () => {
    expect(buildResolvConf({ host: HOST, ownNetns: false })).toContain("nameserver 127.0.0.53\n");
  });

  test("only loopback servers: systemd-resolved's upstream list, then the fallback", () => {
    const host = "nameserver 127.0.0.53\n";
    expect(buildResolvConf({ host, hostUpstream: "nameserver 192.0.2.53\n", ownNetns: true })).toBe("nameserver 192.0.2.53\n");
    expect(buildResolvConf({ host, ownNetns: true })).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    expect(buildResolvConf({ host: "", ownNetns: true, fallback: ["192.0.2.1"] })).toBe("nameserver 192.0.2.1\n");
  });

  test("overrides replace the host's values; bad servers are refused", () => {
    const out = buildResolvConf({ host: HOST, ownNetns: true, nameservers: ["192.0.2.7"], search: ["svc.local"], options: ["ndots:5"] });
    expect(out).toBe("search svc.local\nnameserver 192.0.2.7\noptions ndots:5\n");
    expect(() => buildResolvConf({ host: "", ownNetns: true, nameservers: ["not-an-ip"] })).toThrow("dns.nameservers");
  });
});

describe("hosts and hostname", () => {
  test("hosts maps localhost and the hostname to the container's addresses", () => {
    const h = buildHosts({ hostname: "web.example", ips: ["10.89.0.5/16"], extraHosts: [["db", "10.89.0.9"]] });
    const lines = h.trim().split("\n");
    expect(lines[0]).toBe("127.0.0.1\tlocalhost");
    expect(lines).toContain("::1\tlocalhost ip6-localhost ip6-loopback");
    expect(lines).toContain("10.89.0.5\tweb.example web");
    expect(lines).toContain("10.89.0.9\tdb");
    expect(h).not.toContain("127.0.1.1");
  });

  test("without an address the hostname maps to 127.0.1.1", () => {
    expect(buildHosts({ hostname: "box" })).toContain("127.0.1.1\tbox\n");
  });

  test("invalid input names the field", () => {
    expect(() => buildHosts({ hostname: "no_underscores" })).toThrow("hostname");
    expect(() => buildHosts({ hostname: "a", ips: ["300.1.1.1"] })).toThrow("ips");
    expect(() => buildHosts({ hostname: "a", extraHosts: [["db", "nope"]] })).toThrow("extraHosts[0]");
    expect(() => buildHostname("x".repeat(65))).toThrow("hostname");
  });

  test("hostnameFromId gives a valid name", () => {
    expect(hostnameFromId("0123456789abcdef")).toBe("0123456789ab");
    expect(hostnameFromId("My_Container.1")).toBe("my-container");
    expect(hostnameFromId("___")).toBe("container");
  });

  test("writeNetworkFiles writes the three files", () => {
    const paths = writeNetworkFiles(join(dir, "c1"), { resolvConf: "nameserver 192.0.2.1\n", hosts: "h\n", hostname: "c1\n" });
    expect(readFileSync(paths.resolvConf, "utf8")).toBe("nameserver 192.0.2.1\n");
    expect(readFileSync(paths.hosts, "utf8")).toBe("h\n");
    expect(readFileSync(paths.hostname, "utf8")).toBe("c1\n");
    expect(statSync(paths.hosts).mode & 0o777).toBe(0o644);
  });
});

describe("network configuration lists", () => {
  const ok = {
    cniVersion: "1.0.0",
    name: "n1",
    plugins: [
      { type: "bridge", ipam: { type: "host-local", subnet: "10.1.0.0/24" } },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };

  test("errors name the offending field", () => {
    const cases: [unknown, string][] = [
      [[], "(root)"],
      [{ ...ok, name: "bad name" }, "name"],
      [{ ...ok, cniVersion: "2.0.0" }, "cniVersion"],
      [{ ...ok, plugins: [] }, "plugins"],
      [{ cniVersion: "1.0.0", name: "n", type: "bridge" }, "plugins"],
      [{ ...ok, plugins: [{ type: "../../bin/sh" }] }, "plugins[0].type"],
      [{ ...ok, plugins: [{ type: "bridge", ipam: {} }] }, "plugins[0].ipam.type"],
      [{ ...ok, plugins: [{ type: "bridge", ipam: { type: "host-local", subnet: "10.1.0.0" } }] }, "plugins[0].ipam.subnet"],
      [
        { ...ok, plugins: [{ type: "bridge", ipam: { type: "host-local", ranges: [[{ subnet: "10.0.0.0/8", gateway: "x" }]] } }] },
        "plugins[0].ipam.ranges[0][0].gateway",
      ],
      [{ ...ok, plugins: [{ type: "bridge", capabilities: { portMappings: "yes" } }] }, "plugins[0].capabilities"],
    ];
    for (const [input, field] of cases) {
      let err: unknown;
      try {
        parseNetworkList(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetworkConfigError);
      expect((err as NetworkConfigError).field).toBe(field);
    }
    expect(parseNetworkList(ok).name).toBe("n1");
  });

  test("execution config: name/cniVersion added, runtimeConfig only for declared capabilities, prevResult chained", () => {
    const list = parseNetworkList(ok);
    const prev = { cniVersion: "1.0.0", ips: [{ address: "10.1.0.2/24" }] };
    const caps = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], bandwidth: { rate: 1 } };
    const c0 = pluginExecConfig(list, list.plugins[0]!, { dataDir: "/d", capabilityArgs: caps });
    expect(c0.name).toBe("n1");
    expect(c0.cniVersion).toBe("1.0.0");
    expect(c0.runtimeConfig).toBeUndefined();
    expect(c0.prevResult).toBeUndefined();
    expect((c0.ipam as Record<string, unknown>).dataDir).toBe("/d/ipam");
    expect((list.plugins[0]!.ipam as Record<string, unknown>).dataDir).toBeUndefined();
    const c1 = pluginExecConfig(list, list.plugins[1]!, { dataDir: "/d", capabilityArgs: caps, prevResult: prev });
    expect(c1.runtimeConfig).toEqual({ portMappings: caps.portMappings });
    expect(c1.prevResult).toEqual(prev);
  });

  test("loadNetworkList finds a network by name in the config dir, else the default", () => {
    const cdir = join(dir, "cni");
    mkdirSync(cdir);
    writeFileSync(join(cdir, "10-custom.conflist"), JSON.stringify({ ...ok, name: "custom" }));
    writeFileSync(join(cdir, "20-broken.conflist"), "{ not json");
    writeFileSync(join(cdir, "30-invalid.conflist"), JSON.stringify({ ...ok, name: "invalid", plugins: [] }));
    expect(loadNetworkList("custom", { configDir: cdir }).plugins[0]!.type).toBe("bridge");
    const def = loadNetworkList("berth", { configDir: cdir });
    expect(def.plugins[0]!.bridge).toBe("berth0");
    expect(def.plugins[0]!.ipam!.ranges).toEqual([[{ subnet: "10.89.0.0/16", gateway: "10.89.0.1" }]]);
    expect(() => loadNetworkList("nope", { configDir: cdir })).toThrow('network "nope": not found');
    expect(() => loadNetworkList("invalid", { configDir: cdir })).toThrow("30-invalid.conflist");
    expect(() => readNetworkListFile(join(cdir, "20-broken.conflist"))).toThrow("not valid JSON");
  });

  test("isCidr", () => {
    expect(isCidr("10.0.0.0/8")).toBe(true);
    expect(isCidr("fd00::/64")).toBe(true);
    expect(isCidr("10.0.0.0/33")).toBe(false);
    expect(isCidr("10.0.0.0")).toBe(false);
  });
});

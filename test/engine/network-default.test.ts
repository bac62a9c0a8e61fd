// The default network of run/create (Docker's `bridge`, Podman's `podman`: a
// bridge with outbound access through NAT) and network connect/disconnect of a
// running container (a second interface, eth1, by CNI ADD/DEL; Docker's
// `network connect NET CONTAINER`). berth runs inside `unshare --net`: the
// bridges, veths and iptables rules go to a throwaway namespace; the only other
// address reached is a "WAN" namespace the test makes, and no traffic leaves it.
import { describe, expect, test } from "bun:test";
import { engineEnvForFile } from "./helpers.ts";
import { expectInPrivateNet, inPrivateNet } from "./network-helpers.ts";

const env = engineEnvForFile();

describe("the default network", () => {
  test("run without --network gets the bridge: eth0 on 10.89.0.0/16, and a server beyond the host (only reachable through NAT) answers", () => {
    const out = expectInPrivateNet(
      env,
      [
        // the "WAN": a namespace of a sleeping process, 192.0.2.1/24, with no route back to 10.89.0.0/16:
        // only a masqueraded connection (source 192.0.2.2) can be answered
        "unshare --net sleep 60 & WAN=$!",
        "sleep 0.2",
        "ip link add wan0 type veth peer name wan1 && ip link set wan1 netns $WAN || exit 3",
        "ip addr add 192.0.2.2/24 dev wan0 && ip link set wan0 up",
        "nsenter -t $WAN -n sh -c 'ip link set lo up; ip addr add 192.0.2.1/24 dev wan1; ip link set wan1 up'",
        "nsenter -t $WAN -n sh -c 'echo hello-from-wan | timeout 20 busybox nc -l -p 8080' & SRV=$!",
        "sleep 0.3",
        "$B run --rm berth/busybox sh -c 'ip -o -4 addr show eth0 | grep -o \"inet [0-9.]*\"; nc -w 5 192.0.2.1 8080 </dev/null'",
        "$B run --rm --network default berth/busybox sh -c 'ip -o link show | grep -c eth0 | sed s/^/eth0=/'",
        "$B run --rm --network none berth/busybox sh -c 'ip -o link show | grep -c eth0 | sed s/^/none-eth0=/'",
        "$B run -d --name c1 berth/busybox sleep 30 >/dev/null",
        "$B inspect -f '{{.HostConfig.NetworkMode}}' c1",
        // the network's rules, once: no per-container chain of the plugins (ipMasq, firewall)
        "iptables -w -t nat -S | grep -c -- '-j CNI-' | sed s/^/cni-chains=/",
        "iptables -w -t nat -S POSTROUTING | grep -c 'berth berth' | sed s/^/masquerade=/",
        "$B ps --filter network=bridge --format '{{.Names}}'",
        "$B rm -f c1 >/dev/null",
        "kill $SRV $WAN 2>/dev/null; wait",
        "echo veths=$(ip -o link show type veth | grep -vc wan0)",
      ],
      ["hello-from-wan", "eth0=1", "none-eth0=0", "bridge", "c1", "cni-chains=0", "masquerade=1", "veths=0"],
    );
    expect(out).toMatch(/^inet 10\.89\.\d+\.\d+$/m);
  });

  test("another network namespace with the same engine root gets the rules too (they are marked per namespace, not per root)", () => {
    inPrivateNet(env, ["$B run --rm berth/busybox true"]);
    expectInPrivateNet(
      env,
      ["$B run --rm berth/busybox true", "iptables -w -t nat -S POSTROUTING | grep -c 'berth berth' | sed s/^/masquerade=/"],
      ["masquerade=1"],
    );
  });
});

describe("network connect / disconnect", () => {
  test("a running container joins a second network on eth1 and reaches its members by name; disconnect takes it away; connect lasts over a restart", () => {
    const out = expectInPrivateNet(
      env,
      [
        "$B network create --subnet 10.91.8.0/24 front >/dev/null || exit 3",
        "$B network create --subnet 10.91.9.0/24 back >/dev/null || exit 3",
        "$B run -d --name web --network front berth/busybox sleep 60 >/dev/null || exit 4",
        "$B run -d --name db --network back berth/busybox sleep 60 >/dev/null || exit 4",
        "$B exec web ping -c1 -W1 db >/dev/null 2>&1 || echo before-unknown",
        "$B network connect --alias store back web || exit 5",
        "$B exec web ip -o -4 addr show eth1 | grep -o 'inet 10\\.91\\.9\\.[0-9]*' | sed s/^/eth1-/",
        "$B exec web ping -c1 -W2 db >/dev/null && echo web-reaches-db",
        "$B exec db ping -c1 -W2 store >/dev/null && echo db-reaches-web-by-alias",
        "$B exec web ip route | grep -c default | sed s/^/defaults=/",
        "$B inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' web",
        "$B network inspect -f '{{len .Containers}}' back",
        "$B network connect back web 2>&1; echo again=$?",
        "$B network rm back 2>&1 | grep -c 'in use' | sed s/^/busy=/",
        "$B restart -t 0 web >/dev/null && $B exec web ip -o link show eth1 >/dev/null && echo eth1-after-restart",
        "$B exec db ping -c1 -W2 web >/dev/null && echo db-reaches-web-after-restart",
        "$B network disconnect back web || exit 6",
        "$B exec web ip -o link show eth1 >/dev/null 2>&1 || echo eth1-gone",
        "$B exec web ping -c1 -W1 db >/dev/null 2>&1 || echo after-unknown",
        "$B exec db ping -c1 -W1 web >/dev/null 2>&1 || echo db-forgets-web",
        "$B network disconnect back web 2>&1; echo not-connected=$?",
        "$B network disconnect front web 2>&1; echo primary=$?",
        "$B run -d --name lone --network none berth/busybox sleep 30 >/dev/null",
        "$B network connect back lone 2>&1; echo none=$?",
        "$B network connect bridge web 2>&1; echo builtin=$?",
        "$B rm -f web db lone >/dev/null",
        "$B network rm front back >/dev/null; echo rm=$?",
        "echo links=$(ip -o link show | grep -c -e ' br-' -e veth)",
        // network rm took the networks' iptables rules
        "echo rules=$( (iptables -w -S; iptables -w -t nat -S) | grep -c 'berth berth-')",
      ],
      [
        "before-unknown",
        "web-reaches-db",
        "db-reaches-web-by-alias",
        "defaults=1",
        "back front ",
        "2",
        "again=1",
        "busy=1",
        "eth1-after-restart",
        "db-reaches-web-after-restart",
        "eth1-gone",
        "after-unknown",
        "db-forgets-web",
        "not-connected=1",
        "primary=1",
        "none=1",
        "builtin=1",
        "rm=0",
        "links=0",
        "rules=0",
      ],
    );
    expect(out).toMatch(/^eth1-inet 10\.91\.9\.\d+$/m);
    expect(out).toContain("berth: container web is already connected to network back");
    expect(out).toContain("berth: container web is not connected to network back");
    expect(out).toContain("disconnects only networks joined with network connect");
    expect(out).toContain("berth: container lone is on network none: it cannot be connected to other networks");
  });
});

// User-defined networks (network create|ls|inspect|rm|prune, run --network
// NAME, --network-alias) and name resolution between the containers of one
// network, as Docker and Podman give them. berth runs inside `unshare --net`:
// the bridges, veths and iptables rules go to a throwaway namespace, and no
// traffic leaves it.
import { describe, expect, test } from "bun:test";
import { engineEnvForFile } from "./helpers.ts";
import { expectInPrivateNet } from "./network-helpers.ts";

const env = engineEnvForFile();

describe("user-defined networks", () => {
  test("containers of one network reach each other by name and alias; inspect, ls, rm refused while in use, then the bridge goes", () => {
    const out = expectInPrivateNet(
      env,
      [
        "$B network create --subnet 10.91.7.0/24 -l team=a appnet >/dev/null || exit 3",
        "$B network ls --format '{{.Name}} {{.Driver}}' | grep -x 'appnet bridge' && echo ls-ok",
        "$B network ls -q --filter label=team=a | grep -c . | sed 's/^/filtered=/'",
        "$B run -d --name srv --network appnet --network-alias db berth/busybox sh -c 'while true; do echo hello-from-srv | nc -l -p 80; done' >/dev/null || exit 4",
        "$B run --rm --name cli --network appnet berth/busybox sh -c 'ping -c1 -W2 srv >/dev/null && echo ping-name-ok; nc -w 2 db 80 </dev/null | sed s/^/alias-/'",
        // a container that joins later is known to the ones already running
        "$B run -d --name late --network appnet berth/busybox sleep 30 >/dev/null",
        "$B exec srv ping -c1 -W2 late >/dev/null && echo late-known",
        "$B inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.Aliases}}{{end}} {{.HostConfig.NetworkMode}}' srv",
        "$B network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{len .Containers}}' appnet",
        "$B ps --filter network=appnet --format '{{.Names}}' | sort | xargs echo members:",
        "$B network rm appnet 2>&1; echo rm-busy=$?",
        "$B rm -f srv late >/dev/null",
        "$B network rm appnet; echo rm=$?",
        "echo bridges=$(ip -o link show | grep -c ' br-')",
      ],
      [
        "ls-ok",
        "filtered=1",
        "ping-name-ok",
        "alias-hello-from-srv",
        "late-known",
        "10.91.7.0/24 10.91.7.1 2",
        "members: late srv",
        "rm-busy=1",
        "appnet",
        "rm=0",
        "bridges=0",
      ],
    );
    expect(out).toMatch(/^appnet 10\.91\.7\.\d+ \[db\] appnet$/m);
    expect(out).toContain("berth: network appnet is in use by container");
  });

  test("bad input is refused, naming it; prune removes unused networks", () => {
    expect(env.run(["network", "create", "--subnet", "10.92.0.1/24", "n1"]).stderr).toContain("bits set past the prefix");
    expect(env.run(["network", "create", "--subnet", "10.89.3.0/24", "n1"]).stderr).toContain("overlaps the subnet 10.89.0.0/16");
    expect(env.run(["network", "create", "bridge"]).code).toBe(1);
    expect(env.run(["network", "create", "n1"]).code).toBe(0);
    expect(env.run(["network", "create", "n1"]).stderr).toContain("already exists");
    expect(env.run(["network", "create", "n2"]).code).toBe(0);
    expect(env.run(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "n1", "n2"]).stdout).toBe("10.90.0.0/24\n10.90.1.0/24\n");
    const noNet = env.run(["run", "--rm", "--network", "nosuch", "berth/busybox", "true"]);
    expect([noNet.code, noNet.stderr.trim()]).toEqual([125, "berth: network nosuch not found"]);
    expect(env.run(["run", "--rm", "--network-alias", "x", "berth/busybox", "true"]).code).toBe(125);
    expect(env.run(["network", "prune", "-f", "--filter", "until=1h"]).stdout).toBe("");
    expect(env.run(["network", "prune", "-f"]).stdout).toBe("Deleted Networks:\nn1\nn2\n");
    expect(env.run(["network", "ls", "-q", "--filter", "type=custom"]).stdout).toBe("");
    expect(env.run(["network", "rm", "nosuch"]).code).toBe(1);
    expect(env.leftovers()).toEqual([]);
  });
});

// berth run end to end: output, exit codes, flags checked from inside the
// container, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH, engineEnvForFile, idOf } from "./helpers.ts";

const env = engineEnvForFile();

describe("run", () => {
  test("run --rm prints the output, exits 0 and leaves nothing", () => {
    const r = env.run(["run", "--rm", "berth/busybox", "echo", "hello"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello\n");
    expect(r.code).toBe(0);
    expect(env.containerIds()).toEqual([]);
    expect(env.leftovers()).toEqual([]);
    expect(readdirOrEmpty(join(env.root, "containers"))).toEqual([]);
  });

  test("the container's exit code is berth's", () => {
    expect(env.run(["run", "--rm", "berth/busybox", "sh", "-c", "exit 3"]).code).toBe(3);
    expect(env.run(["run", "--rm", "berth/busybox", "sh", "-c", "exit 255"]).code).toBe(255);
  });

  test("bad input: unknown image 125, unknown flag 125, missing command 127, not executable 126; nothing left", () => {
    const img = env.run(["run", "--rm", "--pull=never", "no/such-image:1", "true"]);
    expect(img.code).toBe(125);
    expect(img.stderr).toContain("no/such-image:1");
    const flag = env.run(["run", "--rm", "--no-such-flag", "berth/busybox", "true"]);
    expect(flag.code).toBe(125);
    expect(flag.stderr).toContain("--no-such-flag");
    const missing = env.run(["run", "--rm", "berth/busybox", "no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("no-such-command");
    const noexec = env.run(["run", "--rm", "berth/busybox", "/etc/passwd"]);
    expect(noexec.code).toBe(126);
    const mem = env.run(["run", "--rm", "--memory", "lots", "berth/busybox", "true"]);
    expect(mem.code).toBe(125);
    expect(mem.stderr).toContain("--memory");
    const vol = env.run(["run", "--rm", "-v", "./relative:/x", "berth/busybox", "true"]);
    expect(vol.code).toBe(125);
    expect(vol.stderr).toContain("--volume");
    const user = env.run(["run", "--rm", "-u", "nosuchuser", "berth/busybox", "true"]);
    expect(user.code).toBe(125);
    expect(user.stderr).toContain("nosuchuser");
    expect(env.containerIds()).toEqual([]);
    expect(env.leftovers()).toEqual([]);
  });

  test("a missing image is pulled: unreachable registry is a clear 125", () => {
    const r = env.run(["run", "--rm", "--tls-verify=false", "127.0.0.1:1/nothing:1", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("127.0.0.1:1");
    expect(env.containerIds()).toEqual([]);
  });

  test("more of Docker's flags take effect inside: ulimit, sysctl, shm-size, device, group-add, cpu and memory, add-host, dns, labels", () => {
    const r = env.run([
      "run",
      "--rm",
      "--ulimit",
      "nofile=321:654",
      "--sysctl",
      "kernel.shm_rmid_forced=1",
      "--shm-size",
      "8m",
      "--device",
      "/dev/kmsg:/dev/k:r",
      "--group-add",
      "42",
      "--group-add",
      "nogroup",
      "--cpu-shares",
      "512",
      "--memory",
      "64m",
      "--memory-swap",
      "128m",
      "--memory-reservation",
      "32m",
      "--add-host",
      "db.local:10.1.2.3",
      "--dns",
      "9.9.9.9",
      "--dns-search",
      "example.org",
      "berth/busybox",
      "sh",
      "-c",
      [
        "echo nofile=$(ulimit -n)/$(ulimit -Hn)",
        "echo rmid=$(cat /proc/sys/kernel/shm_rmid_forced)",
        "echo shm=$(df -k /dev/shm | tail -1 | tr -s ' ' | cut -d' ' -f2)",
        "test -c /dev/k && echo dev=present",
        "(echo hi > /dev/k) 2>/dev/null && echo write=allowed || echo write=denied",
        "echo groups=$(id -G)",
        "echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/cpu.weight)",
        "echo hosts=$(grep db.local /etc/hosts | tr '\\t' ' ')",
        "echo ns=$(grep nameserver /etc/resolv.conf)",
        "echo search=$(grep search /etc/resolv.conf)",
      ].join("; "),
    ]);
    expect(r.stderr).toBe("");
    const v = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(v).toEqual({
      nofile: "321/654",
      rmid: "1",
      shm: "8192",
      dev: "present",
      write: "denied",
      groups: "0 42 65534",
      shares: v.shares === "512" ? "512" : v.shares,
      hosts: "10.1.2.3 db.local",
      ns: "nameserver 9.9.9.9",
      search: "search example.org",
    });
    // cpu.shares on v1; on v2 the weight converted from it
    expect(["512", "20"]).toContain(v.shares);
    const id = idOf(
      env.run([
        "run",
        "-d",
        "-l",
        "team=core",
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "1",
        "berth/busybox",
        "sh",
        "-c",
        "trap 'echo got USR1' USR1; while true; do sleep 0.1; done",
      ]),
    );
    const c = JSON.parse(env.run(["inspect", id]).stdout)[0];
    expect(c.Config.Labels).toEqual({ team: "core" });
    expect(c.Config.StopSignal).toBe("SIGUSR1");
    expect(c.Config.StopTimeout).toBe(1);
    // the trap only prints: stop sends USR1, then SIGKILL after the container's own 1 s
    const t0 = Date.now();
    expect(env.run(["stop", id]).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(env.run(["logs", id]).stdout).toContain("got USR1");
    for (const [flag, val] of [
      ["--ulimit", "nofile=9:1"],
      ["--ulimit", "bogus=1"],
      ["--device", "/dev/nonexistent"],
      ["--memory-swap", "10m"],
      ["--cpu-shares", "1"],
      ["--add-host", "nocolon"],
      ["--group-add", "nosuchgroup"],
    ]) {
      const bad = env.run(["run", "--rm", flag!, val!, "berth/busybox", "true"]);
      expect([flag, bad.code]).toEqual([flag, 125]);
      expect(bad.stderr).toContain(flag!);
    }
  });

  test("--privileged: every capability berth holds, no seccomp filter, the host's devices, /proc/sys and /sys writable; without it none of that", () => {
    const script = [
      "echo cap=$(grep CapEff /proc/self/status | cut -f2)",
      "echo seccomp=$(grep Seccomp: /proc/self/status | cut -f2)",
      "(: < /dev/loop-control) 2>/dev/null && echo loop=open || echo loop=no",
      "(echo 1 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null && echo procsys=rw || echo procsys=ro",
      "echo sys=$(mount | grep ' on /sys type sysfs' | sed 's/.*(\\(r[ow]\\),.*/\\1/')",
    ].join("; ");
    const host = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1];
    const p = env.run(["run", "--rm", "--privileged", "berth/busybox", "sh", "-c", script]);
    expect(p.stderr).toBe("");
    expect(p.stdout).toBe(`cap=${host}\nseccomp=0\nloop=open\nprocsys=rw\nsys=rw\n`);
    const plain = env.run(["run", "--rm", "berth/busybox", "sh", "-c", script]);
    expect(plain.stdout).not.toContain(`cap=${host}`);
    expect(plain.stdout).toContain("seccomp=2\nloop=no\nprocsys=ro\nsys=ro\n");
  });

  test("limits are visible inside: --memory, --pids-limit, --cpus", () => {
    const r = env.run([
      "run",
      "--rm",
      "--memory",
      "64m",
      "--pids-limit",
      "42",
      "--cpus",
      "0.5",
      "berth/busybox",
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").slice(0, 3)).toEqual(["67108864", "42", "50000"]);
  });

  test("the pids limit holds: a fork beyond it fails", () => {
    const r = env.run(["run", "--rm", "--pids-limit", "5", "berth/busybox", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait; echo done"]);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable|fork/i);
  });

  test("-e, --env-file, -w, -u", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-envfile-"));
    try {
      writeFileSync(join(dir, "env"), "# comment\nFROM_FILE=file value\n\nBOTH=file\n");
      const r = env.run([
        "run",
        "--rm",
        "--env-file",
        join(dir, "env"),
        "-e",
        "BOTH=flag",
        "-e",
        "A=1",
        "-w",
        "/work/dir",
        "-u",
        "nobody",
        "berth/busybox",
        "sh",
        "-c",
        'echo "$FROM_FILE|$BOTH|$A"; pwd; id -u; id -g',
      ]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("file value|flag|1\n/work/dir\n65534\n65534\n");
      const num = env.run(["run", "--rm", "-u", "1234:5678", "berth/busybox", "sh", "-c", "id -u; id -g"]);
      expect(num.stdout).toBe("1234\n5678\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--entrypoint replaces the command's program", () => {
    const r = env.run(["run", "--rm", "--entrypoint", "echo", "berth/busybox", "a", "b"]);
    expect(r.stdout).toBe("a b\n");
  });

  test("-v rw and ro, --tmpfs, --read-only", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-vol-"));
    try {
      writeFileSync(join(dir, "in.txt"), "from host\n");
      const rw = env.run(["run", "--rm", "-v", `${dir}:/data`, "berth/busybox", "sh", "-c", "cat /data/in.txt; echo written > /data/out.txt"]);
      expect(rw.stdout).toBe("from host\n");
      expect(rw.code).toBe(0);
      expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("written\n");
      const ro = env.run(["run", "--rm", "-v", `${dir}:/data:ro`, "berth/busybox", "sh", "-c", "cat /data/in.txt; echo x > /data/ro.txt"]);
      expect(ro.stdout).toBe("from host\n");
      expect(ro.code).not.toBe(0);
      expect(ro.stderr).toContain("Read-only file system");
      expect(existsSync(join(dir, "ro.txt"))).toBe(false);
      const tmpfs = env.run([
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "berth/busybox",
        "sh",
        "-c",
        "grep ' /scratch ' /proc/mounts | cut -d' ' -f3; echo ok > /scratch/f && cat /scratch/f; touch /root-file || echo root read-only",
      ]);
      expect(tmpfs.stdout).toBe("tmpfs\nok\nroot read-only\n");
      expect(tmpfs.stderr).toContain("Read-only file system");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--cap-drop and --cap-add change the capability sets", () => {
    const capBnd = (args: string[]) => {
      const r = env.run(["run", "--rm", ...args, "berth/busybox", "grep", "CapBnd", "/proc/self/status"]);
      return BigInt("0x" + r.stdout.trim().split(/\s+/)[1]);
    };
    const dflt = capBnd([]);
    expect(dflt & 1n).toBe(1n); // CAP_CHOWN
    expect(dflt & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN
    expect(capBnd(["--cap-drop", "CHOWN"]) & 1n).toBe(0n);
    expect(capBnd(["--cap-add", "SYS_ADMIN"]) & (1n << 21n)).toBe(1n << 21n);
    expect(capBnd(["--cap-drop", "ALL"])).toBe(0n);
    const chown = env.run(["run", "--rm", "--cap-drop", "CHOWN", "berth/busybox", "chown", "65534", "/tmp"]);
    expect(chown.code).not.toBe(0);
    expect(env.run(["run", "--rm", "--cap-add", "NOSUCHCAP", "berth/busybox", "true"]).code).toBe(125);
  });

  test("--security-opt seccomp=FILE and no-new-privileges", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-seccomp-"));
    try {
      const profile = join(dir, "profile.json");
      writeFileSync(
        profile,
        JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }),
      );
      const r = env.run(["run", "--rm", "--security-opt", `seccomp=${profile}`, "berth/busybox", "sh", "-c", "mkdir /tmp/x || echo denied"]);
      expect(r.stdout).toBe("denied\n");
      const nnp = env.run(["run", "--rm", "--security-opt", "no-new-privileges", "berth/busybox", "grep", "NoNewPrivs", "/proc/self/status"]);
      expect(nnp.stdout).toMatch(/NoNewPrivs:\s+1/);
      const bad = join(dir, "bad.json");
      writeFileSync(bad, JSON.stringify({ defaultAction: "SCMP_ACT_NOPE" }));
      const b = env.run(["run", "--rm", "--security-opt", `seccomp=${bad}`, "berth/busybox", "true"]);
      expect(b.code).toBe(125);
      expect(b.stderr).toContain("seccomp");
      expect(env.leftovers()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the default seccomp profile is on unless seccomp=unconfined; --cap-add relaxes it", () => {
    const mode = (flags: string[]) => env.run(["run", "--rm", ...flags, "berth/busybox", "grep", "^Seccomp:", "/proc/self/status"]).stdout.trim();
    expect(mode([])).toMatch(/Seccomp:\s+2/);
    expect(mode(["--security-opt", "seccomp=unconfined"])).toMatch(/Seccomp:\s+0/);
    const probe = "unshare -n true 2>/dev/null && echo unshare-ok || echo unshare-refused";
    expect(env.run(["run", "--rm", "berth/busybox", "sh", "-c", probe]).stdout).toBe("unshare-refused\n");
    expect(env.run(["run", "--rm", "--cap-add", "SYS_ADMIN", "berth/busybox", "sh", "-c", probe]).stdout).toBe("unshare-ok\n");
  });

  test("--hostname and --network none (only lo, up: a server on 127.0.0.1 answers; the namespace is the container's own)", () => {
    const r = env.run([
      "run",
      "--rm",
      "--hostname",
      "box1",
      "--network",
      "none",
      "berth/busybox",
      "sh",
      "-c",
      "hostname; cat /etc/hostname; ls /sys/class/net; cat /sys/class/net/lo/operstate; " +
        "(echo pong | nc -l -p 7777 &) ; sleep 0.2; nc 127.0.0.1 7777 </dev/null; readlink /proc/self/ns/net",
    ]);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 5)).toEqual(["box1", "box1", "lo", "unknown", "pong"]);
    // not the host's, and no namespace kept for it under the engine's run directory
    expect(lines[5]).not.toBe(readlinkSync("/proc/self/ns/net"));
    expect(existsSync(join(env.runRoot, "netns")) ? readdirSync(join(env.runRoot, "netns")) : []).toEqual([]);
    const bad = env.run(["run", "--rm", "--network", "nope", "berth/busybox", "true"]);
    expect(bad.code).toBe(125);
  });

  test("--network bridge: eth0 with an address (berth itself in a private network namespace)", () => {
    // unshare --net: the bridge, veth and iptables rules go to a throwaway namespace, not the host's
    const r = Bun.spawnSync(
      [
        "unshare",
        "--net",
        "--",
        BERTH,
        "run",
        "--rm",
        "--network",
        "bridge",
        "berth/busybox",
        "sh",
        "-c",
        "ip -4 -o addr show eth0 | awk '{print $4}'; ls /sys/class/net | sort | xargs echo; test -s /etc/resolv.conf && echo resolv",
      ],
      { env: env.env, stdout: "pipe", stderr: "pipe", timeout: 60_000 },
    );
    const out = r.stdout.toString();
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expect(out).toMatch(/^10\.89\.\d+\.\d+\/16\neth0 lo\nresolv\n$/);
    // the address went back to the pool
    const ipam = join(env.root, "network", "ipam", "berth");
    const held = existsSync(ipam)
      ? require("node:fs")
          .readdirSync(ipam)
          .filter((f: string) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
      : [];
    expect(held).toEqual([]);
    expect(env.leftovers()).toEqual([]);
  });

  /** A shell function `get HOST PORT`: what a TCP server there answers, retried while it restarts between connections. */
  const NC_GET = 'get() { for i in 1 2 3 4 5 6 7 8 9 10; do r=$(busybox nc -w 2 $1 $2 2>/dev/null); [ -n "$r" ] && break; sleep 0.2; done; echo "$r"; }';

  /** Runs the shell lines (berth as $B, lo up) in a private network namespace: the rules and the bridge never touch the host's. */
  function inPrivateNet(lines: string[]): string {
    const script = [`B=${BERTH}`, "ip link set lo up", ...lines].join("\n");
    const r = Bun.spawnSync(["unshare", "--net", "--", "sh", "-c", script], { env: env.env, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect(r.exitCode).toBe(0);
    return r.stdout.toString();
  }

  test("-p publishes a port through the bridge (CNI portmap): reachable on the gateway and on localhost; rules gone after rm", () => {
    const out = inPrivateNet([
      "$B run -d --name pub -p 18081:80 berth/busybox sh -c 'while true; do echo hello-published | nc -l -p 80; done' >/dev/null || exit 9",
      "$B ps --format json | grep -q '\"host_port\": 18081' && echo ps-ok",
      "$B ps | grep -q '0.0.0.0:18081->80/tcp' && echo table-ok",
      "[ \"$($B port pub)\" = '80/tcp -> 0.0.0.0:18081' ] && [ \"$($B port pub 80/tcp)\" = '0.0.0.0:18081' ] && echo port-ok",
      "gw=$($B inspect -f '{{.NetworkSettings.Gateway}}' pub)",
      NC_GET,
      "echo gateway=$(get $gw 18081)",
      "echo localhost=$(get 127.0.0.1 18081)",
      "echo rules=$(iptables-save -t nat | grep -c 18081)",
      "$B run -d --name pub2 -p 18081:80 berth/busybox true 2>&1; echo taken=$?",
      // stopped: the port is unpublished; started again: published again
      "$B stop -t 1 pub >/dev/null; echo stopped-rules=$(iptables-save -t nat | grep -c 18081)",
      "$B start pub >/dev/null; echo restarted=$(get $($B inspect -f '{{.NetworkSettings.Gateway}}' pub) 18081)",
      "$B rm -f pub >/dev/null",
      "echo after=$(iptables-save -t nat | grep -c 18081)",
    ]);
    expect(out).toContain("ps-ok\ntable-ok\nport-ok\n");
    expect(out).toContain("gateway=hello-published\n");
    expect(out).toContain("localhost=hello-published\n");
    expect(out).toMatch(/rules=[1-9]/);
    // a second container cannot take the port while the first holds it
    expect(out).toContain("berth: -p: host port 18081/tcp is already published by container pub\ntaken=125\n");
    expect(out).toContain("stopped-rules=0\nrestarted=hello-published\n");
    expect(out).toContain("after=0\n");
    expect(env.leftovers()).toEqual([]);
  });

  test("-p PORT and -P: berth picks free host ports, reachable on localhost, shown by port", () => {
    // an image that exposes 81/tcp, for -P
    const work = mkdtempSync(join(tmpdir(), "berth-expose-"));
    try {
      const dir = join(work, "rootfs");
      Bun.spawnSync(["mkdir", "-p", join(dir, "bin")]);
      Bun.spawnSync(["cp", "/bin/busybox", join(dir, "bin/busybox")]);
      for (const a of ["sh", "nc", "echo", "sleep"]) Bun.spawnSync(["ln", "-s", "busybox", join(dir, "bin", a)]);
      expect(Bun.spawnSync(["tar", "-C", dir, "-cf", join(work, "r.tar"), "."]).exitCode).toBe(0);
      expect(env.run(["import", "--change", "EXPOSE 81", "--change", "ENV PATH=/bin", join(work, "r.tar"), "localhost/exposer:1"]).code).toBe(0);
      const out = inPrivateNet([
        "$B run -d --name rnd -p 80 berth/busybox sh -c 'while true; do echo random-port | nc -l -p 80; done' >/dev/null || exit 9",
        "$B run -d --name all -P localhost/exposer:1 sh -c 'while true; do echo exposed-port | nc -l -p 81; done' >/dev/null || exit 8",
        "p1=$($B port rnd 80 | cut -d: -f2); p2=$($B port all 81 | cut -d: -f2); echo ports=$p1,$p2",
        NC_GET,
        "echo rnd=$(get 127.0.0.1 $p1) all=$(get 127.0.0.1 $p2)",
        "$B rm -f rnd all >/dev/null",
      ]);
      const [p1, p2] = /ports=(\d+),(\d+)/.exec(out)!.slice(1).map(Number);
      expect(p1).toBeGreaterThan(1023);
      expect(p2).toBeGreaterThan(1023);
      expect(p1).not.toBe(p2);
      expect(out).toContain("rnd=random-port all=exposed-port\n");
      expect(env.leftovers()).toEqual([]);
    } finally {
      env.run(["rmi", "localhost/exposer:1"]);
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("-p ranges: port for port, and a host range for one container port takes its first free port", () => {
    const out = inPrivateNet([
      'serve() { echo "while true; do echo $1 | nc -l -p $2; done"; }',
      '$B run -d --name rng -p 18090-18091:80-81 berth/busybox sh -c "$(serve p80 80) & $(serve p81 81)" >/dev/null || exit 9',
      // 18095 is another container's: the range gives the next one
      "$B run -d --name hold -p 18095:80 berth/busybox sleep 60 >/dev/null || exit 8",
      '$B run -d --name first -p 18095-18097:80 berth/busybox sh -c "$(serve first 80)" >/dev/null || exit 7',
      "echo rng=$($B port rng | tr '\\n' ' ')",
      "echo first=$($B port first 80)",
      NC_GET,
      "echo got=$(get 127.0.0.1 18090),$(get 127.0.0.1 18091),$(get 127.0.0.1 18096)",
      "$B rm -f rng hold first >/dev/null",
    ]);
    expect(out).toContain("rng=80/tcp -> 0.0.0.0:18090 81/tcp -> 0.0.0.0:18091\n");
    expect(out).toContain("first=0.0.0.0:18096\n");
    expect(out).toContain("got=p80,p81,first\n");
    expect(env.leftovers()).toEqual([]);
  });

  test("-p: bad values and network modes without a bridge are refused with 125, naming the flag", () => {
    for (const [args, msg] of [
      [["-p", "1:2:3:80"], "CONTAINERPORT"],
      [["-p", "8000-8002:80-81"], "the host range has 3 ports and the container range 2"],
      [["-p", "8001-8000:80"], "a range of them"],
      [["-p", "8080:80/icmp"], "protocol"],
      [["-p", "nope:8080:80"], "not an IP address"],
      // an address not on this host is no taken port: the bind's own error, not "no free host port"
      [["-p", "192.0.2.1:18100-18101:80"], "cannot bind 192.0.2.1:18100/tcp: EADDRNOTAVAIL"],
      [["-p", "8080:80", "-p", "8080:81"], "host port 8080/tcp is given twice"],
      [["--network", "none", "-p", "8080:80"], "needs --network bridge"],
      [["--network", "host", "-p", "8080:80"], "ports are the host's"],
    ] as const) {
      const r = env.run(["run", "--rm", ...args, "berth/busybox", "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(msg);
    }
    expect(env.leftovers()).toEqual([]);
  });

  test("-i passes stdin; without -i the container reads nothing", () => {
    expect(env.run(["run", "--rm", "-i", "berth/busybox", "cat"], { stdin: "piped\n" }).stdout).toBe("piped\n");
    expect(env.run(["run", "--rm", "berth/busybox", "cat"], { stdin: "piped\n" }).stdout).toBe("");
  });

  test("-t gives the container a terminal (through the console helper)", () => {
    const r = env.run(["run", "--rm", "-t", "berth/busybox", "sh", "-c", "tty; exit 4"]);
    expect(r.stdout).toBe("/dev/pts/0\r\n");
    expect(r.code).toBe(4);
    expect(env.leftovers()).toEqual([]);
  });

  test("concurrent runs each get their own container", async () => {
    const rs = await Promise.all([1, 2, 3, 4].map((i) => env.runAsync(["run", "--rm", "berth/busybox", "sh", "-c", `echo n${i}; exit ${i}`])));
    rs.forEach((r, i) => {
      expect(r.stdout).toBe(`n${i + 1}\n`);
      expect(r.code).toBe(i + 1);
    });
    expect(env.containerIds()).toEqual([]);
    expect(env.leftovers()).toEqual([]);
  });
});

function readdirOrEmpty(d: string): string[] {
  try {
    return require("node:fs").readdirSync(d);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

// The engine on this host's cgroup layout (and, in the cgroup v2 lane under
// User-mode Linux, on a pure v2 hierarchy): limits from inside, stats, top,
// pause, and --device rules (a v1 devices list, or an eBPF program on v2).
import { describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { detectCgroups } from "../../src/cgroups/index.ts";
import { engineEnvForFile, idOf } from "./helpers.ts";

const env = engineEnvForFile();

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await Bun.sleep(25);
  return cond();
}

describe("engine containers and their cgroups", () => {
  test("limits seen inside; stats reports them; top lists the processes; pause freezes and unpause thaws", async () => {
    const inside = env.run([
      "run",
      "--rm",
      "--memory",
      "64m",
      "--pids-limit",
      "42",
      "berth/busybox",
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    ]);
    expect(inside.stdout).toBe("67108864\n42\n");
    const id = idOf(
      env.run([
        "run",
        "-d",
        "--name",
        "cg",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "berth/busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done",
      ]),
    );
    const st = JSON.parse(env.run(["stats", "--no-stream", "--format", "json", "cg"]).stdout)[0];
    expect(st.mem_limit).toBe(64 * 1024 * 1024);
    expect(st.pids).toBeGreaterThanOrEqual(1);
    const top = env.run(["top", "cg"]);
    expect(top.stdout).toContain("sh -c i=0");
    expect(env.run(["pause", "cg"]).code).toBe(0);
    expect(env.run(["ps"]).stdout).toContain("(Paused)");
    // the counter, read through the root file system (a frozen container runs nothing, exec included)
    const rootfs = JSON.parse(env.run(["inspect", id]).stdout)[0].Rootfs as string;
    const read = () => readFileSync(`${rootfs}/tmp/n`, "utf8");
    const a = read();
    await Bun.sleep(300);
    expect(read()).toBe(a);
    expect(env.run(["unpause", "cg"]).code).toBe(0);
    expect(await waitFor(() => read() !== a)).toBe(true);
  });

  test("--device HOST:CTR:r: the node is there, reading is allowed, writing is not (the cgroup's device rules)", () => {
    // kmsg (1:11) is not a default device; reading it needs CAP_SYSLOG
    const r = env.run([
      "run",
      "--rm",
      "--device",
      "/dev/kmsg:/dev/k:r",
      "--cap-add",
      "SYSLOG",
      "berth/busybox",
      "sh",
      "-c",
      "test -c /dev/k && echo present; (: < /dev/k) 2>/dev/null && echo read=allowed || echo read=denied; (: > /dev/k) 2>/dev/null && echo write=allowed || echo write=denied",
    ]);
    expect(r.stdout).toBe("present\nread=allowed\nwrite=denied\n");
    const w = env.run([
      "run",
      "--rm",
      "--device",
      "/dev/kmsg:/dev/k:rw",
      "--cap-add",
      "SYSLOG",
      "berth/busybox",
      "sh",
      "-c",
      "(: > /dev/k) 2>/dev/null && echo write=allowed",
    ]);
    expect(w.stdout).toBe("write=allowed\n");
  });
});

describe("--cgroupns", () => {
  test("Docker's default: a cgroup namespace of the container's own on cgroup v2, the host's on v1 and hybrid; private and host on request, each seeing its own limits", () => {
    const host = readlinkSync("/proc/self/ns/cgroup");
    const v2 = detectCgroups().mode === "v2";
    const inside = (flags: string[]) => {
      const r = env.run([
        "run",
        "--rm",
        ...flags,
        "--memory",
        "48m",
        "berth/busybox",
        "sh",
        "-c",
        "readlink /proc/self/ns/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
      ]);
      expect(r.stderr).toBe("");
      const [ns, limit] = r.stdout.trim().split("\n");
      return { own: ns !== host, limit };
    };
    expect(inside([])).toEqual({ own: v2, limit: "50331648" });
    expect(inside(["--cgroupns", "private"])).toEqual({ own: true, limit: "50331648" });
    expect(inside(["--cgroupns", "host"])).toEqual({ own: false, limit: "50331648" });
    // inspect says which (HostConfig.CgroupnsMode, as Docker's)
    for (const [flags, want] of [
      [[], v2 ? "private" : "host"],
      [["--cgroupns", "private"], "private"],
      [["--cgroupns", "host"], "host"],
    ] as const) {
      const name = `cgns-${want}-${flags.length}`;
      expect(env.run(["create", "--name", name, ...flags, "berth/busybox", "true"]).code).toBe(0);
      expect(env.run(["inspect", "-f", "{{.HostConfig.CgroupnsMode}}", name]).stdout).toBe(`${want}\n`);
      expect(env.run(["rm", name]).code).toBe(0);
    }
    const bad = env.run(["run", "--rm", "--cgroupns", "shared", "berth/busybox", "true"]);
    expect([bad.code, bad.stderr.trim()]).toEqual([125, 'berth: --cgroupns "shared": want private or host']);
    expect(env.leftovers()).toEqual([]);
  });
});

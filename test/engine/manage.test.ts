// Docker's rename, update, diff, commit, history and run --init.
import { describe, expect, test } from "bun:test";
import { cgroupFile, engineEnvForFile, idOf } from "./helpers.ts";

const env = engineEnvForFile();

describe("rename and update", () => {
  test("rename: the new name finds it, the old does not; a taken name is refused", () => {
    const id = idOf(env.run(["run", "-d", "--name", "rn-a", "berth/busybox", "sleep", "30"]));
    env.run(["create", "--name", "rn-b", "berth/busybox", "true"]);
    expect(env.run(["rename", "rn-a", "rn-c"]).code).toBe(0);
    expect(env.run(["inspect", "-f", "{{.Id}}", "rn-c"]).stdout.trim()).toBe(id);
    expect(env.run(["inspect", "rn-a"]).code).toBe(1);
    const taken = env.run(["rename", "rn-c", "rn-b"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('"rn-b" is already in use');
    expect(env.run(["rename", "rn-c", "bad/name"]).code).toBe(1);
    expect(env.run(["rename", "nosuch", "x"]).code).toBe(1);
  });

  test("update: a running container's cgroup takes the limits at once; the record keeps them; --restart", () => {
    const id = idOf(env.run(["run", "-d", "--name", "up", "-m", "32m", "berth/busybox", "sleep", "30"]));
    const r = env.run(["update", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "up"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "up\n", ""]);
    const mem = cgroupFile(`/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`) ?? cgroupFile(`/sys/fs/cgroup/berth/${id}/memory.max`);
    expect(mem).toBe(String(64 * 1024 * 1024));
    const pids = cgroupFile(`/sys/fs/cgroup/pids/berth/${id}/pids.max`) ?? cgroupFile(`/sys/fs/cgroup/berth/${id}/pids.max`);
    expect(pids).toBe("50");
    expect(env.run(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}", "up"]).stdout).toBe(
      `${64 * 1024 * 1024} 50 500000000\n`,
    );
    expect(env.run(["update", "--restart", "on-failure:3", "up"]).code).toBe(0);
    expect(env.run(["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "up"]).stdout).toBe(
      "on-failure 3\n",
    );
    // the same values checked as run's: a bad one is refused, naming the flag
    const bad = env.run(["update", "--memory", "lots", "up"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--memory");
    expect(env.run(["update", "up"]).code).toBe(125);
    expect(env.run(["update", "--memory", "64m", "nosuch"]).code).toBe(1);
  });
});

describe("diff, commit, history", () => {
  test("diff lists the changes (not berth's mount points); commit makes an image of them; history shows it", () => {
    idOf(
      env.run(["run", "-d", "--name", "chg", "-v", "chgvol:/data", "berth/busybox", "sh", "-c", "echo new > /etc/newfile; rm /bin/ls; mkdir /empty; sleep 30"]),
    );
    let d = "";
    for (let i = 0; i < 50 && !d.includes("/empty"); i++) {
      Bun.sleepSync(100);
      d = env.run(["diff", "chg"]).stdout;
    }
    expect(d).toBe("C /bin\nD /bin/ls\nA /empty\nC /etc\nA /etc/newfile\n");
    const c = env.run(["commit", "-c", "LABEL made=commit", "-m", "my change", "chg", "localhost/committed:1"]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    // committing froze the container for the while, then thawed it
    expect(env.run(["inspect", "-f", "{{.State.Status}}", "chg"]).stdout).toBe("running\n");
    const r = env.run([
      "run",
      "--rm",
      "localhost/committed:1",
      "sh",
      "-c",
      "cat /etc/newfile; test -e /bin/ls || echo no-ls; test -d /empty && echo empty; test -e /data || echo no-data",
    ]);
    expect(r.stdout).toBe("new\nno-ls\nempty\nno-data\n");
    expect(env.run(["inspect", "-f", "{{.Config.Labels.made}}", "localhost/committed:1"]).stdout).toBe("commit\n");
    const h = env.run(["history", "localhost/committed:1"]).stdout.split("\n");
    expect(h[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(h[1]).toMatch(/^[a-f0-9]{12}\s+.*berth commit chg\s+\S+\s+my change$/);
    expect(h[2]).toMatch(/^<missing>\s/);
    expect(env.run(["history", "--format", "{{.CreatedBy}}|{{.Comment}}", "localhost/committed:1"]).stdout.split("\n")[0]).toBe("berth commit chg|my change");
    env.run(["rm", "-f", "chg"]);
    expect(env.run(["rmi", "localhost/committed:1"]).code).toBe(0);
    expect(env.run(["volume", "rm", "chgvol"]).code).toBe(0);
    expect(env.run(["diff", "nosuch"]).code).toBe(1);
    expect(env.run(["history", "localhost/nosuch:1"]).code).toBe(1);
  });
});

describe("run --init", () => {
  test("an init is PID 1 (read-only, from the host's tini or catatonit), the command its child; SIGTERM ends a shell that ignores it", () => {
    const r = env.run([
      "run",
      "--rm",
      "--init",
      "berth/busybox",
      "sh",
      "-c",
      "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; touch /dev/init 2>/dev/null || echo ro",
    ]);
    expect(r.code).toBe(0);
    const [cmd, pid, ro] = r.stdout.split("\n");
    expect(cmd).toMatch(/^\/dev\/init -- sh -c /);
    expect(Number(pid)).toBeGreaterThan(1);
    expect(ro).toBe("ro");
    // as PID 1 a shell would ignore SIGTERM; under the init it gets it and ends
    idOf(env.run(["run", "-d", "--init", "--name", "initd", "berth/busybox", "sleep", "60"]));
    const t0 = Date.now();
    expect(env.run(["stop", "-t", "20", "initd"]).code).toBe(0);
    // well before the 20 s after which stop would SIGKILL it
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(env.run(["inspect", "-f", "{{.State.ExitCode}}", "initd"]).stdout).toBe("143\n");
    expect(env.run(["run", "--rm", "--init-path", "relative/tini", "berth/busybox", "true"]).code).toBe(125);
  });
});

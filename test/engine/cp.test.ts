// berth cp: Docker's path rules both ways, running and stopped containers,
// volumes (also of a stopped container), and a hostile container whose
// symlinks (fixed or swapped during the copy) try to lead the copy onto the host.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  chownSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH, EngineEnv, idOf } from "./helpers.ts";
import { packTar } from "../../src/image/tarutil.ts";

let env: EngineEnv;
let host = "";
beforeAll(() => {
  env = new EngineEnv();
});
afterEach(() => {
  env.removeAll();
  if (host) rmSync(host, { recursive: true, force: true });
});
afterAll(async () => {
  await env.cleanup();
});

function hostTree(): string {
  host = mkdtempSync(join(tmpdir(), "berth-cp-"));
  mkdirSync(join(host, "src/sub"), { recursive: true });
  writeFileSync(join(host, "src/a.txt"), "hello\n");
  chmodSync(join(host, "src/a.txt"), 0o640);
  chownSync(join(host, "src/a.txt"), 1234, 5678);
  writeFileSync(join(host, "src/sub/b.txt"), "deep\n");
  symlinkSync("a.txt", join(host, "src/link"));
  return host;
}

function sh(name: string, script: string): string {
  const r = env.run(["exec", name, "sh", "-c", script]);
  expect(r.code).toBe(0);
  return r.stdout;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await Bun.sleep(20);
}

describe("cp", () => {
  test("host to container: a directory by name, its contents with /., a file over a file; modes kept, owner root unless -a", async () => {
    const h = hostTree();
    idOf(env.run(["run", "-d", "--name", "cpin", "berth/busybox", "sh", "-c", "mkdir /data; echo old > /data/f; sleep 60"]));
    await waitFor(() => env.run(["exec", "cpin", "test", "-f", "/data/f"]).code === 0);
    expect(env.run(["cp", join(h, "src"), "cpin:/data"]).code).toBe(0);
    expect(sh("cpin", "cat /data/src/a.txt /data/src/sub/b.txt; readlink /data/src/link; stat -c '%a %u:%g' /data/src/a.txt")).toBe(
      "hello\ndeep\na.txt\n640 0:0\n",
    );
    expect(env.run(["cp", `${join(h, "src")}/.`, "cpin:/new"]).code).toBe(0);
    expect(sh("cpin", "ls /new | tr '\\n' ' '")).toBe("a.txt link sub ");
    expect(env.run(["cp", "-a", join(h, "src/a.txt"), "cpin:/data/f"]).code).toBe(0);
    expect(sh("cpin", "cat /data/f; stat -c '%a %u:%g' /data/f")).toBe("hello\n640 1234:5678\n");
    // a missing parent, a directory over a file, a missing source: clear errors
    const noParent = env.run(["cp", join(h, "src/a.txt"), "cpin:/no/such/x"]);
    expect(noParent.code).toBe(1);
    expect(noParent.stderr).toContain("/no/such does not exist in the container");
    expect(env.run(["cp", join(h, "src"), "cpin:/data/f"]).stderr).toContain("cannot copy the directory");
    expect(env.run(["cp", join(h, "nothing"), "cpin:/data"]).stderr).toContain("no such file or directory");
    expect(env.run(["cp", join(h, "src"), join(h, "other")]).stderr).toContain("exactly one of SRC and DEST");
  });

  test("container to host, of a running and of a stopped container; a volume is seen as the container sees it", async () => {
    const h = hostTree();
    const vol = join(h, "vol");
    mkdirSync(vol);
    writeFileSync(join(vol, "in-volume"), "from the volume\n");
    idOf(
      env.run([
        "run",
        "-d",
        "--name",
        "cpout",
        "-v",
        `${vol}:/mnt/v`,
        "berth/busybox",
        "sh",
        "-c",
        "mkdir -p /out/d; echo one > /out/d/1; ln -s d/1 /out/l; chmod 604 /out/d/1; sleep 60",
      ]),
    );
    await waitFor(() => env.run(["exec", "cpout", "test", "-L", "/out/l"]).code === 0);
    expect(env.run(["cp", "cpout:/out", join(h, "got")]).code).toBe(0);
    expect(readFileSync(join(h, "got/d/1"), "utf8")).toBe("one\n");
    expect(statSync(join(h, "got/d/1")).mode & 0o777).toBe(0o604);
    expect(readlinkSync(join(h, "got/l"))).toBe("d/1");
    expect(env.run(["cp", "cpout:/mnt/v/in-volume", join(h, "v.txt")]).code).toBe(0);
    expect(readFileSync(join(h, "v.txt"), "utf8")).toBe("from the volume\n");
    // -L follows the symlink given as SRC
    expect(env.run(["cp", "-L", "cpout:/out/l", join(h, "followed")]).code).toBe(0);
    expect(readFileSync(join(h, "followed"), "utf8")).toBe("one\n");
    expect(env.run(["stop", "-t", "1", "cpout"]).code).toBe(0);
    expect(env.run(["cp", "cpout:/out/d/1", join(h, "after-stop")]).code).toBe(0);
    expect(readFileSync(join(h, "after-stop"), "utf8")).toBe("one\n");
    // stopped: a path under a volume's destination is the volume's
    expect(env.run(["cp", "cpout:/mnt/v/in-volume", join(h, "v-stopped.txt")]).code).toBe(0);
    expect(readFileSync(join(h, "v-stopped.txt"), "utf8")).toBe("from the volume\n");
    expect(env.run(["cp", join(h, "src/a.txt"), "cpout:/mnt/v"]).code).toBe(0);
    expect(readFileSync(join(vol, "a.txt"), "utf8")).toBe("hello\n");
    expect(env.run(["cp", join(h, "src/a.txt"), "cpout:/out/put"]).code).toBe(0);
    expect(env.run(["start", "cpout"]).code).toBe(0);
    expect(sh("cpout", "cat /out/put")).toBe("hello\n");
  });

  test("a hostile container: its symlinks lead nowhere outside it, also when it swaps them during the copy", async () => {
    const h = hostTree();
    const secretDir = join(h, "secret");
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, "key"), "HOST SECRET\n");
    // symlinks to the host's paths (which do not exist in the container)
    idOf(
      env.run([
        "run",
        "-d",
        "--name",
        "evil",
        "berth/busybox",
        "sh",
        "-c",
        `mkdir -p /x; ln -s ${secretDir} /x/dir; ln -s / /x/root; ln -s ${h} /x/drop; ` +
          `while true; do rm -rf /race/d; mkdir -p /race/d; echo inside > /race/d/key; rm -rf /race/d; ln -s ${secretDir} /race/d; done`,
      ]),
    );
    await waitFor(() => env.run(["exec", "evil", "test", "-d", "/x"]).code === 0);
    const read = env.run(["cp", "evil:/x/dir/key", join(h, "stolen")]);
    expect(read.code).toBe(1);
    expect(existsSync(join(h, "stolen"))).toBe(false);
    expect(env.run(["cp", `evil:/x/root${secretDir}/key`, join(h, "stolen2")]).code).toBe(1);
    // writing through a symlink lands inside the container, never on the host
    expect(env.run(["cp", join(h, "src/a.txt"), "evil:/x/root/planted"]).code).toBe(0);
    expect(existsSync("/planted")).toBe(false);
    expect(sh("evil", "cat /planted")).toBe("hello\n");
    expect(env.run(["cp", join(h, "src/a.txt"), "evil:/x/drop/planted"]).code).toBe(1);
    expect(existsSync(join(h, "planted"))).toBe(false);
    // the swap race: whatever a copy catches, it is the container's file or a symlink, never the host's key
    let copied = 0;
    for (let i = 0; i < 30; i++) {
      const dest = join(h, `race${i}`);
      if (env.run(["cp", "evil:/race", dest]).code === 0) copied++;
      const key = join(dest, "d", "key");
      if (existsSync(join(dest, "d")) && !lstatSync(join(dest, "d")).isSymbolicLink() && existsSync(key)) {
        // the container's own file (caught empty or written), never the host's secret
        expect(["", "inside\n"]).toContain(readFileSync(key, "utf8"));
      }
      if (existsSync(join(dest, "d")) && lstatSync(join(dest, "d")).isSymbolicLink()) expect(readlinkSync(join(dest, "d"))).toBe(secretDir);
    }
    expect(copied).toBeGreaterThan(0);
    expect(readFileSync(join(secretDir, "key"), "utf8")).toBe("HOST SECRET\n");
  });

  test("tar streams: cp CONTAINER:PATH - writes an archive; cp - CONTAINER:DIR extracts one inside, hostile names and links refused", async () => {
    const h = hostTree();
    idOf(
      env.run([
        "run",
        "-d",
        "--name",
        "tars",
        "berth/busybox",
        "sh",
        "-c",
        `mkdir -p /data/sub; echo hi > /data/a; echo deep > /data/sub/b; ln -s a /data/l; ln -s ${h} /data/host; sleep 60`,
      ]),
    );
    await waitFor(() => env.run(["exec", "tars", "test", "-L", "/data/host"]).code === 0);
    const out = Bun.spawnSync(["sh", "-c", `${BERTH} cp tars:/data - | tar -tf - | sort`], { env: env.env, stdout: "pipe", stderr: "pipe" });
    expect(out.stdout.toString()).toBe("data\ndata/a\ndata/host\ndata/l\ndata/sub\ndata/sub/b\n");
    const into = Bun.spawnSync(["sh", "-c", `tar -C ${h} -cf - src | ${BERTH} cp - tars:/data`], { env: env.env, stdout: "pipe", stderr: "pipe" });
    expect(into.exitCode).toBe(0);
    expect(sh("tars", "cat /data/src/a.txt /data/src/sub/b.txt; readlink /data/src/link")).toBe("hello\ndeep\na.txt\n");
    // an entry climbing out with .., and one through the container's symlink to a host path
    const evil = async (name: string) => {
      const p = join(h, `${name.replace(/\W/g, "_")}.tar`);
      writeFileSync(p, await packTar([{ header: { name, type: "file" }, data: "x" }]));
      return Bun.spawnSync(["sh", "-c", `${BERTH} cp - tars:/data < ${p}`], { env: env.env, stdout: "pipe", stderr: "pipe" });
    };
    const up = await evil(`../../../..${h}/pwned`);
    expect(up.exitCode).toBe(1);
    expect(up.stderr.toString()).toContain("climbs out");
    const through = await evil("host/pwned2");
    expect(through.exitCode).toBe(1);
    expect(existsSync(join(h, "pwned"))).toBe(false);
    expect(existsSync(join(h, "pwned2"))).toBe(false);
  });
});

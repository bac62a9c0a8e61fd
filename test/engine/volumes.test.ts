// Named volumes: made on first use by `run -v NAME:/path`, data that outlives
// its containers, `volume create/ls/inspect/rm/prune`, removal refused while a
// container refers to the volume, and bad names refused.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineEnv, idOf } from "./helpers.ts";

let env: EngineEnv;
beforeAll(() => {
  env = new EngineEnv();
});
afterEach(() => {
  env.removeAll();
  env.run(["volume", "prune", "-f"]);
});
afterAll(async () => {
  await env.cleanup();
});

describe("named volumes", () => {
  test("run -v NAME:/path makes the volume; its data outlives the container and reaches the next one", () => {
    const w = env.run(["run", "--rm", "-v", "data1:/data", "berth/busybox", "sh", "-c", "echo kept > /data/f; ls /data"]);
    expect(w.stderr).toBe("");
    expect(w.stdout).toBe("f\n");
    expect(readFileSync(join(env.root, "volumes", "data1", "_data", "f"), "utf8")).toBe("kept\n");
    const r = env.run(["run", "--rm", "-v", "data1:/mnt/d:ro", "berth/busybox", "sh", "-c", "cat /mnt/d/f; touch /mnt/d/g 2>/dev/null || echo read-only"]);
    expect(r.stdout).toBe("kept\nread-only\n");
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("data1\n");
    expect(env.leftovers()).toEqual([]);
  });

  test("volume create, ls, inspect, rm; rm refused while a container refers to it", () => {
    expect(env.run(["volume", "create", "v2"]).stdout).toBe("v2\n");
    expect(env.run(["volume", "create", "v2"]).code).toBe(0); // idempotent, as Docker
    const ls = env.run(["volume", "ls"]);
    expect(ls.stdout).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+v2\n$/);
    const id = env.run(["run", "-d", "--name", "user2", "-v", "v2:/v", "berth/busybox", "sh", "-c", "echo abc > /v/x; sleep 30"]).stdout.trim();
    expect(id).toMatch(/^[a-f0-9]{64}$/);
    for (let i = 0; i < 100 && !existsSync(join(env.root, "volumes", "v2", "_data", "x")); i++) Bun.sleepSync(20);
    const info = JSON.parse(env.run(["volume", "inspect", "v2"]).stdout);
    expect(info[0].Name).toBe("v2");
    expect(info[0].Mountpoint).toBe(join(env.root, "volumes", "v2", "_data"));
    expect(info[0].Containers).toEqual(["user2"]);
    expect(info[0].UsageData.Size).toBe(4);
    const busy = env.run(["volume", "rm", "v2"]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("volume v2 is in use by container user2");
    // a stopped container still refers to it
    env.run(["kill", "user2"]);
    expect(env.run(["volume", "rm", "v2"]).code).toBe(1);
    env.run(["rm", "-f", "user2"]);
    expect(env.run(["volume", "rm", "v2"]).stdout).toBe("v2\n");
    expect(existsSync(join(env.root, "volumes", "v2"))).toBe(false);
    const gone = env.run(["volume", "rm", "v2"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("no such volume: v2");
  });

  test("bad names (1, as Docker's daemon errors) and unknown subcommands (125): the reason; nothing made", () => {
    const bad = env.run(["run", "--rm", "-v", "../x:/data", "berth/busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("neither an absolute host path nor a volume name");
    expect(env.run(["volume", "create", ".hidden"]).code).toBe(1);
    expect(env.run(["volume", "frobnicate"]).code).toBe(125);
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("");
    expect(env.leftovers()).toEqual([]);
  });
});

describe("the image's VOLUMEs and copy-up", () => {
  let work = "";
  beforeAll(() => {
    // an image whose VOLUME /data holds a file, owned by uid 1234, as Docker's copy-up must keep
    work = mkdtempSync(join(tmpdir(), "berth-volimg-"));
    const dir = join(work, "rootfs");
    mkdirSync(join(dir, "bin"), { recursive: true });
    mkdirSync(join(dir, "data"), { recursive: true });
    Bun.spawnSync(["cp", "/bin/busybox", join(dir, "bin/busybox")]);
    for (const a of ["sh", "cat", "ls", "echo", "stat", "true", "test", "sleep"]) Bun.spawnSync(["ln", "-s", "busybox", join(dir, "bin", a)]);
    writeFileSync(join(dir, "data/seed"), "from the image\n");
    chownSync(join(dir, "data"), 1234, 1234);
    const tar = join(work, "rootfs.tar");
    expect(Bun.spawnSync(["tar", "-C", dir, "-cf", tar, "."]).exitCode).toBe(0);
    const imp = env.run(["import", "--change", "VOLUME /data", "--change", "ENV PATH=/bin", tar, "localhost/withvol:1"]);
    expect(imp.stderr).toBe("");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test("an uncovered VOLUME becomes an anonymous volume with the image's files; rm -v removes it, rm alone keeps it", () => {
    const id = idOf(env.run(["run", "-d", "localhost/withvol:1", "sh", "-c", "cat /data/seed; echo new > /data/made; stat -c %u /data; sleep 30"]));
    const insp = JSON.parse(env.run(["inspect", id]).stdout)[0];
    const m = insp.Mounts.find((x: { Destination: string }) => x.Destination === "/data");
    expect(m.Type).toBe("volume");
    expect(m.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe(`${m.Name}\n`);
    for (let i = 0; i < 100 && !existsSync(join(m.Source, "made")); i++) Bun.sleepSync(20);
    expect(readFileSync(join(m.Source, "seed"), "utf8")).toBe("from the image\n");
    expect(statSync(m.Source).uid).toBe(1234);
    expect(env.run(["logs", id]).stdout).toBe("from the image\n1234\n");
    expect(env.run(["rm", "-f", "-v", id]).code).toBe(0);
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("");
    // without -v the anonymous volume stays (Docker's rule); with --rm it goes
    const keep = idOf(env.run(["run", "-d", "localhost/withvol:1", "true"]));
    for (let i = 0; i < 100 && env.run(["ps", "-q"]).stdout.includes(keep.slice(0, 12)); i++) Bun.sleepSync(20);
    expect(env.run(["rm", keep]).code).toBe(0);
    expect(env.run(["volume", "ls", "-q"]).stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    env.run(["volume", "prune", "-f"]);
    expect(env.run(["run", "--rm", "localhost/withvol:1", "cat", "/data/seed"]).stdout).toBe("from the image\n");
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("");
  });

  test("an image's HEALTHCHECK (import --change) is run; --no-healthcheck turns it off", async () => {
    const tar = join(work, "rootfs.tar");
    const imp = env.run([
      "import",
      "--change",
      "HEALTHCHECK --interval=200ms --retries=1 CMD test -e /data/seed",
      "--change",
      "ENV PATH=/bin",
      tar,
      "localhost/withhc:1",
    ]);
    expect(imp.stderr).toBe("");
    idOf(env.run(["run", "-d", "--name", "imghc", "localhost/withhc:1", "sh", "-c", "sleep 60"]));
    const status = () => JSON.parse(env.run(["inspect", "imghc"]).stdout)[0].State.Health?.Status;
    for (let i = 0; i < 200 && status() !== "healthy"; i++) await Bun.sleep(25);
    expect(status()).toBe("healthy");
    idOf(env.run(["run", "-d", "--name", "imgnohc", "--no-healthcheck", "localhost/withhc:1", "sh", "-c", "sleep 60"]));
    expect(JSON.parse(env.run(["inspect", "imgnohc"]).stdout)[0].State.Health).toBeUndefined();
    env.run(["rm", "-f", "imghc", "imgnohc"]);
    env.run(["rmi", "localhost/withhc:1"]);
  });

  test("a new named volume starts with the image's files; one with data keeps its own; -v and --tmpfs cover a VOLUME", () => {
    expect(env.run(["run", "--rm", "-v", "seeded:/data", "localhost/withvol:1", "sh", "-c", "cat /data/seed; echo mine > /data/seed"]).stdout).toBe(
      "from the image\n",
    );
    expect(env.run(["run", "--rm", "-v", "seeded:/data", "localhost/withvol:1", "cat", "/data/seed"]).stdout).toBe("mine\n");
    expect(env.run(["run", "--rm", "--tmpfs", "/data", "localhost/withvol:1", "ls", "/data"]).stdout).toBe("");
    expect(env.run(["volume", "ls", "-q"]).stdout).toBe("seeded\n");
  });
});

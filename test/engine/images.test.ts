// Image commands: images, inspect, tag, save/load, import, rmi, and pull
// from Debian's docker-registry on 127.0.0.1.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineEnv, idOf } from "./helpers.ts";
import { startRegistry, skopeoPush, type TestRegistry } from "../image/fixtures/registry.ts";

let env: EngineEnv;
let work: string;
beforeAll(() => {
  env = new EngineEnv();
  work = mkdtempSync(join(tmpdir(), "berth-engine-images-"));
});
afterEach(() => env.removeAll());
afterAll(async () => {
  await env.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe("images", () => {
  test("the built-in image appears by itself; images -q and --format json", () => {
    const t = env.run(["images"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    expect(t.stdout).toMatch(/berth\/busybox\s+latest\s+[a-f0-9]{12}/);
    const q = env.run(["images", "-q"]).stdout.trim().split("\n");
    expect(q.length).toBe(1);
    expect(q[0]).toMatch(/^[a-f0-9]{12}$/);
    const j = JSON.parse(env.run(["images", "--format", "json"]).stdout);
    expect(j[0].Names).toEqual(["docker.io/berth/busybox:latest"]);
    expect(j[0].Id.slice(7, 19)).toBe(q[0]);
    const insp = JSON.parse(env.run(["inspect", "berth/busybox"]).stdout)[0];
    expect(insp.Id).toBe(j[0].Id);
    expect(insp.RootFS.Layers.length).toBe(1);
    expect(insp.Os).toBe("linux");
    // any other --format is a Go template, as in Docker: text without actions is written once per image
    expect(env.run(["images", "--format", "yaml"]).stdout).toBe("yaml\n");
  });

  test("tag, save, rmi, load round trip", () => {
    expect(env.run(["tag", "berth/busybox", "localhost/mine:v1"]).code).toBe(0);
    expect(env.run(["images"]).stdout).toMatch(/localhost\/mine\s+v1/);
    const archive = join(work, "mine.tar");
    const save = env.run(["save", "-o", archive, "localhost/mine:v1"]);
    expect(save.stderr).toBe("");
    expect(existsSync(archive)).toBe(true);
    const rmi = env.run(["rmi", "localhost/mine:v1"]);
    expect(rmi.code).toBe(0);
    expect(rmi.stdout).toContain("Untagged: localhost/mine:v1");
    expect(env.run(["images"]).stdout).not.toContain("localhost/mine");
    const load = env.run(["load", "-i", archive]);
    expect(load.code).toBe(0);
    expect(load.stdout).toContain("Loaded image: localhost/mine:v1");
    expect(env.run(["run", "--rm", "localhost/mine:v1", "echo", "loaded"]).stdout).toBe("loaded\n");
    expect(env.run(["load", "-i", join(work, "nope.tar")]).code).toBe(1);
    expect(env.run(["rmi", "localhost/nothing:1"]).code).toBe(1);
  });

  test("rmi refuses an image a container uses, unless -f", () => {
    expect(env.run(["tag", "berth/busybox", "localhost/used:1"]).code).toBe(0);
    const archive = join(work, "used.tar");
    expect(env.run(["save", "-o", archive, "localhost/used:1"]).code).toBe(0);
    // a distinct image (import) so that rmi would really delete it
    const rootfs = join(work, "rootfs.tar");
    const dir = join(work, "rootfs");
    mkdirSync(join(dir, "bin"), { recursive: true });
    Bun.spawnSync(["cp", "/bin/busybox", join(dir, "bin/busybox")]);
    Bun.spawnSync(["ln", "-s", "busybox", join(dir, "bin/sh")]);
    writeFileSync(join(dir, "hello.txt"), "imported\n");
    expect(Bun.spawnSync(["tar", "-C", dir, "-czf", rootfs, "."]).exitCode).toBe(0);
    const imp = env.run(["import", "--change", 'CMD ["/bin/busybox", "cat", "/hello.txt"]', rootfs, "localhost/imported:1"]);
    expect(imp.stderr).toBe("");
    expect(imp.stdout.trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(env.run(["run", "--rm", "localhost/imported:1"]).stdout).toBe("imported\n");
    const id = idOf(env.run(["run", "-d", "localhost/imported:1", "/bin/sh", "-c", "sleep 60"]));
    const refused = env.run(["rmi", "localhost/imported:1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("in use");
    const forced = env.run(["rmi", "-f", "localhost/imported:1"]);
    expect(forced.code).toBe(0);
    expect(env.leftovers(id)).toEqual([]);
    expect(env.run(["images"]).stdout).not.toContain("localhost/imported");
  });

  test("import names a missing file; any other error (a link loop) is reported as it is", () => {
    const missing = env.run(["import", join(work, "no-such.tar"), "localhost/none:1"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("does not exist or is not a file");
    const loop = join(work, "loop.tar");
    symlinkSync("loop.tar", loop);
    const r = env.run(["import", loop, "localhost/none:1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("ELOOP");
    expect(r.stderr).not.toContain("does not exist");
    expect(env.run(["images"]).stdout).not.toContain("localhost/none");
  });
});

describe("pull from a registry on 127.0.0.1", () => {
  let reg: TestRegistry | undefined;
  beforeAll(async () => {
    reg = await startRegistry(join(work, "registry"));
  });
  afterAll(async () => {
    await reg?.stop();
  });

  test("pull, then run; run --pull=missing pulls by itself", () => {
    const archive = join(work, "push.tar");
    expect(env.run(["save", "-o", archive, "berth/busybox"]).code).toBe(0);
    skopeoPush(`oci-archive:${archive}`, `docker://${reg!.host}/test/bb:1`);
    skopeoPush(`oci-archive:${archive}`, `docker://${reg!.host}/test/bb:2`);
    const pull = env.run(["pull", "--tls-verify=false", `${reg!.host}/test/bb:1`]);
    expect(pull.stderr).toContain("Pulled");
    expect(pull.code).toBe(0);
    expect(pull.stdout.trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(env.run(["images"]).stdout).toContain(`${reg!.host}/test/bb`);
    expect(env.run(["run", "--rm", `${reg!.host}/test/bb:1`, "echo", "pulled"]).stdout).toBe("pulled\n");
    const auto = env.run(["run", "--rm", "--tls-verify=false", `${reg!.host}/test/bb:2`, "echo", "auto"]);
    expect(auto.stdout).toBe("auto\n");
    const missing = env.run(["pull", "--tls-verify=false", `${reg!.host}/test/bb:nope`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("manifest unknown");
  });
});

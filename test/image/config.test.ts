import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { imageToProcess, normalizeSignal, resolveUser } from "../../src/image/config.ts";
import type { ImageConfig } from "../../src/image/types.ts";
import { removeDir, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

function rootfs(): string {
  const d = tempDir();
  dirs.push(d);
  mkdirSync(join(d, "etc"));
  writeFileSync(
    join(d, "etc/passwd"),
    ["root:x:0:0:root:/root:/bin/sh", "app:x:1000:1000:App:/home/app:/bin/sh", "# a comment", "nobody:x:65534:65534:nobody:/nonexistent:/bin/false"].join(
      "\n",
    ) + "\n",
  );
  writeFileSync(join(d, "etc/group"), ["root:x:0:", "app:x:1000:", "audio:x:29:app,other", "video:x:44:app", "staff:x:50:"].join("\n") + "\n");
  return d;
}

const base: ImageConfig = {
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [] },
  config: {
    Entrypoint: ["/entry"],
    Cmd: ["--default"],
    Env: ["PATH=/custom/bin", "A=1"],
    WorkingDir: "/srv",
    User: "app",
    ExposedPorts: { "80/tcp": {}, "53/udp": {}, "8080": {} },
    Volumes: { "/data": {}, "/cache": {} },
    StopSignal: "SIGQUIT",
  },
};

describe("imageToProcess", () => {
  test("Entrypoint + Cmd, env, cwd, user, ports, volumes, stop signal", () => {
    const p = imageToProcess(base, {}, rootfs());
    expect(p.args).toEqual(["/entry", "--default"]);
    expect(p.env).toEqual(["PATH=/custom/bin", "A=1", "HOME=/home/app"]);
    expect(p.cwd).toBe("/srv");
    expect(p.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 44] });
    expect(p.stopSignal).toBe("SIGQUIT");
    expect(p.exposedPorts).toEqual([
      { port: 53, protocol: "udp" },
      { port: 80, protocol: "tcp" },
      { port: 8080, protocol: "tcp" },
    ]);
    expect(p.volumes).toEqual(["/cache", "/data"]);
  });

  test("overrides follow Docker's rules", () => {
    const r = rootfs();
    expect(imageToProcess(base, { cmd: ["x"] }, r).args).toEqual(["/entry", "x"]);
    expect(imageToProcess(base, { entrypoint: ["/other"] }, r).args).toEqual(["/other"]);
    expect(imageToProcess(base, { entrypoint: ["/other"], cmd: ["y"] }, r).args).toEqual(["/other", "y"]);
    expect(imageToProcess(base, { entrypoint: [""], cmd: ["/bin/true"] }, r).args).toEqual(["/bin/true"]);
    const p = imageToProcess(base, { env: ["A=2", "B=3"], workdir: "/tmp", user: "0" }, r);
    expect(p.env).toEqual(["PATH=/custom/bin", "A=2", "B=3", "HOME=/root"]);
    expect(p.cwd).toBe("/tmp");
    expect(p.user).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    expect(() => imageToProcess(base, { entrypoint: [""] }, r)).toThrow("no command specified");
    expect(() => imageToProcess(base, { env: ["NOVALUE"] }, r)).toThrow('env[0]: "NOVALUE" is not KEY=VALUE');
    expect(() => imageToProcess(base, { workdir: "rel" }, r)).toThrow("must be an absolute path");
  });

  test("defaults: PATH, HOME=/ without passwd, root user, SIGTERM", () => {
    const p = imageToProcess({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: { Cmd: ["/bin/sh"] } });
    expect(p.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"]);
    expect(p.user).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    expect(p.cwd).toBe("/");
    expect(p.stopSignal).toBe("SIGTERM");
  });
});

describe("user resolution", () => {
  test("names and numbers, with and without entries", () => {
    const r = rootfs();
    expect(resolveUser("app:staff", r)).toMatchObject({ uid: 1000, gid: 50, additionalGids: [] });
    expect(resolveUser("1000:44", r)).toMatchObject({ uid: 1000, gid: 44 });
    expect(resolveUser("4242", r)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/" });
    expect(resolveUser("4242:4343", r)).toMatchObject({ uid: 4242, gid: 4343 });
    expect(resolveUser("nobody", r)).toMatchObject({ uid: 65534, gid: 65534, home: "/nonexistent" });
    expect(() => resolveUser("ghost", r)).toThrow("unable to find user ghost");
    expect(() => resolveUser("app:ghosts", r)).toThrow("unable to find group ghosts");
    expect(() => resolveUser("app", undefined)).toThrow("unable to find user app");
  });

  test("an /etc/passwd symlink is resolved inside the image, not on the host", () => {
    const d = tempDir();
    dirs.push(d);
    mkdirSync(join(d, "etc"));
    mkdirSync(join(d, "real"));
    writeFileSync(join(d, "real/passwd"), "inside:x:77:77::/in:/bin/sh\n");
    symlinkSync("/real/passwd", join(d, "etc/passwd"));
    expect(resolveUser("inside", d)).toMatchObject({ uid: 77, home: "/in" });
    // a link to the host's /etc/passwd points at <rootfs>/etc/passwd, which is the link itself
    symlinkSync("/etc/passwd", join(d, "etc/group"));
    expect(() => resolveUser("inside:root", d)).toThrow("unable to find group root");
  });

  test("signals", () => {
    expect(normalizeSignal("term")).toBe("SIGTERM");
    expect(normalizeSignal("9")).toBe("SIGKILL");
    expect(normalizeSignal("SIGRTMIN+3")).toBe("SIGRTMIN+3");
    expect(() => normalizeSignal("SIGNOPE")).toThrow("unknown signal");
  });
});

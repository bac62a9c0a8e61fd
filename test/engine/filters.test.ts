// --filter as Docker documents it: ps (status, name, label, ancestor, id,
// exited, before/since, volume, network), images (dangling, label, reference,
// before/since), volume ls (dangling, name, label, driver), prune (until,
// label). Values of one key are alternatives; different keys all apply;
// an unknown key is an error.
import { describe, expect, test } from "bun:test";
import { engineEnvForFile, idOf } from "./helpers.ts";

const env = engineEnvForFile();
const names = (args: string[]) => {
  const r = env.run(args);
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean).sort();
};

describe("ps --filter", () => {
  test("status, exited, name, label, id, ancestor, before/since, volume, network", () => {
    env.run(["run", "--name", "f-ok", "-l", "app=x", "berth/busybox", "true"]);
    env.run(["run", "--name", "f-bad", "-l", "app=y", "-l", "tier=db", "berth/busybox", "sh", "-c", "exit 3"]);
    const up = idOf(env.run(["run", "-d", "--name", "f-up", "-l", "app=x", "-v", "fvol:/data", "berth/busybox", "sleep", "30"]));
    const fmt = ["--format", "{{.Names}}"];
    // status= and exited= list stopped containers without -a, as Docker
    expect(names(["ps", "--filter", "status=exited", ...fmt])).toEqual(["f-bad", "f-ok"]);
    expect(names(["ps", "-a", "-q", "--filter", "status=exited", "--no-trunc"]).length).toBe(2);
    expect(names(["ps", "-a", "--filter", "exited=3", ...fmt])).toEqual(["f-bad"]);
    expect(names(["ps", "-a", "--filter", "exited=0", "--filter", "exited=3", ...fmt])).toEqual(["f-bad", "f-ok"]);
    expect(names(["ps", "--filter", "status=running", ...fmt])).toEqual(["f-up"]);
    expect(names(["ps", "-a", "-f", "name=f-", ...fmt])).toEqual(["f-bad", "f-ok", "f-up"]);
    expect(names(["ps", "-a", "-f", "name=^/f-ok$", ...fmt])).toEqual(["f-ok"]);
    expect(names(["ps", "-a", "-f", "label=app=x", ...fmt])).toEqual(["f-ok", "f-up"]);
    expect(names(["ps", "-a", "-f", "label=app", "-f", "label=tier", ...fmt])).toEqual(["f-bad"]);
    expect(names(["ps", "-a", "-f", "label=app=x", "-f", "status=running", ...fmt])).toEqual(["f-up"]);
    expect(names(["ps", "-a", "-f", `id=${up.slice(0, 8)}`, ...fmt])).toEqual(["f-up"]);
    expect(names(["ps", "-a", "-f", "ancestor=berth/busybox", ...fmt]).length).toBe(3);
    expect(names(["ps", "-a", "-f", "ancestor=berth/busybox:latest", "-f", "status=running", ...fmt])).toEqual(["f-up"]);
    expect(names(["ps", "-a", "-f", "ancestor=nosuch/image", ...fmt])).toEqual([]);
    expect(names(["ps", "-a", "-f", "before=f-up", ...fmt])).toEqual(["f-bad", "f-ok"]);
    expect(names(["ps", "-a", "-f", "since=f-ok", ...fmt])).toEqual(["f-bad", "f-up"]);
    expect(names(["ps", "-a", "-f", "volume=fvol", ...fmt])).toEqual(["f-up"]);
    expect(names(["ps", "-a", "-f", "volume=/data", ...fmt])).toEqual(["f-up"]);
    expect(names(["ps", "-a", "-f", "network=none", ...fmt]).length).toBe(3);
    expect(names(["ps", "-a", "-f", "network=host", ...fmt])).toEqual([]);
    env.run(["rm", "-f", "f-up"]);
    expect(env.run(["volume", "rm", "fvol"]).code).toBe(0);
  });

  test("an unknown key or a bad value is an error naming it", () => {
    const a = env.run(["ps", "--filter", "color=red"]);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain("invalid filter 'color'");
    expect(env.run(["ps", "--filter", "status=sleeping"]).stderr).toContain("invalid filter 'status=sleeping'");
    expect(env.run(["ps", "--filter", "nokey"]).code).toBe(1);
  });
});

describe("images, volume ls and prune --filter", () => {
  test("images: reference, label, dangling, before/since", () => {
    expect(env.run(["tag", "berth/busybox", "localhost/other:v1"]).code).toBe(0);
    const fmt = ["--format", "{{.Repository}}:{{.Tag}}"];
    expect(names(["images", "--filter", "reference=berth/*", ...fmt])).toEqual(["berth/busybox:latest"]);
    expect(names(["images", "--filter", "reference=*/other:v1", ...fmt])).toEqual(["localhost/other:v1"]);
    expect(names(["images", "--filter", "dangling=true", ...fmt])).toEqual([]);
    expect(names(["images", "--filter", "dangling=false", ...fmt]).length).toBe(2);
    expect(names(["images", "--filter", "label=nosuch", ...fmt])).toEqual([]);
    expect(names(["images", "--filter", "before=berth/busybox", ...fmt])).toEqual([]);
    expect(env.run(["images", "--filter", "dangling=maybe"]).code).toBe(1);
    expect(env.run(["rmi", "localhost/other:v1"]).code).toBe(0);
  });

  test("volume ls: dangling, name, driver; prune: label, until", () => {
    env.run(["volume", "create", "fv-free"]);
    idOf(env.run(["run", "-d", "--name", "fv-user", "-v", "fv-used:/d", "berth/busybox", "sleep", "30"]));
    expect(names(["volume", "ls", "-q", "--filter", "dangling=true"])).toEqual(["fv-free"]);
    expect(names(["volume", "ls", "-q", "--filter", "dangling=false"])).toEqual(["fv-used"]);
    expect(names(["volume", "ls", "-q", "--filter", "name=used"])).toEqual(["fv-used"]);
    expect(names(["volume", "ls", "-q", "--filter", "driver=local"])).toEqual(["fv-free", "fv-used"]);
    // volumes carry no labels: a label filter selects none of them for prune
    expect(env.run(["volume", "prune", "-f", "--filter", "label=keep"]).stdout).toBe("");
    expect(env.run(["volume", "prune", "-f", "--filter", "until=1h"]).stdout).toBe("");
    expect(env.run(["volume", "prune", "-f"]).stdout).toContain("fv-free");
    env.run(["rm", "-f", "fv-user"]);
    env.run(["volume", "rm", "fv-used"]);
    // container prune: label= and label!= select; until= keeps the new ones
    env.run(["run", "--name", "fp-a", "-l", "keep=1", "berth/busybox", "true"]);
    env.run(["run", "--name", "fp-b", "berth/busybox", "true"]);
    expect(env.run(["container", "prune", "-f", "--filter", "until=1h"]).stdout).toBe("");
    env.run(["container", "prune", "-f", "--filter", "label!=keep"]);
    expect(names(["ps", "-a", "--format", "{{.Names}}"])).toEqual(["fp-a"]);
    env.run(["container", "prune", "-f", "--filter", "label=keep=1"]);
    expect(names(["ps", "-a", "--format", "{{.Names}}"])).toEqual([]);
    expect(env.run(["container", "prune", "--filter", "color=red"]).stderr).toContain("invalid filter 'color'");
  });
});

// Container escapes of the published runtime advisories, replayed against
// berth as hostile configs and images. Each test performs the attack for real
// and harmlessly: on a copy of the berth install, on fs.lease-break-time (a
// host-global value nothing here depends on, restored afterwards), on
// temporary directories.
import { beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, copyFileSync, openSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, ctest, ok, REPO, waitFor, type Ctx, type Result } from "../runtime/helpers.ts";

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

let thief = "";
beforeAll(() => {
  // a static program: it runs in a busybox rootfs
  thief = join(REPO, "build/test-exe-thief");
  const src = join(import.meta.dir, "fixtures/exe-thief.c");
  const r = spawnSync("gcc", ["-static", "-O", "-Wall", "-o", thief, src], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`compiling ${src}: ${r.stderr}`);
});

/** A copy of the berth install (the executable and its core) in a temporary directory: the attacks overwrite this one. */
function installCopy(c: Ctx): { dir: string; berth: string; files: string[] } {
  const dir = c.tempDir("install");
  const files: string[] = [];
  for (const name of readdirSync(join(REPO, "dist"))) {
    const from = join(REPO, "dist", name);
    if (!statSync(from).isFile()) continue;
    copyFileSync(from, join(dir, name));
    chmodSync(join(dir, name), statSync(from).mode & 0o7777);
    files.push(join(dir, name));
  }
  return { dir, berth: join(dir, "berth"), files };
}

/** Runs the copied berth with --root; its output goes to files (a detached container keeps them open). */
function spawnCopy(c: Ctx, berth: string, args: string[], stdin: "pipe" | "ignore" = "ignore") {
  const env = { ...process.env };
  delete env.BERTH_CORE;
  const dir = c.tempDir("out");
  const out = openSync(join(dir, "out"), "w+"), err = openSync(join(dir, "err"), "w+");
  const p = Bun.spawn([berth, "--root", c.root, ...args], { stdio: [stdin, out, err], env, cwd: REPO });
  c.trackPid(p.pid);
  const done: Promise<Result> = p.exited.then((code) => {
    closeSync(out);
    closeSync(err);
    return { code, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  });
  return { p, done };
}

describe("the runtime binary (CVE-2019-5736)", () => {
  ctest(
    "a container running /proc/self/exe, watched by a container in the host's PID namespace, cannot overwrite berth",
    async (c) => {
      const inst = installCopy(c);
      const before = inst.files.map(sha);
      // the attacker: default capabilities, the host's PID namespace, looking for berth-core
      const a = c.bundle(["/thief", "berth-core", "8", "/out"], (cfg) => {
        cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== "pid");
        cfg.root!.readonly = false;
      });
      copyFileSync(thief, join(a.rootfs, "thief"));
      chmodSync(join(a.rootfs, "thief"), 0o755);
      const out = join(a.rootfs, "out");
      spawnSync("mkdir", ["-p", out]);
      const aId = c.id("thief");
      ok(await spawnCopy(c, inst.berth, ["run", "-d", "--bundle", a.dir, aId]).done);
      expect(await waitFor(() => existsSync(join(out, "ready")), 5000)).toBe(true);
      // victim 1: a foreground run whose program is the runtime itself, kept
      // waiting on its stdin (the core's plan channel) while the attacker looks
      const v1 = c.bundle(["/proc/self/exe", "0", "unsealed"]);
      const r1 = spawnCopy(c, inst.berth, ["run", "--bundle", v1.dir, c.id("self")], "pipe");
      await waitFor(() => existsSync(join(out, "grabbed")), 3000);
      r1.p.stdin!.end();
      await r1.done;
      // victim 2: a program that is a script whose interpreter is /proc/self/exe
      const v2 = c.bundle(["/evil"]);
      writeFileSync(join(v2.rootfs, "evil"), "#!/proc/self/exe\n", { mode: 0o755 });
      for (let i = 0; i < 5; i++) await spawnCopy(c, inst.berth, ["run", "--bundle", v2.dir, c.id("script")]).done;
      expect(await waitFor(() => existsSync(join(out, "result")), 15000)).toBe(true);
      const result = readFileSync(join(out, "result"), "utf8").trim();
      expect(result).toEndWith("wrote=0");
      expect(inst.files.map(sha)).toEqual(before);
    },
    60000,
  );
});

describe("exec --cap (CVE-2022-29162)", () => {
  ctest("the capability is not inheritable: a non-root process and its children do not keep it", async (c) => {
    const id = c.id("cap");
    ok(await c.run(c.bundle(["sleep", "30"]), id, ["-d"]));
    const caps = (user: string[]) => c.berth(["exec", ...user, "--cap", "CAP_NET_RAW", id, "sh", "-c", "grep ^Cap /proc/self/status"]);
    const bit = (text: string, key: string) => BigInt(`0x${text.match(new RegExp(`^${key}:\\s*(\\w+)`, "m"))![1]}`);
    const NET_RAW = 1n << 13n;
    // root: the capability is there to use, and only in the sets runc gives it
    const root = ok(await caps([])).stdout;
    expect(bit(root, "CapEff") & NET_RAW).toBe(NET_RAW);
    expect(bit(root, "CapInh")).toBe(0n);
    expect(bit(root, "CapAmb")).toBe(0n);
    // a non-root process (and so any child of it) gets nothing through exec
    const user = ok(await caps(["--user", "1000:1000"])).stdout;
    expect(bit(user, "CapInh")).toBe(0n);
    expect(bit(user, "CapAmb")).toBe(0n);
    expect(bit(user, "CapPrm") & NET_RAW).toBe(0n);
  });
});

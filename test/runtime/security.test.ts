// Attacks, tried for real: a hostile rootfs whose mount destinations are
// symlinks out of it, the /proc/PID/exe overwrite of the runtime binary,
// leaked descriptors, and undoing a masked path.
import { describe, expect } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, closeSync } from "node:fs";
import { join } from "node:path";
import { alive, berthOnly, ctest, Ctx, kv, ok, REPO, waitFor } from "./helpers.ts";

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(`${rel}${e.name}${e.isDirectory() ? "/" : ""}`);
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (e.isFile()) out.push(`  ${readFileSync(join(d, e.name), "utf8")}`);
    }
  };
  walk(dir, "");
  return out.sort();
}

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("hostile rootfs", () => {
  ctest("mount destinations that are symlinks out of the rootfs land inside it; the host stays untouched", async (c) => {
    // four host directories the hostile image points at
    const v = [1, 2, 3, 4].map(() => c.tempDir("victim"));
    writeFileSync(join(v[2]!, "precious"), "host data\n");
    mkdirSync(join(v[3]!, "sub"));
    const before = v.map(snapshot);
    const src = c.tempDir("src");
    writeFileSync(join(src, "payload"), "from the container config\n");
    const b = c.bundle(["sh", "-c", "echo ---; cat /proc/self/mountinfo; echo ---; cat /abs/payload; cat /etc/hostname"], (cfg) => {
      cfg.mounts!.push(
        // an absolute symlink to a host directory
        { destination: "/abs", type: "bind", source: src, options: ["bind", "ro"] },
        // a missing directory below an absolute symlink: created inside the rootfs, not on the host
        { destination: "/abs2/newdir", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
        // a relative ../ escape
        { destination: "/rel/deeper", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
        // a file bind whose destination is a symlink to a host file
        { destination: "/etc/hostname", type: "bind", source: join(src, "payload"), options: ["bind", "ro"] },
        // a file bind into a symlinked directory, the destination file missing
        { destination: "/abs4/newfile", type: "bind", source: join(src, "payload"), options: ["bind", "ro"] },
      );
    });
    symlinkSync(v[0]!, join(b.rootfs, "abs"));
    symlinkSync(v[1]!, join(b.rootfs, "abs2"));
    symlinkSync(`../../../../../../../../../../..${v[1]}`, join(b.rootfs, "rel"));
    symlinkSync(join(v[2]!, "precious"), join(b.rootfs, "etc/hostname"));
    symlinkSync(join(v[3]!, "sub"), join(b.rootfs, "abs4"));
    const r = ok(await c.run(b));
    const points = r.stdout
      .split("---")[1]!
      .split("\n")
      .map((l) => l.split(" ")[4]);
    // inside the container the links were followed as if the rootfs were "/"
    expect(points).toContain(v[0]);
    expect(points).toContain(`${v[1]}/newdir`);
    expect(points).toContain(`${v[1]}/deeper`);
    expect(points).toContain(`${v[2]}/precious`);
    expect(points).toContain(`${v[3]}/sub/newfile`);
    expect(r.stdout.split("---")[2]!.trim()).toBe("from the container config\nfrom the container config");
    // on the host nothing changed: no new directories or files, no data written
    expect(v.map(snapshot)).toEqual(before);
    expect(readFileSync(join(v[2]!, "precious"), "utf8")).toBe("host data\n");
    // what was missing was created in the rootfs
    expect(existsSync(join(b.rootfs, v[1]!.slice(1), "newdir"))).toBe(true);
    expect(existsSync(join(b.rootfs, v[3]!.slice(1), "sub/newfile"))).toBe(true);
  });

  ctest("devices and masked paths behind symlinks stay inside the rootfs", async (c) => {
    const victim = c.tempDir("victim");
    writeFileSync(join(victim, "file"), "host data\n");
    const before = snapshot(victim);
    const b = c.bundle(["sh", "-c", "ls /dev/evil/ 2>&1; cat /masked 2>&1 | wc -c"], (cfg) => {
      cfg.linux!.devices = [
        { path: "/dev/null", type: "c", major: 1, minor: 3 },
        { path: "/dev/evil/node", type: "c", major: 1, minor: 3 },
      ];
      // access to them is decided by the device rules alone (as runc does)
      const resources = (cfg.linux!.resources ??= {});
      resources.devices = [...(resources.devices ?? []), { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }];
      cfg.linux!.maskedPaths = [...cfg.linux!.maskedPaths!, "/masked"];
      cfg.mounts = cfg.mounts!.filter((m) => m.destination !== "/dev" && !m.destination.startsWith("/dev/"));
      cfg.root!.readonly = false;
    });
    // the image's /dev is a symlink to a host directory (no tmpfs over /dev here)
    symlinkSync(victim, join(b.rootfs, "dev/evil"));
    mkdirSync(join(b.rootfs, "dev/pts"), { recursive: true });
    symlinkSync(join(victim, "file"), join(b.rootfs, "masked"));
    const r = ok(await c.run(b));
    expect(snapshot(victim)).toEqual(before);
    expect(readFileSync(join(victim, "file"), "utf8")).toBe("host data\n");
    // the device node was made inside the rootfs, where the link points when the rootfs is "/"
    expect(r.stdout).toContain("node");
    expect(existsSync(join(b.rootfs, victim.slice(1), "node"))).toBe(true);
  });
});

describe("the runtime binary", () => {
  ctest("a .env or bunfig.toml in the working directory (a bundle) changes nothing berth runs", async (c) => {
    // containerd and Podman call the runtime with the bundle as its working
    // directory; Bun executables would load both files from there by default
    const b = c.bundle(["true"]);
    const marker = join(c.tempDir("marker"), "pwned");
    const evil = join(c.tempDir("evil"), "evil");
    writeFileSync(evil, `#!/bin/sh\necho core > ${marker}\n`, { mode: 0o755 });
    writeFileSync(`${evil}.js`, `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "preload");\n`);
    writeFileSync(join(b.dir, ".env"), `BERTH_CORE=${evil}\nBERTH_TRACE=1\n`);
    writeFileSync(join(b.dir, "bunfig.toml"), `preload = [${JSON.stringify(`${evil}.js`)}]\n`);
    const r = ok(await c.berth(["run", c.id("dotenv")], { cwd: b.dir }));
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).not.toContain("[trace");
  });

  /** Tries to write the executable behind /proc/PID/exe; true if it worked. */
  function writableExe(pid: number): boolean {
    try {
      const fd = openSync(`/proc/${pid}/exe`, "r+");
      try {
        writeFileSync(fd, "overwritten");
        return true;
      } finally {
        closeSync(fd);
      }
    } catch {
      return false;
    }
  }

  /** The core's executable is its sealed memfd copy or the file on berth's private read-only mount (`/berth-core`), never the host's path. */
  function protectedExe(pid: number): void {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    if (!exe.startsWith("/memfd:berth-core")) expect(exe).toBe("/berth-core");
  }

  ctest(
    "a created container's waiting init runs from a sealed or read-only copy: the host binary cannot be reached or overwritten",
    async (c) => {
      const core = join(REPO, "dist/berth-core");
      const before = sha(core);
      const id = c.id("exe");
      const b = c.bundle(["true"]);
      ok(await c.berth(["create", "--bundle", b.dir, id]));
      const pid = (await c.state(id)).pid as number;
      // until `start`, the container's init is the core: an `exec` could reach it
      protectedExe(pid);
      // even root on the host cannot write it
      expect(writableExe(pid)).toBe(false);
      ok(await c.berth(["delete", "--force", id]));
      expect(sha(core)).toBe(before);
    },
    30000,
    { skip: berthOnly("berth-core's sealed copy and its memfd name") },
  );

  /** The core's pid for a foreground `run` of BUNDLE (the parent of the container's init). */
  async function foregroundCore(c: Ctx, id: string, dir: string) {
    const run = c.berth(["run", "--bundle", dir, id]);
    let st: Record<string, unknown> = {};
    expect(
      await waitFor(
        () => existsSync(join(c.root, id, "state.json")) && ((st = JSON.parse(readFileSync(join(c.root, id, "state.json"), "utf8"))), st.status === "running"),
        5000,
      ),
    ).toBe(true);
    const pid = st.pid as number;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return { run, pid, corePid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) };
  }

  ctest(
    "foreground run: the core always runs from a sealed or read-only copy (a container's #!/proc/self/exe reaches only that)",
    async (c) => {
      const core = join(REPO, "dist/berth-core");
      const before = sha(core);
      // with CAP_SYS_PTRACE, without a PID namespace of its own, and in the plain
      // case: the core is sealed in every one (test/security/escapes.test.ts
      // shows the overwrite a plain foreground run allowed when it was not,
      // and that neither copy can be written once the core has exited)
      const bundles = [
        c.bundle(["sh", "-c", "sleep 30"], (cfg) => cfg.process!.capabilities!.bounding!.push("CAP_SYS_PTRACE")),
        c.bundle(["sh", "-c", "sleep 30"], (cfg) => (cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== "pid"))),
        c.bundle(["sh", "-c", "sleep 30"]),
      ];
      for (const b of bundles) {
        const id = c.id("fg");
        const r = await foregroundCore(c, id, b.dir);
        protectedExe(r.corePid);
        expect(writableExe(r.corePid)).toBe(false);
        ok(await c.berth(["kill", id, "KILL"]));
        await r.run;
      }
      expect(sha(core)).toBe(before);
    },
    30000,
    { skip: berthOnly("berth-core's sealed copy") },
  );

  ctest("a container racing every exec to write /proc/PID/exe changes nothing on the host", async (c) => {
    const files = [join(REPO, "dist/berth-core"), join(REPO, "dist/berth")].filter(existsSync);
    const before = files.map(sha);
    const id = c.id("race");
    // the attacker: keeps trying to open every process's exe for writing
    const attack =
      "end=$(( $(date +%s) + 2 )); n=0; while [ $(date +%s) -lt $end ]; do for p in /proc/[0-9]*; do [ $p = /proc/$$ ] && continue; (echo pwned >> $p/exe) 2>/dev/null && n=$((n+1)); done; done; echo wrote=$n > /tmp/result";
    const b = c.bundle(["sh", "-c", attack], (cfg) => (cfg.root!.readonly = false));
    ok(await c.run(b, id, ["-d"]));
    const init = (await c.state(id)).pid as number;
    for (let i = 0; i < 15 && alive(init); i++) await c.berth(["exec", id, "true"]);
    expect(await waitFor(() => !alive(init), 8000)).toBe(true);
    expect(readFileSync(join(b.rootfs, "tmp/result"), "utf8").trim()).toBe("wrote=0");
    expect(files.map(sha)).toEqual(before);
  });
});

describe("descriptors and masks", () => {
  ctest("no host descriptor leaks into the container or an exec'd process", async (c) => {
    const id = c.id("fds");
    // the listing goes straight to stdout: in a pipeline sh holds the pipe's ends while ls lists its table
    const r = ok(await c.run(c.bundle(["sh", "-c", "ls /proc/$$/fd; true"]), c.id("fdrun")));
    expect(r.stdout.trim().split(/\s+/).join(" ")).toBe("0 1 2");
    ok(await c.run(c.bundle(["sleep", "30"]), id, ["-d"]));
    const init = (await c.state(id)).pid as number;
    // the detached init: stdio only (from the host, its fd table is visible directly)
    expect(readdirSync(`/proc/${init}/fd`).sort()).toEqual(["0", "1", "2"]);
    const e = ok(await c.berth(["exec", id, "sh", "-c", "ls /proc/$$/fd; true"]));
    expect(e.stdout.trim().split(/\s+/).join(" ")).toBe("0 1 2");
  });

  ctest("a masked path cannot be unmasked or read, even by root in the container", async (c) => {
    const r = ok(
      await c.sh(
        "umount /proc/kcore 2>/dev/null; umount -l /proc/kcore 2>/dev/null; echo kcore=$(head -c 64 /proc/kcore | wc -c); umount /proc/acpi 2>/dev/null; echo acpi=$(ls -A /proc/acpi | wc -l); echo keys=$(wc -c < /proc/keys)",
        (cfg) => {
          // a privileged-looking process user: still no CAP_SYS_ADMIN
          cfg.process!.capabilities!.bounding!.push("CAP_DAC_OVERRIDE");
          cfg.process!.capabilities!.effective!.push("CAP_DAC_OVERRIDE");
          cfg.process!.capabilities!.permitted!.push("CAP_DAC_OVERRIDE");
        },
      ),
    );
    const v = kv(r.stdout);
    expect(v.kcore).toBe("0");
    expect(v.acpi).toBe("0");
    expect(v.keys).toBe("0");
  });
});

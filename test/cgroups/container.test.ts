// The cgroup side of whole containers: device rules (the security boundary),
// a frozen cgroup refused at create, hugetlb limits on a hybrid host.
import { describe, expect } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { ctest, kv, ok, type Ctx } from "../runtime/helpers.ts";
import { isRoot, layout, uniqueId } from "./helpers.ts";

/** A process's cgroup in the hierarchy of `ctrl` ("" for cgroup2), as the host sees it. */
function cgroupOf(pid: number, ctrl: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const [, ctrls, path] = line.split(":");
    if (ctrls !== undefined && (ctrl === "" ? line.startsWith("0::") : ctrls.split(",").includes(ctrl))) return path!;
  }
  throw new Error(`process ${pid} has no ${ctrl || "cgroup2"} cgroup`);
}

const KMSG = { path: "/dev/kmsg", type: "c" as const, major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 };
// opening /dev/kmsg for reading also needs CAP_SYSLOG (dmesg_restrict): give it,
// so that only the device cgroup can say no
const PROBE = [
  "[ -c /dev/kmsg ] && echo node=yes || echo node=no",
  "(: < /dev/kmsg) 2>/dev/null && echo read=allowed || echo read=denied",
  "(: > /dev/kmsg) 2>/dev/null && echo write=allowed || echo write=denied",
].join("; ");

describe.skipIf(!isRoot || layout.mode === "none")("device access comes from linux.resources.devices alone", () => {
  // runtime-spec config-linux: linux.devices lists the nodes to create;
  // access is what linux.resources.devices allows (runc adds no allow rule
  // for a listed device, and so a deny-all keeps it unusable). The attack:
  // a config that lists a host device and denies all still read it.
  ctest("a device in linux.devices cannot be opened under a deny-all rule (v1 devices.deny / v2 eBPF)", async (c) => {
    const r = ok(
      await c.sh(PROBE, (cfg) => {
        cfg.linux!.devices = [KMSG];
        cfg.linux!.resources = { devices: [{ allow: false, access: "rwm" }] };
        for (const k of ["bounding", "effective", "permitted"] as const) cfg.process!.capabilities![k]!.push("CAP_SYSLOG");
      }),
    );
    expect(kv(r.stdout)).toEqual({ node: "yes", read: "denied", write: "denied" });
  });

  ctest("the same device is usable as far as the config's rules allow it (here: read only)", async (c) => {
    const r = ok(
      await c.sh(PROBE, (cfg) => {
        cfg.linux!.devices = [KMSG];
        cfg.linux!.resources = {
          devices: [
            { allow: false, access: "rwm" },
            { allow: true, type: "c", major: 1, minor: 11, access: "r" },
          ],
        };
        for (const k of ["bounding", "effective", "permitted"] as const) cfg.process!.capabilities![k]!.push("CAP_SYSLOG");
      }),
    );
    expect(kv(r.stdout)).toEqual({ node: "yes", read: "allowed", write: "denied" });
  });
});

/** Where a cgroup path is frozen from: the v1 freezer, else the cgroup2 tree. */
function freezerPlaces(): { dir: (p: string) => string; freeze: (d: string) => void; thaw: (d: string) => void; frozen: (d: string) => boolean }[] {
  const out = [];
  const v1 = layout.v1["freezer"]?.mountpoint;
  if (v1) {
    out.push({
      dir: (p: string) => `${v1}${p}`,
      freeze: (d: string) => writeFileSync(`${d}/freezer.state`, "FROZEN"),
      thaw: (d: string) => writeFileSync(`${d}/freezer.state`, "THAWED"),
      frozen: (d: string) => readFileSync(`${d}/freezer.state`, "utf8").trim() === "FROZEN",
    });
  }
  const v2 = layout.unified?.mountpoint;
  if (v2 && layout.unified!.root === "/") {
    out.push({
      dir: (p: string) => `${v2}${p}`,
      freeze: (d: string) => writeFileSync(`${d}/cgroup.freeze`, "1"),
      thaw: (d: string) => writeFileSync(`${d}/cgroup.freeze`, "0"),
      frozen: (d: string) => readFileSync(`${d}/cgroup.freeze`, "utf8").trim() === "1",
    });
  }
  return out;
}

/** A frozen cgroup of the test's own (thawed and removed afterwards). */
function frozenCgroup(c: Ctx, place: ReturnType<typeof freezerPlaces>[number]): { path: string; dir: string } {
  const path = `/${uniqueId("frozen")}`;
  const dir = place.dir(path);
  mkdirSync(dir);
  c.defer(() => {
    place.thaw(dir);
    rmdirSync(dir);
  });
  place.freeze(dir);
  return { path, dir };
}

describe.skipIf(!isRoot || layout.mode === "none")("a frozen cgroup is refused at create, not waited on", () => {
  // runc: "container's cgroup unexpectedly frozen" (run, create). A process put
  // into a frozen cgroup, or one below it, stops at once; berth-core used to
  // wait for its init for ever.
  for (const [i, place] of freezerPlaces().entries()) {
    const which = place.dir("").includes("freezer") ? "v1 freezer" : "cgroup2 cgroup.freeze";
    ctest(`${which}: run -d and create below a frozen cgroup, or in it, fail at once; it stays frozen and nothing is left`, async (c) => {
      const { path, dir } = frozenCgroup(c, place);
      for (const [cmd, cgPath] of [
        ["run", `${path}/ctr`],
        ["create", `${path}/ctr`],
        ["create", path],
      ] as const) {
        const b = c.bundle(["sleep", "30"], (cfg) => {
          cfg.linux!.cgroupsPath = cgPath;
        });
        const id = c.id(`frz${i}`);
        const t0 = Date.now();
        const r = await c.berth(cmd === "run" ? ["run", "-d", "--bundle", b.dir, id] : ["create", "--bundle", b.dir, id], { timeoutMs: 15000 });
        expect(Date.now() - t0).toBeLessThan(10000);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("container's cgroup unexpectedly frozen");
        expect(r.stderr).toContain("linux.cgroupsPath");
        expect(existsSync(`${c.root}/${id}`)).toBe(false);
        expect(existsSync(place.dir(`${path}/ctr`))).toBe(false);
        expect(place.frozen(dir)).toBe(true);
      }
    });
  }
});

// Hybrid host (v1 controllers, a cgroup2 mount with hugetlb): the limit goes
// to the cgroup2 side, which needs the controller turned on in every level's
// cgroup.subtree_control above the container (runc 1.1 fails here: "cannot set
// hugetlb limit: container could not join or create cgroup").
const hybridHugetlb =
  isRoot &&
  layout.mode === "hybrid" &&
  !layout.v1["hugetlb"] &&
  layout.unifiedControllers.includes("hugetlb") &&
  existsSync("/sys/kernel/mm/hugepages/hugepages-2048kB");

describe.skipIf(!hybridHugetlb)("hugetlb limits on a hybrid host", () => {
  ctest("the limit is set in the container's cgroup2 directory, which holds its init", async (c) => {
    const b = c.bundle(["sleep", "30"], (cfg) => {
      cfg.linux!.resources = { ...(cfg.linux!.resources ?? {}), hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] };
    });
    const id = c.id("huge");
    ok(await c.berth(["run", "-d", "--bundle", b.dir, id]));
    const pid = (await c.state(id)).pid as number;
    const path = cgroupOf(pid, "");
    expect(path).toContain(id);
    const dir = `${layout.unified!.mountpoint}${path}`;
    expect(readFileSync(`${dir}/hugetlb.2MB.max`, "utf8").trim()).toBe(String(2 << 20));
    expect(readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n")).toContain(String(pid));
  });
});

// `docker update --memory -1` / `runc update --memory -1` on a container with a
// swap limit: v1 keeps memsw >= memory, so memsw is lifted first (runc does the same).
const memsw = layout.v1["memory"] && existsSync(`${layout.v1["memory"].mountpoint}/memory.memsw.limit_in_bytes`);

describe.skipIf(!isRoot || layout.mode === "v2" || !memsw)("update on cgroup v1", () => {
  ctest("update --memory -1 lifts memory and memory+swap; limits then go back down", async (c) => {
    const b = c.bundle(["sleep", "30"], (cfg) => {
      cfg.linux!.resources = { ...(cfg.linux!.resources ?? {}), memory: { limit: 64 << 20, swap: 128 << 20 } };
    });
    const id = c.id("upd");
    ok(await c.berth(["run", "-d", "--bundle", b.dir, id]));
    const dir = `${layout.v1["memory"]!.mountpoint}${cgroupOf((await c.state(id)).pid as number, "memory")}`;
    const read = () => ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"].map((f) => readFileSync(`${dir}/${f}`, "utf8").trim());
    ok(await c.berth(["update", "--memory", "-1", id]));
    for (const v of read()) expect(v).toMatch(/^9223372036854\d{6}$/);
    ok(await c.berth(["update", "--memory", "32m", "--memory-swap", "48m", id]));
    expect(read()).toEqual([String(32 << 20), String(48 << 20)]);
  });
});

// berth bench: the essay's claims as numbers, berth side by side with runc, crun
// and a KVM virtual machine, in one run on this host.
//
//   bun bench/main.ts [--quick] [--only NAME[,NAME...]] [--out DIR] [--keep]
//
// Not a test: nothing here fails CI. Writes bench/results/<date>-<host>[-quick].md,
// a .json of every sample and one SVG chart per figure.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { makeRootfs, findBusybox } from "./lib/bundle.ts";
import { isSelected, selectPeers, type Ctx } from "./lib/ctx.ts";
import { Cgroups, cgroupLayout, describeHost, NS_ENV, reexecInPrivateNamespace, type CgroupLayout } from "./lib/host.ts";
import { runtimePeers, type OtherBuild } from "./lib/peers.ts";
import { markdown, svgChart, type Figure } from "./lib/report.ts";
import { allPids, becomeSubreaper, killPid, log, reapNoHang, rmrf, run, setDefaultErrFile } from "./lib/util.ts";
import { probeVm, vmAccel } from "./lib/vm.ts";
import { figCycle, figRun, figThroughput } from "./figures/latency.ts";
import { figDensity } from "./figures/density.ts";
import { figCpu, figIo } from "./figures/workloads.ts";
import { figUpdate } from "./figures/update.ts";
import { figContainerd } from "./figures/containerd.ts";
import { figSharing } from "./figures/sharing.ts";

const FIGURES: Record<string, (ctx: Ctx) => Promise<Figure[]>> = {
  run: async (c) => [await figRun(c)],
  cycle: async (c) => [await figCycle(c)],
  throughput: async (c) => [await figThroughput(c)],
  density: figDensity,
  cpu: async (c) => [await figCpu(c)],
  io: async (c) => [await figIo(c)],
  update: async (c) => [await figUpdate(c)],
  containerd: async (c) => [await figContainerd(c)],
  sharing: async (c) => [await figSharing(c)],
};

const USAGE = `usage: bun bench/main.ts [--quick] [--only NAME[,NAME...]] [--out DIR] [--keep]
                          [--reps N] [--peers NAME[,NAME...]] [--berth LABEL=DIR]...
  --quick   about one minute: fewer repetitions, smaller files, 100 idle containers
  --only    figures to run: ${Object.keys(FIGURES).join(", ")}
  --out     where results go (default: bench/results)
  --keep    keep the scratch directory
  --reps    recorded repetitions of every figure (instead of the full or quick count)
  --peers   measure only these rows (berth, berth-agent, runc, crun, native, bun floor,
            berth serve, vm, and the labels of --berth)
  --berth   also measure the build in DIR (its berth, berth-bun and berth-core) as
            LABEL (no agent) and LABEL-agent, interleaved with the others: A/B runs`;

interface Opts {
  quick: boolean;
  only: string[] | null;
  out: string;
  keep: boolean;
  reps?: number;
  peers: string[] | null;
  others: OtherBuild[];
}

function parseArgs(argv: string[], repo: string): Opts {
  const o: Opts = { quick: false, only: null, out: join(repo, "bench", "results"), keep: false, peers: null, others: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--keep") o.keep = true;
    else if (a === "--only") o.only = val().split(",").filter(Boolean);
    else if (a.startsWith("--only=")) o.only = a.slice(7).split(",").filter(Boolean);
    else if (a === "--out") o.out = resolve(val());
    else if (a === "--reps") {
      o.reps = Number(val());
      if (!Number.isInteger(o.reps) || o.reps < 1) throw new Error(`--reps: a whole number above 0, not '${argv[i]}'`);
    } else if (a === "--peers") o.peers = val().split(",").filter(Boolean);
    else if (a === "--berth") {
      const v = val();
      const eq = v.indexOf("=");
      if (eq <= 0 || !/^[A-Za-z0-9_.-]+$/.test(v.slice(0, eq))) throw new Error(`--berth: LABEL=DIR (a label of letters, digits, '_', '.', '-'), not '${v}'`);
      o.others.push({ label: v.slice(0, eq), dir: resolve(v.slice(eq + 1)) });
    } else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument '${a}'\n${USAGE}`);
  }
  for (const n of o.only ?? []) if (!FIGURES[n]) throw new Error(`--only: unknown figure '${n}' (known: ${Object.keys(FIGURES).join(", ")})`);
  return o;
}

async function main(): Promise<number> {
  const repo = resolve(import.meta.dir, "..");
  let opts: Opts;
  try {
    opts = parseArgs(process.argv.slice(2), repo);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error("bench: must run as root (it creates containers, cgroups and VMs)");
    return 2;
  }
  const hostLayout: CgroupLayout = process.env[NS_ENV] ? "hybrid" : cgroupLayout();
  const child = await reexecInPrivateNamespace();
  if (child !== null) return child;
  const hidden = (process.env[NS_ENV] ?? "").split(",").filter(Boolean);

  const t0 = performance.now();
  const started = new Date();
  if (!becomeSubreaper()) log("warning: could not become child subreaper; exits are seen by polling");
  const work = mkdtempSync(join(tmpdir(), "berth-bench-"));
  setDefaultErrFile(join(work, "last.stderr"));
  const cg = new Cgroups(cgroupLayout());
  const cgParent = `berth-bench-${process.pid}`;
  selectPeers(opts.peers);
  const peers = runtimePeers(repo, work, opts.others);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const p of peers) {
      try {
        p.cleanupAll();
      } catch {}
    }
    for (const pid of cg.pids(cgParent)) killPid(pid, 9);
    Bun.sleepSync(200);
    for (const pid of allPids()) reapNoHang(pid);
    const left = cg.removeTree(cgParent);
    if (left.length) log(`could not remove cgroups: ${left.join(", ")}`);
    if (!opts.keep) {
      run(["umount", "-R", "-l", work]); // nothing should be mounted there; harmless when not
      rmrf(work);
    } else log(`kept ${work}`);
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  process.on("SIGTERM", () => {
    cleanup();
    process.exit(143);
  });

  try {
    const host = describeHost(hostLayout, hidden);
    log(`host ${host.hostname}: kernel ${host.kernel}, cgroups ${hostLayout}, ${host.cores} cores; scratch ${work}`);
    for (const p of peers) log(`peer ${p.name}: ${p.missing ? `n/a (${p.missing})` : `${p.bin} — ${p.version}`}`);
    const busybox = findBusybox();
    const rootfs = join(work, "rootfs");
    makeRootfs(rootfs, busybox);
    const names = opts.only ?? Object.keys(FIGURES);
    const needVm = isSelected("vm") && names.some((n) => ["run", "density", "cpu", "io", "update"].includes(n));
    const vm = needVm
      ? probeVm(work, busybox, vmAccel() === "tcg" ? 120000 : opts.quick ? 6000 : 20000)
      : { mode: "none" as const, why: "not needed by --only", qemu: null, cpuArgs: [], kernel: null, exitFw: "", haltFw: "" };
    log(`vm: ${vm.mode}: ${vm.why}`);
    const ctx: Ctx = { repo, work, quick: opts.quick, busybox, rootfs, peers, vm, cg, cgParent, vmStartMs: [], reps: opts.reps };
    const figures: Figure[] = [];
    for (const n of names) {
      const ft = performance.now();
      log(`figure ${n} ...`);
      try {
        for (const f of await FIGURES[n]!(ctx)) figures.push({ ...f, rows: f.rows.filter((r) => isSelected(r.peer)) });
      } catch (e) {
        log(`figure ${n} failed: ${(e as Error).stack ?? e}`);
      }
      log(`figure ${n}: ${((performance.now() - ft) / 1000).toFixed(1)} s`);
    }

    mkdirSync(opts.out, { recursive: true });
    const day = started.toISOString().slice(0, 10);
    const base = `${day}-${host.hostname.replace(/[^A-Za-z0-9_.-]/g, "_")}${opts.quick ? "-quick" : ""}`;
    const svgs = new Map<string, string>();
    for (const f of figures) {
      const name = `${base}-${f.id}.svg`;
      writeFileSync(join(opts.out, name), svgChart(f));
      svgs.set(f.id, name);
    }
    const md = markdown(
      host,
      {
        started: started.toISOString().replace(/\.\d+Z$/, "Z"),
        seconds: (performance.now() - t0) / 1000,
        quick: opts.quick,
        only: opts.only?.join(",") ?? null,
        vmCase: `${vm.mode} — ${vm.why}`,
        method: METHOD,
      },
      figures,
      svgs,
    );
    writeFileSync(join(opts.out, `${base}.md`), md);
    writeFileSync(join(opts.out, `${base}.json`), JSON.stringify({ host, vm: { mode: vm.mode, why: vm.why }, quick: opts.quick, figures }, null, 1) + "\n");
    console.log(md);
    log(`wrote ${relative(process.cwd(), join(opts.out, base + ".md"))} (+ .json, ${svgs.size} SVG charts)`);
    return 0;
  } finally {
    cleanup();
  }
}

const METHOD = [
  "Containers: a read-only busybox rootfs made offline from the host's static busybox (applet symlinks), config.json written by the benchmark: no terminal; pid, ipc, uts, mount and network namespaces; proc and a tmpfs /dev; each container in its own cgroup under one parent this run creates and removes.",
  "Every runtime is called the same way (`BIN --root DIR ...`), with stdio on /dev/null (stderr kept in a scratch file for error reports). Times are wall-clock from spawn to exit, measured by the Bun driver; the `native` row shows what spawning busybox directly costs through the same path.",
  "On a hybrid cgroup host the whole benchmark runs in a private mount namespace where the cgroup2 mount is replaced by an empty tmpfs (crun 1.8 refuses hybrid hosts), so every runtime sees the same pure v1 host and no runtime call pays for a per-call `unshare` wrapper (its cost, had it been used, is given under the run figure).",
  "The benchmark is the child subreaper (prctl PR_SET_CHILD_SUBREAPER), as containerd-shim or conmon are: a container started with create + start is reaped by it with waitpid().",
  "Repetitions are interleaved (berth, runc, crun, native, vm, then again), after unrecorded warm-up rounds; the table gives medians, min–max and N.",
  "Idle-container memory: N `sleep` containers started with create + start; per container, the cgroup's memory charge (memory.usage_in_bytes on v1, memory.current on v2), the host's MemAvailable drop divided by N, and the RSS of any process a runtime leaves per container outside the containers (none for CLI runtimes).",
  "Workloads (sha256sum of a random file, dd write + fsync) are timed inside the container with the shell's $EPOCHREALTIME around the command, identically natively and in a VM guest; files live on the host file system and are bind-mounted.",
  "Live memory-limit change: `update --memory` on a running `sleep` container, timed until the cgroup file reads back the new value. A VM's memory cannot be changed this way (it needs a balloon driver's cooperation or a restart): its row is the VM's start time, a lower bound for a restart.",
];

process.exit(await main());

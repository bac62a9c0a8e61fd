// version and info (Docker's, with --format templates); container, image and system prune.
import { Engine } from "../engine/engine.ts";
import { enginePaths } from "../engine/paths.ts";
import { systemInfo, versionInfo } from "../engine/system.ts";
import { EngineUsageError } from "../engine/args.ts";
import { parseFilters, PRUNE_FILTERS } from "../engine/filters.ts";
import { pruneContainers, pruneImages, pruneVolumes } from "../engine/prune.ts";
import { bool, list, str } from "./args.ts";
import { makeEngine, parse } from "./engine-common.ts";
import { out, writeEach } from "./engine-format.ts";

function parseFormat(argv: string[], what: string): string | undefined {
  const p = parse(argv, [{ name: "format", short: "f", kind: "string" }]);
  if (p.args.length) throw new EngineUsageError(`${what} takes no arguments`);
  return str(p, "format");
}

export async function cmdVersion(argv: string[]): Promise<number> {
  const fmt = parseFormat(argv, "version");
  const v = versionInfo() as { Client: Record<string, unknown>; Server: Record<string, unknown> };
  if (fmt === "json") process.stdout.write(JSON.stringify(v) + "\n");
  else if (fmt !== undefined) writeEach(fmt, [v]);
  else {
    const c = v.Client,
      s = v.Server;
    process.stdout.write(
      `Client:\n Version:           ${c.Version}\n API version:       ${c.ApiVersion}\n Runtime:           ${c.Runtime}\n OS/Arch:           ${c.Os}/${c.Arch}\n\n` +
        `Server: berth (daemonless)\n Engine:\n  Version:          ${s.Version}\n  API version:      ${s.ApiVersion}\n  OS/Arch:          ${s.Os}/${s.Arch}\n  Kernel Version:   ${s.KernelVersion}\n`,
    );
  }
  return 0;
}

export async function cmdInfo(argv: string[]): Promise<number> {
  const fmt = parseFormat(argv, "info");
  const i = systemInfo(new Engine(enginePaths())) as Record<string, unknown>;
  if (fmt === "json") process.stdout.write(JSON.stringify(i) + "\n");
  else if (fmt !== undefined) writeEach(fmt, [i]);
  else {
    const keys: Array<[string, string]> = [
      ["Containers", "Containers"],
      [" Running", "ContainersRunning"],
      [" Paused", "ContainersPaused"],
      [" Stopped", "ContainersStopped"],
      ["Images", "Images"],
      ["Server Version", "ServerVersion"],
      ["Storage Driver", "Driver"],
      ["Logging Driver", "LoggingDriver"],
      ["Cgroup Driver", "CgroupDriver"],
      ["Cgroup Version", "CgroupVersion"],
      ["Default Runtime", "DefaultRuntime"],
      ["Kernel Version", "KernelVersion"],
      ["Operating System", "OperatingSystem"],
      ["OSType", "OSType"],
      ["Architecture", "Architecture"],
      ["CPUs", "NCPU"],
      ["Total Memory", "MemTotal"],
      ["Name", "Name"],
      ["Root Dir", "DockerRootDir"],
    ];
    process.stdout.write(keys.map(([k, f]) => ` ${k}: ${String(i[f])}\n`).join(""));
  }
  return 0;
}

/** container prune, image prune [-a], system prune [-a] [--volumes]: what they remove, a line each. */
export async function cmdPrune(what: "container" | "image" | "system", argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "force", short: "f", kind: "bool" },
    { name: "all", short: "a", kind: "bool" },
    { name: "volumes", kind: "bool" },
    { name: "filter", kind: "list" },
  ]);
  if (p.args.length) throw new EngineUsageError(`${what} prune takes no arguments`);
  const f = parseFilters(list(p, "filter"), PRUNE_FILTERS);
  const e = makeEngine();
  if (what !== "image") {
    for await (const r of pruneContainers(e, f)) {
      if ("id" in r) out(r.id);
      else process.stderr.write(`berth: ${r.error.message}\n`);
    }
  }
  if (what !== "container") {
    for await (const r of pruneImages(e, bool(p, "all"), f)) {
      if ("untagged" in r) out(`Untagged: ${r.untagged}`);
      else if ("layer" in r) out(`Deleted layer: ${r.layer}`);
      else out(`Deleted ${r.blobs} unused blob${r.blobs === 1 ? "" : "s"}`);
    }
  }
  if (what === "system" && bool(p, "volumes")) for await (const n of pruneVolumes(e, f)) out(`Deleted: ${n}`);
  return 0;
}

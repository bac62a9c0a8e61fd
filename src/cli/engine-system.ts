// version and info (Docker's, with --format templates).
import { Engine } from "../engine/engine.ts";
import { enginePaths } from "../engine/paths.ts";
import { systemInfo, versionInfo } from "../engine/system.ts";
import { fStr, parseFlags } from "../engine/args.ts";
import { EngineUsageError } from "../engine/args.ts";
import { writeEach } from "./engine-format.ts";

function parseFormat(argv: string[], what: string): string | undefined {
  const p = parseFlags(argv, [{ name: "format", short: "f", kind: "string" }]);
  if (p.args.length) throw new EngineUsageError(`${what} takes no arguments`);
  return fStr(p, "format");
}

export async function cmdVersion(argv: string[]): Promise<number> {
  const fmt = parseFormat(argv, "version");
  const v = versionInfo() as { Client: Record<string, unknown>; Server: Record<string, unknown> };
  if (fmt === "json") process.stdout.write(JSON.stringify(v) + "\n");
  else if (fmt !== undefined) writeEach(fmt, [v]);
  else {
    const c = v.Client, s = v.Server;
    process.stdout.write(`Client:\n Version:           ${c.Version}\n API version:       ${c.ApiVersion}\n Runtime:           ${c.Runtime}\n OS/Arch:           ${c.Os}/${c.Arch}\n\n`
      + `Server: berth (daemonless)\n Engine:\n  Version:          ${s.Version}\n  API version:      ${s.ApiVersion}\n  OS/Arch:          ${s.Os}/${s.Arch}\n  Kernel Version:   ${s.KernelVersion}\n`);
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
      ["Containers", "Containers"], [" Running", "ContainersRunning"], [" Paused", "ContainersPaused"], [" Stopped", "ContainersStopped"], ["Images", "Images"],
      ["Server Version", "ServerVersion"], ["Storage Driver", "Driver"], ["Logging Driver", "LoggingDriver"], ["Cgroup Driver", "CgroupDriver"], ["Cgroup Version", "CgroupVersion"],
      ["Default Runtime", "DefaultRuntime"], ["Kernel Version", "KernelVersion"], ["Operating System", "OperatingSystem"], ["OSType", "OSType"], ["Architecture", "Architecture"],
      ["CPUs", "NCPU"], ["Total Memory", "MemTotal"], ["Name", "Name"], ["Root Dir", "DockerRootDir"],
    ];
    process.stdout.write(keys.map(([k, f]) => ` ${k}: ${String(i[f])}\n`).join(""));
  }
  return 0;
}

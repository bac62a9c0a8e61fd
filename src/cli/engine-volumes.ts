// volume create | ls | inspect | rm | prune (Docker's), over src/engine/volumes.ts.
import { EngineUsageError } from "../engine/args.ts";
import { inspectVolume } from "../engine/describe.ts";
import { filterVolumes, parseFilters, PRUNE_FILTERS, VOLUME_FILTERS } from "../engine/filters.ts";
import { pruneVolumes } from "../engine/prune.ts";
import { context } from "../engine/template.ts";
import { volumesOf } from "../engine/volumes.ts";
import { bool, list, str } from "./args.ts";
import { each, LISTING_FLAGS, makeEngine, parse } from "./engine-common.ts";
import { goTime, HEADERS, isTemplate, labelMethod, out, table, writeInspect, writeRows } from "./engine-format.ts";

export async function cmdVolume(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const e = makeEngine();
  switch (sub) {
    case "create": {
      const p = parse(rest, []);
      if (p.args.length !== 1) throw new EngineUsageError("volume create needs exactly one name (berth does not make up volume names)");
      out((await e.volumes.ensure(p.args[0]!)).volume.name);
      return 0;
    }
    case "ls":
    case "list": {
      const p = parse(rest, LISTING_FLAGS);
      const f = parseFilters(list(p, "filter"), VOLUME_FILTERS);
      const cs = e.containers.list();
      const vols = filterVolumes(e.volumes.list(), f, (n) => cs.filter((c) => volumesOf(c).includes(n)).length);
      const fmt = str(p, "format");
      if (fmt === "json")
        out(
          JSON.stringify(
            vols.map((v) => ({ Name: v.name, Driver: "local", Mountpoint: v.mountpoint, CreatedAt: v.created })),
            null,
            2,
          ),
        );
      else if (bool(p, "quiet")) for (const v of vols) out(v.name);
      else if (isTemplate(fmt)) {
        writeRows(
          fmt,
          vols.map((v) =>
            context("*formatter.VolumeContext", {
              Name: v.name,
              Driver: "local",
              Scope: "local",
              Mountpoint: v.mountpoint,
              CreatedAt: goTime(v.created),
              Labels: "",
              Label: labelMethod({}),
              Links: "N/A",
              Size: "N/A",
            }),
          ),
          HEADERS.volumes,
        );
      } else table([["DRIVER", "VOLUME NAME"], ...vols.map((v) => ["local", v.name])]);
      return 0;
    }
    case "inspect": {
      const p = parse(rest, [{ name: "format", short: "f", kind: "string" }]);
      if (p.args.length === 0) throw new EngineUsageError("volume inspect needs at least one name");
      writeInspect(
        str(p, "format"),
        p.args.map((n) => inspectVolume(e, n)),
      );
      return 0;
    }
    case "rm":
    case "remove": {
      const p = parse(rest, []);
      if (p.args.length === 0) throw new EngineUsageError("volume rm needs at least one name");
      return each(p.args, "volume rm", (n) => e.volumes.remove(n, () => e.containers.list()));
    }
    case "prune": {
      const p = parse(rest, [
        { name: "force", short: "f", kind: "bool" },
        { name: "filter", kind: "list" },
        { name: "all", short: "a", kind: "bool" },
      ]);
      for await (const n of pruneVolumes(e, parseFilters(list(p, "filter"), PRUNE_FILTERS))) out(`Deleted: ${n}`);
      return 0;
    }
    default:
      throw new EngineUsageError("volume needs a subcommand: create, ls, inspect, rm, prune");
  }
}

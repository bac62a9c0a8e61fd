// network create | ls | inspect | rm | prune (Docker's), over src/engine/networks.ts.
import { EngineUsageError } from "../engine/args.ts";
import { allNetworks, findNetwork, inspectNetwork, type NetworkView } from "../engine/describe.ts";
import { filterNetworks, NETWORK_FILTERS, parseFilters, PRUNE_FILTERS } from "../engine/filters.ts";
import { pruneNetworks } from "../engine/prune.ts";
import { parsePairs } from "../engine/spec.ts";
import { context } from "../engine/template.ts";
import { bool, list, str } from "./args.ts";
import { each, LISTING_FLAGS, makeEngine, parse } from "./engine-common.ts";
import { goTime, HEADERS, isTemplate, labelMethod, labelText, out, writeInspect, writeRows } from "./engine-format.ts";

export async function cmdNetwork(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const e = makeEngine();
  switch (sub) {
    case "create": {
      const p = parse(rest, [
        { name: "subnet", kind: "string" },
        { name: "gateway", kind: "string" },
        { name: "internal", kind: "bool" },
        { name: "driver", short: "d", kind: "string" },
        { name: "label", short: "l", kind: "list" },
      ]);
      if (p.args.length !== 1) throw new EngineUsageError("network create needs exactly one name");
      const d = str(p, "driver");
      if (d !== undefined && d !== "bridge") throw new EngineUsageError(`--driver ${JSON.stringify(d)}: berth's networks are bridge networks`);
      const labels = list(p, "label");
      const n = await e.networks.create(p.args[0]!, {
        subnet: str(p, "subnet"),
        gateway: str(p, "gateway"),
        internal: bool(p, "internal"),
        ...(labels.length
          ? {
              labels: parsePairs(
                labels.map((l) => (l.includes("=") ? l : `${l}=`)),
                "--label",
              ),
            }
          : {}),
      });
      out(n.Id);
      return 0;
    }
    case "ls":
    case "list": {
      const p = parse(rest, [...LISTING_FLAGS, { name: "no-trunc", kind: "bool" }]);
      const nets = filterNetworks(allNetworks(e), parseFilters(list(p, "filter"), NETWORK_FILTERS));
      const id = (n: NetworkView) => (bool(p, "no-trunc") || !n.user ? n.Id : n.Id.slice(0, 12));
      const fmt = str(p, "format");
      if (bool(p, "quiet")) for (const n of nets) out(id(n));
      else if (fmt === "json")
        out(
          JSON.stringify(
            nets.map((n) => inspectNetwork(e, n)),
            null,
            2,
          ),
        );
      else {
        writeRows(
          isTemplate(fmt) ? fmt : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
          nets.map((n) =>
            context("*formatter.networkContext", {
              ID: id(n),
              Name: n.Name,
              Driver: n.Driver,
              Scope: n.Scope,
              IPv6: "false",
              Internal: String(n.Internal),
              Labels: labelText(n.Labels),
              Label: labelMethod(n.Labels),
              CreatedAt: goTime(n.Created),
            }),
          ),
          HEADERS.networks,
        );
      }
      return 0;
    }
    case "inspect": {
      const p = parse(rest, [{ name: "format", short: "f", kind: "string" }]);
      if (p.args.length === 0) throw new EngineUsageError("network inspect needs at least one network");
      const all = allNetworks(e);
      const found: object[] = [];
      let code = 0;
      for (const r of p.args) {
        const n = findNetwork(e, all, r);
        if (n) found.push(inspectNetwork(e, n));
        else {
          process.stderr.write(`berth: network ${r} not found\n`);
          code = 1;
        }
      }
      writeInspect(str(p, "format"), found);
      return code;
    }
    case "rm":
    case "remove": {
      const p = parse(rest, [{ name: "force", short: "f", kind: "bool" }]);
      if (p.args.length === 0) throw new EngineUsageError("network rm needs at least one network");
      // -f: a network not found is no error
      return each(p.args, "network rm", (r) => e.networks.remove(r, () => e.containers.list()), {
        skip: (err) => bool(p, "force") && /not found/.test((err as Error).message),
      });
    }
    case "prune": {
      const p = parse(rest, [
        { name: "force", short: "f", kind: "bool" },
        { name: "filter", kind: "list" },
      ]);
      const f = parseFilters(list(p, "filter"), PRUNE_FILTERS);
      const gone: string[] = [];
      for await (const n of pruneNetworks(e, f)) gone.push(n);
      if (gone.length) out(`Deleted Networks:\n${gone.join("\n")}`);
      return 0;
    }
    case "connect":
    case "disconnect": {
      const p = parse(rest, sub === "connect" ? [{ name: "alias", kind: "list" }] : [{ name: "force", short: "f", kind: "bool" }]);
      if (p.args.length !== 2) throw new EngineUsageError(`network ${sub} needs a network and a container`);
      const { checkAliases, connect, disconnect } = await import("../engine/network-connect.ts");
      if (sub === "connect") {
        const aliases = list(p, "alias");
        checkAliases(aliases, "--alias");
        await connect(e, p.args[0]!, p.args[1]!, aliases);
      } else await disconnect(e, p.args[0]!, p.args[1]!);
      return 0;
    }
    default:
      throw new EngineUsageError("network needs a subcommand: create, ls, inspect, rm, prune, connect, disconnect");
  }
}

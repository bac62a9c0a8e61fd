// network create | ls | inspect | rm | prune (Docker's), over src/engine/networks.ts.
import { Engine } from "../engine/engine.ts";
import { enginePaths } from "../engine/paths.ts";
import { EngineError } from "../engine/store.ts";
import { EngineUsageError, fBool, fList, fStr, parseFlags } from "../engine/args.ts";
import { parsePairs } from "../engine/spec.ts";
import { allLabels, any, matchesText, parseFilters, pruneSelects, PRUNE_FILTERS } from "../engine/filters.ts";
import { builtinBridge, onNetwork, type UserNetwork } from "../engine/networks.ts";
import { context } from "../engine/template.ts";
import { goTime, HEADERS, isTemplate, labelMethod, labelText, writeEach, writeRows } from "./engine-format.ts";

function out(s: string): void {
  process.stdout.write(s.endsWith("\n") ? s : s + "\n");
}

interface Shown { Name: string; Id: string; Driver: string; Scope: "local"; Internal: boolean; Labels: Record<string, string>; Created: string; Subnet?: string; Gateway?: string; user?: UserNetwork }

/** Every network, the built-in ones first. */
function allNetworks(e: Engine): Shown[] {
  const b = builtinBridge();
  const builtin: Shown[] = [
    { Name: "bridge", Id: "bridge", Driver: "bridge", Scope: "local", Internal: false, Labels: {}, Created: "", ...b },
    { Name: "host", Id: "host", Driver: "host", Scope: "local", Internal: false, Labels: {}, Created: "" },
    { Name: "none", Id: "none", Driver: "null", Scope: "local", Internal: false, Labels: {}, Created: "" },
  ];
  return [...builtin, ...e.networks.list().map((n) => ({ Name: n.Name, Id: n.Id, Driver: n.Driver, Scope: "local" as const, Internal: n.Internal, Labels: n.Labels, Created: n.Created, Subnet: n.Subnet, Gateway: n.Gateway, user: n }))];
}

function inspectOf(e: Engine, n: Shown): object {
  const members = e.containers.list().filter((c) => onNetwork(c, n.Name) && e.status(c) !== "exited" && e.status(c) !== "created");
  return {
    Name: n.Name, Id: n.Id, Created: n.Created, Scope: "local", Driver: n.Driver, EnableIPv6: false, Internal: n.Internal, Attachable: false,
    IPAM: { Driver: "default", Config: n.Subnet ? [{ Subnet: n.Subnet, Gateway: n.Gateway }] : [] },
    Options: n.user ? { "com.docker.network.bridge.name": n.user.Bridge } : {},
    Labels: n.Labels,
    Containers: Object.fromEntries(members.map((c) => {
      const ip = (c.network.connected ?? []).find((x) => x.name === n.Name)?.ips[0] ?? c.network.ips[0];
      return [c.id, { Name: c.name, IPv4Address: ip ? `${ip}/${(n.Subnet ?? "/16").split("/")[1]}` : "" }];
    })),
  };
}

export async function cmdNetwork(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const e = new Engine(enginePaths());
  switch (sub) {
    case "create": {
      const p = parseFlags(rest, [
        { name: "subnet", kind: "string" }, { name: "gateway", kind: "string" }, { name: "internal", kind: "bool" }, { name: "driver", short: "d", kind: "string" },
        { name: "label", short: "l", kind: "list" },
      ]);
      if (p.args.length !== 1) throw new EngineUsageError("network create needs exactly one name");
      const d = fStr(p, "driver");
      if (d !== undefined && d !== "bridge") throw new EngineUsageError(`--driver ${JSON.stringify(d)}: berth's networks are bridge networks`);
      const labels = fList(p, "label");
      const n = await e.networks.create(p.args[0]!, {
        subnet: fStr(p, "subnet"), gateway: fStr(p, "gateway"), internal: fBool(p, "internal"),
        ...(labels.length ? { labels: parsePairs(labels.map((l) => (l.includes("=") ? l : `${l}=`)), "--label") } : {}),
      });
      out(n.Id);
      return 0;
    }
    case "ls":
    case "list": {
      const p = parseFlags(rest, [{ name: "quiet", short: "q", kind: "bool" }, { name: "format", kind: "string" }, { name: "filter", short: "f", kind: "list" }, { name: "no-trunc", kind: "bool" }]);
      const f = parseFilters(fList(p, "filter"), ["name", "id", "driver", "label", "type"]);
      const nets = allNetworks(e).filter((n) => any(f, "name", (v) => matchesText(v, n.Name)) && any(f, "id", (v) => n.Id.startsWith(v))
        && any(f, "driver", (v) => v === n.Driver) && allLabels(f, n.Labels) && any(f, "type", (v) => (v === "custom") === !!n.user));
      const id = (n: Shown) => (fBool(p, "no-trunc") || !n.user ? n.Id : n.Id.slice(0, 12));
      const fmt = fStr(p, "format");
      if (fBool(p, "quiet")) for (const n of nets) out(id(n));
      else if (fmt === "json") out(JSON.stringify(nets.map((n) => inspectOf(e, n)), null, 2));
      else {
        writeRows(isTemplate(fmt) ? fmt : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", nets.map((n) => context("*formatter.networkContext", {
          ID: id(n), Name: n.Name, Driver: n.Driver, Scope: n.Scope, IPv6: "false", Internal: String(n.Internal), Labels: labelText(n.Labels), Label: labelMethod(n.Labels), CreatedAt: goTime(n.Created),
        })), HEADERS.networks);
      }
      return 0;
    }
    case "inspect": {
      const p = parseFlags(rest, [{ name: "format", short: "f", kind: "string" }]);
      if (p.args.length === 0) throw new EngineUsageError("network inspect needs at least one network");
      const all = allNetworks(e);
      const found: object[] = [];
      let code = 0;
      for (const r of p.args) {
        const n = all.find((x) => x.Name === r || x.Id === r) ?? (() => {
          const u = e.networks.find(r);
          return u ? all.find((x) => x.Id === u.Id) : undefined;
        })();
        if (n) found.push(inspectOf(e, n));
        else {
          process.stderr.write(`berth: network ${r} not found\n`);
          code = 1;
        }
      }
      const fmt = fStr(p, "format");
      if (fmt !== undefined && fmt !== "json") writeEach(fmt, found);
      else out(JSON.stringify(found, null, 2));
      return code;
    }
    case "rm":
    case "remove": {
      const p = parseFlags(rest, [{ name: "force", short: "f", kind: "bool" }]);
      if (p.args.length === 0) throw new EngineUsageError("network rm needs at least one network");
      let code = 0;
      for (const r of p.args) {
        try {
          await e.networks.remove(r, () => e.containers.list());
          out(r);
        } catch (err) {
          if (fBool(p, "force") && /not found/.test((err as Error).message)) continue;
          process.stderr.write(`berth: ${(err as Error).message}\n`);
          code = err instanceof EngineError && err.exitCode !== 125 ? err.exitCode : 1;
        }
      }
      return code;
    }
    case "prune": {
      const p = parseFlags(rest, [{ name: "force", short: "f", kind: "bool" }, { name: "filter", kind: "list" }]);
      const f = parseFilters(fList(p, "filter"), PRUNE_FILTERS);
      const users = e.containers.list();
      const gone: string[] = [];
      for (const n of e.networks.list()) {
        if (users.some((c) => onNetwork(c, n.Name)) || !pruneSelects(f, n.Created, n.Labels)) continue;
        try {
          await e.networks.remove(n.Name, () => e.containers.list());
          gone.push(n.Name);
        } catch {
          /* taken meanwhile: kept */
        }
      }
      if (gone.length) out(`Deleted Networks:\n${gone.join("\n")}`);
      return 0;
    }
    case "connect":
    case "disconnect": {
      const p = parseFlags(rest, sub === "connect" ? [{ name: "alias", kind: "list" }] : [{ name: "force", short: "f", kind: "bool" }]);
      if (p.args.length !== 2) throw new EngineUsageError(`network ${sub} needs a network and a container`);
      const { checkAliases, connect, disconnect } = await import("../engine/network-connect.ts");
      if (sub === "connect") {
        const aliases = fList(p, "alias");
        checkAliases(aliases, "--alias");
        await connect(e, p.args[0]!, p.args[1]!, aliases);
      } else await disconnect(e, p.args[0]!, p.args[1]!);
      return 0;
    }
    default:
      throw new EngineUsageError("network needs a subcommand: create, ls, inspect, rm, prune, connect, disconnect");
  }
}

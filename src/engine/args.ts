// Command-line parsing in the conventions of Docker and Podman: long flags
// (--name value, --name=value), short flags that combine (-it, -dit, -e K=V,
// -eK=V), boolean flags that take =true/=false, repeated list flags, and
// parsing that stops at the first positional argument when asked (run IMAGE CMD...).

export class EngineUsageError extends Error {}

export interface Flag {
  name: string;
  short?: string;
  kind: "bool" | "string" | "list";
  /** other long names for the same flag */
  alias?: string[];
}

export interface ParsedFlags {
  flags: Map<string, string | boolean | string[]>;
  args: string[];
}

export function parseFlags(argv: string[], specs: Flag[], stopAtPositional = false): ParsedFlags {
  const long = new Map<string, Flag>();
  const short = new Map<string, Flag>();
  for (const s of specs) {
    long.set(s.name, s);
    for (const a of s.alias ?? []) long.set(a, s);
    if (s.short) short.set(s.short, s);
  }
  const flags = new Map<string, string | boolean | string[]>();
  const args: string[] = [];
  const set = (f: Flag, value: string | undefined, shown: string) => {
    if (f.kind === "bool") {
      if (value === undefined || /^(true|1|yes)$/i.test(value)) flags.set(f.name, true);
      else if (/^(false|0|no)$/i.test(value)) flags.set(f.name, false);
      else throw new EngineUsageError(`flag ${shown}: not a boolean: ${JSON.stringify(value)}`);
      return;
    }
    if (value === undefined) throw new EngineUsageError(`flag ${shown} needs a value`);
    if (f.kind === "list") {
      const cur = (flags.get(f.name) as string[] | undefined) ?? [];
      cur.push(value);
      flags.set(f.name, cur);
    } else flags.set(f.name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(a);
      if (stopAtPositional) {
        args.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const f = long.get(name);
      if (!f) throw new EngineUsageError(`unknown flag: --${name}`);
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      if (value === undefined && f.kind !== "bool") {
        if (i + 1 >= argv.length) throw new EngineUsageError(`flag --${name} needs a value`);
        value = argv[++i]!;
      }
      set(f, value, `--${name}`);
      continue;
    }
    // short flags: -it, -e K=V, -eK=V, -t=false
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const f = short.get(c);
      if (!f) throw new EngineUsageError(`unknown shorthand flag: ${JSON.stringify(c)} in ${a}`);
      if (f.kind === "bool") {
        if (a[j + 1] === "=") {
          set(f, a.slice(j + 2), `-${c}`);
          break;
        }
        set(f, undefined, `-${c}`);
        continue;
      }
      let value = a.slice(j + 1);
      if (value.startsWith("=")) value = value.slice(1);
      if (value === "") {
        if (i + 1 >= argv.length) throw new EngineUsageError(`flag -${c} needs a value`);
        value = argv[++i]!;
      }
      set(f, value, `-${c}`);
      break;
    }
  }
  return { flags, args };
}

export function fStr(p: ParsedFlags, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}
export function fBool(p: ParsedFlags, name: string): boolean {
  return p.flags.get(name) === true;
}
export function fList(p: ParsedFlags, name: string): string[] {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v : [];
}

/** "512m", "1g", "1024", "1.5GiB" -> bytes. */
export function parseBytes(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new EngineUsageError(`${flag}: not a size: ${JSON.stringify(s)} (want a number with an optional unit b, k, m, g)`);
  const mult = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as "k"]!;
  return Math.floor(Number(m[1]) * mult);
}

/** "10", "1.5s", "500ms", "2m" -> milliseconds (a bare number is seconds). */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new EngineUsageError(`${flag}: not a duration: ${JSON.stringify(s)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s"];
}

/** A published port: one of what Docker's `-p [IP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp]` gives. */
export interface PublishedPort {
  /** 0: berth picks a free one when the container is made */
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  hostIP?: string;
  /** With hostPort 0: pick the first free host port of this range (`-p 8000-8010:80`). */
  hostRange?: [number, number];
}

/**
 * The ports of one `-p` value. A range maps port for port onto a range of the
 * same length; a host range for one container port means the first free host
 * port in it; container ports alone get free host ports.
 */
export function parsePublish(s: string): PublishedPort[] {
  const flag = `-p ${JSON.stringify(s)}`;
  let rest = s;
  let protocol: PublishedPort["protocol"] = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const pr = rest.slice(slash + 1);
    if (pr !== "tcp" && pr !== "udp" && pr !== "sctp") throw new EngineUsageError(`${flag}: protocol must be tcp, udp or sctp`);
    protocol = pr;
    rest = rest.slice(0, slash);
  }
  let hostIP: string | undefined;
  const bracket = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest); // [::1]:8080:80
  if (bracket) {
    hostIP = bracket[1];
    rest = bracket[2]!;
  }
  const parts = rest.split(":");
  if (!hostIP && parts.length === 3) hostIP = parts.shift();
  // CONTAINERPORT alone, or IP::CONTAINERPORT: berth picks a free host port
  if (parts.length === 1) parts.unshift("");
  if (parts.length !== 2) throw new EngineUsageError(`${flag}: want [[IP:][HOSTPORT[-END]]:]CONTAINERPORT[-END][/PROTOCOL]`);
  const range = (v: string, what: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(v);
    const lo = m ? Number(m[1]) : NaN, hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new EngineUsageError(`${flag}: ${what} must be a port number 1-65535 or a range of them like 8000-8010`);
    return [lo, hi];
  };
  const cont = range(parts[1]!, "the container port");
  const host = parts[0] === "" ? undefined : range(parts[0]!, "the host port");
  if (hostIP !== undefined && hostIP !== "" && !/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/.test(hostIP)) throw new EngineUsageError(`${flag}: ${JSON.stringify(hostIP)} is not an IP address`);
  const one = (hostPort: number, containerPort: number): PublishedPort => ({ hostPort, containerPort, protocol, ...(hostIP ? { hostIP } : {}) });
  const n = cont[1] - cont[0] + 1;
  const out: PublishedPort[] = [];
  if (!host) for (let i = 0; i < n; i++) out.push(one(0, cont[0] + i));
  else if (host[1] - host[0] + 1 === n) for (let i = 0; i < n; i++) out.push(one(host[0] + i, cont[0] + i));
  else if (n === 1) out.push({ ...one(0, cont[0]), hostRange: host });
  else throw new EngineUsageError(`${flag}: the host range has ${host[1] - host[0] + 1} ports and the container range ${n}: they must match (or name one container port)`);
  return out;
}

/** "0.0.0.0:8080->80/tcp", as `ps` and `port` show a published port. */
export function publishText(p: PublishedPort): string {
  return `${p.hostIP ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

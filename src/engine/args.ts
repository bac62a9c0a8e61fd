// The values the engine's options are written in (sizes, durations, published
// ports), and the error for a bad one. The command line itself is parsed in
// src/cli/args.ts: the engine takes typed options, never a command line.

/** Bad input from the user (a value, an option that conflicts): Docker's exit code 125. */
export class EngineUsageError extends Error {}

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
    const lo = m ? Number(m[1]) : NaN,
      hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new EngineUsageError(`${flag}: ${what} must be a port number 1-65535 or a range of them like 8000-8010`);
    return [lo, hi];
  };
  const cont = range(parts[1]!, "the container port");
  const host = parts[0] === "" ? undefined : range(parts[0]!, "the host port");
  if (hostIP !== undefined && hostIP !== "" && !/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/.test(hostIP))
    throw new EngineUsageError(`${flag}: ${JSON.stringify(hostIP)} is not an IP address`);
  const one = (hostPort: number, containerPort: number): PublishedPort => ({ hostPort, containerPort, protocol, ...(hostIP ? { hostIP } : {}) });
  const n = cont[1] - cont[0] + 1;
  const out: PublishedPort[] = [];
  if (!host) for (let i = 0; i < n; i++) out.push(one(0, cont[0] + i));
  else if (host[1] - host[0] + 1 === n) for (let i = 0; i < n; i++) out.push(one(host[0] + i, cont[0] + i));
  else if (n === 1) out.push({ ...one(0, cont[0]), hostRange: host });
  else
    throw new EngineUsageError(
      `${flag}: the host range has ${host[1] - host[0] + 1} ports and the container range ${n}: they must match (or name one container port)`,
    );
  return out;
}

/** "0.0.0.0:8080->80/tcp", as `ps` and `port` show a published port. */
export function publishText(p: PublishedPort): string {
  return `${p.hostIP ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

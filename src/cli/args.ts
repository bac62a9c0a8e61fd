// berth's one command-line parser, for runc's commands (src/cli/runc.ts,
// main.ts) and the engine's (src/cli/engine*.ts): long and short flags,
// "--flag value" and "--flag=value", repeated flags, boolean flags, "--" ends
// flags; the two dialects differ only where runc and Docker do (see Dialect).
// The library below never sees a command line: commands hand it typed options.
// (No import of the engine here: the runtime's commands load this module.)

export interface FlagSpec {
  /** long name without dashes; aliases (runc: also its short names) map to it */
  name: string;
  alias?: string[];
  /** the one-letter name (Docker's -x, which combines: -it) */
  short?: string;
  /** "bool" takes no value; "string" one; "list" may repeat */
  kind: "bool" | "string" | "list";
  /** one line for the command's --help */
  help?: string;
}

/** -h/--help, which every command takes (runc's). */
export const HELP_FLAG: FlagSpec = { name: "help", alias: ["h"], kind: "bool", help: "show this help" };

/** Whether a command line asks for the command's help (and parses as one of its own). */
export function wantsHelp(argv: string[], specs: FlagSpec[], stopAtPositional = false): boolean {
  if (!argv.some((a) => a === "-h" || a === "--help" || a === "-help")) return false;
  try {
    return bool(parseArgs(argv, [...specs, HELP_FLAG], stopAtPositional), "help");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return false; // a command line that does not parse is no help request: the command reports its error
  }
}

/** A command's help: its usage line, what it does, its flags (one per line). */
export function helpText(usage: string, about: string, specs: FlagSpec[]): string {
  const rows = [...specs, HELP_FLAG].map((s) => {
    const names = [`--${s.name}`, ...(s.alias ?? []).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))].join(", ");
    return [s.kind === "bool" ? names : `${names} VALUE`, s.help ?? ""];
  });
  const w = Math.max(...rows.map((r) => r[0]!.length));
  return `Usage: berth ${usage}\n\n${about}\n\nFlags:\n${rows.map(([n, h]) => `  ${n!.padEnd(w)}  ${h}`.trimEnd()).join("\n")}\n`;
}

export interface Parsed {
  flags: Record<string, string | boolean | string[]>;
  args: string[];
}

export class UsageError extends Error {}

/**
 * The two ways berth's command lines are written, parsed by the one loop below:
 * - "runc": runc's, "-name" as "--name", short names as aliases, a boolean is
 *   false only for false/0/no; errors are UsageError;
 * - "docker": Docker's and Podman's, short flags that combine (-it, -dit,
 *   -e K=V, -eK=V, -t=false), a boolean takes true/false/1/0/yes/no and
 *   nothing else (the engine's commands exit 125 on a UsageError).
 */
export type Dialect = "runc" | "docker";

/**
 * Parses argv against specs. Stops at the first positional argument when
 * stopAtPositional; "--" ends the flags.
 */
export function parseArgs(argv: string[], specs: FlagSpec[], stopAtPositional = false, dialect: Dialect = "runc"): Parsed {
  const docker = dialect === "docker";
  const long = new Map<string, FlagSpec>();
  const short = new Map<string, FlagSpec>();
  for (const s of specs) {
    long.set(s.name, s);
    for (const a of s.alias ?? []) long.set(a, s);
    if (s.short) (docker ? short : long).set(s.short, s);
  }
  const flags: Parsed["flags"] = {};
  const args: string[] = [];
  const set = (f: FlagSpec, value: string, shown: string) => {
    if (f.kind === "bool") {
      if (!docker) flags[f.name] = !/^(false|0|no)$/i.test(value);
      else if (/^(true|1|yes)$/i.test(value)) flags[f.name] = true;
      else if (/^(false|0|no)$/i.test(value)) flags[f.name] = false;
      else throw new UsageError(`flag ${shown}: not a boolean: ${JSON.stringify(value)}`);
    } else if (f.kind === "list") {
      const cur = (flags[f.name] as string[] | undefined) ?? [];
      cur.push(value);
      flags[f.name] = cur;
    } else flags[f.name] = value;
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
    if (docker && !a.startsWith("--")) {
      // short flags: -it, -e K=V, -eK=V, -t=false
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const f = short.get(c);
        if (!f) throw new UsageError(`unknown shorthand flag: ${JSON.stringify(c)} in ${a}`);
        if (f.kind === "bool") {
          const eq = a[j + 1] === "=";
          set(f, eq ? a.slice(j + 2) : "true", `-${c}`);
          if (eq) break;
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith("=")) value = value.slice(1);
        if (value === "") {
          if (i + 1 >= argv.length) throw new UsageError(`flag -${c} needs a value`);
          value = argv[++i]!;
        }
        set(f, value, `-${c}`);
        break;
      }
      continue;
    }
    const eq = a.indexOf("=");
    const name = (eq < 0 ? a : a.slice(0, eq)).replace(/^--?/, "");
    let value = eq < 0 ? undefined : a.slice(eq + 1);
    const f = long.get(name);
    if (!f) throw new UsageError(docker ? `unknown flag: --${name}` : `unknown flag ${a.split("=")[0]}`);
    if (value === undefined && f.kind !== "bool") {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${docker ? name : f.name} needs a value`);
      value = argv[++i]!;
    }
    set(f, value ?? "true", `--${name}`);
  }
  return { flags, args };
}

/** Whether the command line gave the flag (for flags whose absence means "leave as it is"). */
export function has(p: Parsed, name: string): boolean {
  return Object.hasOwn(p.flags, name);
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === "string" ? v : undefined;
}
export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}
export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

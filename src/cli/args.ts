// A small parser for runc-style command lines: long and short flags, "--flag
// value" and "--flag=value", repeated flags, boolean flags, "--" ends flags.

export interface FlagSpec {
  /** long name without dashes; aliases (e.g. short names) map to it */
  name: string;
  alias?: string[];
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
  } catch {
    return false;
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

/** Parses argv against specs. Stops at the first positional argument when stopAtPositional. */
export function parseArgs(argv: string[], specs: FlagSpec[], stopAtPositional = false): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    for (const a of s.alias ?? []) byName.set(a, s);
  }
  const flags: Parsed["flags"] = {};
  const args: string[] = [];
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
    let name = a.replace(/^--?/, "");
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag ${a.split("=")[0]}`);
    if (spec.kind === "bool") {
      flags[spec.name] = value === undefined ? true : !/^(false|0|no)$/i.test(value);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${spec.name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.kind === "list") {
      const cur = (flags[spec.name] as string[] | undefined) ?? [];
      cur.push(value);
      flags[spec.name] = cur;
    } else {
      flags[spec.name] = value;
    }
  }
  return { flags, args };
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

// The layering rules of docs/architecture.md, checked on the sources:
// a lower layer never imports a higher one (nor a sibling of its own rank),
// and the runtime's path loads none of the modules that would cost every
// runtime call its start-up time.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

/** The layers, lowest first; one rank may hold several independent modules. */
const RANK: Record<string, number> = {
  spec: 0,
  linux: 1,
  cgroups: 2,
  security: 2,
  runtime: 3,
  image: 4,
  network: 4,
  engine: 5,
  agent: 6,
  api: 7,
  cli: 8,
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

interface Import {
  spec: string;
  /** loaded only when used: import(), or a require() of a lazily loaded module */
  dynamic: boolean;
  /** `import type`: erased, loads nothing */
  typeOnly?: boolean;
}

/** Every module specifier a file names: static imports and re-exports, and dynamic import(). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const out: Import[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b([^;]*?)\bfrom\s*["']([^"']+)["']/gm))
    out.push({ spec: m[2]!, dynamic: false, typeOnly: /^\s*type\b/.test(m[1]!) });
  for (const m of text.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) out.push({ spec: m[1]!, dynamic: false });
  for (const m of text.matchAll(/\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g)) out.push({ spec: m[1]!, dynamic: true });
  return out;
}

function layerOf(file: string): string {
  return relative(SRC, file).split("/")[0]!;
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  for (const cand of [base, `${base}.ts`, join(base, "index.ts")]) {
    try {
      if (statSync(cand).isFile()) return cand;
    } catch {
      // not this candidate: try the next
    }
  }
  return base.endsWith(".js") ? base.replace(/\.js$/, ".ts") : null;
}

describe("layers", () => {
  const files = sources(SRC);

  test("every source file belongs to a known layer", () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => !(l in RANK));
    expect(unknown).toEqual([]);
  });

  test("no module imports a higher layer or a sibling of its own rank", () => {
    const bad: string[] = [];
    for (const f of files) {
      const from = layerOf(f);
      for (const imp of importsOf(f)) {
        const target = resolveLocal(f, imp.spec);
        if (!target) continue;
        const to = layerOf(target);
        if (to === from) continue;
        if (!(to in RANK) || RANK[to]! >= RANK[from]!) bad.push(`${relative(SRC, f)} imports ${relative(SRC, target)} (${from} -> ${to})`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("the runtime's path loads neither node:fs, node:path nor the engine's modules", () => {
    // What `berth create|start|state|kill|delete` loads before it works: the
    // static import closure of the runtime commands (dynamic imports are
    // loaded only by the commands that need them).
    const entry = join(SRC, "cli/runc.ts");
    const seen = new Set<string>();
    const forbidden: string[] = [];
    const walk = (f: string, chain: string[]) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const imp of importsOf(f)) {
        if (imp.dynamic) continue;
        if (/^(node:)?(fs|path|fs\/promises)$/.test(imp.spec)) forbidden.push(`${[...chain, relative(SRC, f)].join(" -> ")} loads ${imp.spec}`);
        const target = resolveLocal(f, imp.spec);
        if (!target) continue;
        const layer = layerOf(target);
        if (["engine", "image", "network", "api"].includes(layer))
          forbidden.push(`${[...chain, relative(SRC, f)].join(" -> ")} loads ${relative(SRC, target)}`);
        walk(target, [...chain, relative(SRC, f)]);
      }
    };
    walk(entry, []);
    expect(seen.size).toBeGreaterThan(5);
    expect(forbidden).toEqual([]);
  });

  test("the plan builder, the core's driver and the cgroup backends load only with the calls that use them", () => {
    // everything else on the Bun path (state, kill, delete, start, update)
    // loads less: they are required on first use (src/runtime/container.ts)
    const seen = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const imp of importsOf(f)) {
        if (imp.dynamic || imp.typeOnly) continue;
        const target = resolveLocal(f, imp.spec);
        if (target) walk(target);
      }
    };
    walk(join(SRC, "cli/main.ts"));
    const loaded = [...seen].map((f) => relative(SRC, f));
    expect(loaded).toContain("runtime/container.ts");
    // nor the cgroup backends: each is required for the hosts that use it
    const lazy = ["runtime/plan.ts", "linux/core.ts", "security/seccomp.ts", "cgroups/v1.ts", "cgroups/v2.ts", "cgroups/devices-bpf.ts"];
    expect(loaded.filter((f) => lazy.includes(f))).toEqual([]);
  });

  test("the engine's command files are thin: no host access, no runtime state, only the engine's library", () => {
    // src/cli/engine*.ts parse flags and format output; reading the host
    // (node:fs, /proc, cgroups) or a container's runtime state is the
    // engine's work (src/engine), where the agent and any API can reuse it.
    const commandFiles = files.filter((f) => /^cli\/engine[^/]*\.ts$/.test(relative(SRC, f)));
    expect(commandFiles.length).toBeGreaterThan(5);
    const bad: string[] = [];
    for (const f of commandFiles) {
      const text = readFileSync(f, "utf8");
      for (const imp of importsOf(f)) {
        if (/^(node:|fs$|path$|child_process$|os$)/.test(imp.spec)) bad.push(`${relative(SRC, f)} loads ${imp.spec}`);
        const target = resolveLocal(f, imp.spec);
        if (target && ["linux", "cgroups", "security", "runtime"].includes(layerOf(target))) bad.push(`${relative(SRC, f)} imports ${relative(SRC, target)}`);
      }
      if (/\.runtime\.|\/proc\/|\/sys\/fs\/cgroup/.test(text)) bad.push(`${relative(SRC, f)} reaches the runtime or the host directly`);
    }
    expect(bad).toEqual([]);
  });

  test("the checker sees imports of every form (a check that can fail)", () => {
    const probe = join(SRC, "runtime/container.ts");
    const specs = importsOf(probe).map((i) => i.spec);
    expect(specs.some((s) => s.startsWith("../linux/"))).toBe(true);
  });
});

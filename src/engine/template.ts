// Go's text/template, the subset Docker's --format uses: text and actions,
// fields and nested fields (.A.B, $x.A, (pipeline).A), methods with
// arguments (.Label "k"), pipelines, variables ($, $x := ..., $x = ...),
// if/else if/else, range (with $i, $v := and else, break, continue),
// with/else, comments and {{- -}} trimming; Go's functions (and, or, not,
// eq, ne, lt, le, gt, ge, len, index, slice, print, printf, println, html,
// js, urlquery, call) and Docker's (json, join, split, title, upper, lower,
// pad, truncate). `table` (a header row and aligned columns) is Docker's
// formatter around the template: formatRows.
//
// Values are JS values. A plain object is a Go map (a missing key is an
// error, as docker inspect's missingkey=error); an object made by
// `context(typeName, fields)` is a Go struct (an unknown field is an error
// naming its type, as Docker's formatter contexts). Errors carry Go's wording:
// "template: :LINE:COL: executing "" at <NODE>: ...".
// No npm package fitted: @ctrl/golang-template lacks variables, eq/lt,
// len and printf; @mdfriday/text-template is shipped minified and obfuscated.

export class TemplateError extends Error {}

const TYPE = Symbol("go-struct-type");

/** A struct-like value: unknown fields are errors naming typeName. */
export function context<T extends object>(typeName: string, fields: T): T {
  Object.defineProperty(fields, TYPE, { value: typeName, enumerable: false });
  return fields;
}

// ---- lexing and parsing -------------------------------------------------------

type Arg =
  | { k: "field"; fields: string[]; pos: number; end: number; from?: number }
  | { k: "var"; name: string; fields: string[]; pos: number; end: number }
  | { k: "dot"; pos: number; end: number }
  | { k: "str"; v: string; pos: number; end: number }
  | { k: "num"; v: number; pos: number; end: number }
  | { k: "bool"; v: boolean; pos: number; end: number }
  | { k: "nil"; pos: number; end: number }
  | { k: "ident"; name: string; pos: number; end: number }
  | { k: "pipe"; pipe: Pipe; fields: string[]; pos: number; end: number };

interface Cmd {
  args: Arg[];
  pos: number;
  end: number;
}
interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
  pos: number;
  end: number;
}

type Node =
  | { k: "text"; v: string }
  | { k: "action"; pipe: Pipe }
  | Control<"if">
  | Control<"with">
  | Control<"range">
  | { k: "break" | "continue"; pos: number };

interface Control<K> {
  k: K;
  pipe: Pipe;
  list: Node[];
  else: Node[] | undefined;
}

interface Tok {
  t: "space" | "str" | "num" | "bool" | "nil" | "dot" | "field" | "var" | "ident" | "(" | ")" | "|" | ":=" | "=" | ",";
  v: string;
  pos: number;
  end: number;
}

export interface Template {
  src: string;
  root: Node[];
}

const KEYWORDS = new Set(["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]);

function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === "\n") n++;
  return n;
}

function parseError(src: string, pos: number, msg: string): TemplateError {
  return new TemplateError(`template: :${lineOf(src, pos)}: ${msg}`);
}

function unquote(src: string, raw: string, pos: number): string {
  if (raw.startsWith("`")) return raw.slice(1, -1);
  try {
    return JSON.parse(raw.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\'/g, "'")) as string;
  } catch {
    throw parseError(src, pos, `bad string syntax: ${raw}`);
  }
}

/** The tokens of one action's text (between the delimiters). */
function lexAction(src: string, from: number, to: number): Tok[] {
  const toks: Tok[] = [];
  let i = from;
  const isAlnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
  while (i < to) {
    const c = src[i]!;
    const start = i;
    if (/\s/.test(c)) {
      while (i < to && /\s/.test(src[i]!)) i++;
      toks.push({ t: "space", v: " ", pos: start, end: i });
    } else if (c === '"') {
      i++;
      while (i < to && src[i] !== '"') i += src[i] === "\\" ? 2 : 1;
      if (i >= to) throw parseError(src, start, "unterminated quoted string");
      i++;
      toks.push({ t: "str", v: unquote(src, src.slice(start, i), start), pos: start, end: i });
    } else if (c === "`") {
      const e = src.indexOf("`", i + 1);
      if (e < 0 || e >= to) throw parseError(src, start, "unterminated raw quoted string");
      i = e + 1;
      toks.push({ t: "str", v: src.slice(start + 1, e), pos: start, end: i });
    } else if (c === "'") {
      const m = /^'(\\.|[^\\'])'/.exec(src.slice(i, to));
      if (!m) throw parseError(src, start, "unterminated character constant");
      i += m[0].length;
      toks.push({ t: "num", v: String(unquote(src, `"${m[1]}"`, start).codePointAt(0)), pos: start, end: i });
    } else if (c === "." && isAlnum(src[i + 1]) && !/[0-9]/.test(src[i + 1]!)) {
      i++;
      while (isAlnum(src[i])) i++;
      toks.push({ t: "field", v: src.slice(start + 1, i), pos: start, end: i });
    } else if (c === "." && !/[0-9]/.test(src[i + 1] ?? "")) {
      i++;
      toks.push({ t: "dot", v: ".", pos: start, end: i });
    } else if (c === "$") {
      i++;
      while (isAlnum(src[i])) i++;
      toks.push({ t: "var", v: src.slice(start, i), pos: start, end: i });
    } else if (/[0-9+\-.]/.test(c)) {
      const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+(?![.eE0-9])|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(src.slice(i, to));
      const text = m?.[0] ?? "";
      if (!text || text === "+" || text === "-" || text === ".") throw parseError(src, start, `unexpected ${JSON.stringify(c)} in command`);
      i += text.length;
      const clean = text.replace(/_/g, "");
      const v = /^[+-]?0[oO]/.test(clean)
        ? parseInt(clean.replace(/0[oO]/, ""), 8) * (clean.startsWith("-") ? -1 : 1)
        : /^[+-]?0[bB]/.test(clean)
          ? parseInt(clean.replace(/0[bB]/, ""), 2) * (clean.startsWith("-") ? -1 : 1)
          : /^[+-]?0\d/.test(clean)
            ? parseInt(clean, 8)
            : Number(clean);
      if (!Number.isFinite(v)) throw parseError(src, start, `bad number syntax: ${JSON.stringify(text)}`);
      toks.push({ t: "num", v: String(v), pos: start, end: i });
    } else if (/[A-Za-z_]/.test(c)) {
      while (isAlnum(src[i])) i++;
      const w = src.slice(start, i);
      toks.push({ t: w === "true" || w === "false" ? "bool" : w === "nil" ? "nil" : "ident", v: w, pos: start, end: i });
    } else if (c === ":" && src[i + 1] === "=") {
      i += 2;
      toks.push({ t: ":=", v: ":=", pos: start, end: i });
    } else if ("()|=,".includes(c)) {
      i++;
      toks.push({ t: c as "(", v: c, pos: start, end: i });
    } else {
      throw parseError(src, start, `unexpected ${JSON.stringify(c)} in command`);
    }
  }
  return toks;
}

const BUILTIN_NAMES = new Set<string>();

class Parser {
  private toks: Tok[] = [];
  private i = 0;
  private vars: string[][] = [["$"]];

  constructor(readonly src: string) {}

  parse(): Node[] {
    const items = this.actions();
    let at = 0;
    const list = (stopAt: string[]): { nodes: Node[]; stop: string; stopItem?: Item } => {
      const nodes: Node[] = [];
      while (at < items.length) {
        const it = items[at++]!;
        if (it.k === "text") {
          if (it.v) nodes.push({ k: "text", v: it.v });
          continue;
        }
        this.toks = it.toks.filter((t, j, a) => !(t.t === "space" && (j === 0 || j === a.length - 1)));
        this.i = 0;
        if (this.toks.length === 0) throw parseError(this.src, it.pos, "missing value for command");
        const first = this.toks[0]!;
        const kw = first.t === "ident" && KEYWORDS.has(first.v) ? first.v : undefined;
        if (kw === "end" || kw === "else") {
          if (!stopAt.includes(kw)) throw parseError(this.src, it.pos, `unexpected {{${kw}}}`);
          return { nodes, stop: kw, stopItem: it };
        }
        if (kw === "if" || kw === "with" || kw === "range") {
          nodes.push(this.control(kw, list));
          continue;
        }
        if (kw === "break" || kw === "continue") {
          if (this.toks.length > 1) throw parseError(this.src, it.pos, `unexpected ${this.toks[1]!.v} in {{${kw}}}`);
          nodes.push({ k: kw, pos: first.pos });
          continue;
        }
        if (kw) throw parseError(this.src, it.pos, `{{${kw}}} is not supported`);
        const pipe = this.pipeline("command", true);
        nodes.push({ k: "action", pipe });
      }
      if (stopAt.length) throw parseError(this.src, this.src.length, "unexpected EOF");
      return { nodes, stop: "" };
    };
    return list([]).nodes;
  }

  /** if/with/range: the pipeline, the list, an else branch (else if / else with chain into a nested node). */
  private control(kw: "if" | "with" | "range", list: (stop: string[]) => { nodes: Node[]; stop: string; stopItem?: Item }): Node {
    this.i = 1;
    this.vars.push([]);
    const pipe = this.pipeline(kw, false, kw === "range");
    const body = list(["end", "else"]);
    let elseList: Node[] | undefined;
    if (body.stop === "else") {
      // {{else if ...}} / {{else with ...}}: the rest of the chain is one nested node
      const rest = this.toks.filter((t) => t.t !== "space");
      if (rest.length > 1) {
        const nk = rest[1]!;
        if (nk.t !== "ident" || nk.v !== kw || kw === "range") {
          throw parseError(this.src, nk.pos, `unexpected ${nk.v} in else`);
        }
        this.toks = this.toks.slice(this.toks.indexOf(nk));
        elseList = [this.control(kw as "if" | "with", list)];
        this.vars.pop();
        return { k: kw, pipe, list: body.nodes, else: elseList };
      }
      const e = list(["end"]);
      elseList = e.nodes;
    }
    this.vars.pop();
    return { k: kw, pipe, list: body.nodes, else: elseList };
  }

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private skipSpace(): void {
    while (this.peek()?.t === "space") this.i++;
  }

  private pipeline(context: string, top: boolean, rangeDecl = false): Pipe {
    this.skipSpace();
    const start = this.peek()?.pos ?? 0;
    const decl: string[] = [];
    let assign = false;
    // $x := / $x = / $i, $v :=
    const save = this.i;
    const names: string[] = [];
    for (;;) {
      this.skipSpace();
      const t = this.peek();
      if (t?.t !== "var") break;
      this.i++;
      this.skipSpace();
      const n = this.peek();
      if (n?.t === ":=" || n?.t === "=") {
        names.push(t.v);
        assign = n.t === "=";
        this.i++;
        decl.push(...names);
        break;
      }
      if (n?.t === "," && rangeDecl && names.length === 0) {
        names.push(t.v);
        this.i++;
        continue;
      }
      break;
    }
    if (decl.length === 0) this.i = save;
    else if (!assign) this.vars[this.vars.length - 1]!.push(...decl);
    else for (const d of decl) this.checkVar(d, start);
    const cmds: Cmd[] = [];
    for (;;) {
      this.skipSpace();
      const cmd = this.command();
      if (cmd.args.length === 0) throw parseError(this.src, start, `missing value for ${context}`);
      cmds.push(cmd);
      this.skipSpace();
      const t = this.peek();
      if (!t || t.t === ")") break;
      if (t.t === "|") {
        this.i++;
        continue;
      }
      throw parseError(this.src, t.pos, `unexpected ${JSON.stringify(t.v)} in ${context}`);
    }
    if (top && this.i < this.toks.length) throw parseError(this.src, this.toks[this.i]!.pos, `unexpected ${JSON.stringify(this.toks[this.i]!.v)} in operand`);
    return { decl, assign, cmds, pos: start, end: cmds[cmds.length - 1]!.end };
  }

  private checkVar(name: string, pos: number): void {
    if (!this.vars.some((s) => s.includes(name))) throw parseError(this.src, pos, `undefined variable "${name}"`);
  }

  private command(): Cmd {
    const args: Arg[] = [];
    const pos = this.peek()?.pos ?? 0;
    for (;;) {
      this.skipSpace();
      const t = this.peek();
      if (!t || t.t === "|" || t.t === ")") break;
      args.push(this.operand());
      const n = this.peek();
      if (n && n.t !== "space" && n.t !== "|" && n.t !== ")") throw parseError(this.src, n.pos, `unexpected ${JSON.stringify(n.v)} in operand`);
    }
    return { args, pos, end: args.length ? args[args.length - 1]!.end : pos };
  }

  private operand(): Arg {
    const t = this.toks[this.i++]!;
    let a: Arg;
    switch (t.t) {
      case "str":
        a = { k: "str", v: t.v, pos: t.pos, end: t.end };
        break;
      case "num":
        a = { k: "num", v: Number(t.v), pos: t.pos, end: t.end };
        break;
      case "bool":
        a = { k: "bool", v: t.v === "true", pos: t.pos, end: t.end };
        break;
      case "nil":
        a = { k: "nil", pos: t.pos, end: t.end };
        break;
      case "dot":
        a = { k: "dot", pos: t.pos, end: t.end };
        break;
      case "field":
        a = { k: "field", fields: [t.v], pos: t.pos, end: t.end };
        break;
      case "var":
        this.checkVar(t.v, t.pos);
        a = { k: "var", name: t.v, fields: [], pos: t.pos, end: t.end };
        break;
      case "ident":
        if (KEYWORDS.has(t.v)) throw parseError(this.src, t.pos, `unexpected <${t.v}> in command`);
        if (!BUILTIN_NAMES.has(t.v)) throw parseError(this.src, t.pos, `function "${t.v}" not defined`);
        a = { k: "ident", name: t.v, pos: t.pos, end: t.end };
        break;
      case "(": {
        const pipe = this.pipeline("parenthesized pipeline", false);
        const close = this.peek();
        if (close?.t !== ")") throw parseError(this.src, t.pos, "unclosed left paren");
        this.i++;
        a = { k: "pipe", pipe, fields: [], pos: t.pos, end: close.end };
        break;
      }
      default:
        throw parseError(this.src, t.pos, `unexpected ${JSON.stringify(t.v)} in operand`);
    }
    // a chain of fields: .A.B, $x.A, (pipe).A
    while (this.peek()?.t === "field") {
      const f = this.toks[this.i++]!;
      if (a.k === "field" || a.k === "var" || a.k === "pipe") {
        a.fields.push(f.v);
        if (a.k === "field" && a.fields.length === 2) {
          // Go reports a chained field at its second name, and shows it whole
          a.from = a.pos;
          a.pos = f.pos;
        }
        a.end = f.end;
      } else throw parseError(this.src, f.pos, `unexpected . after term ${JSON.stringify(this.src.slice(a.pos, a.end))}`);
    }
    return a;
  }

  private actions(): Item[] {
    const src = this.src;
    const items: Item[] = [];
    let i = 0;
    let trimNext = false;
    while (i <= src.length) {
      const open = src.indexOf("{{", i);
      let text = src.slice(i, open < 0 ? src.length : open);
      if (trimNext) text = text.replace(/^\s+/, "");
      trimNext = false;
      if (open < 0) {
        items.push({ k: "text", v: text, pos: i });
        break;
      }
      let from = open + 2;
      if (/^-\s/.test(src.slice(from, from + 2))) {
        text = text.replace(/\s+$/, "");
        from += 1;
      }
      items.push({ k: "text", v: text, pos: i });
      // a comment: {{/* ... */}}
      const cm = /^\s*\/\*/.exec(src.slice(from));
      if (cm) {
        const endC = src.indexOf("*/", from + cm[0].length);
        if (endC < 0) throw parseError(src, open, "unclosed comment");
        const after = src.slice(endC + 2);
        const close = /^(\s-)?\}\}/.exec(after);
        if (!close) throw parseError(src, open, "comment ends before closing delimiter");
        trimNext = close[1] !== undefined;
        i = endC + 2 + close[0].length;
        continue;
      }
      // the closing delimiter, outside quotes
      let j = from;
      let close = -1;
      while (j < src.length) {
        const c = src[j]!;
        if (c === '"') {
          j++;
          while (j < src.length && src[j] !== '"' && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
          j++;
        } else if (c === "`") {
          const e = src.indexOf("`", j + 1);
          j = e < 0 ? src.length : e + 1;
        } else if (src.startsWith("}}", j)) {
          close = j;
          break;
        } else j++;
      }
      if (close < 0) throw parseError(src, open, "unclosed action");
      let to = close;
      if (/\s-$/.test(src.slice(from, close)) && close - 2 >= from) {
        to = close - 1;
        trimNext = true;
      }
      items.push({ k: "action", toks: lexAction(src, from, to), pos: open });
      i = close + 2;
      if (i === src.length) {
        items.push({ k: "text", v: "", pos: i });
        break;
      }
    }
    return items;
  }
}

type Item = { k: "text"; v: string; pos: number } | { k: "action"; toks: Tok[]; pos: number };

export function parseTemplate(src: string): Template {
  return { src, root: new Parser(src).parse() };
}

// ---- values ---------------------------------------------------------------------

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(TYPE in v);
}
function isStruct(v: unknown): v is Record<string | symbol, unknown> {
  return typeof v === "object" && v !== null && TYPE in v;
}

/** Go's type names, for errors. */
export function goType(v: unknown): string {
  if (v === undefined || v === null) return "interface {}";
  if (isStruct(v)) return v[TYPE] as string;
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (Array.isArray(v)) return "[]interface {}";
  if (typeof v === "function") return "func";
  return "map[string]interface {}";
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** How fmt's %v prints a value. */
export function printValue(v: unknown): string {
  if (v === undefined || v === null) return "<no value>";
  return fmtV(v);
}
function fmtV(v: unknown): string {
  if (v === undefined || v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return fmtNumber(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(fmtV).join(" ")}]`;
  if (typeof v === "function") return "<func>";
  if (isStruct(v))
    return `{${Object.keys(v)
      .map((k) => fmtV(v[k]))
      .join(" ")}}`;
  const m = v as Record<string, unknown>;
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${fmtV(m[k])}`)
    .join(" ")}]`;
}
function fmtNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

// ---- functions --------------------------------------------------------------------

class FuncError extends Error {}

function strOf(v: unknown, fn: string): string {
  if (typeof v !== "string") throw new FuncError(`wrong type for value; expected string; got ${goType(v)}`);
  void fn;
  return v;
}
function intOf(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new FuncError(`cannot index slice/array with type ${goType(v)}`);
  return v;
}

function basicKind(v: unknown): "bool" | "int" | "float" | "string" | "nil" | "other" {
  if (v === undefined || v === null) return "nil";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "string") return "string";
  return "other";
}

function eqPair(a: unknown, b: unknown): boolean {
  const ka = basicKind(a),
    kb = basicKind(b);
  const num = (k: string) => k === "int" || k === "float";
  if (ka === "other" || kb === "other") {
    if (ka === "nil" || kb === "nil") return false;
    throw new FuncError("incompatible types for comparison");
  }
  if (ka === "nil" && kb === "nil") return true;
  if (num(ka) && num(kb)) return a === b;
  if (ka !== kb) throw new FuncError("incompatible types for comparison");
  return a === b;
}
function ltPair(a: unknown, b: unknown): boolean {
  const ka = basicKind(a),
    kb = basicKind(b);
  const num = (k: string) => k === "int" || k === "float";
  if (num(ka) && num(kb)) return (a as number) < (b as number);
  if (ka === "string" && kb === "string") return (a as string) < (b as string);
  if (ka === "bool" || ka === "other" || ka === "nil" || kb === "other" || kb === "nil") throw new FuncError("invalid type for comparison");
  throw new FuncError("incompatible types for comparison");
}

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, "\\x7f");
}

/** fmt.Sprintf for the common verbs: %v %s %d %q %x %X %o %b %f %e %g %t %c %T %%, with flags, width and precision. */
export function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return (
    format.replace(/%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g, (_m, flags: string, w: string | undefined, p: string | undefined, verb: string) => {
      if (verb === "%") return "%";
      let width = w === "*" ? Number(args[ai++]) : w !== undefined ? Number(w) : undefined;
      const prec = p === "*" ? Number(args[ai++]) : p !== undefined ? Number(p) : _m.includes(".") ? 0 : undefined;
      if (ai >= args.length) return `%!${verb}(MISSING)`;
      const a = args[ai++];
      let s: string;
      switch (verb) {
        case "v":
          s = a === undefined || a === null ? "<nil>" : flags.includes("#") && typeof a === "string" ? goQuote(a) : fmtV(a);
          break;
        case "s":
          s = typeof a === "string" ? a : fmtV(a);
          if (prec !== undefined) s = s.slice(0, prec);
          break;
        case "q":
          s = typeof a === "string" ? goQuote(a) : typeof a === "number" ? `'${String.fromCodePoint(a)}'` : `%!q(${goType(a)}=${fmtV(a)})`;
          break;
        case "d":
          s = typeof a === "number" && Number.isInteger(a) ? (flags.includes("+") && a >= 0 ? "+" : "") + String(a) : `%!d(${goType(a)}=${fmtV(a)})`;
          break;
        case "x":
        case "X": {
          s =
            typeof a === "number" ? Math.trunc(a).toString(16) : typeof a === "string" ? Buffer.from(a).toString("hex") : `%!${verb}(${goType(a)}=${fmtV(a)})`;
          if (verb === "X") s = s.toUpperCase();
          if (flags.includes("#") && typeof a === "number") s = (verb === "x" ? "0x" : "0X") + s;
          break;
        }
        case "o":
          s = typeof a === "number" ? Math.trunc(a).toString(8) : `%!o(${goType(a)}=${fmtV(a)})`;
          break;
        case "b":
          s = typeof a === "number" ? Math.trunc(a).toString(2) : `%!b(${goType(a)}=${fmtV(a)})`;
          break;
        case "f":
        case "F":
          s = typeof a === "number" ? a.toFixed(prec ?? 6) : `%!f(${goType(a)}=${fmtV(a)})`;
          break;
        case "e":
          s = typeof a === "number" ? a.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2") : `%!e(${goType(a)}=${fmtV(a)})`;
          break;
        case "g":
          s = typeof a === "number" ? (prec !== undefined ? String(Number(a.toPrecision(prec))) : fmtNumber(a)) : `%!g(${goType(a)}=${fmtV(a)})`;
          break;
        case "t":
          s = typeof a === "boolean" ? String(a) : `%!t(${goType(a)}=${fmtV(a)})`;
          break;
        case "c":
          s = typeof a === "number" ? String.fromCodePoint(a) : `%!c(${goType(a)}=${fmtV(a)})`;
          break;
        case "T":
          s = goType(a);
          break;
        default:
          s = `%!${verb}(${goType(a)}=${fmtV(a)})`;
      }
      if (width !== undefined && s.length < width) {
        if (flags.includes("-")) s = s.padEnd(width);
        else if (flags.includes("0") && /[dxXobfeg]/.test(verb)) s = s.startsWith("-") ? "-" + s.slice(1).padStart(width - 1, "0") : s.padStart(width, "0");
        else s = s.padStart(width);
      }
      width = undefined;
      return s;
    }) +
    (ai < args.length
      ? `%!(EXTRA ${args
          .slice(ai)
          .map((a) => `${goType(a)}=${fmtV(a)}`)
          .join(", ")})`
      : "")
  );
}

function sprint(args: unknown[]): string {
  let s = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") s += " ";
    s += fmtV(a);
  });
  return s;
}

function lengthOf(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goType(v)}`);
}

function indexOf(item: unknown, keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === "string") {
      const i = intOf(k);
      const len = Array.isArray(v) ? v.length : Buffer.byteLength(v);
      if (i < 0 || i >= len) throw new FuncError(`index out of range: ${i}`);
      v = Array.isArray(v) ? v[i] : Buffer.from(v as string)[i];
    } else if (isMap(v)) {
      if (typeof k !== "string") throw new FuncError(`value has type ${goType(k)}; should be string`);
      // a missing key gives the map's zero value: "" for a map of strings (labels), else no value
      v = Object.hasOwn(v, k) ? v[k] : Object.values(v).every((x) => typeof x === "string") ? "" : undefined;
    } else if (v === undefined || v === null) {
      throw new FuncError("index of untyped nil");
    } else throw new FuncError(`can't index item of type ${goType(v)}`);
  }
  return v;
}

/** strings.Title: the first letter of every word upper case. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());
}

type Fn = (args: unknown[]) => unknown;

const FUNCS: Record<string, Fn> = {
  not: ([a]) => !truth(a),
  len: ([a]) => lengthOf(a),
  index: ([item, ...keys]) => indexOf(item, keys),
  slice: ([item, ...ix]) => {
    if (typeof item !== "string" && !Array.isArray(item)) throw new FuncError(`can't slice item of type ${goType(item)}`);
    const len = typeof item === "string" ? Buffer.byteLength(item) : item.length;
    const [i = 0, j = len] = ix.map(intOf);
    if (i < 0 || j > len || i > j) throw new FuncError(`index out of range: ${j > len ? j : i}`);
    return typeof item === "string" ? Buffer.from(item).subarray(i, j).toString() : item.slice(i, j);
  },
  print: (a) => sprint(a),
  printf: ([f, ...a]) => sprintf(strOf(f, "printf"), a),
  println: (a) => a.map(fmtV).join(" ") + "\n",
  eq: ([a, ...bs]) => {
    if (bs.length === 0) throw new FuncError("missing argument for comparison");
    return bs.some((b) => eqPair(a, b));
  },
  ne: ([a, b]) => !eqPair(a, b),
  lt: ([a, b]) => ltPair(a, b),
  le: ([a, b]) => ltPair(a, b) || eqPair(a, b),
  gt: ([a, b]) => !ltPair(a, b) && !eqPair(a, b),
  ge: ([a, b]) => !ltPair(a, b),
  html: (a) => sprint(a).replace(/[&<>"'\0]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "\0": "\uFFFD" })[c]!),
  js: (a) =>
    sprint(a).replace(
      /[\\'"<>&=\n\r\t]/g,
      (c) =>
        ({ "\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!,
    ),
  urlquery: (a) => encodeURIComponent(sprint(a)).replace(/%20/g, "+"),
  call: ([f, ...a]) => {
    if (typeof f !== "function") throw new FuncError(`non-function of type ${goType(f)}`);
    return (f as Fn)(a);
  },
  // Docker's
  json: ([a]) => JSON.stringify(a === undefined ? null : a),
  join: ([a, sep]) => {
    if (!Array.isArray(a)) throw new FuncError(`wrong type for value; expected []string; got ${goType(a)}`);
    return a.map(fmtV).join(strOf(sep, "join"));
  },
  split: ([s, sep]) => {
    const str = strOf(s, "split"),
      p = strOf(sep, "split");
    return p === "" ? [...str] : str.split(p);
  },
  title: ([s]) => title(strOf(s, "title")),
  upper: ([s]) => strOf(s, "upper").toUpperCase(),
  lower: ([s]) => strOf(s, "lower").toLowerCase(),
  pad: ([s, before, after]) => " ".repeat(Number(before)) + strOf(s, "pad") + " ".repeat(Number(after)),
  truncate: ([s, n]) => {
    const str = strOf(s, "truncate");
    return [...str].length > Number(n) ? [...str].slice(0, Number(n)).join("") : str;
  },
};
for (const k of [...Object.keys(FUNCS), "and", "or"]) BUILTIN_NAMES.add(k);

// ---- execution ---------------------------------------------------------------------

class Break {}
class Continue {}

export interface ExecOptions {
  /** The header row of a table: every field is looked up in this map instead, and method arguments are ignored. */
  header?: Record<string, string>;
}

class Exec {
  private vars: Array<[string, unknown]> = [];
  constructor(
    readonly t: Template,
    readonly opts: ExecOptions,
  ) {}

  private fail(node: { pos: number; end: number; from?: number }, msg: string): never {
    const src = this.t.src;
    const line = lineOf(src, node.pos);
    const col = node.pos - (src.lastIndexOf("\n", node.pos - 1) + 1);
    let ctx = src.slice(node.from ?? node.pos, node.end);
    if (ctx.length > 20) ctx = `${ctx.slice(0, 20)}...`;
    throw new TemplateError(`template: :${line}:${col}: executing "" at <${ctx}>: ${msg}`);
  }

  run(data: unknown): string {
    this.vars = [["$", data]];
    return this.list(this.t.root, data);
  }

  private list(nodes: Node[], dot: unknown): string {
    let out = "";
    for (const n of nodes) {
      switch (n.k) {
        case "text":
          out += n.v;
          break;
        case "action": {
          const v = this.pipe(n.pipe, dot);
          if (n.pipe.decl.length === 0) out += printValue(v);
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const v = this.pipe(n.pipe, dot);
          if (truth(v)) out += this.list(n.list, n.k === "with" ? v : dot);
          else if (n.else) out += this.list(n.else, dot);
          this.vars.length = mark;
          break;
        }
        case "range":
          out += this.range(n, dot);
          break;
        case "break":
          throw new Break();
        case "continue":
          throw new Continue();
      }
    }
    return out;
  }

  private range(n: Extract<Node, { k: "range" }>, dot: unknown): string {
    const mark = this.vars.length;
    const p = n.pipe;
    const v = this.pipe({ ...p, decl: [] }, dot);
    let entries: Array<[unknown, unknown]>;
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (isMap(v))
      entries = Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    else if (typeof v === "number" && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    else if (v === undefined || v === null) entries = [];
    else this.fail(p, `range can't iterate over ${fmtV(v)}`);
    let out = "";
    for (const [k, x] of entries) {
      this.vars.length = mark;
      if (p.decl.length === 1) this.vars.push([p.decl[0]!, x]);
      else if (p.decl.length === 2) this.vars.push([p.decl[0]!, k], [p.decl[1]!, x]);
      try {
        out += this.list(n.list, x);
      } catch (e) {
        if (e instanceof Break) break;
        if (!(e instanceof Continue)) throw e;
      }
    }
    this.vars.length = mark;
    if (entries.length === 0 && n.else) out += this.list(n.else, dot);
    return out;
  }

  private pipe(p: Pipe, dot: unknown): unknown {
    let v: unknown = undefined;
    let has = false;
    for (const c of p.cmds) {
      v = this.command(c, dot, has ? { v } : undefined);
      has = true;
    }
    if (p.decl.length) {
      if (p.assign) {
        for (let i = this.vars.length - 1; i >= 0; i--) {
          if (this.vars[i]![0] === p.decl[0]) {
            this.vars[i]![1] = v;
            break;
          }
        }
      } else this.vars.push([p.decl[0]!, v]);
    }
    return v;
  }

  private command(c: Cmd, dot: unknown, final: { v: unknown } | undefined): unknown {
    const [first, ...rest] = c.args;
    if (first!.k === "ident") return this.call(first!.name, c, rest, dot, final);
    if (first!.k === "field" || (first!.k === "var" && first!.fields.length) || (first!.k === "pipe" && first!.fields.length)) {
      const args = rest.map((a) => this.arg(a, dot));
      if (final) args.push(final.v);
      return this.chain(first!, dot, args);
    }
    if (rest.length || final) this.fail(c, `can't give argument to non-function ${this.t.src.slice(first!.pos, first!.end)}`);
    return this.arg(first!, dot);
  }

  private call(name: string, c: Cmd, rest: Arg[], dot: unknown, final: { v: unknown } | undefined): unknown {
    if (name === "and" || name === "or") {
      // short-circuit: the first false (and) or true (or) argument, else the last
      const all = [...rest.map((a) => () => this.arg(a, dot)), ...(final ? [() => final.v] : [])];
      if (all.length === 0) this.fail(c, `wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const get of all) {
        v = get();
        if (name === "and" ? !truth(v) : truth(v)) return v;
      }
      return v;
    }
    const args = rest.map((a) => this.arg(a, dot));
    if (final) args.push(final.v);
    const want: Record<string, [number, number]> = {
      not: [1, 1],
      len: [1, 1],
      index: [1, Infinity],
      slice: [1, 4],
      printf: [1, Infinity],
      ne: [2, 2],
      lt: [2, 2],
      le: [2, 2],
      gt: [2, 2],
      ge: [2, 2],
      eq: [1, Infinity],
      json: [1, 1],
      join: [2, 2],
      split: [2, 2],
      title: [1, 1],
      upper: [1, 1],
      lower: [1, 1],
      pad: [3, 3],
      truncate: [2, 2],
      call: [1, Infinity],
    };
    const w = want[name];
    if (w && (args.length < w[0] || args.length > w[1])) {
      this.fail(c, `wrong number of args for ${name}: want ${w[0] === w[1] ? w[0] : `at least ${w[0]}`} got ${args.length}`);
    }
    try {
      return FUNCS[name]!(args);
    } catch (e) {
      if (e instanceof FuncError) this.fail(c, `error calling ${name}: ${e.message}`);
      throw e;
    }
  }

  private arg(a: Arg, dot: unknown): unknown {
    switch (a.k) {
      case "str":
      case "num":
      case "bool":
        return a.v;
      case "nil":
        return null;
      case "dot":
        return dot;
      case "ident":
        return this.call(a.name, { args: [a], pos: a.pos, end: a.end }, [], dot, undefined);
      default:
        return this.chain(a, dot, []);
    }
  }

  private chain(a: Extract<Arg, { k: "field" | "var" | "pipe" }>, dot: unknown, args: unknown[]): unknown {
    let v: unknown;
    if (a.k === "field") v = dot;
    else if (a.k === "var") {
      const hit = [...this.vars].reverse().find(([n]) => n === a.name);
      v = hit?.[1];
    } else v = this.pipe(a.pipe, dot);
    if (this.opts.header && a.k === "field" && v === dot) {
      const last = a.fields[a.fields.length - 1]!;
      return this.opts.header[a.fields[0]!] ?? headerOf(last);
    }
    a.fields.forEach((f, i) => {
      const lastField = i === a.fields.length - 1;
      v = this.field(a, v, f, lastField ? args : []);
    });
    if (a.fields.length === 0 && args.length) this.fail(a, `can't give argument to non-function ${this.t.src.slice(a.pos, a.end)}`);
    return v;
  }

  private field(node: { pos: number; end: number }, v: unknown, name: string, args: unknown[]): unknown {
    if (v === undefined || v === null) this.fail(node, `nil pointer evaluating interface {}.${name}`);
    if (isStruct(v)) {
      if (!Object.hasOwn(v, name)) this.fail(node, `can't evaluate field ${name} in type ${v[TYPE] as string}`);
      const f = v[name];
      if (typeof f === "function") {
        try {
          return (f as Fn)(args);
        } catch (e) {
          if (e instanceof FuncError) this.fail(node, `error calling ${name}: ${e.message}`);
          throw e;
        }
      }
      if (args.length) this.fail(node, `${name} has arguments but cannot be invoked as function`);
      return f;
    }
    if (isMap(v)) {
      if (args.length) this.fail(node, `${name} is not a method but has arguments`);
      if (!Object.hasOwn(v, name)) this.fail(node, `map has no entry for key "${name}"`);
      return v[name];
    }
    this.fail(node, `can't evaluate field ${name} in type ${goType(v)}`);
  }
}

/** A field's header in a table: Docker's name for it, else the name in capitals, words split. */
function headerOf(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toUpperCase();
}

export function execute(t: Template, data: unknown, opts: ExecOptions = {}): string {
  return new Exec(t, opts).run(data);
}

/** Go's tabwriter as Docker's tables use it: min width 10, tab width 1, padding 3, spaces. */
export function tabwrite(text: string): string {
  const lines = text.split("\n");
  const cells = lines.map((l) => l.split("\t"));
  const widths: number[] = [];
  for (const row of cells) {
    for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, [...row[i]!].length);
  }
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(Math.max(10, widths[i]! + 3)))).join("")).join("\n");
}

/**
 * Docker's --format for lists: "table ..." gives a header row (each field's
 * name from headers, else the field name in capitals) and aligned columns;
 * any other template is written once per row, each ending in a newline.
 * `\t` and `\n` written literally become a tab and a newline, as Docker does.
 */
export function formatRows(format: string, rows: unknown[], headers: Record<string, string> = {}): string {
  let f = format;
  const isTable = f.startsWith("table");
  if (isTable) f = f.slice(5).replace(/^\s+/, "");
  f = f.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const t = parseTemplate(f);
  let out = "";
  if (isTable) out += execute(t, {}, { header: headers }) + "\n";
  for (const r of rows) out += execute(t, r) + "\n";
  return isTable ? tabwrite(out) : out;
}

/** One template for each object (inspect, version, info): each result ends in a newline. */
export function formatEach(format: string, items: unknown[]): string {
  const t = parseTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n"));
  return items.map((i) => execute(t, i) + "\n").join("");
}

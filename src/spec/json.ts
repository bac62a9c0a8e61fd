/**
 * JSON parsing with error positions. `JSON.parse` does the work; only when it
 * fails does a small scanner walk the text to find where and why, because the
 * engine's own message carries no position.
 */

export interface JSONSyntaxProblem {
  /** 0-based offset into the text. */
  offset: number;
  line: number;
  column: number;
  message: string;
}

/** Parse `text`, or return the first syntax problem. Never throws. */
export function tryParseJSON(text: string): { ok: true; value: unknown } | { ok: false; problem: JSONSyntaxProblem } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (e) {
    const found = locateSyntaxError(body);
    const offset = found?.offset ?? 0;
    const message = found?.message ?? (e instanceof Error ? e.message : String(e));
    const { line, column } = lineColumn(body, offset);
    return { ok: false, problem: { offset, line, column, message } };
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

function show(text: string, i: number): string {
  if (i >= text.length) return "end of input";
  const ch = text[i]!;
  return JSON.stringify(ch);
}

/** Returns the first syntax error of `text` as JSON, or null if it is valid. */
export function locateSyntaxError(text: string): { offset: number; message: string } | null {
  let i = 0;
  const n = text.length;

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const fail = (message: string, at = i): never => {
    throw new Stop(at, message);
  };

  const value = (depth: number): void => {
    if (depth > 10000) fail("nesting too deep");
    ws();
    if (i >= n) fail("unexpected end of input, expected a value");
    const c = text[i]!;
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    for (const lit of ["true", "false", "null"]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    fail(`unexpected ${show(text, i)}, expected a value`);
  };

  const object = (depth: number): void => {
    i++; // {
    ws();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail(`unexpected ${show(text, i)}, expected a property name in double quotes`);
      string();
      ws();
      if (text[i] !== ":") fail(`unexpected ${show(text, i)}, expected ':' after property name`);
      i++;
      value(depth + 1);
      ws();
      if (text[i] === ",") {
        i++;
        ws();
        if (text[i] === "}") fail("trailing comma before '}'");
        continue;
      }
      if (text[i] === "}") {
        i++;
        return;
      }
      fail(`unexpected ${show(text, i)}, expected ',' or '}' after property value`);
    }
  };

  const array = (depth: number): void => {
    i++; // [
    ws();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      value(depth + 1);
      ws();
      if (text[i] === ",") {
        i++;
        ws();
        if (text[i] === "]") fail("trailing comma before ']'");
        continue;
      }
      if (text[i] === "]") {
        i++;
        return;
      }
      fail(`unexpected ${show(text, i)}, expected ',' or ']' after array element`);
    }
  };

  const string = (): void => {
    const start = i;
    i++; // opening quote
    for (;;) {
      if (i >= n) fail("unterminated string", start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("control character in string (escape it)");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === undefined) fail("unterminated string", start);
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("invalid \\u escape: expected 4 hex digits");
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e!)) fail(`invalid escape \\${e}`);
        i += 2;
        continue;
      }
      i++;
    }
  };

  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail("invalid number");
    i += m![0].length;
    const next = text[i];
    if (next !== undefined && /[0-9.eE+\-a-zA-Z]/.test(next)) fail("invalid number");
  };

  try {
    value(0);
    ws();
    if (i < n) fail(`unexpected ${show(text, i)} after the end of the JSON value`);
    return null;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, message: e.message };
    throw e;
  }
}

import { describe, expect, test } from "bun:test";
import { locateSyntaxError, tryParseJSON } from "../../src/spec/json.ts";

describe("JSON syntax errors", () => {
  test("valid documents have no error and parse to the same value as JSON.parse", () => {
    for (const t of ['{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"]}', "[]", "0", ' "s" ', '{"":{}}']) {
      expect(locateSyntaxError(t)).toBeNull();
      const r = tryParseJSON(t);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toEqual(JSON.parse(t));
    }
  });

  test("each kind of error is located", () => {
    const cases: [string, number, string][] = [
      ["", 0, "end of input"],
      ["{", 1, "property name"],
      ['{"a" 1}', 5, "':'"],
      ['{"a":1 "b":2}', 7, "',' or '}'"],
      ["[1 2]", 3, "',' or ']'"],
      ["[1,]", 3, "trailing comma"],
      ['{"a":1,}', 7, "trailing comma"],
      ['"abc', 0, "unterminated string"],
      ['"a\tb"', 2, "control character"],
      ['"\\x"', 1, "invalid escape"],
      ['"\\u12g4"', 1, "\\u escape"],
      ["01", 1, "invalid number"],
      ["-", 0, "invalid number"],
      ["1.", 1, "invalid number"],
      ["tru", 0, "expected a value"],
      ["{} {}", 3, "after the end"],
      ["{'a':1}", 1, "double quotes"],
    ];
    for (const [text, offset, msg] of cases) {
      const r = locateSyntaxError(text);
      expect({ text, offset: r?.offset }).toEqual({ text, offset });
      expect(r!.message).toContain(msg);
      expect(() => JSON.parse(text)).toThrow();
    }
  });

  test("line and column are 1-based and count lines", () => {
    const r = tryParseJSON('{\n  "a": 1,\n  "b": ]\n}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatchObject({ line: 3, column: 8 });
  });
});

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { GENERATED_FILE, generateValidators } from "../../src/spec/gen-validators.ts";

test("validators.generated.ts is up to date with schema.ts (run: bun src/spec/gen-validators.ts)", () => {
  const current = readFileSync(GENERATED_FILE, "utf8");
  const fresh = generateValidators();
  expect(current.length).toBe(fresh.length);
  expect(current === fresh).toBe(true);
});

test("the generated module needs no ajv at run time", () => {
  const current = readFileSync(GENERATED_FILE, "utf8");
  expect(current).not.toMatch(/\brequire\(|from\s+["']ajv/);
});

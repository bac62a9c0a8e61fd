import { expect } from "bun:test";
import { SpecError } from "../../src/spec/validate.ts";
import { defaultSpec } from "../../src/spec/defaults.ts";

/** Runs `fn`, expects a SpecError at `path` whose message contains every fragment. */
export function expectSpecError(fn: () => unknown, path: string, ...fragments: string[]): SpecError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SpecError);
  const err = caught as SpecError;
  expect(err.path).toBe(path);
  expect(err.message).not.toContain("\n");
  expect(err.message.startsWith(`${err.source}: ${path ? `${path}: ` : ""}`)).toBe(true);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

/** A default spec as a plain JSON object, free to mutate in a test. */
export function baseConfig(): any {
  return JSON.parse(JSON.stringify(defaultSpec()));
}

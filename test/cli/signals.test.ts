// Signal names and numbers as `kill` takes them (runc's forms).
import { expect, test } from "bun:test";
import { constants } from "node:os";
import { signalNumber } from "../../src/cli/runc.ts";

test("signal names, with or without SIG, any case, and numbers, as the kernel numbers them", () => {
  for (const [name, n] of Object.entries(constants.signals)) {
    expect([name, signalNumber(name)]).toEqual([name, n]);
    expect([name, signalNumber(name.slice(3).toLowerCase())]).toEqual([name, n]);
  }
  expect(signalNumber(undefined)).toBe(15);
  expect(signalNumber("9")).toBe(9);
  // signal 0: a probe that the init is there, as runc takes it
  expect(signalNumber("0")).toBe(0);
  expect(signalNumber("RTMIN")).toBe(34);
  expect(signalNumber("SIGRTMIN+3")).toBe(37);
  expect(signalNumber("rtmax-1")).toBe(63);
  for (const bad of ["FOO", "-1", "65", "RTMIN+31", "RTMAX-31"]) expect(() => signalNumber(bad)).toThrow(/signal/);
});

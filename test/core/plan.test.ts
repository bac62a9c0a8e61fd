// The plan contract's C side: the header generated from src/linux/planops.ts
// is the one checked in.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { generatePlanHeader, PLAN_HEADER } from "../../scripts/gen-plan-header.ts";

test("core/plan.gen.h is up to date with src/linux/planops.ts (run: bun scripts/gen-plan-header.ts)", () => {
  const current = readFileSync(PLAN_HEADER, "utf8");
  const fresh = generatePlanHeader();
  expect(current.length).toBe(fresh.length);
  expect(current === fresh).toBe(true);
});

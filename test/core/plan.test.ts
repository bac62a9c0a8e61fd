// The plan contract's C side: the header generated from src/linux/planops.ts
// is the one checked in, and the core's parser (core/plan.c), built here with
// a small driver (plan-driver.c), takes well-formed plans and refuses
// malformed ones with one line naming the op and the field (the core's error
// line: "error ERRNO STEP MESSAGE", here errno 0 and the step "plan").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generatePlanHeader, PLAN_HEADER } from "../../scripts/gen-plan-header.ts";
import { CoreError, CoreSession, coreErrorLine, coreErrorOf, encodePlan } from "../../src/linux/core.ts";
import { errnoCode } from "../../src/linux/libc.ts";
import { fakeHost } from "../../src/linux/hostfacts.ts";
import type { PlanOp } from "../../src/linux/planops.ts";
import { createPlan } from "../../src/runtime/plan.ts";
import { defaultSpec } from "../../src/spec/defaults.ts";

test("core/plan.gen.h is up to date with src/linux/planops.ts (run: bun scripts/gen-plan-header.ts)", () => {
  const current = readFileSync(PLAN_HEADER, "utf8");
  const fresh = generatePlanHeader();
  expect(current.length).toBe(fresh.length);
  expect(current === fresh).toBe(true);
});

const ROOT = resolve(import.meta.dir, "../..");
let dir = "";
let driver = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-plan-"));
  driver = join(dir, "plan-driver");
  const cc = spawnSync(
    "gcc",
    ["-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-o", driver, "test/core/plan-driver.c", "core/plan.c", "core/util.c"],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (cc.status !== 0) throw new Error(`building the plan driver: ${cc.stderr}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The driver's output for these plan bytes. */
function parse(bytes: Buffer): string {
  const r = spawnSync(driver, [], { input: bytes, encoding: "utf8" });
  return r.stdout;
}

/** A plan of raw records (each a list of strings, NUL-terminated on the wire). */
function raw(...records: string[][]): Buffer {
  const parts = records.map((r) => {
    const body = Buffer.from(r.map((s) => `${s}\0`).join(""));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return Buffer.concat([head, body]);
  });
  const len = Buffer.alloc(4);
  len.writeUInt32LE(parts.reduce((n, p) => n + p.length, 0));
  return Buffer.concat([len, ...parts]);
}

const MODE = ["mode", "exec"];
const ARGS = ["args", "true"];

describe("the core's plan parser", () => {
  test("a create plan made by createPlan: every op parsed, fields by name, the ordered lists", () => {
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.rlimits = [{ type: "RLIMIT_NOFILE", hard: 2 ** 64, soft: 1024 }];
    spec.process!.oomScoreAdj = -500;
    spec.hooks = { createContainer: [{ path: "/bin/h", args: ["h", "a"], env: ["E=1"], timeout: 5 }] };
    const ops = createPlan({ spec, bundle: "/b", id: "c1", host: fakeHost({ dirs: ["/b/rootfs"] }) });
    const out = parse(encodePlan(ops)).split("\n");
    expect(out.filter((l) => l.startsWith("error"))).toEqual([]);
    expect(out.slice(0, ops.length).map((l) => l.split(" ")[0])).toEqual(ops.map((o) => o.op));
    expect(out).toContain(
      "mount kind=fs source=proc target=/proc fstype=proc attrSet=0 attrClr=0 attrRecursive=0 propagation=0 propRecursive=0 data= mkkind=3",
    );
    expect(out).toContain("rlimit resource=7 soft=1024 hard=18446744073709551615 label=process.rlimits[0] (RLIMIT_NOFILE)");
    expect(out).toContain("oom-score-adj score=-500");
    expect(out).toContain("hook phase=createContainer timeout=5 path=/bin/h args=h,a env=E=1");
    expect(out).toContain("create: 1");
    const rootfs = out
      .find((l) => l.startsWith("rootfs: "))!
      .split(" ")
      .slice(1);
    expect(rootfs).toEqual(ops.filter((o) => ["mount", "mkdev", "bind-dev", "symlink", "mkdir", "mount-readonly"].includes(o.op)).map((o) => o.op));
    expect(out.find((l) => l.startsWith("paths: "))).toMatch(/^paths: (mask )+(readonly ?)+$/);
  });

  test("lists: empty and counted lists, an exec plan", () => {
    const ops: PlanOp[] = [
      { op: "mode", mode: "exec" },
      { op: "groups", gids: [] },
      { op: "hook", phase: "startContainer", timeout: 0, path: "/h", args: [], env: [] },
      { op: "args", argv: ["sh", "-c", "x"] },
    ];
    expect(parse(encodePlan(ops))).toBe(
      "mode mode=exec\ngroups gids=\nhook phase=startContainer timeout=0 path=/h args= env=\nargs argv=sh,-c,x\ncreate: 0\nrootfs:\npaths:\nattrs:\n",
    );
  });

  const refusals: [string, Buffer, string][] = [
    ["an unknown op", raw(MODE, ["frobnicate", "x"], ARGS), 'plan: unknown op "frobnicate"'],
    ["a missing field", raw(MODE, ["mkdir", "/x"], ARGS), "plan: mkdir.mode: missing"],
    ["a field too many", raw(MODE, ["symlink", "a", "b", "c"], ARGS), "plan: symlink: 3 fields, 2 expected"],
    ["a bad number", raw(MODE, ["mkdir", "/x", "0x1ed"], ARGS), 'plan: mkdir.mode: bad number "0x1ed"'],
    ["a negative unsigned number", raw(MODE, ["user", "-1", "0"], ARGS), 'plan: user.uid: bad number "-1"'],
    ["a number beyond 64 bits", raw(MODE, ["umask", "18446744073709551616"], ARGS), 'plan: umask.mask: bad number "18446744073709551616"'],
    ["a bad number in a list", raw(MODE, ["groups", "1", "x"], ARGS), 'plan: groups.gids: bad number "x"'],
    ["a value not in the list", raw(["mode", "destroy"], ARGS), 'plan: mode.mode: unknown value "destroy"'],
    ["a count beyond the record", raw(MODE, ["hook", "startContainer", "0", "/h", "3", "a"], ARGS), 'plan: hook.args: bad count "3"'],
    ["a single op twice", raw(MODE, MODE, ARGS), "plan: mode: given more than once"],
    ["no mode", raw(ARGS), "plan: no mode"],
    ["no args", raw(MODE), "plan: no args"],
    ["create without a rootfs", raw(["mode", "create"], ARGS), "plan: no rootfs"],
  ];
  for (const [what, bytes, message] of refusals) {
    test(`refused: ${what}`, () => {
      expect(parse(bytes)).toBe(`error 0 plan ${message}\n`);
    });
  }

  test("refused: a record without its final NUL, a truncated record, a truncated plan", () => {
    const good = raw(MODE, ARGS);
    const noNul = Buffer.from(good);
    noNul[noNul.length - 1] = 0x65; // "true\0" -> "truee"
    expect(parse(noNul)).toMatch(/^error 0 plan plan: record at byte \d+ does not end with a NUL byte\n$/);
    const longRecord = Buffer.from(good);
    longRecord.writeUInt32LE(1000, 4); // the first record claims more than the plan holds
    expect(parse(longRecord)).toBe("error 0 plan plan: truncated record at byte 0\n");
    expect(parse(good.subarray(0, good.length - 3))).toBe(`error 0 plan plan: truncated (${good.length - 4} bytes announced)\n`);
    expect(parse(Buffer.alloc(2))).toBe("error 0 plan plan: cannot read its length\n");
  });
});

describe("the core's error line", () => {
  test("carries the errno and the step apart from the message, which is unchanged", () => {
    const e = coreErrorLine("error 2 exec exec nope: executable file not found in $PATH");
    expect([e.message, e.errno, e.code, e.step]).toEqual(["exec nope: executable file not found in $PATH", 2, "ENOENT", "exec"]);
    expect(errnoCode(new Error("wrapped", { cause: e }))).toBe("ENOENT");
    expect(coreErrorOf(new Error("wrapped", { cause: e }))).toBe(e);
    const none = coreErrorLine("error 0 plan plan: no args");
    expect([none.message, none.errno, none.code, none.step]).toEqual(["plan: no args", 0, undefined, "plan"]);
  });
});

describe("berth-core itself (no container: an exec plan that joins nothing)", () => {
  /** The CoreError the core reports for this plan (bytes, or ops to encode). */
  function failure(plan: Buffer | PlanOp[]): CoreError {
    const core = CoreSession.spawn({ stdio: ["inherit", "inherit", "inherit"] });
    try {
      core.send(Buffer.isBuffer(plan) ? plan : encodePlan(plan));
      for (let line = core.next(); line !== null; line = core.next()) if (line.startsWith("error ")) return coreErrorLine(line);
      throw new Error("the core reported no error");
    } finally {
      core.abandon();
    }
  }

  test("a malformed plan is refused by name at the step plan, before anything is done", () => {
    const e = failure(raw(MODE, ["mkdir", "/x", "-1"], ARGS));
    expect([e.step, e.errno, e.message]).toEqual(["plan", 0, 'plan: mkdir.mode: bad number "-1"']);
  });

  test("a missing program fails at the step exec with ENOENT, the message as before", () => {
    const e = failure([
      { op: "mode", mode: "exec" },
      { op: "args", argv: ["/nonexistent/program"] },
    ]);
    expect([e.step, e.code, e.message]).toEqual(["exec", "ENOENT", "exec /nonexistent/program: No such file or directory"]);
    const path = failure([
      { op: "mode", mode: "exec" },
      { op: "env", entry: "PATH=/nonexistent" },
      { op: "args", argv: ["no-such-program"] },
    ]);
    expect([path.step, path.code, path.message]).toEqual(["exec", "ENOENT", "exec no-such-program: executable file not found in $PATH"]);
  });

  test("a working directory that is no directory fails at the step cwd with ENOTDIR", () => {
    const e = failure([
      { op: "mode", mode: "exec" },
      { op: "cwd", path: "/etc/passwd" },
      { op: "args", argv: ["/bin/true"] },
    ]);
    expect([e.step, e.code, e.message]).toEqual(["cwd", "ENOTDIR", "cwd /etc/passwd: not a directory in the container"]);
  });
});

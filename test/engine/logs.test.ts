// The log records a detached container's monitor writes, and their reading.
import { expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRecordLog, LogWriter, parseRecords, parseTimeBound } from "../../src/engine/logs.ts";

test("one record per line and stream; unfinished lines wait; long lines are cut; UTF-8 split across chunks survives", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-logs-"));
  try {
    const path = join(dir, "log");
    const fd = openSync(path, "a");
    const w = new LogWriter(fd);
    const enc = new TextEncoder();
    w.write("stdout", enc.encode("one\ntw"));
    w.write("stderr", enc.encode("err\n"));
    w.write("stdout", enc.encode("o\n"));
    const euro = enc.encode("€\n"); // three bytes, split
    w.write("stdout", euro.subarray(0, 1));
    w.write("stdout", euro.subarray(1));
    w.write("stdout", enc.encode("x".repeat(16 * 1024 + 5)));
    w.write("stderr", enc.encode("no newline at the end"));
    w.flush("stdout");
    w.flush("stderr");
    closeSync(fd);
    const buf = readFileSync(path);
    expect(isRecordLog(buf)).toBe(true);
    const { records, used } = parseRecords(buf);
    expect(used).toBe(buf.length);
    expect(records.map((r) => [r.stream, r.log.length > 100 ? `${r.log.length} x` : r.log])).toEqual([
      ["stdout", "one\n"],
      ["stderr", "err\n"],
      ["stdout", "two\n"],
      ["stdout", "€\n"],
      ["stdout", `${16 * 1024} x`],
      ["stdout", "xxxxx"],
      ["stderr", "no newline at the end"],
    ]);
    for (const r of records) expect(Number.isNaN(Date.parse(r.time))).toBe(false);
    // a record cut off at the end of the file waits for its newline
    const partial = parseRecords(Buffer.concat([buf, Buffer.from('{"log":"half')]));
    expect(partial.records.length).toBe(records.length);
    expect(partial.used).toBe(buf.length);
    expect(isRecordLog(Buffer.from("raw output"))).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("time bounds: RFC 3339, Unix seconds, durations back from now; nonsense refused", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  expect(parseTimeBound("2026-11-30T11:00:00Z", "--since", now)).toBe(Date.parse("2026-11-30T11:00:00Z"));
  expect(parseTimeBound("1700000000", "--since", now)).toBe(1_700_000_000_000);
  expect(parseTimeBound("10m", "--since", now)).toBe(now - 600_000);
  expect(parseTimeBound("1.5h", "--until", now)).toBe(now - 5_400_000);
  expect(() => parseTimeBound("soon", "--since", now)).toThrow("--since");
});

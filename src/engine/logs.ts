// A container's log: its monitor (or, for a foreground run, berth itself,
// which also passes the output on to its own stdout and stderr) reads the
// container's stdout and stderr through pipes and writes one JSON record per
// line, in the field names of Docker's json-file driver:
//
//   {"log":"hello\n","stream":"stdout","time":"2026-11-30T10:12:00.123Z"}
//
// so that `logs` can tell the streams apart (stdout to stdout, stderr to
// stderr), print timestamps (-t) and cut by time (--since, --until). A line
// longer than 16 KiB is cut into records without a trailing newline. Logs
// written before this format (raw bytes) are still shown as they are.
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { EngineUsageError, parseDuration } from "./args.ts";
import type { Engine } from "./engine.ts";
import { EngineError } from "./store.ts";

export type LogStream = "stdout" | "stderr";

export interface LogRecord {
  log: string;
  stream: LogStream;
  time: string;
}

const MAX_RECORD = 16 * 1024;

/** Splits output into records; each stream keeps its own unfinished line. */
export class LogWriter {
  private readonly pending: Record<LogStream, string> = { stdout: "", stderr: "" };
  private readonly decoders: Record<LogStream, TextDecoder> = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(private readonly fd: number) {}

  write(stream: LogStream, chunk: Uint8Array): void {
    let text = this.pending[stream] + this.decoders[stream].decode(chunk, { stream: true });
    let out = "";
    for (;;) {
      const nl = text.indexOf("\n");
      if (nl < 0 || nl >= MAX_RECORD) break;
      out += record(stream, text.slice(0, nl + 1));
      text = text.slice(nl + 1);
    }
    while (text.length >= MAX_RECORD) {
      out += record(stream, text.slice(0, MAX_RECORD));
      text = text.slice(MAX_RECORD);
    }
    this.pending[stream] = text;
    if (out) writeAll(this.fd, out);
  }

  /** Writes what is left of a stream's last line (at its end). */
  flush(stream: LogStream): void {
    const rest = this.pending[stream] + this.decoders[stream].decode();
    this.pending[stream] = "";
    if (rest) writeAll(this.fd, record(stream, rest));
  }
}

function record(stream: LogStream, log: string): string {
  return JSON.stringify({ log, stream, time: new Date().toISOString() }) + "\n";
}

function writeAll(fd: number, text: string): void {
  const b = Buffer.from(text);
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off);
}

/**
 * Copies a stream of the container into the log until it ends; with `tee`,
 * also to that descriptor first, byte for byte (a foreground run's terminal,
 * as Docker's attached run keeps the log too). A reader of `tee` that went
 * away stops the copy there, not into the log.
 */
export async function pump(w: LogWriter, stream: LogStream, from: ReadableStream<Uint8Array> | undefined, tee?: number): Promise<void> {
  if (!from || typeof from !== "object") return;
  let teeOk = tee !== undefined;
  try {
    for await (const chunk of from) {
      if (teeOk) teeOk = await writeFully(tee!, chunk);
      w.write(stream, chunk);
    }
  } catch {
    /* the pipe broke: what came is written */
  }
  w.flush(stream);
}

/** Writes all of chunk to fd, waiting while a non-blocking fd is full; false once the reader is gone. */
export async function writeFully(fd: number, chunk: Uint8Array): Promise<boolean> {
  let off = 0;
  while (off < chunk.length) {
    try {
      off += writeSync(fd, chunk, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
        await Bun.sleep(1);
        continue;
      }
      return false;
    }
  }
  return true;
}

/** Whether a log file's first bytes are records (else raw, an older log). */
export function isRecordLog(head: Uint8Array): boolean {
  return head.length === 0 || head[0] === 0x7b; // "{"
}

/** Parses complete lines of records; returns them and how many bytes were used. */
export function parseRecords(buf: Uint8Array): { records: LogRecord[]; used: number } {
  const records: LogRecord[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 10) continue;
    const line = Buffer.from(buf.subarray(start, i)).toString("utf8");
    start = i + 1;
    try {
      const r = JSON.parse(line) as LogRecord;
      if (typeof r.log === "string" && (r.stream === "stdout" || r.stream === "stderr")) records.push(r);
    } catch {
      /* a damaged line: skipped */
    }
  }
  return { records, used: start };
}

/**
 * A time bound for --since/--until: an RFC 3339 time, Unix seconds, or a
 * duration back from now ("10m", "1h", "30s"); milliseconds since the epoch.
 */
export function parseTimeBound(s: string, flag: string, now = Date.now()): number {
  // a duration needs its unit here: a bare number is a time (Unix seconds)
  if (/^\d+(\.\d+)?(ms|s|m|h)$/.test(s)) return now - parseDuration(s, flag);
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`${flag} ${JSON.stringify(s)}: want a time (RFC 3339), Unix seconds, or a duration such as 10m`);
  return t;
}

/** The last N lines of raw output (an older log). */
function lastLines(text: Buffer, n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  let i = text.length;
  if (i > 0 && text[i - 1] === 10) i--;
  while (i > 0 && n > 0) {
    i--;
    if (text[i] === 10) n--;
  }
  return text.subarray(n > 0 ? 0 : i + 1);
}

export interface LogReadOptions {
  /** the last N lines (records) only */
  tail?: number;
  /** bounds in milliseconds since the epoch (parseTimeBound) */
  since?: number;
  until?: number;
  /** the caller shows timestamps (an older log without them refuses) */
  timestamps?: boolean;
  /** keep reading until the container has exited */
  follow?: boolean;
}

/** A piece of a log: a record's text with its time, or raw bytes of an older log (stdout). */
export type LogPiece = { stream: LogStream; text: string; time: string } | { stream: "stdout"; raw: Buffer };

/** A container's log (logs): what it holds, then with follow what is appended until the container has exited. */
export async function* readLog(e: Engine, ref: string, o: LogReadOptions = {}): AsyncGenerator<LogPiece> {
  const rec = e.containers.get(ref);
  const { since, until } = o;
  let fd: number;
  try {
    fd = openSync(rec.logPath, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new EngineError(`container ${rec.name} has no log (it has not run yet, or was removed)`);
    throw err;
  }
  try {
    const head = Buffer.alloc(1);
    const records = readSync(fd, head, 0, 1, 0) === 0 || isRecordLog(head);
    if (!records && (o.timestamps || since !== undefined || until !== undefined)) {
      throw new EngineUsageError(`container ${rec.name}'s log was written before berth kept timestamps: -t, --since and --until need a newer one`);
    }
    let pos = 0;
    let pending = Buffer.alloc(0);
    /** What was appended since the last call; in record logs only whole records. */
    const drain = function* (limit?: number): Generator<LogPiece> {
      const buf = Buffer.alloc(65536);
      const got: Buffer[] = [];
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        got.push(Buffer.from(buf.subarray(0, n)));
      }
      if (!records) {
        const all = Buffer.concat(got);
        yield { stream: "stdout", raw: limit === undefined ? all : lastLines(all, limit) };
        return;
      }
      pending = Buffer.concat([pending, ...got]);
      const { records: rs, used } = parseRecords(pending);
      pending = pending.subarray(used);
      for (const r of limit === undefined ? rs : limit === 0 ? [] : rs.slice(-limit)) {
        const t = Date.parse(r.time);
        if ((since !== undefined && t < since) || (until !== undefined && t > until)) continue;
        yield { stream: r.stream, text: r.log, time: r.time };
      }
    };
    yield* drain(o.tail);
    if (!o.follow) return;
    for (;;) {
      const cur = e.containers.load(rec.id);
      const running = cur !== undefined && e.status(cur) !== "exited";
      yield* drain();
      if (!running) break;
      await Bun.sleep(100);
    }
    yield* drain();
  } finally {
    closeSync(fd);
  }
}

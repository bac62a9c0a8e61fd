// Health checks (Docker's HEALTHCHECK, --health-*): a command run in the
// container every interval by the container's monitor; its exit code makes the
// container healthy (0) or, after `retries` failures in a row past the start
// period, unhealthy. `ps` and `inspect` show the result; `healthcheck run`
// probes once.
import type { ImageConfig } from "../image/types.ts";
import { EngineUsageError } from "./args.ts";

export interface HealthConfig {
  /** ["CMD", prog, args...] or ["CMD-SHELL", command] */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

/** What `run --health-*` / `--no-healthcheck` say; undefined fields come from the image. */
export interface HealthFlags {
  cmd?: string;
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  retries?: number;
  none?: boolean;
}

export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: "starting" | "healthy" | "unhealthy";
  failingStreak: number;
  log: HealthLogEntry[];
}

const NS_PER_MS = 1_000_000;

/** The check a container runs: the flags over the image's HEALTHCHECK; undefined for none. */
export function effectiveHealth(image: ImageConfig, f: HealthFlags | undefined): HealthConfig | undefined {
  if (f?.none) return undefined;
  const img = image.config?.Healthcheck;
  let test = f?.cmd !== undefined ? ["CMD-SHELL", f.cmd] : img?.Test;
  if (!test || test.length === 0 || test[0] === "NONE") return undefined;
  if (test[0] !== "CMD" && test[0] !== "CMD-SHELL") test = ["CMD-SHELL", test.join(" ")];
  if (test.length < 2) return undefined;
  const ms = (ns: number | undefined) => (ns && ns > 0 ? ns / NS_PER_MS : undefined);
  return {
    test,
    intervalMs: f?.intervalMs ?? ms(img?.Interval) ?? 30_000,
    timeoutMs: f?.timeoutMs ?? ms(img?.Timeout) ?? 30_000,
    startPeriodMs: f?.startPeriodMs ?? ms(img?.StartPeriod) ?? 0,
    retries: f?.retries ?? (img?.Retries && img.Retries > 0 ? img.Retries : 3),
  };
}

/** The process arguments of a check. */
export function healthArgs(h: HealthConfig): string[] {
  return h.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", h.test[1]!] : h.test.slice(1);
}

/** The state after one probe: DURING_START tells whether the start period still runs. */
export function nextHealth(prev: HealthState | undefined, entry: HealthLogEntry, h: HealthConfig, duringStart: boolean): HealthState {
  const log = [...(prev?.log ?? []), entry].slice(-5);
  if (entry.exitCode === 0) return { status: "healthy", failingStreak: 0, log };
  // failures in the start period do not count
  if (duringStart && prev?.status !== "healthy") return { status: prev?.status ?? "starting", failingStreak: prev?.failingStreak ?? 0, log };
  const failingStreak = (prev?.failingStreak ?? 0) + 1;
  return { status: failingStreak >= h.retries ? "unhealthy" : (prev?.status ?? "starting"), failingStreak, log };
}

export function checkRetries(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new EngineUsageError(`--health-retries ${JSON.stringify(v)}: want a positive number`);
  return Number(v);
}

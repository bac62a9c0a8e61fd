// BERTH_TRACE=1: prints the milliseconds since start-up at named points, to
// see where a lifecycle step spends its time.
// BERTH_TRACE_PAUSE=LABEL: stops for good at the point named LABEL (after
// saying "[paused] LABEL" on stderr), so that a test can kill berth exactly
// there (test/runtime/interrupted.test.ts).
import { writeErr } from "./stdio.ts";
import { caller } from "./caller.ts";
// read once for a Bun berth; the agent reads them from each call's caller
const on = !!process.env.BERTH_TRACE;
const pauseAt = process.env.BERTH_TRACE_PAUSE;
let sink: ((label: string) => void) | undefined;
/** --debug: every trace point also goes to SINK (the debug log); the agent's: this call's only. */
export function traceTo(f: (label: string) => void): void {
  const c = caller();
  if (c) c.traceSink = f;
  else sink = f;
}
export function trace(label: string): void {
  const c = caller();
  if (c ? c.env.BERTH_TRACE : on) writeErr(`[trace ${performance.now().toFixed(2)} ms] ${label}\n`);
  (c ? c.traceSink : sink)?.(label);
  // (the agent leaves a call with BERTH_TRACE_PAUSE to the Bun berth: a pause would hold every call)
  if (!c && label === pauseAt) {
    writeErr(`[paused] ${label}\n`);
    for (;;) Bun.sleepSync(1000);
  }
}

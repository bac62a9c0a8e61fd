// BERTH_TRACE=1: prints the milliseconds since start-up at named points, to
// see where a lifecycle step spends its time.
import { writeErr } from "./stdio.ts";
const on = !!process.env.BERTH_TRACE;
export function trace(label: string): void {
  if (on) writeErr(`[trace ${performance.now().toFixed(2)} ms] ${label}\n`);
}

// Signal forwarding for commands that wait on a child (the core, which passes
// the signals on to the container).

/** Forwards the signals this process receives to pid; returns a function that stops it. */
export function forwardSignals(pid: number): () => void {
  const sigs = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;
  const h = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  for (const s of sigs) process.on(s, h);
  return () => {
    for (const s of sigs) process.off(s, h);
  };
}

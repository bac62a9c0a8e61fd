// Small process helpers for the network layer: run a program, feed it stdin,
// collect stdout/stderr and the exit status, with a time limit.

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs `cmd` to completion. Never throws for a non-zero exit; throws if the program cannot be started. */
export async function execCapture(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const proc = Bun.spawn({
    cmd,
    stdin: opts.stdin !== undefined ? Buffer.from(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: opts.env ?? (process.env as Record<string, string>),
  });
  let timedOut = false;
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          proc.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr, timedOut };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Runs `cmd`; throws an Error naming the command and its stderr when it fails. */
export async function execOk(cmd: string[], what: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await execCapture(cmd, opts);
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim() || `exit status ${r.code}`;
    throw new Error(`${what}: ${cmd.join(" ")}: ${detail}${r.timedOut ? " (timed out)" : ""}`);
  }
  return r;
}

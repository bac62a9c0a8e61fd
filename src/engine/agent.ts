// The node agent (`berth serve`): one long-running berth process that starts
// containers on request, for short-lived tasks. It keeps the whole runtime
// loaded, so a container costs the kernel's work and the core's, not a new
// Bun process per lifecycle step. The API is HTTP/JSON on a unix socket:
//
//   POST /v1/run        {"bundle": DIR, "id"?: ID, "args"?: [...], "stdout"?: FILE, "stderr"?: FILE}
//                       creates, starts and waits for the container, deletes it,
//                       and answers {"id", "exitCode", "ms"}
//   GET  /v1/containers the runtime's containers, as `list --format json`
//   GET  /v1/health     {"ok": true, "pid", "containers"}
//
// Every core runs from one sealed in-memory copy of berth-core the agent makes
// at start (the core skips its own copy-and-re-execute). See docs/engine.md.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { sealedCopy, setChildSubreaper } from "../linux/sys.ts";
import { corePath } from "../linux/core.ts";
import { Runtime, RuntimeError } from "../runtime/container.ts";
import { SpecError } from "../spec/validate.ts";

export interface AgentOptions {
  socket: string;
  root: string;
  systemdCgroup?: boolean;
}

interface RunRequest {
  bundle?: string;
  id?: string;
  args?: string[];
  stdout?: string;
  stderr?: string;
}

let seq = 0;

/** Runs one container to completion in this process (the agent's hot path). */
export async function runToCompletion(rt: Runtime, req: RunRequest): Promise<{ id: string; exitCode: number; ms: number }> {
  const t0 = performance.now();
  if (!req.bundle) throw new RuntimeError("bundle: required");
  const id = req.id ?? `task-${process.pid}-${++seq}`;
  let bundle = req.bundle;
  let tmpBundle: string | undefined;
  if (req.args) {
    // a variant of the bundle with other args: a config.json of its own beside the rootfs
    const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    spec.process.args = req.args;
    if (!spec.root.path.startsWith("/")) spec.root.path = join(bundle, spec.root.path);
    tmpBundle = join(rt.opts.root, `.bundle-${id}`);
    mkdirSync(tmpBundle, { recursive: true });
    writeFileSync(join(tmpBundle, "config.json"), JSON.stringify(spec));
    bundle = tmpBundle;
  }
  const out = req.stdout ? openSync(req.stdout, "a") : openSync("/dev/null", "w");
  const err = req.stderr ? openSync(req.stderr, "a") : out;
  const nul = openSync("/dev/null", "r");
  try {
    const { session } = rt.create(id, { bundle, foreground: true, stdio: [nul, out, err] });
    try {
      rt.start(id);
    } catch (e) {
      rt.delete(id, true);
      throw e;
    }
    const exitCode = await session.proc.exited;
    rt.delete(id, true);
    return { id, exitCode, ms: performance.now() - t0 };
  } finally {
    closeSync(nul);
    if (err !== out) closeSync(err);
    closeSync(out);
    if (tmpBundle) rmSync(tmpBundle, { recursive: true, force: true });
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export async function serve(o: AgentOptions): Promise<never> {
  // every container's core runs from one sealed in-memory copy, made once:
  // each core would otherwise copy itself into a sealed memfd and re-execute
  const coreFd = sealedCopy(corePath(), "berth-core");
  const rt = new Runtime({ root: o.root, systemdCgroup: !!o.systemdCgroup, coreExe: `/proc/${process.pid}/fd/${coreFd}` });
  // containers whose core is gone are re-parented to us, not to PID 1
  setChildSubreaper();
  mkdirSync(dirname(o.socket), { recursive: true });
  if (existsSync(o.socket)) rmSync(o.socket);
  const server = Bun.serve({
    unix: o.socket,
    async fetch(req) {
      const url = new URL(req.url);
      try {
        if (req.method === "POST" && url.pathname === "/v1/run") return json(await runToCompletion(rt, (await req.json()) as RunRequest));
        if (req.method === "GET" && url.pathname === "/v1/containers") {
          return json(rt.list().map(({ rec, status }) => ({ id: rec.id, pid: rec.pid, status, bundle: rec.bundle, created: rec.created })));
        }
        if (req.method === "GET" && url.pathname === "/v1/health") return json({ ok: true, pid: process.pid, containers: rt.list().length });
        return json({ error: `no such endpoint: ${req.method} ${url.pathname}` }, 404);
      } catch (e) {
        const known = e instanceof RuntimeError || e instanceof SpecError || e instanceof SyntaxError;
        return json({ error: (e as Error).message }, known ? 400 : 500);
      }
    },
  });
  process.stderr.write(`berth serve: listening on ${o.socket} (pid ${process.pid})\n`);
  const stop = () => {
    server.stop(true);
    rmSync(o.socket, { force: true });
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return new Promise<never>(() => {});
}

// The node agent (`berth serve`): one long-running berth process that starts
// containers on request, for short-lived tasks. It keeps the whole runtime
// loaded, so a container costs the kernel's work and the core's, not a new
// Bun process per lifecycle step. The API is HTTP/JSON on a unix socket:
//
//   POST /v1/run        {"bundle": DIR, "id"?: ID, "args"?: [...], "stdout"?: FILE, "stderr"?: FILE}
//                       creates, starts and waits for the container, deletes it,
//                       and answers {"id", "exitCode", "ms"}
//                       or {"image": REF, "args"?, "env"?, "workdir"?, "user"?, "memory"?,
//                       "cpus"?, "pidsLimit"?, "stdout"?, "stderr"?}: the same with an
//                       engine container of an image in the engine's store (network
//                       none, removed at its end)
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
import { Engine } from "./engine.ts";
import { enginePaths } from "./paths.ts";
import { EngineError } from "./store.ts";
import { EngineUsageError } from "./args.ts";
import type { ContainerOptions } from "./spec.ts";

export interface AgentOptions {
  socket: string;
  root: string;
  systemdCgroup?: boolean;
}

interface RunRequest {
  bundle?: string;
  image?: string;
  id?: string;
  args?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  stdout?: string;
  stderr?: string;
}

/** The stdio of a task: files it appends to (else /dev/null); closed by the returned function. */
function taskStdio(req: RunRequest): { stdio: [number, number, number]; close: () => void } {
  const out = req.stdout ? openSync(req.stdout, "a") : openSync("/dev/null", "w");
  const err = req.stderr ? openSync(req.stderr, "a") : out;
  const nul = openSync("/dev/null", "r");
  return {
    stdio: [nul, out, err],
    close: () => {
      closeSync(nul);
      if (err !== out) closeSync(err);
      closeSync(out);
    },
  };
}

function checkRequest(req: RunRequest): void {
  if (typeof req !== "object" || req === null) throw new RuntimeError("the request body must be a JSON object");
  const strings = (k: keyof RunRequest) => {
    const v = req[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) throw new RuntimeError(`${k}: an array of strings`);
  };
  strings("args");
  strings("env");
  for (const k of ["bundle", "image", "id", "workdir", "user", "stdout", "stderr"] as const) {
    if (req[k] !== undefined && typeof req[k] !== "string") throw new RuntimeError(`${k}: a string`);
  }
  for (const k of ["memory", "cpus", "pidsLimit"] as const) {
    const v = req[k];
    if (v !== undefined && (typeof v !== "number" || !(v > 0))) throw new RuntimeError(`${k}: a positive number`);
  }
  if (!!req.bundle === !!req.image) throw new RuntimeError("bundle or image: exactly one of them");
}

/** An image task: an engine container (network none), run to its end, removed. */
export async function runImage(engine: Engine, req: RunRequest): Promise<{ id: string; exitCode: number; ms: number }> {
  const t0 = performance.now();
  const opts: ContainerOptions = {
    cmd: req.args?.length ? req.args : undefined,
    env: req.env ?? [],
    tty: false,
    interactive: false,
    volumes: [],
    tmpfs: [],
    readOnly: false,
    capAdd: [],
    capDrop: [],
    noNewPrivileges: false,
    ...(req.workdir !== undefined ? { workdir: req.workdir } : {}),
    ...(req.user !== undefined ? { user: req.user } : {}),
    ...(req.memory !== undefined ? { memory: req.memory } : {}),
    ...(req.cpus !== undefined ? { cpus: req.cpus } : {}),
    ...(req.pidsLimit !== undefined ? { pidsLimit: Math.floor(req.pidsLimit) } : {}),
  };
  const io = taskStdio(req);
  try {
    const rec = await engine.create({ image: req.image!, name: req.id, opts, network: "none", autoRemove: true, detach: false, pull: "never" });
    const exitCode = await engine.runTask(rec, io.stdio);
    return { id: rec.id, exitCode, ms: performance.now() - t0 };
  } finally {
    io.close();
  }
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
  const io = taskStdio(req);
  try {
    const { session } = rt.runForeground(id, { bundle, stdio: io.stdio });
    const exitCode = await session.proc.exited;
    rt.delete(id, true);
    return { id, exitCode, ms: performance.now() - t0 };
  } finally {
    io.close();
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
  const coreExe = `/proc/${process.pid}/fd/${coreFd}`;
  const rt = new Runtime({ root: o.root, systemdCgroup: !!o.systemdCgroup, coreExe });
  let engine: Engine | undefined;
  // containers whose core is gone are re-parented to us, not to PID 1
  setChildSubreaper();
  mkdirSync(dirname(o.socket), { recursive: true });
  if (existsSync(o.socket)) rmSync(o.socket);
  const server = Bun.serve({
    unix: o.socket,
    async fetch(req) {
      const url = new URL(req.url);
      try {
        if (req.method === "POST" && url.pathname === "/v1/run") {
          const body = (await req.json()) as RunRequest;
          checkRequest(body);
          // the engine (its stores under /var/lib/berth) is opened on the first image task
          if (body.image) return json(await runImage((engine ??= new Engine(enginePaths(), { coreExe })), body));
          return json(await runToCompletion(rt, body));
        }
        if (req.method === "GET" && url.pathname === "/v1/containers") {
          return json(rt.list().map(({ rec, status }) => ({ id: rec.id, pid: rec.pid, status, bundle: rec.bundle, created: rec.created })));
        }
        if (req.method === "GET" && url.pathname === "/v1/health") return json({ ok: true, pid: process.pid, containers: rt.list().length });
        return json({ error: `no such endpoint: ${req.method} ${url.pathname}` }, 404);
      } catch (e) {
        const known =
          e instanceof RuntimeError || e instanceof SpecError || e instanceof SyntaxError || e instanceof EngineError || e instanceof EngineUsageError;
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

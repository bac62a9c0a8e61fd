// `import`: a root filesystem tarball (plain, gzip or zstd) becomes a
// one-layer image, as `docker import` does. --change takes CMD, ENTRYPOINT
// (JSON arrays or a shell string), ENV K=V, WORKDIR, USER, STOPSIGNAL, LABEL K=V.
import { rmSync, statSync } from "node:fs";
import { basename } from "node:path";
import { hostPlatform, layerDiffId, MediaType, sha256, type ImageConfig, type ImageStore } from "../image/index.ts";
import { detectCompression, DEFAULT_PATH } from "../image/index.ts";
import { closeSync, openSync, readSync } from "node:fs";
import type { Engine } from "./engine.ts";
import { EngineError } from "./store.ts";
import { writeFully } from "./logs.ts";
import { EngineUsageError, parseDuration } from "./args.ts";

export function applyChange(cfg: NonNullable<ImageConfig["config"]>, change: string): void {
  const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(change);
  if (!m) throw new EngineUsageError(`--change ${JSON.stringify(change)}: want INSTRUCTION VALUE`);
  const [, ins, val] = m as unknown as [string, string, string];
  const list = (): string[] => {
    if (val.trim().startsWith("[")) {
      try {
        const a = JSON.parse(val) as unknown;
        if (Array.isArray(a) && a.every((x) => typeof x === "string")) return a as string[];
      } catch {
        /* not JSON: shell form */
      }
    }
    return ["/bin/sh", "-c", val];
  };
  switch (ins.toUpperCase()) {
    case "CMD":
      cfg.Cmd = list();
      break;
    case "ENTRYPOINT":
      cfg.Entrypoint = list();
      break;
    case "ENV":
      (cfg.Env ??= []).push(val.includes("=") ? val : val.replace(/\s+/, "="));
      break;
    case "WORKDIR":
      cfg.WorkingDir = val;
      break;
    case "USER":
      cfg.User = val;
      break;
    case "STOPSIGNAL":
      cfg.StopSignal = val;
      break;
    case "VOLUME":
      for (const v of val.trim().startsWith("[") ? list() : val.trim().split(/\s+/)) (cfg.Volumes ??= {})[v] = {};
      break;
    case "HEALTHCHECK": {
      // HEALTHCHECK [--interval=D --timeout=D --start-period=D --retries=N] CMD command | NONE
      const words = val.trim();
      if (/^NONE$/i.test(words)) {
        cfg.Healthcheck = { Test: ["NONE"] };
        break;
      }
      const hm = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.+)$/is.exec(words);
      if (!hm) throw new EngineUsageError(`--change ${JSON.stringify(change)}: want HEALTHCHECK [--OPTION=VALUE...] CMD COMMAND, or HEALTHCHECK NONE`);
      const hc: NonNullable<typeof cfg.Healthcheck> = {};
      for (const opt of hm[1]!.trim().split(/\s+/).filter(Boolean)) {
        const [k, v] = opt.slice(2).split("=") as [string, string];
        if (k === "retries") hc.Retries = Number(v);
        else if (k === "interval" || k === "timeout" || k === "start-period") {
          const ns = parseDuration(v, `HEALTHCHECK --${k}`) * 1e6;
          if (k === "interval") hc.Interval = ns;
          else if (k === "timeout") hc.Timeout = ns;
          else hc.StartPeriod = ns;
        } else throw new EngineUsageError(`--change ${JSON.stringify(change)}: unknown HEALTHCHECK option --${k}`);
      }
      const cmd = hm[2]!;
      hc.Test = cmd.trim().startsWith("[") ? ["CMD", ...(JSON.parse(cmd) as string[])] : ["CMD-SHELL", cmd];
      cfg.Healthcheck = hc;
      break;
    }
    case "LABEL": {
      // LABEL K=V [K2="V 2"...] (quoted values as a Dockerfile's)
      for (const m of val.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g))
        (cfg.Labels ??= {})[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
      break;
    }
    case "EXPOSE":
      for (const p of val.trim().split(/\s+/)) (cfg.ExposedPorts ??= {})[p.includes("/") ? p : `${p}/tcp`] = {};
      break;
    default:
      throw new EngineUsageError(
        `--change ${JSON.stringify(change)}: ${ins} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER, STOPSIGNAL, VOLUME, EXPOSE, HEALTHCHECK, LABEL)`,
      );
  }
}

/** Makes the built-in image (berth/busybox) first when one of refs names it. */
export async function ensureBuiltinFor(e: Engine, refs: string[]): Promise<void> {
  if (refs.some((r) => /berth\/busybox/.test(r))) await e.ensureBuiltin();
}

/** The name import gives an image when it is given none: localhost/ and the file's name, made a valid repository name. */
export function importedName(file: string): string {
  return `localhost/${
    basename(file)
      .replace(/\.(tar|tgz|tar\.gz)$/, "")
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-") || "imported"
  }:latest`;
}

export async function importRootfs(
  store: ImageStore,
  file: string,
  ref: string,
  changes: string[] = [],
): Promise<{ ref: string; digest: string; configDigest: string }> {
  try {
    if (!statSync(file).isFile()) throw new Error("not a file");
  } catch (e) {
    // missing (ENOENT, ENOTDIR) or a non-file: one message naming the file; other errors as they are
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && code !== "ENOENT" && code !== "ENOTDIR") throw new EngineError(`import: ${file}: ${(e as Error).message}`);
    throw new EngineError(`import: ${file} does not exist or is not a file`);
  }
  const head = Buffer.alloc(8);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  const compression = detectCompression(head);
  const diffId = await layerDiffId(file).catch((e) => {
    throw new EngineError(`import ${file}: ${(e as Error).message}`);
  });
  const platform = hostPlatform();
  const cfgBody: NonNullable<ImageConfig["config"]> = { Env: [`PATH=${DEFAULT_PATH}`] };
  for (const c of changes) applyChange(cfgBody, c);
  const config: ImageConfig = {
    created: new Date().toISOString(),
    architecture: platform.architecture,
    os: "linux",
    config: cfgBody,
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: new Date().toISOString(), created_by: `berth import ${file}` }],
  } as ImageConfig;
  const cfgBytes = Buffer.from(JSON.stringify(config));
  return store.ingest(async (tx) => {
    const layer = await tx.store.putBlobFile(file);
    tx.added.add(layer.digest);
    await tx.putBlob(cfgBytes, sha256(cfgBytes));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(cfgBytes), size: cfgBytes.length },
      layers: [
        {
          mediaType: compression === "gzip" ? MediaType.ociLayerGzip : compression === "zstd" ? MediaType.ociLayerZstd : MediaType.ociLayer,
          digest: layer.digest,
          size: layer.size,
        },
      ],
    };
    const mBytes = Buffer.from(JSON.stringify(manifest));
    const m = await tx.putBlob(mBytes, sha256(mBytes));
    const name = await store.tag(ref, m.digest).catch((e) => {
      throw new EngineError(`import: ${ref}: ${(e as Error).message}`);
    });
    return { ref: name, digest: m.digest, configDigest: sha256(cfgBytes) };
  });
}

/**
 * `save` without -o: the OCI archive is written to stdout (through a temporary
 * file in the store, as the archive is made from a directory).
 */
export async function saveToStdout(store: ImageStore, refs: string[]): Promise<void> {
  const { exportImages } = await import("../image/archive.ts");
  const tmp = `${store.tempPath("save")}.tar`;
  try {
    await exportImages(store, refs, tmp, { format: "oci-archive" }).catch((err) => {
      throw new EngineError((err as Error).message);
    });
    // stdout may be a non-blocking pipe (| gzip): written chunk by chunk, waiting when it is full
    const fd = openSync(tmp, "r");
    try {
      const buf = Buffer.alloc(1 << 20);
      for (let n; (n = readSync(fd, buf)) > 0; ) {
        if (!(await writeFully(1, buf.subarray(0, n)))) throw new EngineError("save: stdout was closed before the archive was written");
      }
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** `load` without -i: the archive (plain or compressed) is read from stdin. */
export async function loadFromStdin(store: ImageStore): Promise<Array<{ ref: string }>> {
  const { importImages } = await import("../image/archive.ts");
  const tmp = `${store.tempPath("load")}.tar`;
  try {
    const n = await Bun.write(tmp, new Response(Bun.stdin.stream()));
    if (n === 0) throw new EngineError("load: stdin is empty (give an archive on stdin, or -i FILE)");
    return await importImages(store, tmp).catch((err) => {
      throw new EngineError((err as Error).message.replaceAll(tmp, "stdin"));
    });
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface HistoryRow {
  /** The image's ID on its newest row; "<missing>" on the others (Docker's). */
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
}

/** `history`: the image's history, newest first, each with the size of the layer it made. */
export function imageHistory(store: ImageStore, ref: string): HistoryRow[] {
  const hit = store.lookup(ref);
  if (!hit) throw new EngineError(`no such image: ${ref}`);
  const img = store.loadImage(hit.ref, hit.record);
  const layers = [...img.layers];
  const hist = img.config.history?.length ? img.config.history : img.layers.map(() => ({ created: img.config.created, created_by: "" }));
  const rows = hist
    .map((h) => {
      const e = h as { created?: string; created_by?: string; comment?: string; empty_layer?: boolean };
      const size = e.empty_layer ? 0 : (layers.shift()?.size ?? 0);
      return { id: "<missing>", created: e.created ?? "", createdBy: e.created_by ?? "", size, comment: e.comment ?? "" };
    })
    .reverse();
  if (rows[0]) rows[0].id = img.configDigest;
  return rows;
}

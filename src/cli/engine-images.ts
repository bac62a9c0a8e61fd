// The image commands: images, pull, rmi, load, import, save, tag (history: engine-manage.ts).
import { ensureBuiltinFor, importedName, importRootfs, loadFromStdin, saveToStdout } from "../engine/images.ts";
import { removeImage } from "../engine/prune.ts";
import { ago, humanSize, imageRow, type ImageListRow } from "../engine/describe.ts";
import { filterImages, IMAGE_FILTERS, parseFilters } from "../engine/filters.ts";
import { EngineError } from "../engine/store.ts";
import { EngineUsageError } from "../engine/args.ts";
import { context } from "../engine/template.ts";
import { bool, list, str } from "./args.ts";
import { codeOf, LISTING_FLAGS, makeEngine, parse, pullProgress, registryOptions } from "./engine-common.ts";
import { goTime, HEADERS, isTemplate, out, table, writeRows } from "./engine-format.ts";

export async function cmdImages(argv: string[]): Promise<number> {
  const p = parse(argv, [...LISTING_FLAGS, { name: "all", short: "a", kind: "bool" }, { name: "no-trunc", kind: "bool" }]);
  const f = parseFilters(list(p, "filter"), IMAGE_FILTERS);
  const e = makeEngine();
  await e.ensureBuiltin();
  const rows = filterImages(
    e.images.list().map(({ ref, record }) => imageRow(e, ref, record)),
    f,
    (r) => {
      const hit = e.images.lookup(r);
      return hit ? imageRow(e, hit.ref, hit.record) : undefined;
    },
  ) as ImageListRow[];
  const fmt = str(p, "format");
  if (fmt === "json") {
    out(
      JSON.stringify(
        rows.map((r) => ({ Id: r.id, Names: [r.ref], Repository: r.repo, Tag: r.tag, Digest: r.digest, Created: r.created, Size: r.size })),
        null,
        2,
      ),
    );
    return 0;
  }
  const nt = bool(p, "no-trunc");
  if (isTemplate(fmt) && !bool(p, "quiet")) {
    writeRows(
      fmt,
      rows.map((r) =>
        context("*formatter.ImageContext", {
          ID: nt ? r.id : r.id.slice(7, 19),
          Repository: r.repo,
          Tag: r.tag,
          Digest: r.digest,
          CreatedSince: ago(r.created),
          CreatedAt: goTime(r.created),
          Size: humanSize(r.size),
          VirtualSize: humanSize(r.size),
          SharedSize: "N/A",
          UniqueSize: "N/A",
          Containers: "N/A",
        }),
      ),
      HEADERS.images,
    );
    return 0;
  }
  if (bool(p, "quiet")) {
    for (const id of [...new Set(rows.map((r) => r.id.slice(7, 19)))]) out(id);
    return 0;
  }
  table([
    ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
    ...rows.map((r) => [r.repo, r.tag, nt ? r.id : r.id.slice(7, 19), ago(r.created), humanSize(r.size)]),
  ]);
  return 0;
}

export async function cmdPull(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "tls-verify", kind: "bool" },
    { name: "authfile", kind: "string" },
    { name: "quiet", short: "q", kind: "bool" },
    { name: "platform", kind: "string" },
  ]);
  if (p.args.length !== 1) throw new EngineUsageError("pull needs exactly one image name");
  const e = makeEngine();
  const ref = p.args[0]!;
  if (/^(docker\.io\/)?berth\/busybox(:latest)?$/.test(ref)) {
    await e.ensureBuiltin();
    out(e.images.lookup(ref)!.record.config);
    return 0;
  }
  const opts = registryOptions(p);
  if (!bool(p, "quiet")) opts.onProgress = pullProgress();
  const { pullImage } = await import("../image/registry.ts");
  const r = await pullImage(e.images, ref, opts).catch((err) => {
    throw new EngineError(`pulling ${ref}: ${(err as Error).message}`);
  });
  if (!bool(p, "quiet"))
    process.stderr.write(`Pulled ${r.ref} (${r.downloaded.length} blobs downloaded, ${r.skipped.length} already present)\nDigest: ${r.repoDigest}\n`);
  out(r.configDigest);
  return 0;
}

export async function cmdRmi(argv: string[]): Promise<number> {
  const p = parse(argv, [{ name: "force", short: "f", kind: "bool" }]);
  if (p.args.length === 0) throw new EngineUsageError("rmi needs at least one image");
  const e = makeEngine();
  let code = 0;
  for (const ref of p.args) {
    try {
      const r = await removeImage(e, ref, bool(p, "force"));
      for (const u of r.untagged) out(`Untagged: ${u}`);
      if (r.deleted) out(`Deleted: ${r.deleted}`);
    } catch (err) {
      process.stderr.write(`berth: ${(err as Error).message}\n`);
      code = codeOf(err);
    }
  }
  return code;
}

export async function cmdLoad(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "input", short: "i", kind: "string" },
    { name: "quiet", short: "q", kind: "bool" },
  ]);
  const file = str(p, "input") ?? p.args[0];
  const e = makeEngine();
  if (!file) {
    // Docker's: the archive on stdin, unless that is a terminal
    if (process.stdin.isTTY) throw new EngineError("load: requested load from stdin, but stdin is a terminal (give an archive on stdin, or -i FILE)");
    for (const i of await loadFromStdin(e.images)) out(`Loaded image: ${i.ref}`);
    return 0;
  }
  const { importImages } = await import("../image/archive.ts");
  const imgs = await importImages(e.images, file).catch((err) => {
    throw new EngineError((err as Error).message);
  });
  for (const i of imgs) out(`Loaded image: ${i.ref}`);
  return 0;
}

export async function cmdImport(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "change", short: "c", kind: "list" },
    { name: "message", short: "m", kind: "string" },
  ]);
  if (p.args.length < 1 || p.args.length > 2) throw new EngineUsageError("import needs a root filesystem tarball and an optional image name");
  const e = makeEngine();
  const file = p.args[0]!;
  const ref = p.args[1] ?? importedName(file);
  const r = await importRootfs(e.images, file, ref, list(p, "change"));
  out(r.configDigest);
  return 0;
}

export async function cmdSave(argv: string[]): Promise<number> {
  const p = parse(argv, [
    { name: "output", short: "o", kind: "string" },
    { name: "format", kind: "string" },
  ]);
  const dest = str(p, "output");
  if (p.args.length === 0) throw new EngineUsageError("save needs at least one image");
  if (!dest) {
    // Docker's: the archive to stdout, unless that is a terminal
    if (process.stdout.isTTY) throw new EngineError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    if (str(p, "format") === "oci-dir") throw new EngineUsageError("--format oci-dir needs -o DIR");
    const e = makeEngine();
    await ensureBuiltinFor(e, p.args);
    await saveToStdout(e.images, p.args);
    return 0;
  }
  const fmt = str(p, "format") ?? "oci-archive";
  if (fmt !== "oci-archive" && fmt !== "oci-dir") throw new EngineUsageError(`--format: oci-archive or oci-dir, not ${JSON.stringify(fmt)}`);
  const e = makeEngine();
  await ensureBuiltinFor(e, p.args);
  const { exportImages } = await import("../image/archive.ts");
  await exportImages(e.images, p.args, dest, { format: fmt }).catch((err) => {
    throw new EngineError((err as Error).message);
  });
  return 0;
}

export async function cmdTag(argv: string[]): Promise<number> {
  const p = parse(argv, []);
  if (p.args.length !== 2) throw new EngineUsageError("tag needs SOURCE and TARGET");
  const e = makeEngine();
  await ensureBuiltinFor(e, [p.args[0]!]);
  const hit = e.images.lookup(p.args[0]!);
  if (!hit) throw new EngineError(`image not known: ${p.args[0]}`);
  try {
    await e.images.tag(p.args[1]!, hit.record.digest);
  } catch (err) {
    throw new EngineError(`tag ${p.args[1]}: ${(err as Error).message}`);
  }
  return 0;
}

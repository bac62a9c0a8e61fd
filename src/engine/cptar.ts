// `berth cp` with a tar stream on one side, as Docker's `cp CONTAINER:PATH -`
// and `cp - CONTAINER:DIR`. Both walk the container by descriptors, as cp.ts
// does: the archive is read from the container one name at a time with
// O_NOFOLLOW, and extracted with every parent opened by the kernel inside the
// container's root (openat2 RESOLVE_IN_ROOT), so neither an entry's name
// ("../", absolute) nor a symlink in the container leads outside it.
import { EngineError } from "./store.ts";
import { closeSync, readSync, writeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import tar from "tar-stream";
import {
  fchmod,
  fchown,
  fdStat,
  kind,
  mkdirIn,
  namesIn,
  openForReading,
  openIn,
  readlinkFd,
  Root,
  symlinkIn,
  O_CREAT,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  type FdStat,
} from "../linux/inroot.ts";
import { SysError } from "../linux/sys.ts";

/** The part of an entry's stream the walk writes to. */
interface EntrySink {
  write(chunk: Buffer): unknown;
  end(): unknown;
}

function addEntry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, body?: (w: EntrySink) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = pack.entry(header as tar.Header, (err) => (err ? reject(err) : resolve())) as unknown as EntrySink;
    if (body) body(s);
    else s.end();
  });
}

/** Writes PATH of the container as a tar archive to OUT (the top entry named after PATH). */
export async function tarOut(root: Root, path: string, out: Writable, followLink: boolean): Promise<void> {
  const pack = tar.pack();
  pack.pipe(out);
  const top = path.split("/").filter(Boolean).pop() ?? ".";
  const walk = async (e: { fd: number; st: FdStat }, name: string): Promise<void> => {
    const k = kind(e.st.mode);
    const common = { name, mode: e.st.mode & 0o7777, uid: e.st.uid, gid: e.st.gid, mtime: new Date() };
    if (k === "symlink") return addEntry(pack, { ...common, type: "symlink", linkname: readlinkFd(e.fd) });
    if (k === "dir") {
      await addEntry(pack, { ...common, type: "directory" });
      for (const n of namesIn(e.fd)) {
        let child: { fd: number; st: FdStat };
        try {
          child = openForReading((flags) => openIn(e.fd, n, flags));
        } catch (err) {
          if (err instanceof SysError && err.code === "ENOENT") continue; // gone meanwhile
          throw err;
        }
        try {
          await walk(child, `${name}/${n}`);
        } finally {
          closeSync(child.fd);
        }
      }
      return;
    }
    if (k !== "file") return; // devices, FIFOs and sockets are not copied
    return addEntry(pack, { ...common, type: "file", size: e.st.size }, (w: EntrySink) => {
      const buf = Buffer.allocUnsafe(1 << 20);
      let left = e.st.size;
      while (left > 0) {
        const n = readSync(e.fd, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) break;
        w.write(Buffer.from(buf.subarray(0, n)));
        left -= n;
      }
      // a file that shrank meanwhile is padded: the header's size holds
      if (left > 0) w.write(Buffer.alloc(left));
      w.end();
    });
  };
  let e: { fd: number; st: FdStat };
  try {
    e = openForReading((flags) => root.open(path, followLink ? flags & ~O_NOFOLLOW : flags));
  } catch (err) {
    if (err instanceof SysError && err.code === "ENOENT") throw new EngineError(`cp: ${path}: no such file or directory in the container`);
    throw err;
  }
  try {
    await walk(e, top === "/" ? "." : top);
  } finally {
    closeSync(e.fd);
  }
  pack.finalize();
  await new Promise<void>((resolve) => pack.on("end", () => resolve()));
}

/** A tar entry's name as parts inside the destination; "../" and absolute names are refused. */
function entryParts(name: string): string[] {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) throw new EngineError(`cp: archive entry ${JSON.stringify(name)} climbs out with ..`);
  return parts;
}

/** Extracts a tar archive from IN into DIR of the container (an existing directory). */
export async function tarIn(root: Root, dir: string, input: Readable, archive: boolean, warn: (w: string) => void): Promise<void> {
  const probe = root.open(dir, O_PATH);
  const isDir = kind(fdStat(probe).mode) === "dir";
  closeSync(probe);
  if (!isDir) throw new EngineError(`cp: ${dir} is not a directory in the container`);
  const extract = tar.extract();
  let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
    extract.on("finish", () => resolve());
    extract.on("error", reject);
  });
  extract.on("entry", (h, stream, next) => {
    stream.on("error", () => {
      /* reported through fail() */
    });
    const fail = (err: unknown) => {
      // the first error ends the extraction: nothing after it is written
      settle!.reject(err);
      input.unpipe(extract);
      input.resume();
      stream.resume();
      extract.destroy();
    };
    try {
      const parts = entryParts(h.name);
      if (parts.length === 0) {
        stream.resume();
        stream.on("end", next);
        return;
      }
      const name = parts.pop()!;
      // the parent, opened by the kernel inside the container's root
      const parent = root.open([dir, ...parts].join("/"), O_RDONLY | O_DIRECTORY);
      const own = (fd: number) => {
        if (archive && h.uid !== undefined && h.gid !== undefined) fchown(fd, h.uid, h.gid);
      };
      const finish = () => {
        closeSync(parent);
        next();
      };
      if (h.type === "directory") {
        try {
          mkdirIn(parent, name, 0o700);
        } catch (err) {
          if (!(err instanceof SysError && err.code === "EEXIST")) throw err;
        }
        const d = openIn(parent, name, O_RDONLY | O_DIRECTORY);
        own(d);
        fchmod(d, (h.mode ?? 0o755) & 0o7777);
        closeSync(d);
        stream.resume();
        stream.on("end", finish);
      } else if (h.type === "symlink") {
        symlinkIn(h.linkname ?? "", parent, name);
        if (archive) {
          const l = openIn(parent, name, O_PATH);
          own(l);
          closeSync(l);
        }
        stream.resume();
        stream.on("end", finish);
      } else if (h.type === "file" || h.type === "contiguous-file" || h.type === undefined) {
        const fd = openIn(parent, name, O_WRONLY | O_CREAT | O_TRUNC, 0o600);
        stream.on("data", (data: unknown) => {
          const c = data as Buffer;
          let off = 0;
          while (off < c.length) off += writeSync(fd, c, off);
        });
        stream.on("end", () => {
          try {
            own(fd);
            fchmod(fd, (h.mode ?? 0o644) & 0o7777);
          } finally {
            closeSync(fd);
          }
          finish();
        });
      } else {
        warn(`skipped ${h.name}: only files, directories and symlinks are extracted`);
        stream.resume();
        stream.on("end", finish);
      }
    } catch (err) {
      fail(err);
    }
  });
  input.pipe(extract);
  await done;
}

// Building tar archives in memory (for the built-in image and for tests).
import tar from "tar-stream";
import type { Header } from "tar-stream";

export type TarHeader = Partial<Header> & { name: string; pax?: Record<string, string> };

export interface TarEntry {
  header: TarHeader;
  data?: Uint8Array | string;
}

/** Packs entries, in the given order, into one tar archive. */
export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const isFile = e.header.type === undefined || e.header.type === "file" || e.header.type === "contiguous-file";
    const raw = e.data ?? (isFile ? "" : undefined);
    const data = raw === undefined ? undefined : Buffer.from(raw);
    const header = { ...e.header } as TarHeader;
    if (data !== undefined) header.size = data.length;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data !== undefined) pack.entry(header, data, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

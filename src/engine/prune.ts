// Removal of images (rmi) and clean-up (container prune, image prune, volume prune, system prune): what
// nothing uses any more goes. Each walk yields what it did as it goes, so that
// a front end shows it while the walk continues.
import { alive, type Engine } from "./engine.ts";
import { pruneSelects, type Filters } from "./filters.ts";
import { onNetwork } from "./networks.ts";
import { EngineError } from "./store.ts";
import { errnoCode } from "../linux/libc.ts";

/** Runs a removal for a prune: false when the engine refused it (in use by something made meanwhile, or removed meanwhile), which keeps the item; a system error is reported. */
async function removed(remove: () => Promise<unknown>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (err) {
    if (err instanceof EngineError) return false;
    throw err;
  }
}

/** A removed container (its id), or the error that kept one. */
export type PrunedContainer = { id: string } | { error: Error };

/** Removes every exited container (that the filters select). */
export async function* pruneContainers(e: Engine, f: Filters): AsyncGenerator<PrunedContainer> {
  for (const c of e.containers.list()) {
    if (e.status(c) !== "exited" || (c.state.restarting && alive(c.state.monitorPid))) continue;
    if (!pruneSelects(f, c.created, c.options.labels)) continue;
    try {
      await e.remove(c.id, false);
    } catch (err) {
      yield { error: err as Error };
      continue;
    }
    yield { id: c.id };
  }
}

/** What an image prune did: a name untagged, a layer deleted, or (last) how many blobs went. */
export type PrunedImage = { untagged: string } | { layer: string } | { blobs: number };

/** Blobs and layers nothing refers to; with all, every image no container uses (that the filters select). */
export async function* pruneImages(e: Engine, all: boolean, f: Filters): AsyncGenerator<PrunedImage> {
  if (all) {
    const used = new Set(e.containers.list().map((c) => c.imageDigest));
    for (const { ref, record } of e.images.list()) {
      if (used.has(record.digest)) continue;
      if (f.size) {
        let cfg;
        try {
          cfg = e.images.loadImage(ref, record).config;
        } catch (err) {
          // a broken image has no date or labels to select by: kept; a system error is reported
          if (errnoCode(err) !== undefined) throw err;
          continue;
        }
        if (!pruneSelects(f, cfg.created, cfg.config?.Labels)) continue;
      }
      const r = await e.images.remove(ref);
      for (const u of r.untagged) yield { untagged: u };
    }
  }
  const gc = await e.images.gc();
  for (const l of gc.layers) yield { layer: l };
  yield { blobs: gc.blobs.length };
}

/** Removes every volume no container refers to (that the filters select); yields the names removed. */
export async function* pruneVolumes(e: Engine, f: Filters): AsyncGenerator<string> {
  for (const v of e.volumes.list()) {
    if (!pruneSelects(f, v.created, undefined)) continue;
    if (await removed(() => e.volumes.remove(v.name, () => e.containers.list()))) yield v.name;
  }
}

/** Removes every user-defined network no container is on (that the filters select); yields the names removed. */
export async function* pruneNetworks(e: Engine, f: Filters): AsyncGenerator<string> {
  const users = e.containers.list();
  for (const n of e.networks.list()) {
    if (users.some((c) => onNetwork(c, n.Name)) || !pruneSelects(f, n.Created, n.Labels)) continue;
    if (await removed(() => e.networks.remove(n.Name, () => e.containers.list()))) yield n.Name;
  }
}

/**
 * rmi: removes one image name; the image's blobs go with its last name. An
 * image a container uses is refused, or with force its containers are
 * removed first. Returns the names untagged and, when the image is gone, its id.
 */
export async function removeImage(e: Engine, ref: string, force: boolean): Promise<{ untagged: string[]; deleted?: string }> {
  const hit = e.images.lookup(ref);
  if (!hit) throw new EngineError(`image not known: ${ref}`);
  const users = e.containers.list().filter((c) => c.imageDigest === hit.record.digest);
  const names = e.images.list().filter((x) => x.record.digest === hit.record.digest);
  if (users.length > 0 && names.length <= 1) {
    if (!force) throw new EngineError(`image ${ref} is in use by container ${users.map((c) => c.name).join(", ")}: remove the container first, or use rmi -f`);
    for (const c of users) await e.remove(c.id, true);
  }
  const r = await e.images.remove(ref);
  const gone = !e.images.list().some((x) => x.record.digest === hit.record.digest);
  return { untagged: r.untagged, ...(gone ? { deleted: hit.record.config } : {}) };
}

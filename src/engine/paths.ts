// Where the engine keeps things:
//   ROOT (persistent; default /var/lib/berth, env BERTH_ENGINE_ROOT):
//     blobs/, images.json, layers/, containers/<id>/   the image store and snapshots (src/image)
//     network/                                          IPAM state and CNI cache (src/network)
//     engine/<id>/container.json                        the engine's record of a container
//     engine/<id>/bundle/config.json                    its OCI bundle (root.path = the snapshot's rootfs)
//     engine/<id>/container.log                         its stdout and stderr (detached containers)
//     engine/names.lock, engine/<id>.lock               flock(2) locks
//     volumes/NAME/_data, volumes/NAME/volume.json      named volumes (src/engine/volumes.ts)
//   RUN ROOT (per boot; default /run/berth/engine, env BERTH_ENGINE_RUNROOT; with a
//   custom ROOT and no RUNROOT: ROOT/run):
//     runtime/<id>/state.json                           the OCI runtime's state (src/runtime)
//     netns/<id>, network/<id>/                         network namespaces and files (src/network)
//     console/<id>.sock                                 console sockets for -t
import { join, resolve } from "node:path";
import { DEFAULT_ROOT } from "../image/store.ts";

export interface EnginePaths {
  root: string;
  runRoot: string;
}

export function enginePaths(o: { root?: string; runRoot?: string; env?: Record<string, string | undefined> } = {}): EnginePaths {
  const env = o.env ?? process.env;
  const root = resolve(o.root ?? (env.BERTH_ENGINE_ROOT || DEFAULT_ROOT));
  const custom = root !== DEFAULT_ROOT;
  const runRoot = resolve(o.runRoot ?? (env.BERTH_ENGINE_RUNROOT || (custom ? join(root, "run") : "/run/berth/engine")));
  return { root, runRoot };
}

export function containersDir(p: EnginePaths): string {
  return join(p.root, "engine");
}
export function containerDir(p: EnginePaths, id: string): string {
  return join(p.root, "engine", id);
}
export function runtimeRoot(p: EnginePaths): string {
  return join(p.runRoot, "runtime");
}
export function networkDataDir(p: EnginePaths): string {
  return join(p.root, "network");
}

// The engine's API (the CLI in src/cli/engine*.ts is its user).
export { Engine, classifyStartError } from "./engine.ts";
export { selfCommand } from "../linux/self.ts";
export type { CreateRequest, PullPolicy } from "./engine.ts";
export { ContainerStore, EngineError, randomName, NAME_RE } from "./store.ts";
export type { ContainerRecordE, EngineStatus } from "./store.ts";
export { enginePaths, containerDir, runtimeRoot, networkDataDir } from "./paths.ts";
export type { EnginePaths } from "./paths.ts";
export { buildSpec, containerProcess, parseVolume, parseTmpfs, normalizeCap, readSeccompProfile, signalNumber, ENGINE_CAPABILITIES } from "./spec.ts";
export type { ContainerOptions, VolumeSpec, TmpfsSpec } from "./spec.ts";
export { parseBytes, parseDuration, EngineUsageError } from "./args.ts";
export { importRootfs } from "./images.ts";
export { VolumeStore, volumesOf } from "./volumes.ts";
export type { Volume } from "./volumes.ts";

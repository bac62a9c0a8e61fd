/** The spec layer: OCI runtime-spec types, validation and defaults. */
export type * from "./types.ts";
export * from "./constants.ts";
export { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_PATH_ENV, DEFAULT_READONLY_PATHS, baseFeatures, defaultSpec } from "./defaults.ts";
export {
  SpecError,
  formatPath,
  parseConfig,
  parseJSON,
  sysctlNamespace,
  unknownCapabilities,
  validateConfig,
  validateProcess,
  validateResources,
  validateState,
} from "./validate.ts";
export type { ValidateConfigOptions } from "./validate.ts";

export { capMask, capsOp } from "./caps.ts";
export { seccompOps, actionValue, archName } from "./seccomp.ts";
export { defaultSeccompProfile } from "./profile.ts";

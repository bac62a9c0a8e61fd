// The one rule for a container id, used by the runtime (state directory
// names), the front door and the network code.
//
// runc (1.2) accepts up to 1024 of letters, digits and _ + - . except "." and
// ".."; berth accepts the same set but wants a letter or digit first (so that
// an id never reads as a flag or a hidden file).
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/;

export const CONTAINER_ID_CHARS = "letters, digits and _ . + -";

/** Whether `id` is a container id berth accepts (a safe single path component). */
export function isContainerId(id: unknown): id is string {
  return typeof id === "string" && ID_RE.test(id);
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temp directory; call the returned cleanup in finally/afterAll. */
export function tempDir(prefix = "berth-image-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export const REPO_ROOT = join(import.meta.dir, "..", "..");

// The command line that runs berth itself: the compiled executable, or bun
// with the CLI's source (tests and development run it so).
import { resolve } from "./path.ts";

export function selfCommand(): string[] {
  // in a compiled executable the entry point lives in Bun's embedded file system
  const compiled = Bun.main.startsWith("/$bunfs") || Bun.main.includes("~BUN");
  return compiled ? [process.execPath] : [process.execPath, resolve(import.meta.dir, "../cli/main.ts")];
}

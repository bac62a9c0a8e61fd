// Environment variables for run, create and exec (-e, --env-file), as Docker
// reads them: KEY=VALUE as given, a bare KEY from the caller's environment
// (left out when it has none), an env file one variable a line with # comments.
import { readFileSync } from "node:fs";
import { EngineUsageError } from "./args.ts";

/** KEY=VALUE as given; a bare KEY takes the value of the caller's environment (undefined: it has none). */
export function envFromHost(e: string, env: Record<string, string | undefined> = process.env): string | undefined {
  if (e.includes("=")) return e;
  const v = env[e];
  return v === undefined ? undefined : `${e}=${v}`;
}

/** The variables of an --env-file. */
export function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new EngineUsageError(`--env-file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const outv: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) return;
    const k = line.split("=")[0]!;
    if (!/^[^\s=]+$/.test(k)) throw new EngineUsageError(`--env-file ${file}, line ${i + 1}: invalid variable name ${JSON.stringify(k)}`);
    const v = envFromHost(line);
    if (v !== undefined) outv.push(v);
  });
  return outv;
}

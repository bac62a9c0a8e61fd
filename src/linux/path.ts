// POSIX path helpers for the runtime's own path, with node:path's names and
// results for what the runtime uses (node:path costs a runtime call a third of
// a millisecond to load; see fs.ts).
import { callerCwd } from "./caller.ts";

/** Collapses ".", "..", repeated and trailing slashes. "" becomes ".". */
export function normalize(path: string): string {
  if (path === "") return ".";
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (abs) return "/" + body;
  return body === "" ? "." : body;
}

export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

export function join(...parts: string[]): string {
  const nonEmpty = parts.filter((p) => p !== "");
  return nonEmpty.length === 0 ? "." : normalize(nonEmpty.join("/"));
}

/** An absolute path: the parts from the last absolute one, against the caller's working directory. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    const p = parts[i]!;
    if (p === "") continue;
    path = path === "" ? p : `${p}/${path}`;
  }
  if (!path.startsWith("/")) path = `${callerCwd()}/${path}`;
  return normalize(path);
}

export function dirname(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return trimmed.slice(0, i).replace(/\/+$/, "") || "/";
}

export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

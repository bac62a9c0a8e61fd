// --filter KEY=VALUE as Docker documents it for ps, images, volume ls,
// network ls and the prune commands: values of one key are alternatives
// (any may match), different keys must all match; label filters must all
// match (label=KEY or label=KEY=VALUE; label!=... for prune). An unknown key
// or a bad value is an error naming it.
import { EngineError } from "./store.ts";
import { EngineUsageError } from "./args.ts";
import { parseTimeBound } from "./logs.ts";
import type { Engine } from "./engine.ts";
import type { ContainerRecordE } from "./store.ts";
import { volumesOf } from "./volumes.ts";
import { onNetwork } from "./networks.ts";
import { normalizeReference, ReferenceError as BadReference } from "../image/reference.ts";

export type Filters = Map<string, string[]>;

/** Parses --filter values, accepting only the keys given. */
export function parseFilters(values: string[], keys: readonly string[]): Filters {
  const f: Filters = new Map();
  for (const v of values) {
    const neg = /^[a-z-]+!=/.exec(v);
    const i = v.indexOf("=");
    if (i <= 0) throw new EngineError(`--filter ${JSON.stringify(v)}: want KEY=VALUE`, 1);
    const key = neg ? v.slice(0, i - 1) + "!" : v.slice(0, i);
    const shown = neg ? key.slice(0, -1) + "!=" : key;
    if (!keys.includes(key)) throw new EngineError(`invalid filter '${shown}' (known: ${keys.join(", ")})`, 1);
    f.set(key, [...(f.get(key) ?? []), v.slice(i + 1)]);
  }
  return f;
}

/** Docker's match of a name or id: the value as a regular expression anywhere in it (or as text, when not a valid one). */
export function matchesText(pattern: string, ...subjects: string[]): boolean {
  let re: RegExp | undefined;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    re = undefined; // not a valid regular expression: matched as text
  }
  return subjects.some((s) => (re ? re.test(s) : s.includes(pattern)));
}

/** label=KEY or label=KEY=VALUE against a set of labels. */
export function matchesLabel(want: string, labels: Record<string, string> | undefined): boolean {
  const i = want.indexOf("=");
  const k = i < 0 ? want : want.slice(0, i);
  if (!labels || !Object.hasOwn(labels, k)) return false;
  return i < 0 || labels[k] === want.slice(i + 1);
}

/** Every label filter of `key` matches (AND), as Docker's. */
export function allLabels(f: Filters, labels: Record<string, string> | undefined, key = "label"): boolean {
  return (f.get(key) ?? []).every((w) => matchesLabel(w, labels));
}

/** label!=...: none of them matches (prune). */
export function noLabels(f: Filters, labels: Record<string, string> | undefined): boolean {
  return (f.get("label!") ?? []).every((w) => !matchesLabel(w, labels));
}

/** A filter with alternatives: absent, or one of its values passes. */
export function any(f: Filters, key: string, test: (v: string) => boolean): boolean {
  const vs = f.get(key);
  return !vs || vs.some(test);
}

/** true|false (dangling=); anything else is an error. */
export function boolValue(key: string, v: string): boolean {
  if (/^(true|1)$/i.test(v)) return true;
  if (/^(false|0)$/i.test(v)) return false;
  throw new EngineError(`invalid filter '${key}=${v}': want true or false`, 1);
}

/** until=TIME (prune): a time, Unix seconds or a duration back from now; created before it. */
export function untilOk(f: Filters, created: string | undefined): boolean {
  return any(f, "until", (v) => {
    let t: number;
    try {
      t = parseTimeBound(v, "until");
    } catch (e) {
      throw new EngineError(`invalid filter 'until=${v}': ${(e as Error).message}`, 1);
    }
    const c = Date.parse(created ?? "");
    return Number.isFinite(c) && c < t;
  });
}

/** The statuses `ps --filter status=` knows (Docker's). */
export const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/** Glob matching as Go's path.Match (*, ?, [...]); `*` does not cross `/`. */
export function globMatch(pattern: string, s: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const j = pattern.indexOf("]", i + 1);
      if (j < 0) return false;
      re += `[${pattern
        .slice(i + 1, j)
        .replace(/^\^/, "^")
        .replace(/\\/g, "\\\\")}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  try {
    return new RegExp(re + "$").test(s);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return false; // a pattern that makes no valid regular expression matches nothing
  }
}

// ---- what each command selects ---------------------------------------------------

export const PS_FILTERS = ["id", "name", "label", "status", "exited", "ancestor", "before", "since", "volume", "network", "health"] as const;

/** Whether the filters ask for stopped containers too (status=, exited=): then ps lists them without -a, as Docker. */
export function psWantsAll(f: Filters): boolean {
  return f.has("status") || f.has("exited");
}

function sameImage(e: Engine, c: ContainerRecordE, v: string): boolean {
  if (c.image === v || c.imageId === v || c.imageDigest === v) return true;
  if (/^(sha256:)?[a-f0-9]{4,64}$/.test(v) && c.imageId.startsWith(v.startsWith("sha256:") ? v : `sha256:${v}`)) return true;
  try {
    const hit = e.images.lookup(v);
    if (hit && hit.record.digest === c.imageDigest) return true;
    return normalizeReference(v) === c.imageRef;
  } catch (e) {
    if (!(e instanceof BadReference)) throw e;
    return false; // a value that is no image reference names no image
  }
}

/** The containers `ps --filter` keeps, in the given order. */
export function filterContainers(e: Engine, list: ContainerRecordE[], f: Filters): ContainerRecordE[] {
  for (const s of f.get("status") ?? [])
    if (!STATUSES.includes(s)) throw new EngineError(`invalid filter 'status=${s}' (want one of ${STATUSES.join(", ")})`, 1);
  for (const x of f.get("exited") ?? []) if (!/^-?\d+$/.test(x)) throw new EngineError(`invalid filter 'exited=${x}': want an exit code`, 1);
  for (const h of f.get("health") ?? [])
    if (!["starting", "healthy", "unhealthy", "none"].includes(h))
      throw new EngineError(`invalid filter 'health=${h}' (want starting, healthy, unhealthy or none)`, 1);
  const created = (key: string) => (f.get(key) ?? []).map((r) => Date.parse(e.containers.get(r).created));
  const before = created("before"),
    since = created("since");
  return list.filter((c) => {
    const st = e.status(c);
    const shown = c.state.restarting && st === "exited" ? "restarting" : st;
    const t = Date.parse(c.created);
    return (
      any(f, "id", (v) => c.id.startsWith(v)) &&
      any(f, "name", (v) => matchesText(v, c.name, `/${c.name}`)) &&
      allLabels(f, c.options.labels) &&
      any(f, "status", (v) => v === shown) &&
      any(f, "exited", (v) => st === "exited" && c.state.exitCode === Number(v)) &&
      any(f, "ancestor", (v) => sameImage(e, c, v)) &&
      before.every((b) => t < b) &&
      since.every((s) => t > s) &&
      any(f, "volume", (v) => volumesOf(c).includes(v) || c.options.volumes.some((m) => m.destination === v || m.source === v)) &&
      any(f, "network", (v) => onNetwork(c, v)) &&
      any(f, "health", (v) => (c.healthcheck ? (c.state.health?.status ?? "starting") : "none") === v)
    );
  });
}

export const IMAGE_FILTERS = ["dangling", "label", "reference", "before", "since", "until"] as const;

export interface ImageRow {
  ref: string;
  repo: string;
  tag: string;
  created: string;
  labels?: Record<string, string>;
  id: string;
}

/** The images `images --filter` keeps. berth's images always have a name, so none is dangling. */
export function filterImages(rows: ImageRow[], f: Filters, lookup: (ref: string) => ImageRow | undefined): ImageRow[] {
  const dangling = f.get("dangling")?.map((v) => boolValue("dangling", v));
  const at = (key: string) =>
    (f.get(key) ?? []).map((r) => {
      const hit = lookup(r);
      if (!hit) throw new EngineError(`invalid filter '${key}=${r}': no such image`, 1);
      return Date.parse(hit.created);
    });
  const before = at("before"),
    since = at("since");
  return rows.filter((r) => {
    const t = Date.parse(r.created);
    return (
      (!dangling || dangling.includes(false)) &&
      allLabels(f, r.labels) &&
      any(f, "reference", (p) => globMatch(p, `${r.repo}:${r.tag}`) || globMatch(p, r.repo) || globMatch(p, r.ref)) &&
      before.every((b) => t < b) &&
      since.every((s) => t > s) &&
      untilOk(f, r.created)
    );
  });
}

export const VOLUME_FILTERS = ["dangling", "name", "label", "driver"] as const;

/** The volumes `volume ls --filter` keeps; `users` counts the containers that refer to each. */
export function filterVolumes<V extends { name: string; labels?: Record<string, string> }>(vols: V[], f: Filters, users: (name: string) => number): V[] {
  const dangling = f.get("dangling")?.map((v) => boolValue("dangling", v));
  return vols.filter(
    (v) =>
      (!dangling || dangling.includes(users(v.name) === 0)) &&
      any(f, "name", (p) => matchesText(p, v.name)) &&
      allLabels(f, v.labels) &&
      any(f, "driver", (d) => d === "local"),
  );
}

export const PRUNE_FILTERS = ["until", "label", "label!"] as const;

/** What a prune --filter keeps for removal: created before `until`, labels as asked. */
export function pruneSelects(f: Filters, created: string | undefined, labels: Record<string, string> | undefined): boolean {
  return untilOk(f, created) && allLabels(f, labels) && noLabels(f, labels);
}

/**
 * start --all [--filter restart-policy=P]...: every exited container (with
 * those policies); what a boot-time unit runs, since no daemon outlives a
 * reboot. A container the user stopped stays stopped under unless-stopped.
 */
export function startAllSelection(e: Engine, filters: string[]): string[] {
  const policies = filters.map((f) => {
    const m = /^restart-policy=(no|on-failure|always|unless-stopped)$/.exec(f);
    if (!m) throw new EngineUsageError(`--filter ${JSON.stringify(f)}: want restart-policy=no|on-failure|always|unless-stopped`);
    return m[1]!;
  });
  return e.containers
    .list()
    .filter((c) => {
      if (e.status(c) !== "exited") return false;
      const policy = c.options.restart?.name ?? "no";
      if (policies.length > 0 && !policies.includes(policy)) return false;
      return !(policy === "unless-stopped" && c.state.stoppedByUser);
    })
    .map((c) => c.id);
}

/** The keys of network ls --filter. */
export const NETWORK_FILTERS = ["name", "id", "driver", "label", "type"] as const;

/** The networks (built-in ones have no `user`) that network ls --filter selects. */
export function filterNetworks<N extends { Name: string; Id: string; Driver: string; Labels: Record<string, string>; user?: unknown }>(
  nets: N[],
  f: Filters,
): N[] {
  return nets.filter(
    (n) =>
      any(f, "name", (v) => matchesText(v, n.Name)) &&
      any(f, "id", (v) => n.Id.startsWith(v)) &&
      any(f, "driver", (v) => v === n.Driver) &&
      allLabels(f, n.Labels) &&
      any(f, "type", (v) => (v === "custom") === !!n.user),
  );
}

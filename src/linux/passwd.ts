// /etc/passwd lines as entries: the host's (who owns a container's state) and
// an image's (user names, HOME) are read the same way.

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const f = line.split(":");
    if (f.length < 6) continue;
    const uid = Number(f[2]),
      gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5]! });
  }
  return out;
}

/** User names by uid (the first entry of a uid wins, as getpwuid's does). */
export function namesByUid(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of parsePasswd(text)) if (!m.has(e.uid)) m.set(e.uid, e.name);
  return m;
}

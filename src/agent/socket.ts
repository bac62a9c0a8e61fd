// Where the agent for a state directory listens. Not in the state directory
// itself: a client may check that the runtime's root is empty once its
// containers are gone (the CRI harness does). One directory per user, mode
// 0700, holds a socket per state directory, named by a hash of the
// directory's real path, so that the name stays short (a unix socket's path
// has at most 107 bytes) whatever the root:
//   root:      /run/berth-agent/HASH.sock
//   rootless:  $XDG_RUNTIME_DIR/berth-agent/HASH.sock, else /tmp/berth-agent-UID/HASH.sock
// HASH: FNV-1a (64 bits) of the real path, 16 hexadecimal digits. The front
// door (core/door/door.c, agent_socket) finds the same name the same way.

/** FNV-1a, 64 bits, of TEXT's UTF-8 bytes: 16 hexadecimal digits. */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

/** The directory of this user's agent sockets. */
export function agentDir(uid: number, env: Record<string, string | undefined>): string {
  if (uid === 0) return "/run/berth-agent";
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg ? `${xdg}/berth-agent` : `/tmp/berth-agent-${uid}`;
}

/** The socket of the agent for the state directory whose real path is REALROOT. */
export function agentSocket(realRoot: string, uid: number, env: Record<string, string | undefined>): string {
  return `${agentDir(uid, env)}/${fnv1a64(realRoot)}.sock`;
}

import type { Duplex } from 'node:stream';

/** How often an open WebSocket's permission is asked again. */
export const LIVE_SOCKET_CHECK_MS = 15_000;

/**
 * Events after which some open socket may have lost its permission: a sign-out, revoked
 * sessions or tokens, a changed or removed account, membership, team, instance or device.
 * Any of them asks every check again at once, rather than at the next interval.
 */
const ACCESS_MAY_END = new Set([
  'auth.logout',
  'auth.sessions.revoked',
  'token.revoked',
  'user.updated',
  'user.deprovisioned',
  'user.password.changed',
  'user.password.reset',
  'user.mfa.reset',
  'member.removed',
  'member.left',
  'member.role.changed',
  'member.unmapped',
  'team.deleted',
  'application.deleted',
  'instance.updated',
  'instance.deleted',
  'device.revoked',
]);

export function endsAccess(event: string): boolean {
  return ACCESS_MAY_END.has(event);
}

/**
 * The WebSockets the platform lets through to Node-RED (an editor's comms, the flows' own
 * sockets behind sign-in), each with the check that let it in, asked again every
 * LIVE_SOCKET_CHECK_MS and at once after an event that may end access (`sweepNow`): a
 * socket whose person signed out, whose session ended or was revoked, whose account was
 * disabled, or who left the team or lost the role, is closed (62443-3-3 SR 2.6), rather
 * than left open for as long as the browser keeps it.
 */
export function createLiveSockets(intervalMs = LIVE_SOCKET_CHECK_MS) {
  const open = new Set<{ socket: Duplex; stillAllowed: () => Promise<boolean> }>();
  let sweeping: Promise<void> | null = null;
  let again = false;
  const sweepOnce = async (): Promise<void> => {
    for (const entry of [...open]) {
      const allowed = await entry.stillAllowed().catch(() => false);
      if (!allowed) entry.socket.destroy();
    }
  };
  /** One sweep at a time; a request during one runs another after it, so no change is missed. */
  const sweep = (): Promise<void> => {
    if (sweeping) {
      again = true;
      return sweeping;
    }
    sweeping = (async () => {
      try {
        do {
          again = false;
          await sweepOnce();
        } while (again);
      } finally {
        sweeping = null;
      }
    })();
    return sweeping;
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return {
    track(socket: Duplex, stillAllowed: () => Promise<boolean>): void {
      const entry = { socket, stillAllowed };
      open.add(entry);
      socket.once('close', () => open.delete(entry));
    },
    /** Asks every open socket's check again now. */
    sweepNow: (): Promise<void> => (open.size === 0 ? Promise.resolve() : sweep()),
    get size(): number {
      return open.size;
    },
    /** The platform stops: every socket let through ends now. */
    close(): void {
      clearInterval(timer);
      for (const entry of open) entry.socket.destroy();
      open.clear();
    },
  };
}

export type LiveSockets = ReturnType<typeof createLiveSockets>;

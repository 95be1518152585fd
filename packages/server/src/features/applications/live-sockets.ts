import type { Duplex } from 'node:stream';

/** How often an open WebSocket's permission is asked again. */
export const LIVE_SOCKET_CHECK_MS = 15_000;

/**
 * The WebSockets the platform lets through to Node-RED (an editor's comms, the flows' own
 * sockets behind sign-in), each with the check that let it in, asked again every
 * LIVE_SOCKET_CHECK_MS: a socket whose person signed out, whose session ended or was
 * revoked, whose account was disabled, or who left the team or lost the role, is closed
 * (62443-3-3 SR 2.6), rather than left open for as long as the browser keeps it.
 */
export function createLiveSockets(intervalMs = LIVE_SOCKET_CHECK_MS) {
  const open = new Set<{ socket: Duplex; stillAllowed: () => Promise<boolean> }>();
  let sweeping = false;
  const sweep = async (): Promise<void> => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const entry of [...open]) {
        const allowed = await entry.stillAllowed().catch(() => false);
        if (!allowed) entry.socket.destroy();
      }
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return {
    track(socket: Duplex, stillAllowed: () => Promise<boolean>): void {
      const entry = { socket, stillAllowed };
      open.add(entry);
      socket.once('close', () => open.delete(entry));
    },
    get size(): number {
      return open.size;
    },
    close(): void {
      clearInterval(timer);
    },
  };
}

export type LiveSockets = ReturnType<typeof createLiveSockets>;

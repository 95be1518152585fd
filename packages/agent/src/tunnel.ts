import net from 'node:net';
import { TUNNEL_PATH } from '@flowgate/protocol';
import { TUNNEL_IDLE_MS, TunnelSession, type TunnelStream } from '@flowgate/protocol/tunnel';
import WebSocket from 'ws';
import type { AgentLog } from './uploaders.ts';

/**
 * The device's end of the remote editor's tunnel; its frames and streams, which the
 * platform's end shares, are @flowgate/protocol/tunnel.
 */

/** The tunnel's address for a platform URL: ws(s)://host/api/fleet/v1/tunnel. */
export function tunnelUrlFor(platformUrl: string): string {
  const url = new URL(platformUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = TUNNEL_PATH;
  return url.toString();
}

export type EditorTunnel = {
  /** Opens the tunnel unless it is open or opening already. */
  open(): void;
  isOpen(): boolean;
  close(): void;
};

/**
 * The device's side: opens the tunnel when asked, connects each stream to Node-RED on
 * 127.0.0.1 (`nodeRedPort`, null while it is not running: the stream is refused), and
 * closes the tunnel after TUNNEL_IDLE_MS without streams. It is never reopened by itself:
 * the platform asks again when someone opens the editor again.
 */
export function createEditorTunnel(options: { platformUrl: string; credential: string; nodeRedPort: () => number | null; log: AgentLog; idleMs?: number }): EditorTunnel {
  const idleMs = options.idleMs ?? TUNNEL_IDLE_MS;
  let session: TunnelSession | null = null;
  let ws: WebSocket | null = null;
  let idleTimer: NodeJS.Timeout | null = null;

  const stopIdleTimer = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
  };
  const startIdleTimer = () => {
    stopIdleTimer();
    idleTimer = setTimeout(() => {
      options.log('info', 'editor tunnel idle: closing it');
      ws?.close(1000, 'idle');
    }, idleMs);
    idleTimer.unref();
  };

  const toNodeRed = (stream: TunnelStream) => {
    stopIdleTimer();
    const port = options.nodeRedPort();
    if (port === null) {
      stream.destroy();
      return;
    }
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => stream.destroy());
    stream.on('error', () => socket.destroy());
    stream.on('close', () => socket.destroy());
    socket.on('close', () => stream.destroy());
    socket.pipe(stream).pipe(socket);
  };

  return {
    open() {
      if (ws) return;
      const url = tunnelUrlFor(options.platformUrl);
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${options.credential}` }, handshakeTimeout: 15_000, maxPayload: 4 * 1024 * 1024 });
      ws = socket;
      session = new TunnelSession(socket, { onOpen: toNodeRed, onIdle: startIdleTimer });
      socket.on('open', () => {
        options.log('info', 'editor tunnel open');
        startIdleTimer();
      });
      socket.on('error', (err) => options.log('warn', `editor tunnel (${url}): ${err.message}`));
      socket.on('close', () => {
        stopIdleTimer();
        if (ws === socket) {
          ws = null;
          session = null;
        }
      });
    },
    isOpen: () => session?.open === true,
    close() {
      stopIdleTimer();
      ws?.close(1001, 'agent stopping');
      ws = null;
      session = null;
    },
  };
}

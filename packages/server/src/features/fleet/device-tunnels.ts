import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { TUNNEL_PATH } from '@flowgate/protocol';
import { TunnelSession } from '@flowgate/protocol/tunnel';
import { createChangeSignals } from '../../change-signals.ts';
import type { DevicesTable } from '../../db/schema.ts';
import { refuseUpgrade } from '../applications/node-red-proxy.ts';

/**
 * The platform's end of the devices' editor tunnels (the protocol: packages/agent/src/tunnel.ts).
 * A tunnel exists only while someone uses a device's editor: `connect` asks the device to
 * open one (its desired state then says `editorTunnel: true`, and its long poll or MQTT
 * subscription is woken to fetch it) and waits for it to arrive; the device closes it
 * when it has carried nothing for a while. One tunnel per device: a new one replaces the
 * old. Tunnels are remote access to a plant (62443-3-3 SR 1.13), so each one's opening and
 * closing is reported (`onOpened`, `onClosed`) for the audit log.
 */

/** A request to open a tunnel that the device has not taken up by then is dropped. */
export const TUNNEL_REQUEST_MS = 60_000;

export interface DeviceTunnelsDeps {
  deviceByCredential(raw: string): Promise<DevicesTable | null>;
  /** Wakes the device's long poll and tells it over MQTT that its desired state changed. */
  askDevice(deviceId: string): void;
  /** Audits the refusal; the refusal is answered once it is written. */
  onRefusedCredential(why: { ip: string | null }): Promise<void>;
  onOpened(device: DevicesTable, ip: string | null): void;
  onClosed(device: DevicesTable, openedForMs: number): void;
  now(): number;
}

/** How often a device that has not opened its tunnel yet is asked again. */
const ASK_AGAIN_MS = 3_000;

export function createDeviceTunnels(deps: DeviceTunnelsDeps) {
  const sessions = new Map<string, TunnelSession>();
  /** Devices asked to open a tunnel, and when; taken off once their desired state said so. */
  const requestedAt = new Map<string, number>();
  const arrivals = createChangeSignals();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });

  const pending = (deviceId: string): boolean => {
    const at = requestedAt.get(deviceId);
    if (at === undefined) return false;
    if (deps.now() - at <= TUNNEL_REQUEST_MS && !sessions.get(deviceId)?.open) return true;
    requestedAt.delete(deviceId);
    return false;
  };

  async function accept(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const auth = request.headers.authorization ?? '';
    const raw = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const device = raw.startsWith('fgd_') ? await deps.deviceByCredential(raw).catch(() => null) : null;
    const ip = request.socket.remoteAddress ?? null;
    if (!device) {
      await deps.onRefusedCredential({ ip });
      return refuseUpgrade(socket, 401, 'Unauthorized');
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new TunnelSession(ws);
      const openedAt = deps.now();
      sessions.get(device.id)?.terminate();
      sessions.set(device.id, session);
      requestedAt.delete(device.id);
      deps.onOpened(device, ip);
      ws.on('close', () => {
        if (sessions.get(device.id) === session) sessions.delete(device.id);
        deps.onClosed(device, deps.now() - openedAt);
      });
      arrivals.wake(device.id);
    });
  }

  return {
    attach(server: Server): void {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (new URL(request.url ?? '/', 'http://x').pathname !== TUNNEL_PATH) return;
        accept(request, socket, head).catch(() => refuseUpgrade(socket, 500, 'Internal Server Error'));
      });
    },

    /** The device's open tunnel, or null. */
    session: (deviceId: string): TunnelSession | null => {
      const session = sessions.get(deviceId);
      return session?.open ? session : null;
    },

    /** Whether the device has been asked to open a tunnel and has not been told yet. */
    pending,

    /** Whether to tell the device to open its tunnel, in the desired state it fetches now; told once per ask. */
    take(deviceId: string): boolean {
      const asked = pending(deviceId);
      requestedAt.delete(deviceId);
      return asked;
    },

    /**
     * The device's tunnel: the open one, or one it is asked for now, waited for up to
     * timeoutMs. Null when none came.
     */
    async connect(deviceId: string, timeoutMs: number): Promise<TunnelSession | null> {
      const open = sessions.get(deviceId);
      if (open?.open) return open;
      const ask = () => {
        requestedAt.set(deviceId, deps.now());
        deps.askDevice(deviceId);
      };
      ask();
      // Asked again while waiting: an MQTT nudge sent while a device was still resubscribing
      // (just after a platform restart) is lost, and the next check-in is a minute away.
      const again = setInterval(() => sessions.get(deviceId)?.open || ask(), ASK_AGAIN_MS);
      try {
        await arrivals.waitUnlessChanged(deviceId, timeoutMs, async () => sessions.get(deviceId)?.open === true);
      } finally {
        clearInterval(again);
      }
      const session = sessions.get(deviceId);
      return session?.open ? session : null;
    },

    /** A revoked device's tunnel ends at once. */
    disconnect(deviceId: string): void {
      sessions.get(deviceId)?.terminate();
      requestedAt.delete(deviceId);
    },

    close(): void {
      for (const session of sessions.values()) session.terminate();
      arrivals.close();
    },
  };
}

export type DeviceTunnels = ReturnType<typeof createDeviceTunnels>;

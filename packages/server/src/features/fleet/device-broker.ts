import type { IncomingMessage, Server } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { desiredTopic, MQTT_PATH, statusTopic, TOPIC_ROOT } from '@flowgate/protocol';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { DevicesTable } from '../../db/schema.ts';

/**
 * The embedded MQTT broker devices connect to (aedes). A device signs in with its id as
 * the user name and its credential as the password, and may touch only its own topics:
 *
 *   flowgate/v1/devices/<id>/desired   the platform publishes {"changedAt": ...} when the
 *                                      device's desired state changes; the device
 *                                      subscribes, then fetches the state over HTTPS
 *   flowgate/v1/devices/<id>/status    the device publishes "online" when it connects; its
 *                                      last will publishes "offline"
 *
 * Nothing is retained: a device asks for its desired state whenever it (re)connects, so it
 * misses nothing, and ten thousand retained messages would make every subscription scan them.
 *
 * Presence comes from the connection itself: the broker sees the connect, and the last
 * will (or the disconnect) when it goes. Anything else a device publishes or subscribes
 * to is refused and reported (`onTopicRefused`), and a refused publish closes its
 * connection. Transports: WebSocket on the server's own HTTP port (PATH), which is all
 * a plant firewall that allows only outbound 443 lets through, and plain MQTT over TCP
 * when FLOWGATE_MQTT_PORT is set.
 */

export const MQTT_WEBSOCKET_PATH = MQTT_PATH;
/**
 * Connections waiting to be accepted, on the HTTP and MQTT ports. Node's default (511)
 * drops the rest of ten thousand devices reconnecting at once, and a dropped SYN is
 * retried only after 1, 3, 7, 15 s.
 */
export const LISTEN_BACKLOG = 4096;
// The topics are the protocol's: the device's agent subscribes and publishes to the same.
export { desiredTopic, statusTopic, TOPIC_ROOT };

export type Presence = { online: boolean; since: string };

/**
 * What the fleet needs of an MQTT broker: the embedded one (createDeviceBroker) or an
 * external Mosquitto (external-broker.ts).
 */
export interface DeviceBroker {
  /** Where devices connect; null: MQTT over WebSocket on the platform's own address. */
  readonly deviceUrl: string | null;
  /** Online or offline, and since when, as the connection says; undefined before it first connects. */
  presence(deviceId: string): Presence | undefined;
  /** Tells a device its desired state changed (a device offline now asks when it reconnects). */
  notifyDesired(deviceId: string): void;
  /** A device's credential was accepted over HTTPS: a broker with its own accounts learns it. */
  admit(device: DevicesTable, credential: string): void;
  /** Cuts a revoked device's connection at once. */
  disconnect(deviceId: string): void;
  /** MQTT over WebSocket on the HTTP server, at MQTT_WEBSOCKET_PATH (embedded broker only). */
  attach(server: Server): void;
  /** Plain MQTT over TCP, opt-in: 1883 is often a site's own broker (embedded broker only). */
  listenTcp(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

export const desiredPayload = (now: Date) => Buffer.from(JSON.stringify({ changedAt: now.toISOString() }));

/** Presence as the status topic says it: "online" when a device connects, "offline" from it or its last will. */
export function createPresence(now: () => Date) {
  const presence = new Map<string, Presence>();
  const set = (deviceId: string, online: boolean) => {
    if (presence.get(deviceId)?.online === online) return;
    presence.set(deviceId, { online, since: now().toISOString() });
  };
  return {
    get: (deviceId: string): Presence | undefined => presence.get(deviceId),
    set,
    fromStatus(topic: string, payload: Buffer | string): void {
      const match = /^flowgate\/v1\/devices\/([^/]+)\/status$/.exec(topic);
      if (!match) return;
      const text = payload.toString();
      if (text === 'offline') set(match[1]!, false);
      else if (text === 'online') set(match[1]!, true);
    },
  };
}

export interface DeviceBrokerDeps {
  /** The live device a raw credential belongs to, or null. */
  deviceByCredential(raw: string): Promise<DevicesTable | null>;
  onRefusedCredential(why: { username: string | null; ip: string | null }): void;
  onTopicRefused(why: { deviceId: string; teamId: string; topic: string; action: 'publish' | 'subscribe' }): void;
  now(): Date;
  log: { warn(obj: object, msg: string): void };
}

type DeviceClient = Client & { device?: { id: string; teamId: string } };

function refusal(code: 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

function remoteAddress(client: Client): string | null {
  const socket = client.conn as Partial<net.Socket>;
  return client.req?.socket.remoteAddress ?? socket.remoteAddress ?? null;
}

export async function createDeviceBroker(deps: DeviceBrokerDeps) {
  const broker = await Aedes.createBroker({
    // Devices' long keepalives are fine; a silent half-open connection is found in 1.5× of it.
    heartbeatInterval: 60_000,
    connectTimeout: 15_000,
    authenticate(client, username, password, done) {
      const raw = password?.toString('utf8') ?? '';
      // Aedes takes a callback: every way out of the lookup, a failure too, ends in done().
      const lookup = raw.startsWith('fgd_') ? deps.deviceByCredential(raw).catch(() => null) : Promise.resolve(null);
      lookup
        .then((device) => {
          if (!device || device.id !== username) {
            deps.onRefusedCredential({ username: username ?? null, ip: remoteAddress(client) });
            done(refusal(4, "the device credential is unknown, revoked, or not this device's"), false);
            return;
          }
          (client as DeviceClient).device = { id: device.id, teamId: device.team_id };
          done(null, true);
        })
        .catch((error: Error) => done(Object.assign(error, { returnCode: 3 }), false));
    },
    authorizePublish(client, packet, callback) {
      const device = (client as DeviceClient | null)?.device;
      // The platform itself publishes with no client.
      if (!client) return callback(null);
      if (device && packet.topic === statusTopic(device.id)) return callback(null);
      if (device) deps.onTopicRefused({ deviceId: device.id, teamId: device.teamId, topic: packet.topic, action: 'publish' });
      callback(new Error(`not this device's topic: ${packet.topic}`));
    },
    authorizeSubscribe(client, subscription, callback) {
      const device = (client as DeviceClient).device;
      if (device && subscription.topic === desiredTopic(device.id)) return callback(null, subscription);
      if (device) deps.onTopicRefused({ deviceId: device.id, teamId: device.teamId, topic: subscription.topic, action: 'subscribe' });
      // A refused subscription is answered with the failure code, not a disconnect.
      callback(null, null);
    },
  });

  const presence = createPresence(deps.now);
  broker.on('clientReady', (client) => {
    const device = (client as DeviceClient).device;
    if (device) presence.set(device.id, true);
  });
  // The last will, or the device's own "offline" before it goes: what the connection says.
  broker.on('publish', (packet) => presence.fromStatus(packet.topic, packet.payload));
  broker.on('clientDisconnect', (client) => {
    const device = (client as DeviceClient).device;
    if (device) presence.set(device.id, false);
  });
  broker.on('clientError', (client, error) => deps.log.warn({ err: error, clientId: client.id }, 'MQTT client error'));

  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  let tcp: net.Server | null = null;

  const broker_: DeviceBroker = {
    deviceUrl: null,
    presence: presence.get,

    notifyDesired(deviceId: string): void {
      broker.publish({ cmd: 'publish', topic: desiredTopic(deviceId), payload: desiredPayload(deps.now()), qos: 1, retain: false, dup: false }, () => undefined);
    },

    // This broker asks the platform itself at each sign-in (authenticate above).
    admit: () => undefined,

    disconnect(deviceId: string): void {
      for (const client of Object.values((broker as unknown as { clients: Record<string, DeviceClient> }).clients)) {
        if (client.device?.id === deviceId) client.close();
      }
    },

    attach(server: Server): void {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (new URL(request.url ?? '/', 'http://x').pathname !== MQTT_WEBSOCKET_PATH) return;
        wss.handleUpgrade(request, socket, head, (ws) => {
          broker.handle(createWebSocketStream(ws), request);
        });
      });
    },

    async listenTcp(host: string, port: number): Promise<number> {
      tcp = net.createServer((socket) => broker.handle(socket));
      await new Promise<void>((resolve, reject) => {
        tcp!.once('error', reject);
        tcp!.listen({ port, host, backlog: LISTEN_BACKLOG }, () => resolve());
      });
      return (tcp.address() as net.AddressInfo).port;
    },

    async close(): Promise<void> {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => (tcp ? tcp.close(() => resolve()) : resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
  return broker_;
}

import mqtt from 'mqtt';
import { desiredTopic, MQTT_PATH, statusTopic } from '@flowgate/protocol';
import { backoffDelay, REFUSED_BACKOFF, type Backoff } from './platform-client.ts';
import type { AgentLog } from './uploaders.ts';

/**
 * A device's MQTT connection to the platform's broker: how it hears at once that its
 * desired state changed (it then fetches the state over HTTPS, as it always does), and how
 * the platform knows it is online: it publishes "online" when it connects, and its last
 * will publishes "offline" when the connection dies. Over WebSocket on the platform's
 * own port by default (a plant that allows only outbound 443 allows this), or plain MQTT
 * (`--mqtt mqtt://host:port`). Without it the agent's long poll does the same job slower.
 */

/** With MQTT up, the desired state is still fetched this often, in case a message was lost. */
export const SAFETY_POLL_MS = 5 * 60_000;
/**
 * Reconnects to the broker: 1 s doubling to 60 s, full jitter, from the start again once
 * connected. A fleet that lost the broker at the same moment (a platform restart) does not
 * come back in one burst, and a broker that stays away or refuses is not hammered.
 */
export const MQTT_RECONNECT_BACKOFF: Backoff = { firstMs: 1000, maxMs: 60_000, jitter: 'full' };

export type DeviceLink = {
  connected(): boolean;
  /**
   * Resolves at once when a change came since the last call, else at the next one or after
   * timeoutMs; at once too while the link is down, and when it drops (the long poll carries on).
   */
  waitForChange(timeoutMs: number, signal: AbortSignal): Promise<void>;
  /**
   * The backoff between failed requests to the platform, cut short by a change, or by the
   * link connecting (a change may have been missed meanwhile): either means the platform is
   * there, and may be waiting for the device (its editor tunnel). Waits while the link is
   * down, and a drop does not end it.
   */
  sleepUntilChange(timeoutMs: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
};

/** The broker's address for a platform URL: ws(s)://host/api/fleet/v1/mqtt. */
export function mqttUrlFor(platformUrl: string): string {
  const url = new URL(platformUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = MQTT_PATH;
  return url.toString();
}

export function connectDeviceLink(options: {
  url: string;
  deviceId: string;
  credential: string;
  log: AgentLog;
  /** The wait before reconnect attempt `attempt` (0-based); MQTT_RECONNECT_BACKOFF by default. */
  reconnectDelay?: (attempt: number) => number;
  /** The same after the broker refused the credential; REFUSED_BACKOFF by default, as the platform's 401. */
  refusedDelay?: (attempt: number) => number;
  /** How long a connection must stay up before the schedule starts over (30 s). */
  settledMs?: number;
}): DeviceLink {
  const status = statusTopic(options.deviceId);
  const desired = desiredTopic(options.deviceId);
  const reconnectDelay = options.reconnectDelay ?? ((attempt: number) => backoffDelay(attempt, MQTT_RECONNECT_BACKOFF));
  const refusedDelay = options.refusedDelay ?? ((attempt: number) => backoffDelay(attempt, REFUSED_BACKOFF));
  const client = mqtt.connect(options.url, {
    username: options.deviceId,
    password: options.credential,
    clientId: `flowgate-device-${options.deviceId}`,
    clean: true,
    keepalive: 60,
    // mqtt.js reconnects at a fixed period: the reconnects are ours instead, with backoff (on 'close').
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: false },
  });
  let changed = false;
  /** Who waits; `onDrop`: woken when the connection drops too. */
  let waiters: Array<{ wake: () => void; onDrop: boolean }> = [];
  let warned = false;
  let closing = false;
  let attempts = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;
  /** The broker refused the credential (CONNACK "not authorized" or "bad user name or password"): asked again slowly, as the platform's 401. */
  let refused = false;
  let refusedAttempts = 0;
  /** A connection counts as back once it has stayed up a while: one dropped at once (a duplicate client id) keeps backing off. */
  let settledTimer: NodeJS.Timeout | null = null;
  const wakeAll = () => {
    const woken = waiters;
    waiters = [];
    for (const w of woken) w.wake();
  };
  const wakeOnDrop = () => {
    const woken = waiters.filter((w) => w.onDrop);
    waiters = waiters.filter((w) => !w.onDrop);
    for (const w of woken) w.wake();
  };
  const wait = (timeoutMs: number, signal: AbortSignal, onDrop: boolean): Promise<void> => {
    if (changed || signal.aborted || closing) {
      changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters = waiters.filter((w) => w.wake !== done);
        changed = false;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      waiters.push({ wake: done, onDrop });
    });
  };
  client.on('connect', () => {
    if (warned) options.log('info', `MQTT connected again (${options.url})`);
    warned = false;
    refused = false;
    refusedAttempts = 0;
    settledTimer = setTimeout(() => {
      settledTimer = null;
      attempts = 0;
    }, options.settledMs ?? 30_000);
    settledTimer.unref();
    client.publish(status, 'online', { qos: 1 });
    // Whatever changed while the connection was down is asked for now: the platform retains nothing.
    client.subscribe(desired, { qos: 1 }, () => {
      changed = true;
      wakeAll();
    });
  });
  client.on('message', (topic) => {
    if (topic !== desired) return;
    changed = true;
    wakeAll();
  });
  client.on('error', (err) => {
    const code = (err as { code?: unknown }).code;
    // MQTT 3.1.1 CONNACK 4 and 5, MQTT 5 reason codes 134 and 135.
    if (code === 4 || code === 5 || code === 134 || code === 135) refused = true;
    if (!warned) options.log('warn', `MQTT (${options.url}): ${err.message}; the long poll carries on meanwhile`);
    warned = true;
  });
  // Every connection that ends, and every attempt that fails (refused, timed out, no broker), ends here.
  client.on('close', () => {
    if (settledTimer) clearTimeout(settledTimer);
    settledTimer = null;
    if (closing || reconnectTimer) return;
    if (!warned) options.log('warn', `MQTT connection lost (${options.url}); reconnecting with backoff`);
    warned = true;
    // Whoever waits for a change goes back to the long poll.
    wakeOnDrop();
    reconnectTimer = setTimeout(
      () => {
        reconnectTimer = null;
        // With its stores, as mqtt.js's own reconnect: what the broker had not acknowledged is sent again.
        if (!closing) client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
      },
      refused ? refusedDelay(refusedAttempts++) : reconnectDelay(attempts++),
    );
  });

  return {
    connected: () => client.connected,
    waitForChange(timeoutMs, signal) {
      if (!client.connected) {
        changed = false;
        return Promise.resolve();
      }
      return wait(timeoutMs, signal, true);
    },
    sleepUntilChange: (timeoutMs, signal) => wait(timeoutMs, signal, false),
    async close() {
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (settledTimer) clearTimeout(settledTimer);
      settledTimer = null;
      wakeAll();
      if (client.connected) await new Promise<void>((resolve) => client.publish(status, 'offline', { qos: 1 }, () => resolve()));
      // Not connected: nobody to say goodbye to, and a graceful end would wait for acknowledgements that cannot come.
      await client.endAsync(!client.connected);
    },
  };
}

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { connectDeviceLink, MQTT_RECONNECT_BACKOFF, type DeviceLink } from './device-link.ts';
import { backoffDelay, type Backoff } from './platform-client.ts';

/**
 * The device's MQTT link reconnects with backoff: the schedule itself, and the real mqtt.js
 * client against a real broker (aedes, the one the platform embeds) that refuses it, then
 * accepts it and drops it, and against an address where no broker listens.
 */

const log = () => undefined;
/** The production helper on a fast schedule, jitter at its top (random 1), so the waits are known. */
const FAST: Backoff = { firstMs: 100, maxMs: 800, jitter: 'full' };
const fastDelay = (attempt: number) => backoffDelay(attempt, FAST, () => 1);

async function until(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const gaps = (times: number[]) => times.slice(1).map((at, i) => at - times[i]!);

/** Each gap is the wait the schedule gives, plus a connection's set-up (generous on a busy machine). */
function assertGapsFollow(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length, `gaps ${actual.join(', ')}`);
  actual.forEach((gap, i) => {
    assert.ok(gap >= expected[i]! - 15 && gap <= expected[i]! + 600, `gap ${i}: ${gap} ms, the schedule says ${expected[i]} ms (gaps ${actual.join(', ')})`);
  });
}

describe('device MQTT link', () => {
  const links: DeviceLink[] = [];
  after(async () => {
    for (const link of links) await link.close();
  });

  test('the reconnect schedule: 1 s doubling to 60 s, full jitter', () => {
    const top = Array.from({ length: 9 }, (_, attempt) => backoffDelay(attempt, MQTT_RECONNECT_BACKOFF, () => 1));
    assert.deepEqual(top, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    assert.equal(
      backoffDelay(40, MQTT_RECONNECT_BACKOFF, () => 1),
      60_000,
      'capped however long it lasts',
    );
    assert.equal(
      backoffDelay(3, MQTT_RECONNECT_BACKOFF, () => 0),
      0,
      'full jitter: anywhere from 0',
    );
    assert.equal(
      backoffDelay(3, MQTT_RECONNECT_BACKOFF, () => 0.25),
      2000,
    );
    for (let attempt = 0; attempt < 20; attempt++) {
      const delay = backoffDelay(attempt, MQTT_RECONNECT_BACKOFF);
      assert.ok(delay >= 0 && delay <= Math.min(60_000, 1000 * 2 ** attempt), `attempt ${attempt}: ${delay}`);
    }
  });

  test('a broker that refuses the credential is asked again later and later, on the refused schedule; once connected, the schedule starts over', async () => {
    let refuse = true;
    const attempts: number[] = [];
    const broker = await Aedes.createBroker({
      authenticate(_client, _username, _password, done) {
        attempts.push(Date.now());
        if (refuse) done(Object.assign(new Error('not authorized'), { returnCode: 5 }) as AuthenticateError, false);
        else done(null, true);
      },
    });
    const ready: Client[] = [];
    broker.on('clientReady', (client) => ready.push(client));
    const server = net.createServer((socket) => broker.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      // A refusal waits on the refused schedule (here the fast one), not the connection-lost one (here 10 s).
      const link = connectDeviceLink({
        url,
        deviceId: 'dev-1',
        credential: 'fgd_x',
        log,
        reconnectDelay: (attempt) => (attempt === 0 ? 100 : 10_000),
        refusedDelay: fastDelay,
        settledMs: 0,
      });
      links.push(link);

      // Refused six times: the waits between attempts double up to the cap, 100 → 800 ms.
      await until('six refused attempts', () => attempts.length >= 6);
      assertGapsFollow(gaps(attempts.slice(0, 6)), [100, 200, 400, 800, 800]);
      assert.equal(link.connected(), false);

      // Accepted: connected. Then dropped by the broker: the next attempt waits the first step again.
      refuse = false;
      await until('the link to connect', () => link.connected(), 5000);
      const dropped = Date.now();
      ready.at(-1)!.close();
      const before = attempts.length;
      await until('the attempt after the drop', () => attempts.length > before, 5000);
      const wait = attempts.at(-1)! - dropped;
      assert.ok(wait >= 85 && wait < 600, `after a connection the schedule starts over: ${wait} ms, not 800`);
      await until('connected again', () => link.connected(), 5000);
    } finally {
      await links.pop()!.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });

  test('the backoff between failed requests is cut short once the link connects, not by a failed attempt, while waitForChange ends at once', async () => {
    let refuse = true;
    const broker = await Aedes.createBroker({
      authenticate(_client, _username, _password, done) {
        if (refuse) done(Object.assign(new Error('not authorized'), { returnCode: 5 }) as AuthenticateError, false);
        else done(null, true);
      },
    });
    const server = net.createServer((socket) => broker.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const link = connectDeviceLink({ url, deviceId: 'dev-3', credential: 'fgd_x', log, refusedDelay: fastDelay });
      links.push(link);
      const stop = new AbortController();
      const started = Date.now();
      let ended: number | null = null;
      const sleeping = link.sleepUntilChange(30_000, stop.signal).then(() => (ended = Date.now()));
      await link.waitForChange(30_000, stop.signal);
      assert.ok(Date.now() - started < 1000, 'waitForChange: the link is down, back to the long poll at once');
      // Refused attempts come and go (each one a dropped connection): the backoff goes on.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(ended, null, 'still sleeping through the refused attempts');
      refuse = false;
      await sleeping;
      assert.ok(link.connected());
      assert.ok(ended! - started < 10_000, `woken by the connection after ${ended! - started} ms, not after 30 s`);
    } finally {
      await links.pop()!.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });

  test('with no broker listening, each failed attempt waits longer than the one before', async () => {
    // A port that was free a moment ago: connecting to it is refused at once.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const asked: Array<{ attempt: number; at: number }> = [];
    const link = connectDeviceLink({
      url: `mqtt://127.0.0.1:${port}`,
      deviceId: 'dev-2',
      credential: 'fgd_x',
      log,
      reconnectDelay: (attempt) => {
        asked.push({ attempt, at: Date.now() });
        return fastDelay(attempt);
      },
    });
    links.push(link);
    await until('five failed attempts', () => asked.length >= 5);
    assert.deepEqual(
      asked.slice(0, 5).map((a) => a.attempt),
      [0, 1, 2, 3, 4],
      'one wait per failed attempt, counted up',
    );
    assertGapsFollow(gaps(asked.slice(0, 5).map((a) => a.at)), [100, 200, 400, 800]);
    assert.equal(link.connected(), false);
  });
});

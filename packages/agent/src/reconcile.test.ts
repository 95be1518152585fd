import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeviceLink } from './device-link.ts';
import { PlatformError, type DesiredState, type PlatformClient } from './platform-client.ts';
import { nodeRedEnvironment, pollDesiredState, type Reconciler } from './reconcile.ts';

/**
 * The desired-state poll on its own, with a stand-in client and reconciler and mocked
 * timers: what a refused credential (401) does to the agent. The whole agent against the
 * real platform, revoked, is device-agent.test.ts in the server package.
 */

const desired = { generation: 7 } as DesiredState;

/** Lets the loop run up to its next wait (it only awaits promises that settle at once). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A long poll that holds until the agent stops. */
function heldUntilStopped(signal: AbortSignal): Promise<DesiredState> {
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new PlatformError('aborted', null, false)), { once: true }));
}

describe('the desired-state poll', () => {
  test('a refused credential leaves the runtime running, says so once, and asks again slowly until the platform accepts it again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.mock.method(Math, 'random', () => 1);
    let refuse = true;
    let calls = 0;
    const client = {
      getDesired(generation: number | null, _wait: number, signal: AbortSignal): Promise<DesiredState> {
        calls++;
        if (refuse) return Promise.reject(new PlatformError('GET /api/fleet/v1/desired: HTTP 401 The device credential is unknown or was revoked.', 401, false));
        if (generation === null) return Promise.resolve(desired);
        return heldUntilStopped(signal);
      },
    } as PlatformClient;
    const applied: DesiredState[] = [];
    let offlineStarts = 0;
    const reconciler = { setDesired: (d: DesiredState) => applied.push(d), platformUnreachable: () => offlineStarts++ } as unknown as Reconciler;
    const lines: Array<{ level: string; msg: string }> = [];
    const stop = new AbortController();
    const poll = pollDesiredState({ client, reconciler, log: (level, msg) => lines.push({ level, msg }), signal: stop.signal });

    await settle();
    assert.equal(calls, 1);
    assert.ok(offlineStarts >= 1, 'the last good snapshot runs, as with the platform away');
    // 5 s doubling to 5 min (jitter at its top here), then 5 min for as long as it lasts.
    for (const wait of [5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]) {
      const before: number = calls;
      t.mock.timers.tick(wait - 1);
      await settle();
      assert.equal(calls, before, `not asked again before ${wait} ms`);
      t.mock.timers.tick(1);
      await settle();
      assert.equal(calls, before + 1, `asked again after ${wait} ms`);
    }
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'said once, not at every refusal');
    assert.match(errors[0]!.msg, /the platform refuses this agent's credential \(GET \/api\/fleet\/v1\/desired: HTTP 401/);
    assert.match(errors[0]!.msg, /revoked, replaced, or a proxy in between answers 401/);
    assert.match(errors[0]!.msg, /Node-RED keeps running what it runs and nothing new is applied/);
    assert.deepEqual(applied, [], 'nothing new is applied while refused');

    // Accepted again (un-revoked, or the proxy fixed): within the next wait it takes the desired state.
    refuse = false;
    t.mock.timers.tick(300_000);
    await settle();
    assert.deepEqual(applied, [desired]);
    assert.ok(lines.some((l) => l.level === 'info' && /accepts this agent's credential again/.test(l.msg)));

    stop.abort();
    await poll;
  });

  test('after the platform was away, word over MQTT ends the backoff: a device asked for its editor tunnel opens it at once', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.mock.method(Math, 'random', () => 1);
    let away = true;
    let calls = 0;
    const client = {
      getDesired(generation: number | null, _wait: number, signal: AbortSignal): Promise<DesiredState> {
        calls++;
        if (away) return Promise.reject(new PlatformError('GET /api/fleet/v1/desired: connect ECONNREFUSED', null, true));
        if (generation === null) return Promise.resolve({ ...desired, editorTunnel: true });
        return heldUntilStopped(signal);
      },
    } as unknown as PlatformClient;
    // The link as the poll sees it: down, and its word (connected again, a nudge) given by the test.
    let word: (() => void) | null = null;
    const link: DeviceLink = {
      connected: () => false,
      waitForChange: () => Promise.resolve(),
      sleepUntilChange: (ms, signal) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          word = () => {
            clearTimeout(timer);
            resolve();
          };
          signal.addEventListener('abort', word, { once: true });
        }),
      close: () => Promise.resolve(),
    };
    const reconciler = { setDesired: () => undefined, platformUnreachable: () => undefined } as unknown as Reconciler;
    let tunnels = 0;
    const stop = new AbortController();
    const poll = pollDesiredState({ client, reconciler, log: () => undefined, signal: stop.signal, link, onTunnelRequested: () => tunnels++ });

    // Away for a while: 0.5 s doubling, here up to 16 s between attempts.
    await settle();
    for (const wait of [500, 1000, 2000, 4000, 8000]) {
      t.mock.timers.tick(wait);
      await settle();
    }
    assert.equal(calls, 6);
    away = false;
    t.mock.timers.tick(15_000);
    await settle();
    assert.equal(calls, 6, 'still in the 16 s backoff');
    word!();
    await settle();
    assert.equal(calls, 8, 'asked at once, then held in the long poll');
    assert.equal(tunnels, 1, 'the tunnel the platform asked for is opened');
    stop.abort();
    await poll;
  });
});

describe("Node-RED's environment", () => {
  const base = { PATH: '/usr/bin', LINE: 'from the agent' };
  const snapshot = [
    { name: 'BROKER', value: 'mqtt://plant' },
    { name: 'LINE', value: 'line 3' },
    { name: 'API_KEY', value: null },
  ];
  const desired = [
    { name: 'FLOWGATE_DEVICE_ID', value: 'dev-1' },
    { name: 'BROKER', value: 'mqtt://edge' },
  ];

  test("a hosted instance runs with its own variables only: a snapshot's are a record", () => {
    assert.deepEqual(nodeRedEnvironment(base, [{ name: 'BROKER', value: 'mqtt://now' }], null), { PATH: '/usr/bin', LINE: 'from the agent', BROKER: 'mqtt://now' });
  });

  test("a device runs with the snapshot's plain variables, the desired state's on top; a secret has no value to give", () => {
    assert.deepEqual(nodeRedEnvironment(base, desired, snapshot), { PATH: '/usr/bin', LINE: 'line 3', BROKER: 'mqtt://edge', FLOWGATE_DEVICE_ID: 'dev-1' });
  });
});

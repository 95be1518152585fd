import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlatformError, type DesiredState, type PlatformClient } from './platform-client.ts';
import { pollDesiredState, type Reconciler } from './reconcile.ts';

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
        // The long poll holds until the agent stops.
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new PlatformError('aborted', null, false)), { once: true }));
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
});

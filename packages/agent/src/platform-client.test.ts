import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BACKOFF_MAX_MS,
  BACKOFF_MIN_MS,
  backoffAfter,
  backoffDelay,
  createPlatformClient,
  HTTP_BACKOFF,
  parseDesiredState,
  PlatformError,
  REFUSED_BACKOFF,
  withRetry,
} from './platform-client.ts';
import { FakePlatform } from './test-support/fake-platform.ts';

const desired = {
  generation: 3,
  instanceId: 'inst-1',
  snapshot: { id: 's1', hash: 'a'.repeat(64) },
  settings: {
    credentialSecret: 'c',
    editorTokenKey: 'ab'.repeat(32),
    httpAdminRoot: '/instances/inst-1/editor/',
    httpNodeRoot: '/instances/inst-1/app/',
    endpointKey: 'ef'.repeat(32),
    palette: { allow: [], deny: [] },
    nodeRedVersion: null,
  },
  env: [{ name: 'LINE', value: '3' }],
  editorTunnel: false,
};

describe('platform client', () => {
  test('backoff: from 500 ms, doubling, capped at 30 s, with jitter that never goes below the minimum', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const random of [0, 0.5, 1]) {
        const delay = backoffDelay(attempt, HTTP_BACKOFF, () => random);
        assert.ok(delay >= BACKOFF_MIN_MS && delay <= BACKOFF_MAX_MS, `attempt ${attempt}: ${delay}`);
      }
    }
    assert.equal(
      backoffDelay(0, HTTP_BACKOFF, () => 1),
      500,
    );
    assert.equal(
      backoffDelay(3, HTTP_BACKOFF, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(3, HTTP_BACKOFF, () => 0),
      2000,
    );
    assert.equal(
      backoffDelay(30, HTTP_BACKOFF, () => 1),
      30_000,
    );
    assert.equal(
      backoffDelay(3, undefined, () => 1),
      4000,
      'the default schedule',
    );
  });

  test('a refused credential (401) is asked about again slowly: 5 s doubling to 5 min, full jitter; anything else on the usual schedule', () => {
    const top = Array.from({ length: 8 }, (_, attempt) => backoffDelay(attempt, REFUSED_BACKOFF, () => 1));
    assert.deepEqual(top, [5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    assert.equal(
      backoffDelay(50, REFUSED_BACKOFF, () => 1),
      300_000,
      'a few minutes at most: an un-revoke or a fixed proxy heals it',
    );
    assert.equal(
      backoffDelay(2, REFUSED_BACKOFF, () => 0.5),
      10_000,
    );
    assert.equal(backoffAfter(new PlatformError('GET /desired: HTTP 401', 401, false)), REFUSED_BACKOFF);
    for (const err of [new PlatformError('HTTP 503', 503, true), new PlatformError('timed out', null, true), new PlatformError('HTTP 403', 403, false), new Error('bug')]) {
      assert.equal(backoffAfter(err), HTTP_BACKOFF, err.message);
    }
  });

  test('a desired state is checked field by field', () => {
    assert.deepEqual(parseDesiredState(desired), desired);
    assert.deepEqual(parseDesiredState({ ...desired, snapshot: null }).snapshot, null);
    const fromADevice: Record<string, unknown> = { ...desired.settings };
    delete fromADevice.endpointKey;
    assert.equal(parseDesiredState({ ...desired, settings: fromADevice }).settings.endpointKey, null, 'none sent: endpoints not gated');
    const fromAnOlderPlatform: Record<string, unknown> = { ...desired.settings };
    delete fromAnOlderPlatform.nodeRedVersion;
    assert.equal(parseDesiredState({ ...desired, settings: fromAnOlderPlatform }).settings.nodeRedVersion, null, "none sent: the agent's own Node-RED");
    assert.equal(parseDesiredState({ ...desired, settings: { ...desired.settings, nodeRedVersion: '5.0.2' } }).settings.nodeRedVersion, '5.0.2');
    assert.equal(parseDesiredState({ ...desired, editorTunnel: true }).editorTunnel, true);
    const withoutTunnel: Record<string, unknown> = { ...desired };
    delete withoutTunnel.editorTunnel;
    assert.equal(parseDesiredState(withoutTunnel).editorTunnel, false, 'none sent: no tunnel');
    const broken: unknown[] = [
      null,
      { ...desired, generation: '3' },
      { ...desired, snapshot: { id: 's1' } },
      { ...desired, settings: { ...desired.settings, editorTokenKey: 'not hex' } },
      { ...desired, settings: { ...desired.settings, httpAdminRoot: "/x'; process.exit(); '" } },
      { ...desired, settings: { ...desired.settings, httpNodeRoot: 'relative/' } },
      { ...desired, settings: { ...desired.settings, endpointKey: "'; process.exit(); '" } },
      { ...desired, settings: { ...desired.settings, palette: { allow: [1], deny: [] } } },
      { ...desired, settings: { ...desired.settings, nodeRedVersion: '../../bin/sh' } },
      { ...desired, settings: { ...desired.settings, nodeRedVersion: 5 } },
      { ...desired, env: [{ name: 'BAD NAME', value: 'x' }] },
      // By @flowgate/protocol's schema, which the platform's route declares: a tunnel is asked for with a boolean.
      { ...desired, editorTunnel: 'yes' },
      { ...desired, settings: { ...desired.settings, credentialSecret: '' } },
      { ...desired, generation: -1 },
    ];
    for (const value of broken) assert.throws(() => parseDesiredState(value), PlatformError, JSON.stringify(value));
    assert.throws(
      () => parseDesiredState({ ...desired, settings: { ...desired.settings, palette: { allow: [1], deny: [] } } }),
      /desired state \/settings\/palette\/allow\/0: Expected string/,
    );
  });

  test('the long poll returns at once without a generation, and holds until the generation changes', async () => {
    const platform = new FakePlatform();
    await platform.start();
    try {
      const client = createPlatformClient({ baseUrl: `${platform.url}/`, token: platform.token });
      const signal = new AbortController().signal;
      const first = await client.getDesired(null, 25, signal);
      assert.equal(first.generation, platform.generation);
      const started = Date.now();
      const held = client.getDesired(first.generation, 25, signal);
      setTimeout(() => platform.setTarget(null), 300);
      const next = await held;
      assert.equal(next.generation, first.generation + 1);
      assert.ok(Date.now() - started >= 250);

      const wrongToken = createPlatformClient({ baseUrl: platform.url, token: 'fgi_wrong' });
      await assert.rejects(wrongToken.getDesired(null, 0, signal), (err: PlatformError) => err.status === 401 && !err.retryable);
    } finally {
      await platform.stop();
    }
  });

  test('withRetry retries what can get better, gives up on what cannot', async () => {
    const signal = new AbortController().signal;
    let calls = 0;
    const value = await withRetry(
      async () => {
        if (++calls < 3) throw new PlatformError('HTTP 503', 503, true);
        return 'ok';
      },
      { signal },
    );
    assert.equal(value, 'ok');
    assert.equal(calls, 3);
    await assert.rejects(
      withRetry(
        async () => {
          throw new PlatformError('HTTP 404', 404, false);
        },
        { signal },
      ),
      /HTTP 404/,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, backoffDelay, createPlatformClient, parseDesiredState, PlatformError, withRetry } from './platform-client.ts';
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
    palette: { allow: [], deny: [] },
  },
  env: [{ name: 'LINE', value: '3' }],
  editorTunnel: false,
};

describe('platform client', () => {
  test('backoff: from 500 ms, doubling, capped at 30 s, with jitter that never goes below the minimum', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const random of [0, 0.5, 1]) {
        const delay = backoffDelay(attempt, () => random);
        assert.ok(delay >= BACKOFF_MIN_MS && delay <= BACKOFF_MAX_MS, `attempt ${attempt}: ${delay}`);
      }
    }
    assert.equal(backoffDelay(0, () => 1), 500);
    assert.equal(backoffDelay(3, () => 1), 4000);
    assert.equal(backoffDelay(3, () => 0), 2000);
    assert.equal(backoffDelay(30, () => 1), 30_000);
  });

  test('a desired state is checked field by field', () => {
    assert.deepEqual(parseDesiredState(desired), desired);
    assert.deepEqual(parseDesiredState({ ...desired, snapshot: null }).snapshot, null);
    assert.equal(parseDesiredState({ ...desired, editorTunnel: true }).editorTunnel, true);
    assert.equal(parseDesiredState({ ...desired, editorTunnel: 'yes' }).editorTunnel, false, 'only true asks for the tunnel');
    const broken: unknown[] = [
      null,
      { ...desired, generation: '3' },
      { ...desired, snapshot: { id: 's1' } },
      { ...desired, settings: { ...desired.settings, editorTokenKey: 'not hex' } },
      { ...desired, settings: { ...desired.settings, httpAdminRoot: "/x'; process.exit(); '" } },
      { ...desired, settings: { ...desired.settings, httpNodeRoot: 'relative/' } },
      { ...desired, settings: { ...desired.settings, palette: { allow: [1], deny: [] } } },
      { ...desired, env: [{ name: 'BAD NAME', value: 'x' }] },
    ];
    for (const value of broken) assert.throws(() => parseDesiredState(value), PlatformError);
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
      withRetry(async () => {
        throw new PlatformError('HTTP 404', 404, false);
      }, { signal }),
      /HTTP 404/,
    );
  });
});

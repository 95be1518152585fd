import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config.ts';
import { ADMIN, Client, setupAdmin, startTestApp, type TestApp } from '../../test/harness.ts';

/**
 * Behind a reverse proxy (TLS ends there), who a request came from is what the proxy says
 * in X-Forwarded-For, but only a proxy named in FLOWGATE_TRUST_PROXY: anyone else could
 * write any address there, and choose what the audit log records and whose sign-in rate
 * limit they spend.
 */
const signInFrom = (t: TestApp, forwardedFor: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': forwardedFor, 'content-type': 'application/json' },
    payload: { email: ADMIN.email, password: 'not the password' },
  });

for (const [trusted, expected] of [
  [true, '203.0.113.7'],
  [false, '127.0.0.1'],
] as const) {
  describe(`a request through a proxy ${trusted ? 'named' : 'not named'} in FLOWGATE_TRUST_PROXY`, () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp('sqlite', trusted ? { FLOWGATE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' } : {});
      admin = await setupAdmin(t);
    });
    after(() => t.close());

    test(`is audited as from ${expected}`, async () => {
      assert.equal((await signInFrom(t, '203.0.113.7')).statusCode, 401);
      const [event] = (await admin.get('/api/audit?event=auth.login.failed')).json().events as Array<{ ip: string }>;
      assert.equal(event?.ip, expected);
    });
  });
}

test('FLOWGATE_TRUST_PROXY takes addresses and CIDR ranges, and refuses anything else', () => {
  assert.deepEqual(loadConfig({}).trustProxy, [], 'no proxy is believed by default');
  assert.deepEqual(loadConfig({ FLOWGATE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
  for (const wrong of ['proxy.plant.example', '10.0.0.0/33', '10.0.0.1/8/2', 'true']) {
    assert.throws(
      () => loadConfig({ FLOWGATE_TRUST_PROXY: wrong }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(wrong.split(',')[0]!),
      wrong,
    );
  }
});

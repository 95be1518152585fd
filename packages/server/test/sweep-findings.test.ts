import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from './harness.ts';

/**
 * What a sweep of the platform, tried as each role would, found at the edges of the HTTP
 * API, kept fixed: the answers a caller sees. The OpenAPI fuzz (fuzz.test.ts) covers the
 * classes; these are the named cases.
 */

const UNKNOWN_TEAM = '00000000-0000-4000-8000-000000000000';

for (const dialect of DIALECTS) {
  describe(`the HTTP edges (${dialect})`, () => {
    let t: TestApp;
    let admin: Client;
    let teamId: string;
    let instanceId: string;

    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Packaging' })).json().id;
      const applicationId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Gateway' })).json().id;
      const nodeRedVersion = ((await admin.get('/api/node-red-versions')).json() as string[])[0];
      instanceId = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'dev', nodeRedVersion })).json().id;
    });
    after(() => t.close());

    test('a platform admin asking for a team that does not exist is told so (404), not given an empty list', async () => {
      for (const url of [`/api/teams/${UNKNOWN_TEAM}/audit`, `/api/teams/${UNKNOWN_TEAM}/applications`, `/api/teams/${UNKNOWN_TEAM}/devices`, `/api/teams/${UNKNOWN_TEAM}`]) {
        const r = await admin.get(url);
        assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
        assert.equal(r.json().detail, 'Team was not found.');
      }
      // A team that exists but that the admin is not in (they made it and left) still answers.
      const other = (await admin.post('/api/teams', { name: 'Bottling' })).json().id;
      assert.equal((await admin.get(`/api/teams/${other}/audit`)).statusCode, 200);
    });

    test('API tokens, read-only or not, do not open the Node-RED editor: a browser session does (docs/roles.md says so)', async () => {
      for (const access of ['read', 'write'] as const) {
        const made = await admin.post('/api/account/tokens', { name: `script-${access}`, access, expiresInDays: 30 });
        assert.equal(made.statusCode, 201, made.body);
        const script = new Client(t);
        script.bearer = made.json().token;
        // Neither the platform's route that opens it (no code for a token)...
        const opened = await script.get(`/instances/${instanceId}/editor`);
        assert.equal(opened.statusCode, 403, opened.body);
        assert.match(opened.json().detail, /instances:editor is for a signed-in browser session; API tokens do not carry it/);
        // ...nor the editor on the instance's origin.
        script.host = `${instanceId}.localhost:3000`;
        const r = await script.get(`/instances/${instanceId}/editor/`);
        assert.equal(r.statusCode, 401, r.body);
        assert.match(r.json().detail, /signed-in browser session; API tokens do not open it/);
        script.host = null;
        // The same token reads the instance through the API.
        assert.equal((await script.get(`/api/instances/${instanceId}`)).statusCode, 200);
      }
      // The admin's session gets past the check (the admin is the team's owner; no agent runs here: 503).
      const r = await (await admin.onInstance(instanceId, 'editor')).get(`/instances/${instanceId}/editor/`);
      assert.notEqual(r.statusCode, 401, r.body);
      assert.notEqual(r.statusCode, 403, r.body);
    });

    test("SCIM clients get SCIM's own error document (RFC 7644 §3.12) for bodies, ids and tokens the platform refuses", async () => {
      const providerId = (
        await admin.post('/api/platform/identity-providers', {
          name: 'Contoso Entra',
          oidc: { issuerUrl: 'https://login.contoso.example/v2.0', clientId: 'flowgate', clientSecret: 'secret' },
          emailDomains: ['contoso.example'],
        })
      ).json().id;
      const scim = new Client(t);
      scim.bearer = (await admin.post(`/api/platform/identity-providers/${providerId}/scim-token`)).json().token;
      const expectScimError = (r: Awaited<ReturnType<Client['get']>>, status: number, scimType?: string) => {
        assert.equal(r.statusCode, status, r.body);
        assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
        const body = r.json();
        assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.equal(body.status, String(status));
        assert.equal(body.scimType, scimType);
        assert.equal(typeof body.detail, 'string');
      };
      expectScimError(await scim.request('POST', '/scim/v2/Users', '{"userName": ', { 'content-type': 'application/scim+json' }), 400, 'invalidSyntax');
      expectScimError(await scim.get('/scim/v2/Users/abc%00def'), 400, 'invalidValue');
      expectScimError(await scim.get('/scim/v2/Users?filter=' + 'x'.repeat(600)), 400, 'invalidValue');
      expectScimError(await scim.get(`/scim/v2/Users/${UNKNOWN_TEAM}`), 404);
      expectScimError(
        await scim.request('POST', '/scim/v2/Users', JSON.stringify({ schemas: [], userName: 'x'.repeat(2_000_000) }), { 'content-type': 'application/scim+json' }),
        413,
      );
      const stranger = new Client(t);
      stranger.bearer = 'fgs_not-a-token';
      expectScimError(await stranger.get('/scim/v2/Users'), 401);
    });

    test('answers with personal or security data are not kept by any cache; HSTS only where the platform is reached over HTTPS', async () => {
      for (const url of ['/api/account', '/api/account/tokens', '/api/audit', `/api/teams/${teamId}/members`, '/api/auth/session']) {
        const r = await admin.get(url);
        assert.equal(r.statusCode, 200, r.body);
        assert.equal(r.headers['cache-control'], 'no-store', url);
      }
      const signedOut = await new Client(t).get('/api/account');
      assert.equal(signedOut.headers['cache-control'], 'no-store', 'a refusal too');
      assert.equal((await admin.get('/api/health')).headers['strict-transport-security'], undefined, 'plain HTTP: no HSTS');

      const https = await startTestApp(dialect, { FLOWGATE_PUBLIC_URL: 'https://flowgate.plant.example' });
      try {
        assert.equal((await new Client(https).get('/api/health')).headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      } finally {
        await https.close();
      }
    });
  });
}

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../../config.ts';
import { addMember, Client, createManualClock, DIALECTS, reportAsAgent, resolveLocalhostSubdomains, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

/**
 * Each instance on an origin of its own (instance-origins.ts): which host serves what, the
 * one-time code that signs a person in there, its cookie, and the platform refusing what an
 * instance's page sends it. Node-RED is a stand-in that answers with what it was sent; the
 * real one behind the real agent is in instances.runtime.test.ts and e2e/instance-origin.test.ts.
 */
for (const dialect of DIALECTS) {
  describe(`instances' own origins on ${dialect}`, () => {
    let t: TestApp;
    const clock = createManualClock();
    let admin: Client;
    let member: Client;
    let teamId: string;
    let instanceId: string;
    let otherInstanceId: string;
    let host: string;
    let nodeRed: http.Server;
    const seen: http.IncomingHttpHeaders[] = [];

    before(async () => {
      t = await startTestApp(dialect, {}, { clock });
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Bottling' })).json().id;
      member = await addMember(t, admin, teamId, 'mia@plant.example', 'member');
      const applicationId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Filler' })).json().id;
      const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
      instanceId = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'prod', nodeRedVersion: version })).json().id;
      otherInstanceId = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'test', nodeRedVersion: version })).json().id;
      host = `${instanceId}.localhost:3000`;
      nodeRed = http.createServer((req, res) => {
        seen.push(req.headers);
        res.setHeader('content-type', 'text/plain');
        res.end(`node-red ${req.url}`);
      });
      await new Promise<void>((resolve) => nodeRed.listen(0, '127.0.0.1', resolve));
      await reportAsAgent(t, instanceId, 'running', null, { nodeRedPort: (nodeRed.address() as AddressInfo).port });
    });
    after(async () => {
      await t.close();
      nodeRed.close();
    });

    const onHost = (h: string, cookie?: string) => {
      const c = new Client(t);
      c.host = h;
      if (cookie) c.cookie = cookie;
      return c;
    };

    test("the platform's route checks the person, mints a code and sends the browser to the instance's origin", async () => {
      const opened = await member.get(`/instances/${instanceId}/editor`);
      assert.equal(opened.statusCode, 303);
      const to = new URL(opened.headers.location as string);
      assert.equal(to.origin, `http://${instanceId}.localhost:3000`);
      assert.equal(to.pathname, '/.flowgate/session');
      assert.equal(to.searchParams.get('next'), `/instances/${instanceId}/editor/`);
      assert.match(to.searchParams.get('code')!, /^[A-Za-z0-9_-]{40,}$/);
      // Stored hashed: the code itself is nowhere in the database.
      const rows = await t.db.database.db.selectFrom('instance_origin_codes').selectAll().execute();
      assert.ok(rows.length >= 1 && rows.every((r) => r.code_hash !== to.searchParams.get('code')));
      assert.equal((await new Client(t).get(`/instances/${instanceId}/editor`)).statusCode, 401, 'signed out: no code');
    });

    test('the code is used once, on its own instance, within its minute; the cookie it gives is host-only', async () => {
      const mint = async () => new URL((await member.get(`/instances/${instanceId}/app`)).headers.location as string);
      const first = await mint();
      const there = onHost(host);
      const exchanged = await there.get(first.pathname + first.search);
      assert.equal(exchanged.statusCode, 303);
      assert.equal(exchanged.headers.location, `/instances/${instanceId}/app/`);
      const setCookie = String(exchanged.headers['set-cookie']);
      assert.match(setCookie, /^fg_instance=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/, 'host-only (no Domain), HttpOnly, SameSite, not Secure over http');
      assert.equal((await there.get(`/instances/${instanceId}/app/hello`)).body, `node-red /instances/${instanceId}/app/hello`);

      const again = await onHost(host).get(first.pathname + first.search);
      assert.equal(again.statusCode, 401, 'used once');
      const expired = await mint();
      clock.advance(61_000);
      assert.equal((await onHost(host).get(expired.pathname + expired.search)).statusCode, 401, 'a minute at most');
      const elsewhere = await mint();
      const code = elsewhere.searchParams.get('code')!;
      const onOther = `/.flowgate/session?code=${code}&next=${encodeURIComponent(`/instances/${otherInstanceId}/app/`)}`;
      assert.equal((await onHost(`${otherInstanceId}.localhost:3000`).get(onOther)).statusCode, 401, 'not on another instance');
      assert.equal((await onHost(host).get(elsewhere.pathname + elsewhere.search)).statusCode, 401, 'and spent by that attempt');
      const refused = (await admin.get('/api/audit?event=auth.token.rejected')).json().events as Array<{ details: string }>;
      assert.deepEqual(refused.map((e) => JSON.parse(e.details).reason).sort(), ['another instance', 'expired', 'unknown or used', 'unknown or used']);

      const open = await mint();
      assert.equal(
        (await onHost(host).get(`/.flowgate/session?code=${open.searchParams.get('code')}&next=${encodeURIComponent('//evil.example/')}`)).statusCode,
        400,
        'no way out of the instance',
      );
      // The platform's session cookie is host-only too.
      const login = await new Client(t).post('/api/auth/login', { email: 'mia@plant.example', password: 'gentle river quartz lantern 42' });
      assert.doesNotMatch(String(login.headers['set-cookie']), /domain=/i);
    });

    test("an instance's origin serves that instance's editor and endpoints, nothing of the platform's", async () => {
      const there = await member.onInstance(instanceId, 'editor');
      for (const path of ['/api/teams', '/api/auth/session', '/', '/sign-in', `/instances/${otherInstanceId}/app/x`, `/api/instances/${instanceId}`, '/metrics']) {
        const r = await there.get(path);
        assert.equal(r.statusCode, 404, path);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      }
      const front = await there.get(`/instances/${instanceId}/editor/`);
      assert.equal(front.statusCode, 302, 'the editor opens (its front door hands it a token)');
      assert.match(front.headers.location as string, new RegExp(`^/instances/${instanceId}/editor/\\?access_token=`));
      assert.equal((await there.get(`/instances/${instanceId}/editor/settings`)).statusCode, 200);
      // Node-RED sees neither the platform's cookie nor this origin's.
      seen.length = 0;
      await onHost(host, `${there.cookie}; fg_session=abc; mine=1`).get(`/instances/${instanceId}/app/x`);
      assert.equal(seen[0]!.cookie, 'mine=1');
      // The instance's cookie opens nothing on the platform.
      assert.equal((await new Client(t).request('GET', '/api/auth/session', undefined, { cookie: there.cookie! })).json().signedIn, false);
      // Signed out on the platform: signed out here too.
      const person = await addMember(t, admin, teamId, 'sam@plant.example', 'member');
      const his = await person.onInstance(instanceId, 'editor');
      assert.equal((await his.get(`/instances/${instanceId}/editor/settings`)).statusCode, 200);
      assert.equal((await person.post('/api/auth/logout')).statusCode, 204);
      assert.equal((await his.get(`/instances/${instanceId}/editor/settings`)).statusCode, 401);
      // A navigation signed out goes to the platform's route, which signs the person in here again.
      const navigated = await his.request('GET', `/instances/${instanceId}/app/dash?x=1`, undefined, { 'sec-fetch-mode': 'navigate' });
      assert.equal(navigated.statusCode, 303);
      assert.equal(navigated.headers.location, `http://127.0.0.1:3000/instances/${instanceId}/app?next=${encodeURIComponent(`/instances/${instanceId}/app/dash?x=1`)}`);
    });

    test("the editor's rules hold on the instance's origin: members of the team only, a viewer read-only", async () => {
      const viewer = await addMember(t, admin, teamId, 'vic@plant.example', 'viewer');
      const its = await viewer.onInstance(instanceId, 'editor');
      assert.equal((await its.get(`/instances/${instanceId}/editor/settings`)).statusCode, 200);
      const token = JSON.parse(Buffer.from(seen.at(-1)!.authorization!.slice(7).split('.')[0]!, 'base64url').toString()) as { permissions: string };
      assert.equal(token.permissions, 'read');
      const otherTeam = (await admin.post('/api/teams', { name: 'Other' })).json().id;
      const outsider = await addMember(t, admin, otherTeam, 'otto@plant.example', 'owner');
      assert.equal((await outsider.get(`/instances/${instanceId}/editor`)).statusCode, 404, 'no code for a team one is not in');
      // Made a platform admin, not a member: the editor's route refuses (the existing rule), audited.
      const ottoId = (await outsider.get('/api/account')).json().user.id as string;
      assert.equal((await admin.patch(`/api/platform/users/${ottoId}`, { platformRole: 'admin' })).statusCode, 200);
      assert.equal((await outsider.get(`/instances/${instanceId}/editor`)).statusCode, 403);
      // Signed in there through the endpoints' route, the editor still refuses them.
      const there = await outsider.onInstance(instanceId, 'app');
      assert.equal((await there.get(`/instances/${instanceId}/editor/settings`)).statusCode, 403);
    });

    test("the platform refuses what an instance's page sends it, and answers its old paths with a redirect", async () => {
      const origin = `http://${instanceId}.localhost:3000`;
      for (const [method, path] of [
        ['GET', '/api/teams'],
        ['POST', '/api/teams'],
        ['GET', '/api/auth/session'],
      ] as const) {
        const r = await admin.request(method, path, method === 'POST' ? { name: 'Planted' } : undefined, { origin });
        assert.equal(r.statusCode, 403, `${method} ${path}`);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.match(r.json().detail, /Requests from an instance's pages .* do not reach the platform/);
      }
      assert.equal(
        (await admin.get('/api/teams')).json().some((team: { name: string }) => team.name === 'Planted'),
        false,
      );
      assert.equal((await admin.request('GET', '/api/teams', undefined, { origin: 'http://127.0.0.1:3000' })).statusCode, 200, "the platform's own pages");
      const denied = (await admin.get('/api/audit?event=auth.access.denied')).json().events as Array<{ details: string }>;
      assert.ok(denied.some((e) => JSON.parse(e.details).reason === 'from an instance origin'));
      // Another instance's page does not reach this one either.
      const there = await member.onInstance(instanceId);
      assert.equal((await there.request('POST', `/instances/${instanceId}/app/x`, {}, { origin: `http://${otherInstanceId}.localhost:3000` })).statusCode, 403);

      for (const path of [`/instances/${instanceId}/editor/`, `/instances/${instanceId}/app/report?day=1`]) {
        const r = await admin.get(path);
        assert.equal(r.statusCode, 308, path);
        assert.equal(r.headers.location, `${origin}${path}`);
        assert.doesNotMatch(r.body, /node-red/);
      }
    });

    test('public endpoints stay public on the instance origin, and behind sign-in is for the team', async () => {
      const anonymous = onHost(host);
      assert.equal((await anonymous.get(`/instances/${instanceId}/app/x`)).statusCode, 401);
      assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'public' })).statusCode, 200);
      assert.equal((await anonymous.get(`/instances/${instanceId}/app/x`)).body, `node-red /instances/${instanceId}/app/x`);
      assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'login' })).statusCode, 200);
    });
  });
}

describe('the shared origin (FLOWGATE_INSTANCE_ORIGINS=shared), insecure, kept to show what the separation prevents', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { FLOWGATE_INSTANCE_ORIGINS: 'shared' });
  });
  after(() => t.close());

  test("editors and endpoints are on the platform's origin, and an instance's origin is nobody's", async () => {
    const admin = await setupAdmin(t);
    const teamId = (await admin.post('/api/teams', { name: 'Bottling' })).json().id;
    const applicationId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Filler' })).json().id;
    const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
    const instance = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'prod', nodeRedVersion: version })).json();
    assert.equal(instance.endpointUrl, `http://127.0.0.1:3000/instances/${instance.id}/app/`);
    assert.equal((await admin.get(`/instances/${instance.id}/editor`)).headers.location, `/instances/${instance.id}/editor/`);
    assert.equal((await admin.get(`/instances/${instance.id}/editor/`)).statusCode, 503, 'served here (the instance has not started)');
    assert.equal((await admin.request('GET', '/api/teams', undefined, { origin: `http://${instance.id}.localhost:3000` })).statusCode, 200);
  });
});

describe("the instances' domain and the WebSockets of their origins", () => {
  test("FLOWGATE_INSTANCE_DOMAIN: a domain takes the public URL's scheme and port, a URL gives its own; anything else is refused", () => {
    const origins = (env: Record<string, string>) => loadConfig({ FLOWGATE_DATA_DIR: '/tmp/unused', ...env }).instanceOrigins;
    assert.deepEqual(origins({}), { mode: 'separate', scheme: 'http', domain: 'localhost', port: '3000', domainConfigured: false });
    assert.deepEqual(origins({ FLOWGATE_PUBLIC_URL: 'https://flowgate.example.com', FLOWGATE_INSTANCE_DOMAIN: 'Apps.Example.com' }), {
      mode: 'separate',
      scheme: 'https',
      domain: 'apps.example.com',
      port: '',
      domainConfigured: true,
    });
    assert.equal(origins({ FLOWGATE_INSTANCE_DOMAIN: 'https://apps.example.com:8443' }).port, '8443');
    for (const bad of ['apps.example.com/x', 'ftp://apps.example.com', '10.0.0.1', 'a b']) {
      assert.throws(() => origins({ FLOWGATE_INSTANCE_DOMAIN: bad }), ConfigError, bad);
    }
    assert.throws(() => origins({ FLOWGATE_INSTANCE_ORIGINS: 'off' }), ConfigError);
    assert.equal(origins({ FLOWGATE_INSTANCE_ORIGINS: 'shared' }).mode, 'shared');
  });

  test("an instance's host reaches none of the platform's WebSockets, and the platform's host none of the instance's", async () => {
    resolveLocalhostSubdomains();
    const t = await startTestApp('sqlite');
    try {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (t.app.server.address() as AddressInfo).port;
      const id = '0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f';
      const status = (url: string) =>
        new Promise<number | string>((resolve) => {
          const ws = new WebSocket(url);
          ws.once('unexpected-response', (_request, response) => {
            resolve(response.statusCode ?? 0);
            ws.terminate();
          });
          ws.once('open', () => {
            resolve('open');
            ws.close();
          });
          ws.once('error', (error) => resolve(error.message));
        });
      assert.equal(await status(`ws://${id}.localhost:${port}/api/fleet/v1/mqtt`), 404, "devices' MQTT is not on an instance's origin");
      assert.equal(await status(`ws://${id}.localhost:${port}/instances/${'1'.repeat(8)}-0000-4000-8000-000000000000/app/x`), 404, "nor another instance's sockets");
      assert.equal(await status(`ws://127.0.0.1:${port}/instances/${id}/editor/comms`), 404, "an editor's comms are not on the platform's origin");
      assert.equal(await status(`ws://${id}.localhost:${port}/instances/${id}/editor/comms`), 401, 'on its own origin, for whoever signed in there');
    } finally {
      await t.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../test/harness.ts';

for (const dialect of DIALECTS) {
  describe(`API tokens scoped to teams on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let teamA: string;
    let teamB: string;
    let appA: string;
    let appB: string;
    let scoped: Client;
    let scopedTokenId: string;
    let unscoped: Client;

    const bearer = async (body: object): Promise<{ client: Client; id: string }> => {
      const created = await admin.post('/api/account/tokens', { access: 'write', expiresInDays: 30, ...body });
      assert.equal(created.statusCode, 201, created.body);
      const client = new Client(t);
      client.bearer = created.json().token;
      return { client, id: created.json().record.id };
    };

    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      teamA = (await admin.post('/api/teams', { name: 'Line A' })).json().id;
      teamB = (await admin.post('/api/teams', { name: 'Line B' })).json().id;
      appA = (await admin.post(`/api/teams/${teamA}/applications`, { name: 'Filler' })).json().id;
      appB = (await admin.post(`/api/teams/${teamB}/applications`, { name: 'Palletiser' })).json().id;
      ({ client: scoped, id: scopedTokenId } = await bearer({ name: 'line-a-ci', teamIds: [teamA] }));
      ({ client: unscoped } = await bearer({ name: 'platform-ci' }));
    });
    after(() => t.close());

    test("an admin's token scoped to team A reads team A's resources and gets 404 for team B's", async () => {
      assert.deepEqual(
        ((await scoped.get('/api/teams')).json() as Array<{ id: string }>).map((team) => team.id),
        [teamA],
        'its team list holds team A alone',
      );
      const own = await scoped.get(`/api/applications/${appA}`);
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().application.name, 'Filler');
      assert.equal((await scoped.get(`/api/teams/${teamA}/applications`)).statusCode, 200);
      for (const url of [`/api/applications/${appB}`, `/api/teams/${teamB}/applications`]) {
        const other = await scoped.get(url);
        assert.equal(other.statusCode, 404, `${url}: ${other.body}`);
        assert.equal(other.headers['content-type'], 'application/problem+json; charset=utf-8');
      }
    });

    test('the same token is refused, 403 problem+json and audited, on platform-wide routes', async () => {
      const refusals: Array<[string, () => Promise<LightMyRequestResponse>]> = [
        ['platform:audit:read', () => scoped.get('/api/audit')],
        ['platform:audit:read', () => scoped.get('/api/audit/export?format=jsonl')],
        ['platform:settings:write', () => scoped.patch('/api/platform/settings', { loginBanner: 'Changed by a team token' })],
        ['platform:settings:write', () => scoped.post('/api/platform/identity-providers', {})],
        ['platform:users:read', () => scoped.get('/api/platform/users')],
      ];
      for (const [permission, call] of refusals) {
        const r = await call();
        assert.equal(r.statusCode, 403, `${permission}: ${r.body}`);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.equal(r.json().title, 'Not allowed');
        assert.match(r.json().detail, /scoped to teams/);
      }
      const settings = (await admin.get('/api/platform/settings')).json();
      assert.notEqual(settings.loginBanner, 'Changed by a team token', 'the settings did not change');

      const denied = (await admin.get('/api/audit?event=auth.access.denied&limit=100')).json().events as Array<{ actorType: string; outcome: string; details: string }>;
      const byToken = denied.map((e) => ({ ...e, details: JSON.parse(e.details) })).filter((e) => e.details.tokenId === scopedTokenId);
      assert.deepEqual(byToken.map((e) => e.details.permission).sort(), refusals.map(([p]) => p).sort());
      assert.ok(byToken.every((e) => e.outcome === 'denied' && e.actorType === 'token' && e.details.reason === 'token scoped to teams'));
    });

    test('a token scoped to teams changes nothing outside them: not the account, not a new team; and no token mints a token', async () => {
      for (const [what, call] of [
        ['a new token', () => scoped.post('/api/account/tokens', { name: 'wider', access: 'write', expiresInDays: 30 })],
        ['a new team', () => scoped.post('/api/teams', { name: 'Line C' })],
      ] as const) {
        const r = await call();
        assert.equal(r.statusCode, 403, `${what}: ${r.body}`);
        assert.match(r.json().detail, /scoped to teams/);
      }
      assert.ok(!((await admin.get('/api/teams')).json() as Array<{ name: string }>).some((team) => team.name === 'Line C'));

      const minted = await unscoped.post('/api/account/tokens', { name: 'renewed', access: 'write', expiresInDays: 365 });
      assert.equal(minted.statusCode, 403, minted.body);
      assert.match(minted.json().detail, /not with another API token/);
      const names = ((await admin.get('/api/account/tokens')).json() as Array<{ name: string }>).map((x) => x.name);
      assert.ok(!names.includes('wider') && !names.includes('renewed'), 'no token was made');
      const refused = (await admin.get('/api/audit?event=token.created&limit=100')).json().events as Array<{ outcome: string; details: string }>;
      assert.ok(refused.some((e) => e.outcome === 'denied' && JSON.parse(e.details).reason === 'made with an API token'));
    });

    test('an unscoped admin token passes on the same routes', async () => {
      assert.equal((await unscoped.get('/api/audit')).statusCode, 200);
      const changed = await unscoped.patch('/api/platform/settings', { loginBanner: 'Authorised use only' });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(changed.json().loginBanner, 'Authorised use only');
      assert.equal((await unscoped.get(`/api/applications/${appB}`)).statusCode, 200);
    });
  });
}

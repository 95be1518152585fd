import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addMember, Client, DIALECTS, MEMBER_PASSWORD, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

/**
 * SCIM 2.0 as an identity provider's provisioning client calls it (the requests Entra ID
 * and Okta send: filter by userName, create, PATCH active "False", group members add and
 * remove), over HTTP with the provider's SCIM token.
 */
for (const dialect of DIALECTS) {
  describe(`SCIM provisioning on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let teamId: string;
    let providerId: string;
    let token: string;
    let erinId: string;
    let groupId: string;

    const scim = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, bearer = token) =>
      t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/scim+json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    const membersOf = async (id: string) =>
      ((await admin.get(`/api/teams/${id}/members`)).json() as Array<{ email: string; role: string }>).map((m) => `${m.email}:${m.role}`).sort();

    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Line 3' })).json().id;
      const provider = await admin.post('/api/platform/identity-providers', {
        name: 'Contoso Entra',
        oidc: { issuerUrl: 'https://login.contoso.example/v2.0', clientId: 'flowgate', clientSecret: 'secret' },
        emailDomains: ['contoso.example'],
        mappings: [{ group: 'line3-engineers', teamId, role: 'member' }],
      });
      assert.equal(provider.statusCode, 201, provider.body);
      providerId = provider.json().id;
    });
    after(() => t.close());

    test('an admin issues the SCIM token, shown once; without it, or with a forged one, SCIM answers 401 and it is audited', async () => {
      const issued = await admin.post(`/api/platform/identity-providers/${providerId}/scim-token`);
      assert.equal(issued.statusCode, 201);
      token = issued.json().token;
      assert.match(token, /^fgs_/);
      assert.match(issued.json().baseUrl, /\/scim\/v2$/);
      assert.equal((await scim('GET', '/scim/v2/Users', undefined, 'fgs_forged')).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'GET', url: '/scim/v2/Users' })).statusCode, 401);
      assert.equal((await admin.get('/scim/v2/Users')).statusCode, 401, "a person's session is not a SCIM token");
      const rejected = (await admin.get('/api/audit?event=auth.token.rejected')).json().events as Array<{ details: string }>;
      assert.ok(rejected.some((e) => JSON.parse(e.details).kind === 'scim'));
      const config = await scim('GET', '/scim/v2/ServiceProviderConfig');
      assert.equal(config.statusCode, 200);
      assert.equal(config.json().patch.supported, true);
    });

    test("a user is looked up, created once, and refused when the body is wrong, in SCIM's own error format", async () => {
      const none = await scim('GET', '/scim/v2/Users?filter=userName%20eq%20%22erin%40contoso.example%22');
      assert.equal(none.statusCode, 200);
      assert.equal(none.json().totalResults, 0);
      const created = await scim('POST', '/scim/v2/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'Erin@Contoso.example',
        externalId: 'aad-erin',
        name: { givenName: 'Erin', familyName: 'Engineer' },
        active: true,
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.headers['content-type'], 'application/scim+json; charset=utf-8');
      erinId = created.json().id;
      assert.equal(created.json().userName, 'erin@contoso.example');
      assert.equal(created.json().displayName, 'Erin Engineer');
      const found = await scim('GET', '/scim/v2/Users?filter=externalId%20eq%20%22aad-erin%22');
      assert.deepEqual(
        found.json().Resources.map((u: { id: string }) => u.id),
        [erinId],
      );

      const again = await scim('POST', '/scim/v2/Users', { userName: 'erin@contoso.example' });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().scimType, 'uniqueness');
      assert.deepEqual(again.json().schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
      const nameless = await scim('POST', '/scim/v2/Users', { displayName: 'No user name' });
      assert.equal(nameless.statusCode, 400);
      assert.match(nameless.json().detail, /userName/);
      const badFilter = await scim('GET', '/scim/v2/Users?filter=userName%20co%20%22erin%22');
      assert.equal(badFilter.statusCode, 400);
      assert.equal(badFilter.json().scimType, 'invalidFilter');
      assert.equal((await scim('POST', '/scim/v2/Users', '{not json')).statusCode, 400);
      const elsewhere = await scim('POST', '/scim/v2/Users', { userName: 'mallory@elsewhere.example' });
      assert.equal(elsewhere.statusCode, 400);
      assert.match(elsewhere.json().detail, /not in the domains/);
      assert.equal((await scim('GET', '/scim/v2/Users/00000000-0000-4000-8000-000000000000')).statusCode, 404);
      assert.equal((await scim('PATCH', `/scim/v2/Users/${erinId}`, { Operations: 'replace' })).statusCode, 400);
    });

    test('a group gives its members the team role its name maps to; taken out of it, they lose it', async () => {
      const group = await scim('POST', '/scim/v2/Groups', { displayName: 'line3-engineers', members: [{ value: erinId }] });
      assert.equal(group.statusCode, 201, group.body);
      groupId = group.json().id;
      assert.deepEqual(await membersOf(teamId), ['admin@plant.example:owner', 'erin@contoso.example:member']);
      assert.equal((await scim('POST', '/scim/v2/Groups', { displayName: 'line3-engineers' })).json().scimType, 'uniqueness');
      assert.equal((await scim('PATCH', `/scim/v2/Groups/${groupId}`, { Operations: [{ op: 'add', path: 'members', value: [{ value: 'not-a-user' }] }] })).statusCode, 400);

      const removed = await scim('PATCH', `/scim/v2/Groups/${groupId}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'Remove', path: `members[value eq "${erinId}"]` }],
      });
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(removed.json().members, []);
      assert.deepEqual(await membersOf(teamId), ['admin@plant.example:owner']);
      const added = await scim('PATCH', `/scim/v2/Groups/${groupId}`, { Operations: [{ op: 'Add', path: 'members', value: [{ value: erinId }] }] });
      assert.equal(added.json().members[0].value, erinId);
      assert.deepEqual(await membersOf(teamId), ['admin@plant.example:owner', 'erin@contoso.example:member']);
      const events = (await admin.get('/api/audit?event=member.mapped')).json().events as Array<{ actorLabel: string }>;
      assert.equal(events[0]!.actorLabel, 'scim:Contoso Entra');
    });

    test('set inactive, a person loses access at once: their sessions end and they cannot sign in; deleted, they are gone from SCIM but the account stays disabled', async () => {
      // Vic has a password account already; the provider takes it over by email.
      const vic = await addMember(t, admin, teamId, 'vic@contoso.example', 'viewer');
      assert.equal((await vic.get('/api/auth/session')).json().signedIn, true);
      const linked = await scim('POST', '/scim/v2/Users', { userName: 'vic@contoso.example', active: true });
      assert.equal(linked.statusCode, 201, linked.body);

      const off = await scim('PATCH', `/scim/v2/Users/${linked.json().id}`, { Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(off.json().active, false);
      assert.equal((await vic.get('/api/auth/session')).json().signedIn, false, 'the session ended at once');
      assert.equal((await new Client(t).post('/api/auth/login', { email: 'vic@contoso.example', password: MEMBER_PASSWORD })).statusCode, 401);
      const deprovisioned = (await admin.get('/api/audit?event=user.deprovisioned')).json().events as Array<{ details: string }>;
      assert.equal(JSON.parse(deprovisioned[0]!.details).sessionsEnded, 1);

      assert.equal((await scim('DELETE', `/scim/v2/Users/${erinId}`)).statusCode, 204);
      assert.equal((await scim('GET', `/scim/v2/Users/${erinId}`)).statusCode, 404);
      assert.deepEqual(await membersOf(teamId), ['admin@plant.example:owner', 'vic@contoso.example:viewer'], 'her mapped role is gone; hand-made memberships stay');
      const users = (await admin.get('/api/platform/users')).json() as Array<{ email: string; status: string }>;
      assert.equal(users.find((u) => u.email === 'erin@contoso.example')?.status, 'disabled');
    });

    test("a local platform admin (break-glass) stays out of SCIM's reach", async () => {
      await addMember(t, admin, teamId, 'root@contoso.example', 'viewer');
      const rootId = ((await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>).find((u) => u.email === 'root@contoso.example')!.id;
      assert.equal((await admin.patch(`/api/platform/users/${rootId}`, { platformRole: 'admin' })).statusCode, 200);
      const taken = await scim('POST', '/scim/v2/Users', { userName: 'root@contoso.example' });
      assert.equal(taken.statusCode, 409);
      assert.match(taken.json().detail, /break-glass/);
    });

    test('a revoked SCIM token stops working', async () => {
      assert.equal((await admin.delete(`/api/platform/identity-providers/${providerId}/scim-token`)).statusCode, 204);
      assert.equal((await scim('GET', '/scim/v2/Users')).statusCode, 401);
    });
  });
}

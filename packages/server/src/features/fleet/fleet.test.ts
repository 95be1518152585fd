import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { addMember, Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

/** Sites, device groups and provisioning tokens through the API, as a team's people use them. */
for (const dialect of DIALECTS) {
  describe(`fleet sites, groups and provisioning tokens on ${dialect}`, () => {
    let t: TestApp;
    let owner: Client;
    let member: Client;
    let operator: Client;
    let auditor: Client;
    let teamId: string;
    let otherTeamId: string;
    let siteId: string;
    let groupId: string;

    before(async () => {
      t = await startTestApp(dialect);
      owner = await setupAdmin(t);
      teamId = (await owner.post('/api/teams', { name: 'Packaging' })).json().id;
      otherTeamId = (await owner.post('/api/teams', { name: 'Brewing' })).json().id;
      member = await addMember(t, owner, teamId, 'mia@plant.example', 'member');
      operator = await addMember(t, owner, teamId, 'olga@plant.example', 'operator');
      auditor = await addMember(t, owner, teamId, 'aldo@plant.example', 'auditor');
    });
    after(() => t.close());

    test('a member creates a site and a device group; names are unique in a team', async () => {
      const site = await member.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', location: 'Hamburg, Hall 3', timeZone: 'Europe/Berlin' });
      assert.equal(site.statusCode, 201, site.body);
      assert.deepEqual(
        { name: site.json().name, location: site.json().location, timeZone: site.json().timeZone },
        { name: 'Plant Hamburg', location: 'Hamburg, Hall 3', timeZone: 'Europe/Berlin' },
      );
      siteId = site.json().id;
      const again = await member.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'UTC' });
      assert.equal(again.statusCode, 409);
      assert.match(again.json().detail, /already has a site named "Plant Hamburg"/);
      // The same name in another team is that team's business.
      assert.equal((await owner.post(`/api/teams/${otherTeamId}/sites`, { name: 'Plant Hamburg', timeZone: 'UTC' })).statusCode, 201);

      const group = await member.post(`/api/teams/${teamId}/device-groups`, { name: 'Line 3 edge', description: 'The gateways on line 3' });
      assert.equal(group.statusCode, 201, group.body);
      groupId = group.json().id;
      assert.equal((await member.post(`/api/teams/${teamId}/device-groups`, { name: 'Line 3 edge' })).statusCode, 409);
      assert.deepEqual(
        ((await auditor.get(`/api/teams/${teamId}/sites`)).json() as Array<{ name: string }>).map((s) => s.name),
        ['Plant Hamburg'],
      );
      assert.deepEqual(
        ((await operator.get(`/api/teams/${teamId}/device-groups`)).json() as Array<{ name: string }>).map((g) => g.name),
        ['Line 3 edge'],
      );
    });

    test("bad input: an unknown time zone, an empty change, unknown fields, another team's site", async () => {
      const zone = await member.post(`/api/teams/${teamId}/sites`, { name: 'Plant Lyon', timeZone: 'Mars/Olympus_Mons' });
      assert.equal(zone.statusCode, 400);
      assert.match(String(zone.headers['content-type']), /^application\/problem\+json/);
      assert.match(zone.json().detail, /not a time zone/);
      assert.deepEqual(zone.json().errors, [{ field: 'timeZone', message: 'unknown time zone' }]);
      assert.equal((await member.patch(`/api/sites/${siteId}`, {})).statusCode, 400);
      assert.equal((await member.post(`/api/teams/${teamId}/sites`, { name: 'X', timeZone: 'UTC', plc: 'S7' })).statusCode, 400);
      assert.equal((await member.post(`/api/teams/${teamId}/sites`, { name: 'X', timeZone: 42 })).statusCode, 400);
      const otherSite = (await owner.get(`/api/teams/${otherTeamId}/sites`)).json()[0].id;
      // Mia is not in Brewing: its site answers as unknown, and the attempt is on record.
      assert.equal((await member.patch(`/api/sites/${otherSite}`, { name: 'Mine now' })).statusCode, 404);
      const hidden = (await owner.get(`/api/audit?event=auth.access.hidden`)).json().events as Array<{ actorLabel: string }>;
      assert.ok(hidden.some((e) => e.actorLabel === 'mia@plant.example'));
    });

    test('a site is renamed and moved to another time zone; the change is audited with before and after', async () => {
      const changed = await member.patch(`/api/sites/${siteId}`, { name: 'Plant Hamburg-Billbrook', timeZone: 'UTC' });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(changed.json().name, 'Plant Hamburg-Billbrook');
      const [event] = (await owner.get(`/api/audit?event=site.updated`)).json().events as Array<{ details: string; targetId: string; teamId: string }>;
      assert.equal(event!.targetId, siteId);
      assert.equal(event!.teamId, teamId);
      assert.deepEqual(JSON.parse(event!.details), {
        before: { name: 'Plant Hamburg', location: 'Hamburg, Hall 3', timeZone: 'Europe/Berlin' },
        after: { name: 'Plant Hamburg-Billbrook', timeZone: 'UTC' },
      });
    });

    test('operators and auditors read the fleet but change nothing; only the owner makes provisioning tokens', async () => {
      assert.equal((await operator.post(`/api/teams/${teamId}/sites`, { name: 'Plant Kiel', timeZone: 'UTC' })).statusCode, 403);
      assert.equal((await auditor.patch(`/api/device-groups/${groupId}`, { name: 'Mine' })).statusCode, 403);
      const refused = await member.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.json().detail, /fleet:provision/);
    });

    test("a provisioning token is shown once, stored as its hash, bound to the team's own site, group and application", async () => {
      const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Line 3 gateway' })).json().id;
      const made = await owner.post(`/api/teams/${teamId}/provisioning-tokens`, {
        siteId,
        groupId,
        applicationId,
        description: 'Commissioning line 3',
        expiresInHours: 48,
        singleUse: true,
      });
      assert.equal(made.statusCode, 201, made.body);
      const { token, provisioningToken } = made.json();
      assert.match(token, /^fgp_[A-Za-z0-9_-]{40,}$/);
      assert.equal(provisioningToken.state, 'active');
      assert.equal(provisioningToken.singleUse, true);
      const hours = (Date.parse(provisioningToken.expiresAt) - Date.parse(provisioningToken.createdAt)) / 3_600_000;
      assert.equal(hours, 48);
      // Never again: not in the list, not in the database, not in the audit log.
      const listed = (await owner.get(`/api/teams/${teamId}/provisioning-tokens`)).body;
      assert.ok(!listed.includes(token));
      const stored = await t.db.database.db.selectFrom('provisioning_tokens').selectAll().where('id', '=', provisioningToken.id).executeTakeFirstOrThrow();
      assert.equal(stored.token_hash, createHash('sha256').update(token).digest('hex'));
      const audited = (await owner.get(`/api/audit?event=provisioning.token.created`)).json().events[0];
      assert.ok(!audited.details.includes(token.slice(8)), 'the audit log keeps a prefix only');
      assert.deepEqual(JSON.parse(audited.details).site, 'Plant Hamburg-Billbrook');

      // Bound to what is the team's own: another team's site, or an unknown group, is unknown.
      const otherSite = (await owner.get(`/api/teams/${otherTeamId}/sites`)).json()[0].id;
      const foreign = await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId: otherSite });
      assert.equal(foreign.statusCode, 404);
      assert.match(foreign.json().detail, /Site was not found/);
      assert.equal((await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, groupId: '00000000-0000-4000-8000-000000000000' })).statusCode, 404);
      for (const expiresInHours of [0, 721, 1.5]) {
        assert.equal((await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, expiresInHours })).statusCode, 400, `expiresInHours ${expiresInHours}`);
      }
      const count = await t.db.database.db
        .selectFrom('provisioning_tokens')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('team_id', '=', teamId)
        .executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1, 'refused tokens left nothing behind');
    });

    test('a site or group that a usable token names cannot be deleted until the token is revoked', async () => {
      const [token] = (await owner.get(`/api/teams/${teamId}/provisioning-tokens`)).json() as Array<{ id: string }>;
      const blocked = await member.delete(`/api/sites/${siteId}`);
      assert.equal(blocked.statusCode, 409);
      assert.match(blocked.json().detail, /revoke them first/);
      assert.equal((await member.delete(`/api/device-groups/${groupId}`)).statusCode, 409);
      assert.equal((await member.post(`/api/provisioning-tokens/${token!.id}/revoke`)).statusCode, 403);
      const revoked = await owner.post(`/api/provisioning-tokens/${token!.id}/revoke`);
      assert.equal(revoked.statusCode, 200);
      assert.equal(revoked.json().state, 'revoked');
      assert.equal((await member.delete(`/api/device-groups/${groupId}`)).statusCode, 204);
      assert.equal((await member.delete(`/api/sites/${siteId}`)).statusCode, 204);
      assert.deepEqual((await member.get(`/api/teams/${teamId}/sites`)).json(), []);
      const events = ((await owner.get(`/api/audit?limit=50`)).json().events as Array<{ event: string }>).map((e) => e.event);
      for (const name of [
        'site.created',
        'site.updated',
        'site.deleted',
        'device.group.created',
        'device.group.deleted',
        'provisioning.token.created',
        'provisioning.token.revoked',
      ]) {
        assert.ok(events.includes(name), `${name} is audited`);
      }
    });
  });
}

/** A device joins with a provisioning token, checks in with its own credential, and is cut off when revoked. */
for (const dialect of DIALECTS) {
  describe(`device registration and check-in on ${dialect}`, () => {
    let t: TestApp;
    let owner: Client;
    let device: Client;
    let teamId: string;
    let siteId: string;
    let groupId: string;

    const makeToken = async (body: Record<string, unknown> = {}) => {
      const made = await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, groupId, ...body });
      assert.equal(made.statusCode, 201, made.body);
      return made.json() as { token: string; provisioningToken: { id: string } };
    };
    const register = (token: string, name = 'edge-gw-01') => device.post('/api/fleet/v1/register', { token, name, agentVersion: '0.1.0', nodeRedVersion: '4.1.8' });
    const checkIn = (credential: string) => device.request('POST', '/api/fleet/v1/check-in', { agentVersion: '0.1.1' }, { authorization: `Bearer ${credential}` });
    const refusals = async () =>
      ((await owner.get('/api/audit?event=device.registration.refused')).json().events as Array<{ details: string; outcome: string }>).map(
        (e) => JSON.parse(e.details).reason as string,
      );

    before(async () => {
      t = await startTestApp(dialect);
      owner = await setupAdmin(t);
      device = new Client(t);
      teamId = (await owner.post('/api/teams', { name: 'Packaging' })).json().id;
      siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json().id;
      groupId = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'Line 3 edge' })).json().id;
    });
    after(() => t.close());

    test('a device registers with a one-time code, gets a credential of its own, and the code is spent', async () => {
      const { token, provisioningToken } = await makeToken({ singleUse: true });
      const registered = await register(token);
      assert.equal(registered.statusCode, 201, registered.body);
      const { deviceId, credential } = registered.json();
      assert.match(credential, /^fgd_[A-Za-z0-9_-]{40,}$/);
      assert.deepEqual(
        { ...(registered.json() as object), deviceId: 'x', credential: 'x' },
        { deviceId: 'x', credential: 'x', teamId, siteId, groupId, applicationId: null, checkInSeconds: 60, mqttUrl: null },
      );
      const stored = await t.db.database.db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirstOrThrow();
      assert.equal(stored.credential_hash, createHash('sha256').update(credential).digest('hex'), 'the credential is kept as its hash');
      const [listed] = (await owner.get(`/api/teams/${teamId}/devices`)).json() as Array<Record<string, unknown>>;
      assert.deepEqual(
        {
          name: listed!.name,
          siteId: listed!.siteId,
          groupId: listed!.groupId,
          agentVersion: listed!.agentVersion,
          nodeRedVersion: listed!.nodeRedVersion,
          revokedAt: listed!.revokedAt,
        },
        { name: 'edge-gw-01', siteId, groupId, agentVersion: '0.1.0', nodeRedVersion: '4.1.8', revokedAt: null },
      );
      assert.ok(!JSON.stringify(listed).includes(credential.slice(4)));

      const again = await register(token, 'edge-gw-02');
      assert.equal(again.statusCode, 401);
      assert.match(again.json().detail, /unknown, expired, revoked or already used/);
      assert.equal(again.json().title, 'Credential refused', "a machine's refusal, not a person's sign-in");
      assert.equal(
        ((await owner.get(`/api/teams/${teamId}/provisioning-tokens`)).json() as Array<{ id: string; state: string }>).find((p) => p.id === provisioningToken.id)?.state,
        'used',
      );
      assert.deepEqual(await refusals(), ['used']);
      const [joined] = (await owner.get('/api/audit?event=device.registered')).json().events as Array<{ actorLabel: string; teamId: string; targetId: string }>;
      assert.deepEqual(
        { actor: joined!.actorLabel, teamId: joined!.teamId, target: joined!.targetId },
        { actor: `provisioning-token:${token.slice(0, 8)}`, teamId, target: deviceId },
      );
    });

    test('an unknown, expired or revoked token is refused, audited with why, and no device is made', async () => {
      const before = (await owner.get(`/api/teams/${teamId}/devices`)).json().length;
      assert.equal((await register('fgp_no-such-token-at-all')).statusCode, 401);
      const expiring = await makeToken();
      await t.db.database.db.updateTable('provisioning_tokens').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('id', '=', expiring.provisioningToken.id).execute();
      assert.equal((await register(expiring.token)).statusCode, 401);
      const revoked = await makeToken();
      assert.equal((await owner.post(`/api/provisioning-tokens/${revoked.provisioningToken.id}/revoke`)).statusCode, 200);
      assert.equal((await register(revoked.token)).statusCode, 401);
      // What the token list says may be done is what the server then does (provisioning-tokens.policy.ts).
      const tokens = (await owner.get(`/api/teams/${teamId}/provisioning-tokens`)).json() as Array<{ id: string; state: string; allowed: { revoke: boolean } }>;
      const shown = (id: string) => tokens.find((k) => k.id === id)!;
      assert.deepEqual([shown(expiring.provisioningToken.id).state, shown(expiring.provisioningToken.id).allowed], ['expired', { revoke: false }]);
      assert.deepEqual([shown(revoked.provisioningToken.id).state, shown(revoked.provisioningToken.id).allowed], ['revoked', { revoke: false }]);
      assert.ok(
        tokens.every((k) => k.allowed.revoke === (k.state === 'active')),
        'only an active token is offered for revoking',
      );
      const late = await owner.post(`/api/provisioning-tokens/${expiring.provisioningToken.id}/revoke`);
      assert.equal(late.statusCode, 409, 'an expired token is not offered for revoking, and not revoked');
      assert.match(late.json().detail, /expired/);
      assert.deepEqual((await refusals()).sort(), ['expired', 'revoked', 'unknown', 'used']);
      assert.equal((await owner.get(`/api/teams/${teamId}/devices`)).json().length, before);
      // Bad input: a missing name, an overlong token, an unknown field.
      const { token } = await makeToken();
      assert.equal((await device.post('/api/fleet/v1/register', { token, agentVersion: '0.1.0' })).statusCode, 400);
      assert.equal((await device.post('/api/fleet/v1/register', { token: `fgp_${'x'.repeat(300)}`, name: 'gw', agentVersion: '0.1.0' })).statusCode, 400);
      assert.equal((await device.post('/api/fleet/v1/register', { token, name: 'gw', agentVersion: '0.1.0', teamId: 'mine' })).statusCode, 400);
      assert.equal((await device.post('/api/fleet/v1/register', '{"token": "fgp_')).statusCode, 400);
    });

    test("a member renames a device and moves it to another site and out of its group; another team's site is unknown", async () => {
      const { token } = await makeToken();
      const { deviceId } = (await register(token, 'edge-gw-09')).json();
      const member = await addMember(t, owner, teamId, 'mia@plant.example', 'member');
      const kiel = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Kiel', timeZone: 'Europe/Berlin' })).json().id;
      const moved = await member.patch(`/api/devices/${deviceId}`, { name: 'kiel-gw-01', siteId: kiel, groupId: null });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.deepEqual({ name: moved.json().name, siteId: moved.json().siteId, groupId: moved.json().groupId }, { name: 'kiel-gw-01', siteId: kiel, groupId: null });
      const [event] = (await owner.get('/api/audit?event=device.updated')).json().events as Array<{ details: string }>;
      assert.deepEqual(JSON.parse(event!.details), { before: { name: 'edge-gw-09', siteId, groupId }, after: { name: 'kiel-gw-01', siteId: kiel, groupId: null } });
      const otherTeam = (await owner.post('/api/teams', { name: 'Brewing' })).json().id;
      const foreign = (await owner.post(`/api/teams/${otherTeam}/sites`, { name: 'Plant Munich', timeZone: 'UTC' })).json().id;
      assert.equal((await member.patch(`/api/devices/${deviceId}`, { siteId: foreign })).statusCode, 404);
      assert.equal((await member.patch(`/api/devices/${deviceId}`, {})).statusCode, 400);
      assert.equal((await member.post(`/api/devices/${deviceId}/revoke`)).statusCode, 403, 'only an owner revokes');
    });

    test('a check-in costs no database write: last-seen is kept in memory and written in one batch', async () => {
      const { token } = await makeToken();
      const { deviceId, credential } = (await register(token, 'edge-gw-05')).json();
      const stored = async () => (await t.db.database.db.selectFrom('devices').select('last_seen_at').where('id', '=', deviceId).executeTakeFirstOrThrow()).last_seen_at;
      const listed = async () => ((await owner.get(`/api/teams/${teamId}/devices`)).json() as Array<{ id: string; lastSeenAt: string }>).find((d) => d.id === deviceId)!.lastSeenAt;
      // The same versions as at registration (0.1.0, 4.1.8): nothing to write at once.
      const beat = () => device.request('POST', '/api/fleet/v1/check-in', { agentVersion: '0.1.0', nodeRedVersion: '4.1.8' }, { authorization: `Bearer ${credential}` });
      const registeredAt = await stored();
      await new Promise((r) => setTimeout(r, 5));
      assert.equal((await beat()).statusCode, 200);
      assert.equal(await stored(), registeredAt, 'no write for a heartbeat');
      const seen = await listed();
      assert.ok(seen > registeredAt!, 'the list shows the check-in from memory');
      assert.ok((await t.context.fleet.flushPresence()) >= 1);
      assert.equal(await stored(), seen, 'written by the flush');
      assert.equal(await t.context.fleet.flushPresence(), 0, 'nothing left to write');
    });

    test('a device checks in with its credential; revoked, it is cut off at once, and a forged credential is refused', async () => {
      const { token } = await makeToken();
      const { deviceId, credential } = (await register(token, 'edge-gw-07')).json();
      const checked = await checkIn(credential);
      assert.equal(checked.statusCode, 200, checked.body);
      assert.deepEqual(checked.json(), { deviceId, checkInSeconds: 60, generation: 0, target: null });
      // Shown at once; written with the next batch of reported states (100 ms, or before the rollout engine looks).
      assert.equal(((await owner.get(`/api/devices/${deviceId}`)).json() as { agentVersion: string }).agentVersion, '0.1.1');
      assert.equal(await t.context.fleet.flushStatus(), 1);
      const row = await t.db.database.db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirstOrThrow();
      assert.equal(row.agent_version, '0.1.1', 'the new agent version is written');

      // A person's session or API token is not a device credential.
      assert.equal((await owner.post('/api/fleet/v1/check-in', { agentVersion: '0.1.1' })).statusCode, 401);
      assert.equal((await checkIn('fgd_forged-credential-000000000000000000000')).statusCode, 401);

      // The site cannot go while a device is registered there.
      await t.db.database.db.updateTable('provisioning_tokens').set({ revoked_at: new Date().toISOString() }).where('team_id', '=', teamId).execute();
      const blocked = await owner.delete(`/api/sites/${siteId}`);
      assert.equal(blocked.statusCode, 409);
      assert.match(blocked.json().detail, /device\(s\) are registered/);

      assert.deepEqual((await owner.get(`/api/devices/${deviceId}`)).json().allowed, { edit: true, setTarget: true, revoke: true, openEditor: true });
      const revoked = await owner.post(`/api/devices/${deviceId}/revoke`);
      assert.equal(revoked.statusCode, 200);
      assert.ok(revoked.json().revokedAt);
      // A revoked device is a record: nothing is offered on it (devices.policy.ts), and a change is refused.
      assert.deepEqual(revoked.json().allowed, { edit: false, setTarget: false, revoke: false, openEditor: false });
      const renamed = await owner.patch(`/api/devices/${deviceId}`, { name: 'brought-back' });
      assert.equal(renamed.statusCode, 409, renamed.body);
      assert.match(renamed.json().detail, /revoked/);
      const cut = await checkIn(credential);
      assert.equal(cut.statusCode, 401);
      assert.match(cut.json().detail, /unknown or was revoked/);
      const rejected = (await owner.get('/api/audit?event=device.credential.rejected')).json().events as Array<{ outcome: string; details: string }>;
      assert.ok(rejected.length >= 2);
      assert.ok(
        rejected.every((e) => e.outcome === 'denied' && !e.details.includes(credential.slice(8))),
        'rejections keep a prefix only',
      );
      assert.equal((await owner.get('/api/audit?event=device.revoked')).json().events.length, 1);
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addMember, Client, DIALECTS, setupAdmin, startTestApp, teamWithDevices, type RegisteredDevice, type TestApp } from '../../../test/harness.ts';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** Systems under Consideration, zones and conduits, as a compliance lead and an auditor use them. */
for (const dialect of DIALECTS) {
  describe(`compliance scope on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let lead: Client;
    let auditor: Client;
    let owner: Client;
    let teamId: string;
    let siteId: string;
    let devices: RegisteredDevice[];
    let sucId: string;
    let cellId: string;
    let officeId: string;

    async function countRows(table: 'sucs' | 'suc_members' | 'zones' | 'zone_members' | 'conduits'): Promise<number> {
      const row = await t.db.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }
    async function everyCount() {
      return Promise.all((['sucs', 'suc_members', 'zones', 'zone_members', 'conduits'] as const).map(countRows));
    }
    async function withPlatformRole(email: string, platformRole: 'compliance' | 'auditor' | 'user'): Promise<Client> {
      const lobby = (await admin.post('/api/teams', { name: `Lobby ${email}` })).json().id as string;
      const client = await addMember(t, admin, lobby, email, 'viewer');
      assert.equal((await admin.delete(`/api/teams/${lobby}`)).statusCode, 204);
      const users = (await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>;
      const granted = await admin.patch(`/api/platform/users/${users.find((u) => u.email === email)!.id}`, { platformRole });
      assert.equal(granted.statusCode, 200, granted.body);
      return client;
    }

    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      lead = await withPlatformRole('carla@plant.example', 'compliance');
      auditor = await withPlatformRole('audrey@plant.example', 'auditor');
      owner = admin;
      ({ teamId, siteId, devices } = await teamWithDevices(t, owner, ['press-1', 'press-2', 'scanner']));
    });
    after(() => t.close());

    test('platform admins grant the compliance and auditor roles; both read every team without being in it', async () => {
      const me = (await lead.get('/api/account')).json();
      assert.equal(me.user.platformRole, 'compliance');
      // Neither is a member of the team, yet both read its sites, devices and audit trail.
      for (const client of [lead, auditor]) {
        assert.equal((await client.get(`/api/teams/${teamId}/sites`)).statusCode, 200);
        assert.equal((await client.get(`/api/teams/${teamId}/audit`)).statusCode, 200);
        // Not the applications: those open instances' endpoints and show the flows.
        assert.equal((await client.get(`/api/teams/${teamId}/applications`)).statusCode, 403);
        // An unknown team is unknown to them as to an admin.
        assert.equal((await client.get(`/api/teams/${UNKNOWN_ID}/sites`)).statusCode, 404);
      }
      // The whole audit log is the auditor's, not the compliance lead's.
      assert.equal((await auditor.get('/api/audit')).statusCode, 200);
      assert.equal((await lead.get('/api/audit')).statusCode, 403);
    });

    test('an auditor writes nothing: not through the session, and its API tokens are read-only', async () => {
      const before = await everyCount();
      assert.equal((await auditor.post('/api/compliance/sucs', { name: 'Sneaky' })).statusCode, 403);
      assert.equal((await auditor.post(`/api/teams/${teamId}/sites`, { name: 'Sneaky', timeZone: 'UTC' })).statusCode, 403);
      assert.equal((await auditor.post('/api/teams', { name: 'Sneaky' })).statusCode, 403);
      const rw = await auditor.post('/api/account/tokens', { name: 'rw', access: 'write', expiresInDays: 1 });
      assert.equal(rw.statusCode, 400);
      assert.match(rw.json().detail, /read-only/);
      // A read-write token made while the person was a user reads only once they are an auditor.
      const later = await withPlatformRole('ulf@plant.example', 'user');
      const made = await later.post('/api/account/tokens', { name: 'rw', access: 'write', expiresInDays: 1 });
      assert.equal(made.statusCode, 201, made.body);
      const token = made.json().token as string;
      const users = (await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>;
      assert.equal((await admin.patch(`/api/platform/users/${users.find((u) => u.email === 'ulf@plant.example')!.id}`, { platformRole: 'auditor' })).statusCode, 200);
      const byToken = new Client(t);
      byToken.bearer = token;
      assert.equal((await byToken.get('/api/compliance/sucs')).statusCode, 200);
      const refused = await byToken.post('/api/account/tokens', { name: 'more', access: 'read', expiresInDays: 1 });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.json().detail, /read-only/);
      assert.deepEqual(await everyCount(), before);
    });

    test('a compliance lead creates a SuC, scopes it, and the rest is the unscoped remainder', async () => {
      const created = await lead.post('/api/compliance/sucs', {
        name: 'Line 3',
        description: 'Bottling line 3, Hamburg',
        owner: 'Head of production, Hamburg',
        boundary: 'The cell network of line 3 up to its firewall',
      });
      assert.equal(created.statusCode, 201, created.body);
      sucId = created.json().id;
      assert.equal((await lead.post('/api/compliance/sucs', { name: 'Line 3' })).statusCode, 409);

      const scoped = await lead.put(`/api/compliance/sucs/${sucId}/members`, {
        members: [
          { kind: 'site', id: siteId },
          { kind: 'device', id: devices[0]!.id },
          { kind: 'device', id: devices[1]!.id },
          { kind: 'device', id: devices[2]!.id },
        ],
      });
      assert.equal(scoped.statusCode, 204, scoped.body);
      const scope = (await auditor.get('/api/compliance/scope')).json() as Array<{ kind: string; id: string; name: string; sucIds: string[] }>;
      const inSuc = scope.filter((s) => s.sucIds.includes(sucId)).map((s) => `${s.kind}:${s.name}`);
      assert.deepEqual(inSuc.sort(), ['device:press-1', 'device:press-2', 'device:scanner', 'site:Plant Hamburg']);
      // The team, its application and instance are in no SuC: the unscoped remainder.
      const unscoped = scope.filter((s) => s.sucIds.length === 0).map((s) => s.kind);
      assert.ok(unscoped.includes('team') && unscoped.includes('application') && unscoped.includes('instance'), unscoped.join());
      // A thing may be in several SuCs.
      const plant = (await lead.post('/api/compliance/sucs', { name: 'Plant Hamburg' })).json().id as string;
      assert.equal((await lead.put(`/api/compliance/sucs/${plant}/members`, { members: [{ kind: 'site', id: siteId }] })).statusCode, 204);
      const site = ((await lead.get('/api/compliance/scope')).json() as Array<{ id: string; sucIds: string[] }>).find((s) => s.id === siteId)!;
      assert.deepEqual(site.sucIds.sort(), [plant, sucId].sort());
    });

    test('zones carry an SL-T vector and their assets; conduits join zones or the outside', async () => {
      const cell = await lead.post(`/api/compliance/sucs/${sucId}/zones`, {
        name: 'Cell',
        description: 'Presses and their gateways',
        slTarget: [2, 2, 2, 1, 2, 2, 1],
        members: [
          { kind: 'device', id: devices[0]!.id },
          { kind: 'device', id: devices[1]!.id },
        ],
      });
      assert.equal(cell.statusCode, 201, cell.body);
      cellId = cell.json().id;
      assert.deepEqual(cell.json().slTarget, [2, 2, 2, 1, 2, 2, 1]);
      const office = await lead.post(`/api/compliance/sucs/${sucId}/zones`, {
        name: 'Quality office',
        slTarget: [1, 1, 1, 1, 1, 1, 1],
        members: [{ kind: 'device', id: devices[2]!.id }],
      });
      assert.equal(office.statusCode, 201, office.body);
      officeId = office.json().id;
      const conduit = await lead.post(`/api/compliance/sucs/${sucId}/conduits`, {
        name: 'Quality data',
        fromZoneId: cellId,
        toZoneId: officeId,
        protocols: 'OPC UA over TLS',
        ports: '4840/tcp',
        direction: 'from-to',
        initiator: 'to',
        crossing: 'Measurements, read only',
      });
      assert.equal(conduit.statusCode, 201, conduit.body);
      const outside = await lead.post(`/api/compliance/sucs/${sucId}/conduits`, {
        name: 'ERP',
        fromZoneId: officeId,
        toZoneId: null,
        protocols: 'HTTPS',
        ports: '443/tcp',
        direction: 'both',
        initiator: 'from',
      });
      assert.equal(outside.statusCode, 201, outside.body);

      const suc = (await auditor.get(`/api/compliance/sucs/${sucId}`)).json();
      assert.deepEqual(
        suc.zones.map((z: { name: string; slTarget: number[]; members: Array<{ name: string }> }) => [z.name, z.slTarget.join(','), z.members.map((m) => m.name).sort()]),
        [
          ['Cell', '2,2,2,1,2,2,1', ['press-1', 'press-2']],
          ['Quality office', '1,1,1,1,1,1,1', ['scanner']],
        ],
      );
      assert.deepEqual(
        suc.conduits.map((c: { name: string }) => c.name),
        ['ERP', 'Quality data'],
      );
      // Flowgate's own conduits are derived: the browsers, and per zone with devices MQTT, HTTPS and the tunnel.
      const derived = suc.derivedConduits as Array<{ key: string; protocols: string; ports: string; initiator: string }>;
      assert.deepEqual(
        derived.map((d) => d.key.split(':')[0]),
        ['browsers', 'device-mqtt', 'device-https', 'device-tunnel', 'device-mqtt', 'device-https', 'device-tunnel'],
      );
      const mqtt = derived.find((d) => d.key === `device-mqtt:${cellId}`)!;
      assert.match(mqtt.protocols, /MQTT over WebSocket/);
      assert.match(mqtt.ports, /^\d+\/tcp/);
      assert.equal(mqtt.initiator, 'from');
    });

    test('the inventory shows the zone each device is placed in, and lists a zone by itself', async () => {
      const inCell = (await lead.get(`/api/compliance/inventory?zoneId=${cellId}`)).json() as { items: Array<{ name: string }> };
      assert.deepEqual(inCell.items.map((i) => i.name).sort(), ['press-1', 'press-2']);
      const devicesListed = (await auditor.get('/api/compliance/inventory?kind=device')).json() as {
        items: Array<{ name: string; zones: Array<{ zoneName: string; sucName: string }> }>;
      };
      const scanner = devicesListed.items.find((i) => i.name === 'scanner')!;
      assert.deepEqual(
        scanner.zones.map((z) => `${z.zoneName} (${z.sucName})`),
        ['Quality office (Line 3)'],
      );
    });

    test('the diagram is SVG drawn by the platform: zones, SL-T vectors, conduits with protocols and ports', async () => {
      const svg = await auditor.get(`/api/compliance/sucs/${sucId}/diagram.svg`);
      assert.equal(svg.statusCode, 200);
      assert.match(String(svg.headers['content-type']), /^image\/svg\+xml/);
      for (const text of [
        'Line 3: zones and conduits',
        'Cell',
        'Quality office',
        'SL-T(FR1..FR7) = 2,2,2,1,2,2,1',
        'OPC UA over TLS; ports 4840/tcp',
        'Outside the SuC',
        'Flowgate platform',
        'device: press-1',
      ]) {
        assert.ok(svg.body.includes(text), `the diagram lacks "${text}"`);
      }
      // Names are text, never markup.
      const named = await lead.post('/api/compliance/sucs', { name: '<script>alert(1)</script>' });
      const escaped = await lead.get(`/api/compliance/sucs/${named.json().id}/diagram.svg`);
      assert.ok(!escaped.body.includes('<script>') && escaped.body.includes('&lt;script&gt;'));
      assert.equal((await lead.delete(`/api/compliance/sucs/${named.json().id}`)).statusCode, 204);
    });

    test('bad input answers problem+json and writes nothing', async () => {
      const otherSuc = (await lead.post('/api/compliance/sucs', { name: 'Line 4' })).json().id as string;
      const foreignZone = (await lead.post(`/api/compliance/sucs/${otherSuc}/zones`, { name: 'Line 4 cell', slTarget: [1, 1, 1, 1, 1, 1, 1] })).json().id as string;
      const counts = await everyCount();
      const cases: Array<[string, Promise<import('fastify').LightMyRequestResponse>, number, RegExp]> = [
        ['SL-T above 4', lead.post(`/api/compliance/sucs/${sucId}/zones`, { name: 'Z', slTarget: [2, 2, 5, 1, 2, 2, 1] }), 400, /slTarget/],
        ['SL-T of 0', lead.patch(`/api/compliance/zones/${cellId}`, { slTarget: [0, 2, 2, 1, 2, 2, 1] }), 400, /slTarget/],
        ['six FRs', lead.post(`/api/compliance/sucs/${sucId}/zones`, { name: 'Z', slTarget: [2, 2, 2, 1, 2, 2] }), 400, /slTarget/],
        [
          'a conduit to a zone of another SuC',
          lead.post(`/api/compliance/sucs/${sucId}/conduits`, { name: 'X', fromZoneId: cellId, toZoneId: foreignZone, direction: 'both', initiator: 'from' }),
          400,
          /another System under Consideration/,
        ],
        [
          'a conduit with both ends outside',
          lead.post(`/api/compliance/sucs/${sucId}/conduits`, { name: 'X', fromZoneId: null, toZoneId: null, direction: 'both', initiator: 'from' }),
          400,
          /at least one zone/,
        ],
        [
          'a conduit from a zone to itself',
          lead.post(`/api/compliance/sucs/${sucId}/conduits`, { name: 'X', fromZoneId: cellId, toZoneId: cellId, direction: 'both', initiator: 'from' }),
          400,
          /two different zones/,
        ],
        [
          'an asset in two zones of one SuC',
          lead.patch(`/api/compliance/zones/${officeId}`, {
            members: [
              { kind: 'device', id: devices[2]!.id },
              { kind: 'device', id: devices[0]!.id },
            ],
          }),
          409,
          /already in zone "Cell"/,
        ],
        [
          'an asset not in the SuC',
          lead.patch(`/api/compliance/zones/${foreignZone}`, { members: [{ kind: 'device', id: devices[0]!.id }] }),
          400,
          /add it to the SuC's scope first/,
        ],
        ['an unknown device', lead.put(`/api/compliance/sucs/${sucId}/members`, { members: [{ kind: 'device', id: UNKNOWN_ID }] }), 404, /Device/],
        ['an unknown kind', lead.put(`/api/compliance/sucs/${sucId}/members`, { members: [{ kind: 'printer', id: UNKNOWN_ID }] }), 400, /kind/],
        ['an asset (no inventory yet)', lead.put(`/api/compliance/sucs/${sucId}/members`, { members: [{ kind: 'asset', id: UNKNOWN_ID }] }), 404, /Asset/],
        [
          'an unknown zone',
          lead.post(`/api/compliance/sucs/${sucId}/conduits`, { name: 'X', fromZoneId: UNKNOWN_ID, toZoneId: null, direction: 'both', initiator: 'from' }),
          404,
          /Zone/,
        ],
        ['an unknown SuC', lead.get(`/api/compliance/sucs/${UNKNOWN_ID}`), 404, /System under Consideration/],
        ['an unknown SuC diagram', lead.get(`/api/compliance/sucs/${UNKNOWN_ID}/diagram.svg`), 404, /System under Consideration/],
        ['a zone name taken', lead.post(`/api/compliance/sucs/${sucId}/zones`, { name: 'Cell', slTarget: [1, 1, 1, 1, 1, 1, 1] }), 409, /zone named "Cell"/],
      ];
      for (const [what, pending, status, detail] of cases) {
        const response = await pending;
        assert.equal(response.statusCode, status, `${what}: ${response.body}`);
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/, what);
        assert.match(response.json().detail, detail, what);
      }
      assert.deepEqual(await everyCount(), counts);
      // The zones are as they were.
      const zones = (await lead.get(`/api/compliance/sucs/${sucId}`)).json().zones as Array<{ name: string; members: unknown[] }>;
      assert.deepEqual(
        zones.map((z) => [z.name, z.members.length]),
        [
          ['Cell', 2],
          ['Quality office', 1],
        ],
      );
    });

    test('a deleted application takes itself and its instances out of scope and out of their zone, on record', async () => {
      const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Scoped app' })).json().id as string;
      const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0];
      const instanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'scoped', nodeRedVersion })).json().id as string;
      const suc = (await lead.post('/api/compliance/sucs', { name: 'Application scope' })).json().id as string;
      const members = [
        { kind: 'application', id: applicationId },
        { kind: 'instance', id: instanceId },
      ];
      assert.equal((await lead.put(`/api/compliance/sucs/${suc}/members`, { members })).statusCode, 204);
      const zone = await lead.post(`/api/compliance/sucs/${suc}/zones`, { name: 'Hosted', slTarget: [2, 2, 2, 2, 2, 2, 2], members: [members[1]] });
      assert.equal(zone.statusCode, 201, zone.body);
      assert.ok(((await lead.get(`/api/compliance/sucs/${suc}`)).json().derivedConduits as Array<{ key: string }>).some((d) => d.key.startsWith('instance-agent:')));

      assert.equal((await owner.delete(`/api/applications/${applicationId}`)).statusCode, 204);
      const after = (await lead.get(`/api/compliance/sucs/${suc}`)).json();
      assert.deepEqual(after.members, []);
      assert.deepEqual(after.zones[0].members, []);
      const history = (await lead.get(`/api/compliance/sucs/${suc}/history`)).json().events as Array<{ event: string; details: string }>;
      const pruned = history.filter((e) => e.event === 'compliance.scope.pruned').map((e) => JSON.parse(e.details) as { removed: Array<{ kind: string }> });
      assert.deepEqual(pruned.flatMap((p) => p.removed.map((r) => r.kind)).sort(), ['application', 'instance']);
      assert.equal((await lead.delete(`/api/compliance/sucs/${suc}`)).statusCode, 204);
    });

    test('changes to the scope are audited and the SuC shows its history; a revoked device and a deleted team leave the scope', async () => {
      // Taking press-2 out of the SuC takes it out of its zone too.
      const members = ((await lead.get(`/api/compliance/sucs/${sucId}`)).json().members as Array<{ kind: string; id: string }>).filter((m) => m.id !== devices[1]!.id);
      assert.equal((await lead.put(`/api/compliance/sucs/${sucId}/members`, { members: members.map(({ kind, id }) => ({ kind, id })) })).statusCode, 204);
      let suc = (await lead.get(`/api/compliance/sucs/${sucId}`)).json();
      assert.deepEqual(
        suc.zones[0].members.map((m: { name: string }) => m.name),
        ['press-1'],
      );

      // The owner revokes press-1: it leaves every SuC, on record.
      assert.equal((await owner.post(`/api/devices/${devices[0]!.id}/revoke`)).statusCode, 200);
      suc = (await lead.get(`/api/compliance/sucs/${sucId}`)).json();
      assert.ok(!suc.members.some((m: { id: string }) => m.id === devices[0]!.id));
      assert.deepEqual(suc.zones[0].members, []);

      // The team is deleted (its devices revoked first, as the platform asks): the site leaves both SuCs.
      await owner.post(`/api/devices/${devices[1]!.id}/revoke`);
      await owner.post(`/api/devices/${devices[2]!.id}/revoke`);
      const deleted = await owner.delete(`/api/teams/${teamId}`);
      assert.equal(deleted.statusCode, 204, deleted.body);
      suc = (await lead.get(`/api/compliance/sucs/${sucId}`)).json();
      assert.deepEqual(suc.members, []);

      const history = (await auditor.get(`/api/compliance/sucs/${sucId}/history`)).json().events as Array<{ event: string; details: string; actorLabel: string }>;
      const events = history.map((e) => e.event).reverse();
      assert.deepEqual(events.slice(0, 6), [
        'compliance.suc.created',
        'compliance.scope.changed',
        'compliance.zone.created',
        'compliance.zone.created',
        'compliance.conduit.created',
        'compliance.conduit.created',
      ]);
      assert.ok(events.includes('compliance.scope.pruned'));
      const pruned = history.filter((e) => e.event === 'compliance.scope.pruned').map((e) => JSON.parse(e.details) as { reason: string });
      assert.ok(pruned.some((p) => /device "press-1" revoked/.test(p.reason)));
      assert.ok(pruned.some((p) => /team "Packaging" deleted/.test(p.reason)));
      const changed = history.find((e) => e.event === 'compliance.scope.changed' && JSON.parse(e.details).removed.length > 0)!;
      assert.equal(changed.actorLabel, 'carla@plant.example');
      assert.deepEqual(JSON.parse(changed.details).removed, [{ kind: 'device', id: devices[1]!.id }]);
    });

    test('deleting a zone deletes its conduits; deleting a SuC deletes its zones and conduits, on record', async () => {
      assert.equal((await lead.delete(`/api/compliance/zones/${officeId}`)).statusCode, 204);
      const suc = (await lead.get(`/api/compliance/sucs/${sucId}`)).json();
      assert.deepEqual(suc.conduits, []);
      assert.equal((await lead.delete(`/api/compliance/sucs/${sucId}`)).statusCode, 204);
      assert.equal((await lead.get(`/api/compliance/sucs/${sucId}`)).statusCode, 404);
      const page = (await auditor.get('/api/audit?event=compliance.suc.deleted')).json().events as Array<{ details: string }>;
      assert.deepEqual(JSON.parse(page[0]!.details).zones, ['Cell']);
    });
  });
}

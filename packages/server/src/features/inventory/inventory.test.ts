import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addMember, Client, DIALECTS, installNodeModuleStandIn, setupAdmin, startTestApp, teamWithDevices, type TestApp, until, LINE3_FLOWS } from '../../../test/harness.ts';

/**
 * The automatic inventory with the real agent: a hosted instance's agent reports what it
 * reads of its machine and its Node-RED, the platform reads what it runs from the flows of
 * its running snapshot, and a device's check-in brings its facts the same way.
 */

type Item = {
  kind: string;
  id: string;
  name: string;
  online: boolean;
  nodeVersion: string | null;
  os: { type: string; arch: string } | null;
  modules: Array<{ name: string; version: string }>;
};

describe('the automatic inventory', { timeout: 180_000 }, () => {
  let t: TestApp;
  let admin: Client;
  let teamId: string;
  let instanceId: string;

  before(async () => {
    t = await startTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    admin = await setupAdmin(t);
    teamId = (await admin.post('/api/teams', { name: 'Pressing' })).json().id;
    const appId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Line 3' })).json().id;
    const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
    instanceId = (await admin.post(`/api/applications/${appId}/instances`, { name: 'line3-press', nodeRedVersion: version })).json().id;
  });
  after(() => t.close());

  test("a hosted instance appears with its agent's facts, and what its flows connect to is suggested", async () => {
    await until('running', async () => (await admin.get(`/api/instances/${instanceId}`)).json().status === 'running');
    // node-red-contrib-modbus, as npm would leave it in the instance's user directory.
    installNodeModuleStandIn(path.join(t.context.config.dataDir, 'instances', instanceId, 'userdir'), 'node-red-contrib-modbus', '5.43.0', ['modbus-client', 'modbus-read']);
    const snapshot = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'line 3', flows: LINE3_FLOWS })).json();
    assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshot.id })).statusCode, 202);
    await until('the line 3 flows run', async () => {
      const i = (await admin.get(`/api/instances/${instanceId}`)).json();
      return i.status === 'running' && i.runningSnapshotId === snapshot.id;
    });

    const item = await until('its facts', async () => {
      const list = (await admin.get('/api/compliance/inventory?kind=instance')).json() as { items: Item[] };
      const found = list.items.find((i) => i.id === instanceId);
      return found?.modules.some((m) => m.name === 'node-red-contrib-modbus') ? found : undefined;
    });
    assert.equal(item.name, 'line3-press');
    assert.equal(item.nodeVersion, process.version, 'Node.js as the agent runs it');
    assert.deepEqual([item.os?.type, item.os?.arch], [os.type(), os.arch()]);
    assert.deepEqual(
      item.modules.find((m) => m.name === 'node-red-contrib-modbus'),
      { name: 'node-red-contrib-modbus', version: '5.43.0' },
      'the version installed, read from its package.json',
    );
    const listed = (await admin.get(`/api/compliance/inventory?teamId=${teamId}`)).json();
    const full = listed.items.find((i: { id: string }) => i.id === instanceId);
    assert.equal(full.online, true);
    assert.equal(full.teamName, 'Pressing');
    assert.equal(full.runningHash, snapshot.hash);
    assert.ok(full.agentVersion, 'the agent version it reported');
    assert.deepEqual(full.zones, [], 'in no zone until a compliance lead places it (compliance.test.ts places some)');

    const detail = (await admin.get(`/api/compliance/inventory/instances/${instanceId}`)).json();
    assert.deepEqual(
      detail.analysis.tabs.map((tab: { label: string }) => tab.label),
      ['Line 3 press'],
    );
    assert.deepEqual(
      detail.analysis.httpEndpoints.map((e: { method: string; url: string }) => `${e.method} ${e.url}`),
      ['GET /counters'],
    );
    const keys = detail.suggestions.map((s: { key: string }) => s.key).sort();
    assert.deepEqual(keys, ['MQTT 127.0.0.1:1884', 'Modbus/TCP 10.0.3.5:502']);
    assert.ok(detail.suggestions.every((s: { decision: unknown }) => s.decision === null));
  });

  test('the compliance lead confirms or dismisses a suggested conduit, on record; one the flows do not make is refused', async () => {
    const url = `/api/compliance/inventory/instances/${instanceId}/conduits`;
    const confirmed = await admin.put(url, { key: 'Modbus/TCP 10.0.3.5:502', decision: 'confirmed' });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal(confirmed.json().suggestions.find((s: { key: string }) => s.key === 'Modbus/TCP 10.0.3.5:502').decision, 'confirmed');
    assert.equal((await admin.put(url, { key: 'MQTT 127.0.0.1:1884', decision: 'dismissed' })).statusCode, 200);
    const undone = (await admin.put(url, { key: 'MQTT 127.0.0.1:1884', decision: null })).json();
    assert.equal(undone.suggestions.find((s: { key: string }) => s.key === 'MQTT 127.0.0.1:1884').decision, null);
    const all = (await admin.get(`/api/compliance/inventory/conduits?teamId=${teamId}`)).json();
    assert.deepEqual(
      all.conduits.map((c: { itemName: string; key: string; decision: string | null }) => `${c.itemName} ${c.key} ${c.decision}`).sort(),
      ['line3-press MQTT 127.0.0.1:1884 null', 'line3-press Modbus/TCP 10.0.3.5:502 confirmed'],
      "every item's conduits in one list, for the zone diagram",
    );
    const refused = await admin.put(url, { key: 'S7 10.9.9.9:102', decision: 'confirmed' });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    const events = (await admin.get('/api/audit?limit=50')).json().events as Array<{ event: string; details: string }>;
    assert.ok(events.some((e) => e.event === 'inventory.conduit.confirmed' && JSON.parse(e.details).key === 'Modbus/TCP 10.0.3.5:502'));
    assert.ok(events.some((e) => e.event === 'inventory.conduit.dismissed'));
    assert.ok(events.some((e) => e.event === 'inventory.conduit.reset'));
  });

  test('only compliance:read reads it: a team owner who is no platform admin is refused', async () => {
    const owner = await addMember(t, admin, teamId, 'olga@plant.example', 'owner');
    assert.equal((await owner.get('/api/compliance/inventory')).statusCode, 403);
    assert.equal((await owner.get(`/api/compliance/inventory/instances/${instanceId}`)).statusCode, 403);
    assert.equal((await new Client(t).get('/api/compliance/inventory')).statusCode, 401);
  });
});

// The store's reads on both databases: devices check in over the protocol, no agent needed.
for (const dialect of DIALECTS) {
  describe(`the inventory's devices on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
    });
    after(() => t.close());

    test("a device's check-in brings its facts; an older agent's check-in without them keeps the last; a revoked device and a deleted team leave it, on record", async () => {
      const fleet = await teamWithDevices(t, admin, ['gw-line3', 'gw-line4']);
      const [gw3, gw4] = fleet.devices;
      const device = new Client(t);
      device.bearer = gw3!.credential;
      const facts = {
        os: { type: 'Linux', release: '6.1.0-rpi7-rpi-v8', arch: 'arm64' },
        nodeVersion: 'v20.19.1',
        nodeRedVersion: '4.1.8',
        modules: [{ name: 'node-red-contrib-s7', version: '3.1.0' }],
      };
      const checkIn = await device.post('/api/fleet/v1/check-in', { agentVersion: '0.1.0', nodeRedVersion: '4.1.8', state: 'running', runningSnapshotId: null, facts });
      assert.equal(checkIn.statusCode, 200, checkIn.body);
      assert.equal((await device.post('/api/fleet/v1/check-in', { agentVersion: '0.1.0' })).statusCode, 200, 'an older agent: no facts');
      await t.context.fleet.flushStatus();
      const devices = (await admin.get(`/api/compliance/inventory?kind=device&teamId=${fleet.teamId}`)).json();
      const gw = devices.items.find((i: { id: string }) => i.id === gw3!.id);
      assert.deepEqual([gw.siteName, gw.nodeVersion, gw.os.arch, gw.modules, gw.online], ['Plant Hamburg', 'v20.19.1', 'arm64', facts.modules, true]);
      assert.equal(devices.summary.devices, 2);
      assert.equal((await admin.get(`/api/compliance/inventory?siteId=${fleet.siteId}`)).json().summary.instances, 0, 'hosted instances are at no site');
      assert.equal((await admin.get(`/api/compliance/inventory?kind=device&teamId=${fleet.teamId}&online=true`)).json().total, 2, 'both registered or checked in just now');

      assert.equal((await admin.post(`/api/devices/${gw4!.id}/revoke`)).statusCode, 200);
      const after = (await admin.get(`/api/compliance/inventory?kind=device&teamId=${fleet.teamId}`)).json();
      assert.deepEqual(
        after.items.map((i: { name: string }) => i.name),
        ['gw-line3'],
        'a revoked device is cut off: it left the inventory',
      );

      assert.equal((await admin.delete(`/api/teams/${fleet.teamId}`)).statusCode, 204);
      const rest = (await admin.get('/api/compliance/inventory')).json();
      assert.ok(!rest.items.some((i: { teamId: string }) => i.teamId === fleet.teamId), "the deleted team's instances and devices are gone");
      const events = (await admin.get('/api/audit?limit=100')).json().events as Array<{ event: string; targetId: string; details: string }>;
      assert.ok(events.some((e) => e.event === 'device.revoked' && e.targetId === gw4!.id));
      const deleted = events.find((e) => e.event === 'team.deleted' && e.targetId === fleet.teamId)!;
      const removed = JSON.parse(deleted.details).inventoryRemoved as { instances: Array<{ name: string }>; devices: Array<{ name: string }> };
      assert.deepEqual(
        removed.devices.map((d) => d.name),
        ['gw-line3'],
      );
      assert.deepEqual(
        removed.instances.map((i) => i.name),
        ['dev'],
      );
    });
  });
}

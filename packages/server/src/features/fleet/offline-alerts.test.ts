import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { addMember, Client, createManualClock, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

/**
 * Offline alerts with a real webhook receiver on loopback and the clock moved by hand: a
 * device silent longer than the team allows raises one alert (UI list, audit, webhook),
 * cleared when it is back; a device whose MQTT connection died counts from its last will.
 */
for (const dialect of DIALECTS) {
  describe(`offline alerts on ${dialect}`, () => {
    const clock = createManualClock();
    let t: TestApp;
    let owner: Client;
    let member: Client;
    let teamId: string;
    let base: string;
    let hook: http.Server;
    let hookUrl: string;
    const received: Array<{ event: string; device: { name: string }; offlineSince: string }> = [];
    const devices: Record<string, { id: string; credential: string }> = {};

    const checkIn = async (name: string) => {
      const client = new Client(t);
      client.bearer = devices[name]!.credential;
      assert.equal((await client.post('/api/fleet/v1/check-in', { agentVersion: '0.1.0' })).statusCode, 200);
    };
    const alerts = async () => ((await member.get(`/api/teams/${teamId}/offline-alerts`)).json() as Array<{ name: string }>).map((a) => a.name).sort();
    const audited = async (event: string) =>
      ((await owner.get(`/api/audit?event=${event}`)).json().events as Array<{ details: string }>).map((e) => JSON.parse(e.details) as { name: string; webhook: string });
    const check = () => t.context.offlineAlerts.check();

    before(async () => {
      hook = http.createServer((request, response) => {
        let body = '';
        request.on('data', (c: Buffer) => (body += c.toString()));
        request.on('end', () => {
          received.push(JSON.parse(body));
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
      hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/flowgate`;
      t = await startTestApp(dialect, {}, { clock });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      base = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      owner = await setupAdmin(t);
      teamId = (await owner.post('/api/teams', { name: 'Packaging' })).json().id;
      member = await addMember(t, owner, teamId, 'mia@plant.example', 'member');
      const siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json().id;
      for (const name of ['gw-a', 'gw-b', 'gw-c']) {
        const { token } = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId })).json();
        const r = (await new Client(t).post('/api/fleet/v1/register', { token, name, agentVersion: '0.1.0' })).json();
        devices[name] = { id: r.deviceId, credential: r.credential };
      }
    });
    after(async () => {
      await t.close();
      await new Promise((r) => hook.close(r));
    });

    test('only an owner sets the threshold and webhook; bad webhooks are refused', async () => {
      assert.deepEqual((await member.get(`/api/teams/${teamId}/fleet-settings`)).json(), { offlineAlertMinutes: null, alertWebhookUrl: null });
      assert.equal((await member.put(`/api/teams/${teamId}/fleet-settings`, { offlineAlertMinutes: 5, alertWebhookUrl: null })).statusCode, 403);
      const ftp = await owner.put(`/api/teams/${teamId}/fleet-settings`, { offlineAlertMinutes: 5, alertWebhookUrl: 'ftp://alerts.plant.example/x' });
      assert.equal(ftp.statusCode, 400);
      assert.deepEqual(ftp.json().errors, [{ field: 'alertWebhookUrl', message: 'http or https only' }]);
      assert.equal(
        (await owner.put(`/api/teams/${teamId}/fleet-settings`, { offlineAlertMinutes: 5, alertWebhookUrl: 'https://user:secret@alerts.plant.example/x' })).statusCode,
        400,
      );
      assert.equal((await owner.put(`/api/teams/${teamId}/fleet-settings`, { offlineAlertMinutes: 0, alertWebhookUrl: null })).statusCode, 400);
      const saved = await owner.put(`/api/teams/${teamId}/fleet-settings`, { offlineAlertMinutes: 5, alertWebhookUrl: hookUrl });
      assert.equal(saved.statusCode, 200, saved.body);
      assert.equal((await audited('fleet.settings.updated')).length, 1);
    });

    test('a device silent past the threshold raises one alert, to the UI, the audit log and the webhook; back, it is cleared', async () => {
      await checkIn('gw-a');
      await checkIn('gw-b');
      await checkIn('gw-c');
      clock.advance(4 * 60_000);
      await checkIn('gw-b');
      await checkIn('gw-c');
      await check();
      assert.deepEqual(await alerts(), []);
      clock.advance(2 * 60_000);
      await check();
      assert.deepEqual(await alerts(), ['gw-a']);
      assert.deepEqual(
        received.map((r) => `${r.event} ${r.device.name}`),
        ['device.offline gw-a'],
      );
      await check();
      assert.equal(received.length, 1, 'one alert per offline spell');
      const raised = await audited('device.offline.alert');
      assert.deepEqual(
        raised.map((d) => [d.name, d.webhook]),
        [['gw-a', 'delivered']],
      );

      await checkIn('gw-a');
      await check();
      assert.deepEqual(await alerts(), []);
      assert.deepEqual(
        received.map((r) => `${r.event} ${r.device.name}`),
        ['device.offline gw-a', 'device.online gw-a'],
      );
      assert.equal((await audited('device.offline.cleared')).length, 1);
    });

    test('offline from the MQTT connection itself: its last will starts the count', async () => {
      const c = devices['gw-c']!;
      const client = mqtt.connect(`ws://${base}/api/fleet/v1/mqtt`, {
        username: c.id,
        password: c.credential,
        reconnectPeriod: 0,
        will: { topic: `flowgate/v1/devices/${c.id}/status`, payload: Buffer.from('offline'), qos: 1 },
      });
      await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
      await checkIn('gw-a');
      await checkIn('gw-b');
      clock.advance(3 * 60_000);
      client.stream.destroy();
      for (let i = 0; i < 100 && (await member.get(`/api/devices/${c.id}`)).json().connection !== 'offline'; i++) await new Promise((r) => setTimeout(r, 50));
      await checkIn('gw-a');
      await checkIn('gw-b');
      clock.advance(4 * 60_000);
      await check();
      assert.deepEqual(await alerts(), [], 'four minutes after its will, not yet (its last check-in was seven minutes ago)');
      clock.advance(60_000);
      await checkIn('gw-a');
      await checkIn('gw-b');
      await check();
      assert.deepEqual(await alerts(), ['gw-c']);
      assert.equal(received.at(-1)!.event, 'device.offline');
      assert.equal(received.at(-1)!.device.name, 'gw-c');
    });
  });
}

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { Client, DIALECTS, setupAdmin, startTestApp, teamWithDevices, type RegisteredDevice, type TestApp } from '../../../test/harness.ts';

/**
 * The embedded MQTT broker with the real mqtt.js client: devices sign in with their own
 * credential, over WebSocket on the platform's HTTP port or over plain TCP; each touches
 * only its own topics; presence comes from the connection and its last will; a new target
 * is announced at once. An external Mosquitto is tested in external-broker.test.ts.
 */
for (const dialect of DIALECTS) {
  describe(`device MQTT on ${dialect}`, () => {
    let t: TestApp;
    let owner: Client;
    let wsUrl: string;
    let snapshotId: string;
    let a: RegisteredDevice;
    let b: RegisteredDevice;
    const clients: MqttClient[] = [];

    const connect = (url: string, username: string, password: string, extra: mqtt.IClientOptions = {}) => {
      const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, clientId: `test-${username}-${clients.length}`, ...extra });
      clients.push(client);
      return client;
    };
    const connected = (client: MqttClient) =>
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
    const refused = (client: MqttClient) => new Promise<Error>((resolve) => client.once('error', resolve));
    const closed = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));
    const view = async (id: string) => (await owner.get(`/api/devices/${id}`)).json() as { connection: string; connectionSince: string | null };
    const until = async (what: string, probe: () => Promise<boolean>) => {
      for (let i = 0; i < 100; i++) {
        if (await probe()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    const audited = async (event: string) => (await owner.get(`/api/audit?event=${event}`)).json().events as Array<{ details: string; targetId: string | null; outcome: string }>;

    before(async () => {
      t = await startTestApp(dialect);
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      wsUrl = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/api/fleet/v1/mqtt`;
      owner = await setupAdmin(t);
      ({
        devices: [a, b],
        snapshotId,
      } = await teamWithDevices(t, owner, ['gw-a', 'gw-b']));
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    test('a device signs in over WebSocket on the HTTP port, is shown online, and hears a new target at once', async () => {
      assert.equal((await view(a.id)).connection, 'unknown');
      const client = connect(wsUrl, a.id, a.credential, { will: { topic: `flowgate/v1/devices/${a.id}/status`, payload: Buffer.from('offline'), qos: 1 } });
      await connected(client);
      await until('online', async () => (await view(a.id)).connection === 'online');
      const granted = await client.subscribeAsync(`flowgate/v1/devices/${a.id}/desired`, { qos: 1 });
      assert.equal(granted[0]!.qos, 1);
      const heard = new Promise<string>((resolve) => client.once('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
      assert.equal((await owner.put(`/api/devices/${a.id}/target`, { snapshotId })).statusCode, 200);
      assert.match(await heard, new RegExp(`^flowgate/v1/devices/${a.id}/desired \\{"changedAt":`));

      // Its connection dies without a goodbye: the last will says offline.
      client.stream.destroy();
      await until('offline', async () => (await view(a.id)).connection === 'offline');
    });

    test("a wrong credential, or a credential under another device's id, is refused and audited", async () => {
      const wrong = connect(wsUrl, a.id, 'fgd_not-the-credential');
      assert.match((await refused(wrong)).message, /Bad username or password/i);
      const borrowed = connect(wsUrl, b.id, a.credential);
      assert.match((await refused(borrowed)).message, /Bad username or password/i);
      const mqttRejections = async () => (await audited('device.credential.rejected')).filter((e) => JSON.parse(e.details).transport === 'mqtt');
      await until('both refusals on record', async () => (await mqttRejections()).length === 2);
      const rejected = await mqttRejections();
      assert.equal(rejected.length, 2);
      assert.deepEqual(rejected.map((e) => JSON.parse(e.details).username).sort(), [a.id, b.id].sort());
    });

    test("a device may not read another device's topic, nor publish on it: refused, audited, and its connection closed", async () => {
      const client = connect(wsUrl, a.id, a.credential);
      await connected(client);
      // Refused in the SUBACK (failure code 128): mqtt.js rejects the subscription.
      const subscribe = (topic: string) =>
        client.subscribeAsync(topic, { qos: 1 }).then(
          () => 'granted',
          (e: Error) => e.message,
        );
      assert.match(await subscribe(`flowgate/v1/devices/${b.id}/desired`), /Subscribe error/);
      assert.match(await subscribe('flowgate/v1/devices/+/desired'), /Subscribe error/);
      const gone = closed(client);
      client.publish(`flowgate/v1/devices/${b.id}/status`, 'offline', { qos: 1 });
      await gone;
      // Recorded as the refusal happens, without holding the broker up: it may land a moment after the close.
      await until('three refusals on record', async () => (await audited('device.topic.refused')).length === 3);
      const refusedTopics = await audited('device.topic.refused');
      assert.deepEqual(
        refusedTopics.map((e) => `${JSON.parse(e.details).action} ${JSON.parse(e.details).topic}`).sort(),
        [`publish flowgate/v1/devices/${b.id}/status`, `subscribe flowgate/v1/devices/${b.id}/desired`, 'subscribe flowgate/v1/devices/+/desired'].sort(),
      );
      assert.ok(refusedTopics.every((e) => e.targetId === a.id && e.outcome === 'denied'));
      assert.notEqual((await view(b.id)).connection, 'offline', "b's status is untouched");
    });

    test('plain MQTT over TCP when a port is opened; a revoked device is cut off at once', async () => {
      const port = await t.context.broker.listenTcp('127.0.0.1', 0);
      const client = connect(`mqtt://127.0.0.1:${port}`, b.id, b.credential);
      await connected(client);
      await until('online', async () => (await view(b.id)).connection === 'online');
      const gone = closed(client);
      assert.equal((await owner.post(`/api/devices/${b.id}/revoke`)).statusCode, 200);
      await gone;
      const again = connect(`mqtt://127.0.0.1:${port}`, b.id, b.credential);
      assert.match((await refused(again)).message, /Bad username or password/i);
    });
  });
}

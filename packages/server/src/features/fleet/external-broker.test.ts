import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { setupAdmin, startTestApp, teamWithDevices, type Client, type RegisteredDevice, type TestApp, freePort, until } from '../../../test/harness.ts';
import { ConfigError, loadConfig } from '../../config.ts';

/**
 * The platform with an external broker: a real Mosquitto (Debian's mosquitto 2.0 and its
 * dynamic-security plugin), started by this test on a free loopback port, since the
 * Mosquitto already running on 127.0.0.1:1883 allows anonymous clients and has no
 * dynamic security; configuring that one would change a service the machine shares.
 * The platform signs in as the plugin's admin; each device gets its own broker account
 * and may touch only its own topics; a revoked device's account goes, and it is cut off.
 */
const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const ADMIN_PASSWORD = 'broker admin secret 123';

test('an external broker is configured with a URL and an account, or refused saying what is missing', () => {
  const env = { FLOWGATE_MQTT_URL: 'mqtt://broker.plant.example:1883', FLOWGATE_MQTT_USERNAME: 'flowgate', FLOWGATE_MQTT_PASSWORD: 'secret' };
  assert.deepEqual(loadConfig(env).externalMqtt, { url: 'mqtt://broker.plant.example:1883', username: 'flowgate', password: 'secret', deviceUrl: null });
  assert.equal(loadConfig({ ...env, FLOWGATE_MQTT_DEVICE_URL: 'wss://mqtt.plant.example/' }).externalMqtt?.deviceUrl, 'wss://mqtt.plant.example');
  assert.equal(loadConfig({}).externalMqtt, null, 'the embedded broker by default');
  assert.throws(
    () => loadConfig({ FLOWGATE_MQTT_URL: env.FLOWGATE_MQTT_URL }),
    (e: Error) => e instanceof ConfigError && /FLOWGATE_MQTT_USERNAME and FLOWGATE_MQTT_PASSWORD/.test(e.message),
  );
  assert.throws(() => loadConfig({ ...env, FLOWGATE_MQTT_URL: 'http://broker:1883' }), /must be mqtt:\/\/ or mqtts:\/\//);
  assert.throws(() => loadConfig({ ...env, FLOWGATE_MQTT_URL: 'mqtt://user:pw@broker:1883' }), /must not carry credentials/);
  assert.throws(() => loadConfig({ ...env, FLOWGATE_MQTT_PORT: '1883' }), /set one of them/);
});

describe('devices over an external Mosquitto with dynamic security', () => {
  let dir: string;
  let mosquitto: ChildProcess;
  let brokerUrl: string;
  let t: TestApp;
  let owner: Client;
  let snapshotId: string;
  let devices: RegisteredDevice[] = [];
  const clients: MqttClient[] = [];
  let brokerLog = '';

  const connect = (username: string, password: string) => {
    const client = mqtt.connect(brokerUrl, { username, password, reconnectPeriod: 0, connectTimeout: 5000, clientId: `test-${username}-${clients.length}`, protocolVersion: 5 });
    clients.push(client);
    return client;
  };
  const outcome = (client: MqttClient) =>
    new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (e) => resolve(e.message));
    });
  const view = async (id: string) => (await owner.get(`/api/devices/${id}`)).json() as { connection: string };

  before(async () => {
    assert.ok(fs.existsSync('/usr/sbin/mosquitto') && fs.existsSync(DYNSEC_PLUGIN), "Debian's mosquitto package is needed (.ci/run installs it)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-mosquitto-'));
    execFileSync('mosquitto_ctrl', ['dynsec', 'init', path.join(dir, 'dynsec.json'), 'flowgate-admin', ADMIN_PASSWORD], { stdio: 'ignore' });
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `plugin ${DYNSEC_PLUGIN}`,
        `plugin_opt_config_file ${path.join(dir, 'dynsec.json')}`,
        'persistence false',
        'log_dest stderr',
        // Started as root, Mosquitto would become the mosquitto user, who cannot read this private directory.
        `user ${os.userInfo().username}`,
        '',
      ].join('\n'),
    );
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    mosquitto.stderr!.on('data', (c: Buffer) => (brokerLog += c.toString()));
    brokerUrl = `mqtt://127.0.0.1:${port}`;
    await until(
      'Mosquitto to listen',
      () =>
        new Promise<boolean>((resolve) =>
          net
            .connect(port, '127.0.0.1')
            .once('connect', function (this: net.Socket) {
              this.destroy();
              resolve(true);
            })
            .once('error', () => resolve(false)),
        ),
    );

    t = await startTestApp('sqlite', { FLOWGATE_MQTT_URL: brokerUrl, FLOWGATE_MQTT_USERNAME: 'flowgate-admin', FLOWGATE_MQTT_PASSWORD: ADMIN_PASSWORD }).catch((error: Error) => {
      throw new Error(`${error.message}\nMosquitto said:\n${brokerLog}`);
    });
    owner = await setupAdmin(t);
    ({ devices, snapshotId } = await teamWithDevices(t, owner, ['gw-a', 'gw-b']));
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await t?.close();
    mosquitto?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('registration names the broker; each device signs in to it with its own credential, and nobody else does', async () => {
    const [a, b] = devices;
    assert.equal(a!.mqttUrl, brokerUrl, 'the agent is told where to connect');
    // The account is made as the device registers, asynchronously: a moment later it signs in.
    let result = '';
    await until('the device account', async () => (result = await outcome(connect(a!.id, a!.credential))) === 'connected');
    assert.equal(result, 'connected', brokerLog);
    assert.match(await outcome(connect(a!.id, 'fgd_not-the-credential')), /Bad User Name or Password|Not authorized/i);
    assert.match(await outcome(connect(b!.id, a!.credential)), /Bad User Name or Password|Not authorized/i, "a's credential is not b's");
  });

  test('a device reads only its own desired topic and publishes only its own status; presence comes from it; a new target is announced', async () => {
    const [a, b] = devices;
    const client = connect(a!.id, a!.credential);
    assert.equal(await outcome(client), 'connected');
    const grantedOwn = await client.subscribeAsync(`flowgate/v1/devices/${a!.id}/desired`, { qos: 1 });
    assert.ok(grantedOwn[0]!.qos < 128, 'its own desired topic');
    // MQTT 5: the SUBACK says "Not authorized" (0x87), which mqtt.js turns into a refusal.
    const refused = await client.subscribeAsync(`flowgate/v1/devices/${b!.id}/desired`, { qos: 1 }).then(
      () => 'granted',
      (e: Error) => e.message,
    );
    assert.match(refused, /Not authorized/);

    client.publish(`flowgate/v1/devices/${a!.id}/status`, 'online', { qos: 1 });
    await until('a online', async () => (await view(a!.id)).connection === 'online');
    // Another device's status, published by a: the broker drops it, b's presence is untouched.
    await client.publishAsync(`flowgate/v1/devices/${b!.id}/status`, 'online', { qos: 1 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await view(b!.id)).connection, 'unknown');

    const heard = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
    assert.equal((await owner.put(`/api/devices/${a!.id}/target`, { snapshotId })).statusCode, 200);
    assert.equal(await heard, `flowgate/v1/devices/${a!.id}/desired`);

    client.publish(`flowgate/v1/devices/${a!.id}/status`, 'offline', { qos: 1 });
    await until('a offline', async () => (await view(a!.id)).connection === 'offline');
  });

  test('a revoked device is disconnected at once and cannot sign in again', async () => {
    const [, b] = devices;
    // b's account, made at registration.
    const client = connect(b!.id, b!.credential);
    assert.equal(await outcome(client), 'connected');
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    assert.equal((await owner.post(`/api/devices/${b!.id}/revoke`)).statusCode, 200);
    await gone;
    assert.match(await outcome(connect(b!.id, b!.credential)), /Bad User Name or Password|Not authorized/i);
  });
});

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AGENT_BIN } from '../../package-paths.ts';
import { Client, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

/**
 * The real agent on a "device" (a working directory of its own on this machine) with real
 * Node-RED, against the real platform listening on loopback: `flowgate-agent --provision`
 * registers it and keeps its credential (mode 0600); it runs the target an operator sets;
 * with the platform away it runs its last good snapshot; it runs again from its directory
 * alone; and it stops when the owner revokes it.
 */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('flowgate-agent --provision on a device', () => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let teamId: string;
  let siteId: string;
  let dir: string;
  let snapshotId: string;
  const children: ChildProcess[] = [];

  function agent(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
    // Only what an agent on a device would have: no FLOWGATE_* from this process.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOWGATE_')));
    const child = spawn(process.execPath, [AGENT_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => text, exit };
  }

  async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const deviceView = async (id: string) => (await owner.get(`/api/devices/${id}`)).json() as { state: string; runningSnapshotId: string | null; nodeRedVersion: string | null; connection: string };
  const hello = async (port: number) => {
    const r = await fetch(`http://127.0.0.1:${port}/hello`, { signal: AbortSignal.timeout(2000) });
    return r.text();
  };
  const devices = async () => (await owner.get(`/api/teams/${teamId}/devices`)).json() as Array<{ id: string; name: string; lastSeenAt: string | null; revokedAt: string | null }>;

  before(async () => {
    t = await startTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    owner = await setupAdmin(t);
    teamId = (await owner.post('/api/teams', { name: 'Packaging' })).json().id;
    siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json().id;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-device-'));
    // What the device is to run: an HTTP endpoint its flows serve on the device itself.
    const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Line gateway' })).json().id;
    const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0];
    const instanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'dev', nodeRedVersion })).json().id;
    const snapshot = await owner.post(`/api/instances/${instanceId}/snapshots`, {
      name: 'hello endpoint',
      flows: [
        { id: 't1', type: 'tab', label: 'Line' },
        { id: 'in1', type: 'http in', z: 't1', url: '/hello', method: 'get', wires: [['tpl1']] },
        { id: 'tpl1', type: 'template', z: 't1', field: 'payload', format: 'text', syntax: 'plain', template: 'hello from the device', output: 'str', wires: [['out1']] },
        { id: 'out1', type: 'http response', z: 't1', wires: [] },
      ],
    });
    assert.equal(snapshot.statusCode, 201, snapshot.body);
    snapshotId = snapshot.json().id;
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a refused token stops the agent with the reason and leaves no credential behind', async () => {
    const run = agent(['--platform', base, '--provision', 'fgp_not-a-real-token', '--dir', dir, '--name', 'edge-gw-01']);
    assert.equal(await run.exit, 1, run.output());
    assert.match(run.output(), /refused to register this device \(401\): The provisioning token is unknown/);
    assert.equal(fs.existsSync(path.join(dir, 'device.json')), false);
    assert.deepEqual(await devices(), []);
  });

  test('it registers, keeps its credential, runs its target in Node-RED, keeps running it offline, and stops when revoked', async () => {
    const { token } = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, singleUse: true })).json();
    const port = await freePort();
    const first = agent(['--platform', base, '--provision', token, '--dir', dir, '--name', 'edge-gw-01', '--check-in-seconds', '1', '--node-red-port', String(port)]);
    const [device] = await until('the device to register', async () => {
      const list = await devices();
      return list.length === 1 ? list : null;
    });
    assert.equal(device!.name, 'edge-gw-01');
    const file = path.join(dir, 'device.json');
    await until('device.json', async () => fs.existsSync(file));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the credential file is owner-only');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { deviceId: string; credential: string; platformUrl: string };
    assert.equal(saved.deviceId, device!.id);
    assert.match(saved.credential, /^fgd_/);
    assert.equal(saved.platformUrl, base);
    await until('the empty flow to run', async () => (await deviceView(device!.id)).state === 'running');

    // The operator's target reaches the device through its long poll; Node-RED runs it.
    const set = await owner.put(`/api/devices/${device!.id}/target`, { snapshotId });
    assert.equal(set.statusCode, 200, set.body);
    const running = await until('the target to run', async () => {
      const view = await deviceView(device!.id);
      return view.state === 'running' && view.runningSnapshotId === snapshotId ? view : null;
    }, 60_000);
    assert.match(running.nodeRedVersion ?? '', /^4\./, 'it reports the Node-RED it runs');
    assert.equal(await hello(port), 'hello from the device');
    assert.equal(running.connection, 'online', 'its MQTT connection (WebSocket on the platform port) says it is online');

    // Stopped, then started with the platform away: it runs its last good snapshot anyway.
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0, first.output());
    assert.equal((await deviceView(device!.id)).connection, 'offline', 'it said goodbye on its way out');
    const offline = agent(['--dir', dir, '--platform', 'http://127.0.0.1:9', '--node-red-port', String(port)]);
    await until('the flows to answer offline', async () => (await hello(port).catch(() => null)) === 'hello from the device', 60_000);
    offline.child.kill('SIGTERM');
    assert.equal(await offline.exit, 0, offline.output());

    // Started again with its directory alone: the same device, no new registration.
    const again = agent(['--dir', dir, '--check-in-seconds', '1', '--node-red-port', String(port)]);
    await until('the second run to report', async () => again.output().includes(`device ${device!.id} checking in`));
    assert.equal((await devices()).length, 1);
    await until('the target to answer again', async () => (await hello(port).catch(() => null)) === 'hello from the device', 60_000);

    // Revoked on the platform: its long poll is refused at once, and the agent stops Node-RED and exits, saying why.
    assert.equal((await owner.post(`/api/devices/${device!.id}/revoke`)).statusCode, 200);
    assert.equal(await again.exit, 3, again.output());
    assert.match(again.output(), /refused this device's credential: the device was revoked/);
    assert.equal(await hello(port).catch(() => 'no answer'), 'no answer');
  });
});

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AGENT_BIN, AGENT_DIR } from '../../package-paths.ts';
import WebSocket from 'ws';
import { addMember, Client, setupAdmin, startTestApp, type TestApp, freePort } from '../../../test/harness.ts';

/**
 * The real agent on a "device" (a working directory of its own on this machine) with real
 * Node-RED, against the real platform listening on loopback: `flowgate-agent --token-file`
 * registers it and keeps its credential (mode 0600); it runs the target an operator sets;
 * with the platform away it runs its last good snapshot; it runs again from its directory
 * alone; its editor opens through the platform over the tunnel the device opens; and once
 * the owner revokes it, the platform refuses it while its Node-RED keeps running its flows.
 */

describe('flowgate-agent --token-file on a device', () => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let teamId: string;
  let siteId: string;
  let dir: string;
  let snapshotId: string;
  let nodeRedPort: number;
  const children: ChildProcess[] = [];

  /** The agent's command; `stdin`, when given, is piped to it (for `--token-file -`). */
  function agent(args: string[], stdin?: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
    // Only what an agent on a device would have: no FLOWGATE_* from this process.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOWGATE_')));
    const child = spawn(process.execPath, [AGENT_BIN, ...args], { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) child.stdin!.end(stdin);
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

  const deviceView = async (id: string) =>
    (await owner.get(`/api/devices/${id}`)).json() as { state: string; runningSnapshotId: string | null; nodeRedVersion: string | null; connection: string };
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

  test('a refused token, read from --token-file, stops the agent with the reason and leaves no credential behind', async () => {
    const tokenFile = path.join(dir, '..', `${path.basename(dir)}.token`);
    fs.writeFileSync(tokenFile, 'fgp_not-a-real-token\n', { mode: 0o600 });
    try {
      const run = agent(['--platform', base, '--token-file', tokenFile, '--dir', dir, '--name', 'edge-gw-01']);
      assert.equal(await run.exit, 1, run.output());
      assert.match(run.output(), /refused to register this device \(401\): The provisioning token is unknown/);
      assert.doesNotMatch(run.output(), /warning/);
      assert.equal(fs.existsSync(path.join(dir, 'device.json')), false);
      assert.deepEqual(await devices(), []);
    } finally {
      fs.rmSync(tokenFile, { force: true });
    }
  });

  test('the old --provision TOKEN still works, and warns on stderr that ps shows it and what to use instead', async () => {
    const run = agent(['--platform', base, '--provision', 'fgp_not-a-real-token', '--dir', dir, '--name', 'edge-gw-01']);
    assert.equal(await run.exit, 1, run.output());
    assert.match(run.output(), /flowgate-agent: warning: --provision puts the provisioning token on the command line, where every user of this machine can read it \(ps/);
    assert.match(run.output(), /--token-file FILE, or pipe it in with --token-file -/);
    assert.match(run.output(), /refused to register this device \(401\)/, 'the token was still used');
    assert.deepEqual(await devices(), []);
  });

  /** The device's agent in its second run, and its id: the editor and revocation tests use it. */
  let again: ReturnType<typeof agent>;
  let deviceId: string;

  test('it registers, keeps its credential, runs its target in Node-RED, and keeps running it offline', async () => {
    const { token } = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, singleUse: true })).json();
    const port = await freePort();
    // The token on standard input, as the fleet page's command pipes it: never on a command line.
    const first = agent(['--platform', base, '--token-file', '-', '--dir', dir, '--name', 'edge-gw-01', '--check-in-seconds', '1', '--node-red-port', String(port)], `${token}\n`);
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
    const running = await until(
      'the target to run',
      async () => {
        const view = await deviceView(device!.id);
        return view.state === 'running' && view.runningSnapshotId === snapshotId ? view : null;
      },
      60_000,
    );
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
    again = agent(['--dir', dir, '--check-in-seconds', '1', '--node-red-port', String(port)]);
    deviceId = device!.id;
    nodeRedPort = port;
    await until('the second run to report', async () => again.output().includes(`device ${device!.id} checking in`));
    assert.equal((await devices()).length, 1);
    await until('the target to answer again', async () => (await hello(port).catch(() => null)) === 'hello from the device', 60_000);
  });

  test("its Node-RED editor opens through the platform over the tunnel the device opens, read only, for the team's people only", async () => {
    assert.ok(deviceId, 'the device runs (previous test)');
    const viewer = await addMember(t, owner, teamId, 'vera@plant.example', 'viewer');
    const outsider = await addMember(t, owner, (await owner.post('/api/teams', { name: 'Other plant' })).json().id, 'otto@plant.example', 'owner');
    const audit = async (event: string) =>
      ((await owner.get(`/api/teams/${teamId}/audit?event=${event}`)).json() as { events: Array<{ event: string; actorLabel: string }> }).events;
    assert.equal(t.context.tunnels.session(deviceId), null, 'no tunnel while nobody uses the editor');

    // The front door asks the device for its tunnel, waits for it, and hands over a read-only editor token.
    const door = await viewer.get(`/devices/${deviceId}/editor/`);
    assert.equal(door.statusCode, 302, door.body);
    const token = /access_token=([^&]+)/.exec(String(door.headers.location))![1]!;
    assert.ok(t.context.tunnels.session(deviceId), 'the device opened its tunnel');
    const page = await viewer.get(`/devices/${deviceId}/editor/?access_token=${token}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<div id="red-ui-editor">/, "the device's own editor page, through the tunnel");
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'self'/);

    const flows = await viewer.request('GET', `/devices/${deviceId}/editor/flows`, undefined, { authorization: `Bearer ${token}`, 'node-red-api-version': 'v1' });
    assert.equal(flows.statusCode, 200, flows.body);
    assert.ok(
      (flows.json() as Array<{ id: string }>).some((n) => n.id === 'in1'),
      'the flows the device runs',
    );

    // Read only for everybody, the owner too: a device runs its target, and Node-RED refuses the deploy.
    const ownerToken = /access_token=([^&]+)/.exec(String((await owner.get(`/devices/${deviceId}/editor/`)).headers.location))![1]!;
    const deploy = await owner.request('POST', `/devices/${deviceId}/editor/flows`, { flows: [] }, { authorization: `Bearer ${ownerToken}`, 'node-red-api-version': 'v2' });
    assert.ok(deploy.statusCode === 401 || deploy.statusCode === 403, `refused: ${deploy.statusCode} ${deploy.body}`);
    assert.equal(await hello(nodeRedPort), 'hello from the device', 'the flows still run');
    assert.equal((await owner.request('POST', `/devices/${deviceId}/editor/flows`, { flows: [] })).statusCode, 403, 'a write without the editor token is refused (CSRF)');
    assert.equal((await outsider.get(`/devices/${deviceId}/editor/`)).statusCode, 404, "another team's people do not find it");

    // The editor's WebSocket through the tunnel: Node-RED takes the token and answers.
    const comms = new WebSocket(`${base.replace('http', 'ws')}/devices/${deviceId}/editor/comms`, { headers: { cookie: viewer.cookie! } });
    const first = await new Promise<string>((resolve, reject) => {
      comms.once('open', () => comms.send(JSON.stringify({ auth: decodeURIComponent(token) })));
      comms.once('message', (data: Buffer) => resolve(data.toString()));
      comms.once('error', reject);
    });
    assert.match(first, /"auth":"ok"/);
    comms.close();
    const anonymous = new WebSocket(`${base.replace('http', 'ws')}/devices/${deviceId}/editor/comms`);
    const refused = await new Promise<number>((resolve) => anonymous.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(refused, 401);

    assert.equal((await audit('device.tunnel.opened')).length, 1, 'the remote access is audited');
    assert.deepEqual((await audit('device.editor.opened')).map((e) => e.actorLabel).sort(), ['admin@plant.example', 'vera@plant.example']);
  });

  test('revoked: the tunnel is cut, its editor does not open, the platform refuses it, and its Node-RED keeps running the flows it ran, the agent saying why', async () => {
    assert.ok(deviceId, 'the device runs (previous tests)');
    const { credential } = JSON.parse(fs.readFileSync(path.join(dir, 'device.json'), 'utf8')) as { credential: string };
    assert.equal((await owner.post(`/api/devices/${deviceId}/revoke`)).statusCode, 200);
    assert.equal(t.context.tunnels.session(deviceId), null);
    const door = await owner.get(`/devices/${deviceId}/editor/`);
    assert.equal(door.statusCode, 503);
    assert.match(door.json().detail, /revoked/);

    // Plant availability first: a refused credential (or a proxy answering 401) does not stop the line.
    await until('the agent to say it is refused', async () => /the platform refuses this agent's credential/.test(again.output()));
    assert.match(again.output(), /revoked, replaced, or a proxy in between answers 401\. Node-RED keeps running what it runs and nothing new is applied/);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(again.child.exitCode, null, `the agent does not exit on its own: ${again.output()}`);
    assert.equal(await hello(nodeRedPort), 'hello from the device', 'Node-RED still serves the flows it ran');
    const refused = await fetch(`${base}/api/fleet/v1/desired`, { headers: { authorization: `Bearer ${credential}` } });
    assert.equal(refused.status, 401, 'the platform still refuses the credential');
    const closed = ((await owner.get(`/api/teams/${teamId}/audit?event=device.tunnel.closed`)).json() as { events: unknown[] }).events;
    assert.equal(closed.length, 1, 'the end of the remote access is audited too');

    // Stopping a revoked device is its owner's act on the device: SIGTERM stops Node-RED too.
    again.child.kill('SIGTERM');
    assert.equal(await again.exit, 0, again.output());
    assert.equal(await hello(nodeRedPort).catch(() => 'no answer'), 'no answer');
  });
});

test('`npx flowgate-agent --help`, the command the fleet page and the docs show, prints its usage from the repository root', async () => {
  const root = path.resolve(AGENT_DIR, '..', '..');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOWGATE_')));
  const child = spawn('npx', ['--no-install', 'flowgate-agent', '--help'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  assert.match(out, /^Usage: flowgate-agent --platform URL --token-file FILE \[--dir DIR\] \[--name NAME\]$/m);
  assert.match(out, /--token-file FILE +the provisioning token \(fgp_\.\.\.\) from the team's fleet page, read from FILE;/);
  assert.match(out, /^ {7}flowgate-agent --dir DIR/m);
});

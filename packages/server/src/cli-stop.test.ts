import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { freePort, resolveLocalhostSubdomains, until } from '../test/harness.ts';

/**
 * `flowgate start` stopped by SIGTERM while it is busy the way a running platform is: a
 * hosted instance's agent running the real Node-RED and holding its long poll, a device
 * holding its own long poll, the device's MQTT connection over WebSocket, and an editor's
 * WebSocket. It exits within a few seconds, and leaves no Node-RED or agent behind.
 */

const CLI = new URL('../bin/flowgate.js', import.meta.url).pathname;
const STOP_BOUND_MS = 5000;

/**
 * The processes working in `dir`: their working directory is in it (Node-RED's is its user
 * directory; it renames itself in `ps`), or their environment names it (the agent's).
 */
function pidsIn(dir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        if (fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) return true;
        return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Node-RED's process for a user directory: its working directory, and the title it gives itself. */
function nodeRedIn(userDirParent: string): number[] {
  return pidsIn(userDirParent).filter((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(userDirParent) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('node-red');
    } catch {
      return false;
    }
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

/** A person's browser against the real server (one origin of it): the session cookie and the CSRF header. */
function browser(base: string) {
  let cookie = '';
  let csrf = '';
  const call = async (method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; location: string | null }> => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    // The platform's session, or on an instance's own origin that origin's sign-in.
    const set = /fg_(?:session|instance)=[^;]*/.exec(response.headers.get('set-cookie') ?? '')?.[0];
    if (set) cookie = set;
    const text = await response.text();
    const json = (text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (typeof json.csrfToken === 'string') csrf = json.csrfToken;
    return { status: response.status, json, location: response.headers.get('location') };
  };
  return Object.assign(call, { cookie: () => cookie });
}

test('SIGTERM ends long polls and sockets at once, stops the hosted Node-RED, and exits within 5 s', { timeout: 180_000 }, async (t) => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-stop-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string | undefined> = { ...process.env, FLOWGATE_PORT: String(port), FLOWGATE_LOG_LEVEL: 'warn' };
  for (const name of Object.keys(env)) if (name.startsWith('FLOWGATE_') && name !== 'FLOWGATE_PORT' && name !== 'FLOWGATE_LOG_LEVEL') delete env[name];
  const child = spawn(process.execPath, [CLI, 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sockets: Array<{ close(): void }> = [];
  try {
    const link = await until('the setup link', () => /(http:\/\/\S+\/setup\?token=\S+)/.exec(out)?.[1] ?? (child.exitCode !== null ? Promise.reject(new Error(out)) : null), {
      timeoutMs: 30_000,
    });
    const as = browser(base);
    const setup = await as('POST', '/api/setup', {
      token: new URL(link).searchParams.get('token'),
      email: 'ops@plant.example',
      name: 'Olga Ops',
      password: 'quiet copper valley morning',
    });
    assert.equal(setup.status, 201, JSON.stringify(setup.json));
    const teamId = (await as('POST', '/api/teams', { name: 'Packaging' })).json.id as string;

    // A hosted instance: the platform spawns its agent, which runs Node-RED and long-polls.
    const applicationId = (await as('POST', `/api/teams/${teamId}/applications`, { name: 'Line gateway' })).json.id as string;
    const [nodeRedVersion] = (await as('GET', '/api/node-red-versions')).json as unknown as string[];
    const instanceId = (await as('POST', `/api/applications/${applicationId}/instances`, { name: 'prod', nodeRedVersion })).json.id as string;
    await until('the instance to run', async () => (await as('GET', `/api/instances/${instanceId}`)).json.status === 'running');
    const instanceDir = path.join(cwd, 'data', 'instances', instanceId);
    const [nodeRed] = await until('the Node-RED process', () => {
      const found = nodeRedIn(instanceDir);
      return found.length ? found : null;
    });

    // A device holding its long poll for the desired state, and its MQTT connection.
    const siteId = (await as('POST', `/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json.id as string;
    const { token } = (await as('POST', `/api/teams/${teamId}/provisioning-tokens`, { siteId })).json as { token: string };
    const registered = await fetch(`${base}/api/fleet/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'gw-1', agentVersion: '0.1.0' }),
    });
    assert.equal(registered.status, 201);
    const device = (await registered.json()) as { deviceId: string; credential: string };
    const auth = { authorization: `Bearer ${device.credential}` };
    const { generation } = (await (await fetch(`${base}/api/fleet/v1/desired`, { headers: auth })).json()) as { generation: number };
    const longPoll = fetch(`${base}/api/fleet/v1/desired?generation=${generation}&wait=30`, { headers: auth }).then(
      (r) => r.status,
      () => 'cut',
    );
    const client = mqtt.connect(`ws://127.0.0.1:${port}/api/fleet/v1/mqtt`, { username: device.deviceId, password: device.credential, reconnectPeriod: 0 });
    sockets.push({ close: () => client.end(true) });
    await new Promise<void>((resolve, reject) => (client.once('connect', () => resolve()), client.once('error', reject)));
    const mqttClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    // An editor's comms to the hosted Node-RED, through the platform, signed in to Node-RED as the editor does.
    // On the instance's own origin, signed in there with the platform's one-time code.
    resolveLocalhostSubdomains();
    const opened = new URL((await as('GET', `/instances/${instanceId}/editor`)).location!);
    const there = browser(opened.origin);
    assert.equal((await there('GET', opened.pathname + opened.search)).status, 303);
    const editor = await there('GET', `/instances/${instanceId}/editor/`);
    assert.equal(editor.status, 302);
    const editorToken = /access_token=([^&]+)/.exec(editor.location ?? '')![1]!;
    const ws = new WebSocket(`ws://${opened.host}/instances/${instanceId}/editor/comms`, { headers: { cookie: there.cookie() } });
    sockets.push({ close: () => ws.terminate() });
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    const authed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send(JSON.stringify({ auth: editorToken }));
    assert.match(await authed, /"auth":"ok"/);
    const commsClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));

    // Held for a moment, as they are in use: the long polls wait on the server now.
    await new Promise((r) => setTimeout(r, 500));
    const signalled = performance.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000))]);
    const tookMs = performance.now() - signalled;
    t.diagnostic(`exited ${Math.round(tookMs)} ms after SIGTERM`);
    assert.equal(code, 0, `a clean stop:\n${out}`);
    assert.ok(tookMs < STOP_BOUND_MS, `it exited ${Math.round(tookMs)} ms after SIGTERM (bound ${STOP_BOUND_MS} ms):\n${out}`);
    assert.equal(alive(nodeRed!), false, 'the hosted Node-RED is gone');
    assert.deepEqual(pidsIn(instanceDir).filter(alive), [], 'nothing of the instance runs on');
    assert.equal(await longPoll, 200, "the device's long poll was answered, not cut");
    await mqttClosed;
    await commsClosed;
  } finally {
    for (const socket of sockets) socket.close();
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of pidsIn(cwd)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { canonicalJson } from '@flowgate/core';
import { LIVE_SOCKET_CHECK_MS } from './live-sockets.ts';
import { addMember, Client, installNodeRedStandIn, resolveLocalhostSubdomains, setupAdmin, startTestApp, type TestApp, until } from '../../../test/harness.ts';

/**
 * The real thing end to end: the platform listening on loopback spawns the real agent,
 * which runs the real Node-RED; flows are read back through the editor proxy exactly as
 * the editor reads them.
 */
/** The pids of the agent processes running for an instance: found by their environment, as an operator's ps would. */
function agentPids(dataDir: string, instanceId: string): number[] {
  const dir = `FLOWGATE_AGENT_DIR=${path.join(dataDir, 'instances', instanceId)}`;
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => {
      try {
        return /agent/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    });
}

const FLOW_A = [
  { id: 'tab1', type: 'tab', label: 'Line 1', disabled: false, info: '' },
  {
    id: 'inj1',
    type: 'inject',
    z: 'tab1',
    name: 'tick',
    props: [{ p: 'payload' }],
    repeat: '',
    crontab: '',
    once: false,
    onceDelay: 0.1,
    topic: 'line1',
    payload: '1',
    payloadType: 'num',
    x: 120,
    y: 80,
    wires: [['dbg1']],
  },
  {
    id: 'dbg1',
    type: 'debug',
    z: 'tab1',
    name: 'out',
    active: true,
    tosidebar: true,
    console: false,
    tostatus: false,
    complete: 'payload',
    targetType: 'msg',
    statusVal: '',
    statusType: 'auto',
    x: 320,
    y: 80,
    wires: [],
  },
];
const FLOW_B = FLOW_A.map((n) => (n.id === 'inj1' ? { ...n, topic: 'line-1-changed' } : n));

describe('a hosted instance runs the real Node-RED through the agent', () => {
  let t: TestApp;
  let admin: Client;
  let viewer: Client;
  let instanceId: string;
  let teamId: string;
  /** The instance's own origin, where its editor and endpoints are (instance-origins.ts). */
  let instanceBase: string;
  const signedInThere = new Map<Client, Client>();
  /** The person on the instance's origin, signed in there through the platform's one-time code as a browser is. */
  async function on(client: Client): Promise<Client> {
    if (!signedInThere.has(client)) signedInThere.set(client, await client.onInstance(instanceId, 'editor'));
    return signedInThere.get(client)!;
  }

  /** The editor's own way in: open the editor page, take the token from the redirect, call the admin API with it. */
  async function editorToken(client: Client): Promise<string> {
    const r = await (await on(client)).get(`/instances/${instanceId}/editor/`);
    assert.equal(r.statusCode, 302, r.body);
    return /access_token=([^&]+)/.exec(String(r.headers.location))![1]!;
  }
  async function runningFlows(client: Client): Promise<unknown[]> {
    const token = await editorToken(client);
    const r = await (await on(client)).request('GET', `/instances/${instanceId}/editor/flows`, undefined, { authorization: `Bearer ${token}`, 'node-red-api-version': 'v1' });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as unknown[];
  }
  const sameFlows = (a: unknown[], b: unknown[]) => canonicalJson(a) === canonicalJson(b);

  before(async () => {
    resolveLocalhostSubdomains();
    t = await startTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    admin = await setupAdmin(t);
    teamId = (await admin.post('/api/teams', { name: 'Cooling' })).json().id;
    viewer = await addMember(t, admin, teamId, 'vik@plant.example', 'viewer');
    const appId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Chiller' })).json().id;
    const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
    instanceId = (await admin.post(`/api/applications/${appId}/instances`, { name: 'prod', nodeRedVersion: version })).json().id;
    instanceBase = `http://${instanceId}.localhost:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(() => t.close());

  test('the instance comes up running, and Node-RED answers only through the platform', async () => {
    await until('running', async () => (await admin.get(`/api/instances/${instanceId}`)).json().status === 'running');
    const port = t.context.runtime.port(instanceId)!;
    const direct = await fetch(`http://127.0.0.1:${port}/instances/${instanceId}/editor/flows`);
    assert.equal(direct.status, 401, 'Node-RED answers nothing without a platform token');
    const logs = (await admin.get(`/api/instances/${instanceId}/logs`)).json() as Array<{ msg: string }>;
    assert.ok(
      logs.some((l) => /Started flows|Node-RED version/i.test(l.msg)),
      'Node-RED output reaches the live log',
    );
  });

  test("the editor page: a fresh token by redirect, then the editor's own reload at editor/? is served with Node-RED's policy", async () => {
    await editorToken(admin);
    const there = await on(admin);
    // Node-RED's editor stores the token and reloads itself with the query emptied: no second
    // redirect. Over a real socket, as a browser sends it: URL parsers (app.inject's, fetch's) drop a bare "?".
    const page = await new Promise<{ status: number; body: string; csp: string }>((resolve, reject) => {
      http
        .get({ host: new URL(instanceBase).hostname, port: new URL(instanceBase).port, path: `/instances/${instanceId}/editor/?`, headers: { cookie: there.cookie! } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, csp: String(res.headers['content-security-policy']) }));
        })
        .on('error', reject);
    });
    assert.equal(page.status, 200, page.body.slice(0, 200));
    assert.match(page.body, /<title>Flowgate<\/title>/, "Node-RED's editor page, titled by the agent's settings");
    const csp = page.csp;
    // The editor runs node definitions' inline scripts; it may not call out or be framed by another site.
    assert.match(csp, /script-src 'self' 'unsafe-inline' 'unsafe-eval'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'self'/);
    // The platform's own pages keep the strict policy.
    assert.match(String((await admin.get('/api/health')).headers['content-security-policy']), /script-src 'self'(;|$)/);
  });

  test("Node-RED's own static editor files are kept by the browser for a day; its page, API, flows and settings are not", async () => {
    const token = await editorToken(admin);
    const editor = `/instances/${instanceId}/editor`;
    const there = await on(admin);
    const get = (path: string) => there.request('GET', `${editor}/${path}`, undefined, { authorization: `Bearer ${token}`, 'node-red-api-version': 'v1' });
    // (app.inject drops a bare "?", which would make this the front door and its redirect.)
    const page = await get('?reload');
    assert.equal(page.statusCode, 200);
    // What the editor's page asks for, as it asks (with Node-RED's version in the query), and an icon.
    const scripts = [...page.body.matchAll(/(?:src|href)="((?:red|vendor)\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.some((s) => s.startsWith('vendor/vendor.js?v=')) && scripts.some((s) => s.startsWith('red/red')), scripts.join(', '));
    for (const asset of [...scripts, 'icons/node-red/inject.svg', 'favicon.ico']) {
      const r = await get(asset);
      assert.equal(r.statusCode, 200, asset);
      assert.equal(r.headers['cache-control'], 'private, max-age=86400', asset);
    }
    assert.doesNotMatch(String(page.headers['cache-control']), /max-age=[1-9]/, 'the page');
    for (const api of ['flows', 'settings', 'nodes', 'icons', 'locales/editor']) {
      const r = await get(api);
      assert.equal(r.statusCode, 200, api);
      assert.doesNotMatch(String(r.headers['cache-control']), /max-age=[1-9]/, api);
    }
    // A file Node-RED does not have is not kept either.
    const missing = await get('red/no-such-file.js');
    assert.equal(missing.statusCode, 404);
    assert.doesNotMatch(String(missing.headers['cache-control']), /max-age=[1-9]/);
  });

  test('deploy A, deploy B, roll back to A: Node-RED runs exactly A again', async () => {
    const a = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'A', flows: FLOW_A })).json().id;
    const b = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'B', flows: FLOW_B })).json().id;
    for (const [snapshotId, flows] of [
      [a, FLOW_A],
      [b, FLOW_B],
      [a, FLOW_A],
    ] as const) {
      assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId })).statusCode, 202);
      await until(`snapshot ${snapshotId} running`, async () => {
        const i = (await admin.get(`/api/instances/${instanceId}`)).json();
        return i.runningSnapshotId === snapshotId && i.status === 'running';
      });
      assert.ok(sameFlows(await runningFlows(admin), flows), "the flows Node-RED runs are the snapshot's");
    }
    const deployed = (await admin.get(`/api/audit?event=snapshot.deployed`)).json().events;
    assert.equal(JSON.parse(deployed[0].details).rollback, true, 'the last deploy is recorded as a rollback');
  });

  test('a deploy in the editor makes an automatic snapshot and an audit event with the person', async () => {
    const token = await editorToken(admin);
    const changed = FLOW_A.map((n) => (n.id === 'dbg1' ? { ...n, name: 'edited in the editor' } : n));
    const deploy = await (
      await on(admin)
    ).request(
      'POST',
      `/instances/${instanceId}/editor/flows`,
      { flows: changed },
      { authorization: `Bearer ${token}`, 'node-red-api-version': 'v2', 'node-red-deployment-type': 'full' },
    );
    assert.equal(deploy.statusCode, 200, deploy.body);
    const auto = await until('automatic snapshot', async () => {
      const list = (await admin.get(`/api/instances/${instanceId}/snapshots`)).json() as Array<{ id: string; kind: string; createdBy: string }>;
      return list.find((s) => s.kind === 'auto');
    });
    assert.equal(auto.createdBy, 'admin@plant.example');
    const events = await until('editor audit event', async () => {
      const e = (await admin.get(`/api/audit?event=editor.flows.deployed`)).json().events as Array<{ actorLabel: string }>;
      return e.length ? e : null;
    });
    assert.equal(events[0]!.actorLabel, 'admin@plant.example');
    assert.equal((await admin.get(`/api/instances/${instanceId}`)).json().runningSnapshotId, auto.id);
  });

  test("an editor session is one named audit event: the editor's WebSocket opening, signing in and closing are not recorded", async () => {
    type Event = { seq: number; event: string; targetId: string | null; details: string };
    const newest = async () => ((await admin.get('/api/audit?limit=1')).json().events as Event[])[0]!.seq;
    const since = await newest();
    // The editor opens as a browser opens it: the front door, then its WebSocket, signed in with the editor's token.
    const token = await editorToken(admin);
    const socket = new WebSocket(`${instanceBase.replace('http:', 'ws:')}/instances/${instanceId}/editor/comms`, { headers: { cookie: (await on(admin)).cookie! } });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send(JSON.stringify({ auth: token }));
    assert.match(await answer, /"auth":"ok"/);
    socket.close();
    await new Promise((resolve) => socket.once('close', resolve));
    // Then a change from the editor: Node-RED's events reach the platform in order, so once
    // the deploy is on record, whatever the socket caused would be too.
    const changed = FLOW_A.map((n) => (n.id === 'dbg1' ? { ...n, name: 'after a session' } : n));
    const deploy = await (
      await on(admin)
    ).request(
      'POST',
      `/instances/${instanceId}/editor/flows`,
      { flows: changed },
      { authorization: `Bearer ${token}`, 'node-red-api-version': 'v2', 'node-red-deployment-type': 'full' },
    );
    assert.equal(deploy.statusCode, 200, deploy.body);
    const events = await until('the deploy on record', async () => {
      const page = ((await admin.get('/api/audit?limit=200')).json().events as Event[]).filter((e) => e.seq > since && e.targetId === instanceId);
      return page.some((e) => e.event === 'editor.flows.deployed') ? page : null;
    });
    const names = events.map((e) => e.event);
    assert.equal(names.filter((n) => n === 'instance.editor.opened').length, 1, `one editor session on record: ${names.join(', ')}`);
    assert.deepEqual(
      events.filter((e) => e.event === 'editor.other' || String(JSON.parse(e.details).nodeRedEvent ?? '').startsWith('comms.')),
      [],
      'nothing of the WebSocket, and no unnamed event',
    );
  });

  test("a viewer's editor is read-only: Node-RED refuses their deploy", async () => {
    const token = await editorToken(viewer);
    const flows = await runningFlows(viewer);
    assert.ok(flows.length > 0, 'a viewer reads the flows');
    const deploy = await (
      await on(viewer)
    ).request('POST', `/instances/${instanceId}/editor/flows`, { flows: FLOW_B }, { authorization: `Bearer ${token}`, 'node-red-api-version': 'v2' });
    assert.ok(deploy.statusCode === 401 || deploy.statusCode === 403, `refused: ${deploy.statusCode}`);
    assert.ok(!sameFlows(await runningFlows(admin), FLOW_B), 'the flows did not change');
  });

  test("the flows' own endpoints: behind sign-in, then public; a form post and a large deploy reach Node-RED as sent", async () => {
    const endpoints = [
      { id: 'tabH', type: 'tab', label: 'Endpoints' },
      { id: 'in1', type: 'http in', z: 'tabH', name: '', url: '/line', method: 'get', upload: false, swaggerDoc: '', wires: [['tpl1']] },
      { id: 'in2', type: 'http in', z: 'tabH', name: '', url: '/count', method: 'post', upload: false, swaggerDoc: '', wires: [['tpl1']] },
      {
        id: 'tpl1',
        type: 'template',
        z: 'tabH',
        name: '',
        field: 'payload',
        fieldType: 'msg',
        format: 'handlebars',
        syntax: 'mustache',
        template: 'line={{payload.line}} count={{payload.count}}',
        output: 'str',
        wires: [['res1']],
      },
      { id: 'res1', type: 'http response', z: 'tabH', name: '', statusCode: '', headers: {}, wires: [] },
    ];
    const snapshotId = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'endpoints', flows: endpoints })).json().id;
    assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId })).statusCode, 202);
    await until('the endpoints running', async () => {
      const i = (await admin.get(`/api/instances/${instanceId}`)).json();
      return i.runningSnapshotId === snapshotId && i.status === 'running';
    });

    const app = `${instanceBase}/instances/${instanceId}/app`;
    const anonymous = await fetch(`${app}/line?line=3`);
    assert.equal(anonymous.status, 401, 'behind sign-in by default');
    assert.equal((await fetch(`${app}/line?line=3`, { headers: { cookie: admin.cookie! } })).status, 401, "the platform's session means nothing on the instance's origin");
    const cookie = (await on(admin)).cookie!;
    assert.equal(await (await fetch(`${app}/line?line=3`, { headers: { cookie } })).text(), 'line=3 count=');
    // A form, as a plain HTML page posts it: a type the platform's API has no parser for.
    const form = await fetch(`${app}/count`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: 'line=4&count=17' });
    assert.equal(form.status, 200);
    assert.equal(await form.text(), 'line=4 count=17');

    assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'public' })).statusCode, 200);
    const open = await fetch(`${app}/line?line=5`);
    assert.equal(open.status, 200);
    assert.equal(await open.text(), 'line=5 count=');
    // Public through the platform only: another process on the machine, straight at
    // Node-RED's loopback port, gets nothing, with a made-up key neither.
    const port = t.context.runtime.port(instanceId)!;
    const loopback = `http://127.0.0.1:${port}/instances/${instanceId}/app/line?line=5`;
    assert.equal((await fetch(loopback)).status, 401);
    assert.equal((await fetch(loopback, { headers: { 'x-flowgate-endpoint-key': 'ab'.repeat(32) } })).status, 401);
    // The platform's session never reaches the flows, even on a public endpoint.
    assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'login' })).statusCode, 200);
    assert.equal((await fetch(`${app}/line?line=6`)).status, 401);

    // A flow larger than the platform API's 1 MB body limit deploys from the editor as it
    // does straight to Node-RED (its own limit is 5 MB), and reads back unchanged.
    const large = [...endpoints, { id: 'fn1', type: 'function', z: 'tabH', name: 'recipe table', func: `// ${'x'.repeat(1_500_000)}\nreturn msg;`, outputs: 1, wires: [[]] }];
    const token = await editorToken(admin);
    const deploy = await fetch(`${instanceBase}/instances/${instanceId}/editor/flows`, {
      method: 'POST',
      headers: { cookie, authorization: `Bearer ${token}`, 'content-type': 'application/json', 'node-red-api-version': 'v1', 'node-red-deployment-type': 'full' },
      body: JSON.stringify(large),
    });
    assert.equal(deploy.status, 204, await deploy.text());
    assert.ok(sameFlows(await runningFlows(admin), large), 'Node-RED runs the large flow exactly');
  });

  test("the flows' own WebSockets: the same access as their HTTP endpoints, and nothing straight at Node-RED", async () => {
    const echo = [
      { id: 'tabW', type: 'tab', label: 'Live' },
      { id: 'wsl1', type: 'websocket-listener', path: '/ws/echo', wholemsg: 'false' },
      { id: 'wsin1', type: 'websocket in', z: 'tabW', name: '', server: 'wsl1', client: '', wires: [['wsout1']] },
      { id: 'wsout1', type: 'websocket out', z: 'tabW', name: '', server: 'wsl1', client: '', wires: [] },
    ];
    const snapshotId = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'echo', flows: echo })).json().id;
    assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId })).statusCode, 202);
    await until('the echo running', async () => {
      const i = (await admin.get(`/api/instances/${instanceId}`)).json();
      return i.runningSnapshotId === snapshotId && i.status === 'running';
    });
    /** What a WebSocket client gets: the refusal's status, or the echo of what it sent. */
    const talk = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number | string>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => ws.send('line 3 running'));
        ws.once('message', (data) => {
          resolve(String(data));
          ws.close();
        });
        ws.once('error', (error) => reject(error));
      });
    const through = `${instanceBase.replace('http:', 'ws:')}/instances/${instanceId}/app/ws/echo`;
    const outsiderTeam = (await admin.post('/api/teams', { name: 'Packaging' })).json().id;
    const outsider = await addMember(t, admin, outsiderTeam, 'pat@plant.example', 'owner');

    assert.equal(await talk(through), 401, 'behind sign-in by default');
    assert.equal(await talk(through, { cookie: (await on(admin)).cookie! }), 'line 3 running', "a member of the instance's team talks to the flow");
    assert.equal(await talk(through, { cookie: admin.cookie! }), 401, "the platform's own session means nothing here");
    assert.equal((await outsider.get(`/instances/${instanceId}/app`)).statusCode, 404, "another team's owner gets no way in");
    const port = t.context.runtime.port(instanceId)!;
    const loopback = `ws://127.0.0.1:${port}/instances/${instanceId}/app/ws/echo`;
    assert.equal(await talk(loopback), 401, 'Node-RED refuses a WebSocket that did not come through the platform');
    assert.equal(await talk(loopback, { 'x-flowgate-endpoint-key': 'ab'.repeat(32) }), 401);

    assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'public' })).statusCode, 200);
    assert.equal(await talk(through), 'line 3 running', 'public: anyone');
    assert.equal(await talk(loopback), 401, 'still only through the platform');
    assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'login' })).statusCode, 200);
    assert.equal(await talk(through), 401);
  });

  test('an open WebSocket ends once its permission does: its person signed out, or the endpoints no longer public', async () => {
    // The echo flow of the test before still runs.
    assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'public' })).statusCode, 200);
    const ws = instanceBase.replace('http:', 'ws:');
    const open = (path: string, headers: Record<string, string> = {}) =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`${ws}${path}`, { headers });
        socket.once('open', () => resolve(socket));
        socket.once('unexpected-response', (_request, response) => reject(new Error(`refused: ${response.statusCode}`)));
        socket.once('error', reject);
      });
    /** An editor's comms, signed in to Node-RED with the editor's token as the editor does: it stays open while allowed. */
    const comms = async (client: Client) => {
      const token = await editorToken(client);
      const socket = await open(`/instances/${instanceId}/editor/comms`, { cookie: (await on(client)).cookie! });
      const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
      socket.send(JSON.stringify({ auth: token }));
      assert.match(await answer, /"auth":"ok"/);
      return socket;
    };
    /**
     * When the socket closed; null if still open after 3 s. The change is audited and its
     * check asked again at once: well before the next periodic check (LIVE_SOCKET_CHECK_MS).
     */
    const closed = (socket: WebSocket) =>
      new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), Math.min(3000, LIVE_SOCKET_CHECK_MS / 2));
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(Date.now());
        });
      });

    const leaving = await addMember(t, admin, teamId, 'wes@plant.example', 'viewer');
    const leavingComms = await comms(leaving);
    const anonymous = await open(`/instances/${instanceId}/app/ws/echo`);
    const staying = await comms(admin);
    const ends = [closed(leavingComms), closed(anonymous)];
    assert.equal((await leaving.post('/api/auth/logout')).statusCode, 204);
    assert.equal((await admin.patch(`/api/instances/${instanceId}`, { endpointAccess: 'login' })).statusCode, 200);
    const [signedOut, noLongerPublic] = await Promise.all(ends);
    assert.ok(signedOut !== null, "the signed-out person's editor comms closed");
    assert.ok(noLongerPublic !== null, 'the anonymous socket closed once the endpoints need sign-in');
    assert.equal(staying.readyState, WebSocket.OPEN, "the owner's editor, still allowed, stays open");
    staying.close();

    // A platform admin outside the team: the editor's WebSocket is refused, as its page is.
    const lobby = (await admin.post('/api/teams', { name: 'Lobby' })).json().id as string;
    const outsider = await addMember(t, admin, lobby, 'ian@plant.example', 'owner');
    const outsiderId = (await outsider.get('/api/account')).json().user.id as string;
    assert.equal((await admin.patch(`/api/platform/users/${outsiderId}`, { platformRole: 'admin' })).statusCode, 200);
    assert.equal((await outsider.get(`/instances/${instanceId}/editor`)).statusCode, 403);
    // Signed in on the instance's origin through its endpoints' route (an admin may read the instance): the editor still refuses.
    const outsiderThere = await outsider.onInstance(instanceId, 'app');
    await assert.rejects(open(`/instances/${instanceId}/editor/comms`, { cookie: outsiderThere.cookie! }), /refused: 404/);
    assert.equal((await outsiderThere.get(`/instances/${instanceId}/editor/`)).statusCode, 403);
  });

  test('a member made operator while the editor is open can no longer deploy from it', async () => {
    const member = await addMember(t, admin, teamId, 'mo@plant.example', 'member');
    const memberId = (await member.get('/api/account')).json().user.id;
    const token = await editorToken(member);
    const before = await runningFlows(admin);
    assert.equal((await admin.patch(`/api/teams/${teamId}/members/${memberId}`, { role: 'operator' })).statusCode, 204);
    const deploy = await (
      await on(member)
    ).request('POST', `/instances/${instanceId}/editor/flows`, FLOW_B, {
      authorization: `Bearer ${token}`,
      'node-red-api-version': 'v1',
      'node-red-deployment-type': 'full',
    });
    assert.ok(deploy.statusCode === 401 || deploy.statusCode === 403, `refused: ${deploy.statusCode} ${deploy.body}`);
    assert.ok(sameFlows(await runningFlows(admin), before), 'the flows did not change');
  });

  test('a write without the editor token is refused (CSRF)', async () => {
    const r = await (await on(admin)).request('POST', `/instances/${instanceId}/editor/flows`, { flows: FLOW_B });
    assert.equal(r.statusCode, 403);
  });

  test('another Node-RED version: offered when installed and runnable here, and the flows start again on it', async () => {
    const real = (await admin.get('/api/node-red-versions')).json() as string[];
    const other = `${real[0]}-plant.1`;
    installNodeRedStandIn(t.config.nodeRedDir, other);
    installNodeRedStandIn(t.config.nodeRedDir, '99.0.0', { nodeRange: '>=99', runs: false });
    assert.deepEqual((await admin.get('/api/node-red-versions')).json(), [real[0], other], 'installed and runnable here; not one that needs another Node.js');

    const before = await runningFlows(admin);
    const refused = await admin.put(`/api/instances/${instanceId}/node-red-version`, { nodeRedVersion: '99.0.0' });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.json().detail, new RegExp(`not offered here; choose one of ${real[0]!.replace(/\./g, '\\.')}, ${other.replace(/\./g, '\\.')}`));
    assert.equal((await viewer.put(`/api/instances/${instanceId}/node-red-version`, { nodeRedVersion: other })).statusCode, 403);

    const moved = await admin.put(`/api/instances/${instanceId}/node-red-version`, { nodeRedVersion: other });
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal(moved.json().nodeRedVersion, other);
    await until('Node-RED started on the other version, healthy', async () => {
      const logs = ((await admin.get(`/api/instances/${instanceId}/logs`)).json() as Array<{ msg: string }>).map((l) => l.msg);
      const started = logs.findIndex((msg) => msg.includes(`starting Node-RED ${other} with`));
      return started >= 0 && logs.slice(started).some((msg) => /\[flowgate-agent\] (snapshot \S+|the empty flow) runs$/.test(msg));
    });
    assert.ok(sameFlows(await runningFlows(admin), before), 'the same flows run on it');
    const changed = ((await admin.get('/api/audit?event=instance.node-red-version.changed')).json().events as Array<{ targetId: string; details: unknown }>).filter(
      (e) => e.targetId === instanceId,
    );
    assert.deepEqual(
      changed.map((e) => JSON.parse(String(e.details))),
      [{ from: real[0], to: other }],
    );

    // Taken away again: the instance says why it does not start, and names what is installed.
    fs.rmSync(path.join(t.config.nodeRedDir, other), { recursive: true });
    assert.equal((await admin.post(`/api/instances/${instanceId}/restart`)).statusCode, 202);
    await until('the reason', async () => {
      const i = (await admin.get(`/api/instances/${instanceId}`)).json();
      return i.status === 'error' && String(i.statusDetail).includes(`Node-RED ${other} is not installed on this machine (installed: ${real[0]}, 99.0.0)`);
    });
    assert.equal((await admin.put(`/api/instances/${instanceId}/node-red-version`, { nodeRedVersion: real[0] })).statusCode, 200);
    await until("running on the platform's own again", async () => (await admin.get(`/api/instances/${instanceId}`)).json().status === 'running');
  });

  test('restart, stop, start and delete: Node-RED follows, and a deleted instance leaves no files', async () => {
    const status = async () => (await admin.get(`/api/instances/${instanceId}`)).json().status as string;
    const answers = async (port: number) =>
      fetch(`http://127.0.0.1:${port}/instances/${instanceId}/editor/flows`).then(
        (r) => r.status,
        () => null,
      );
    assert.equal((await admin.post(`/api/instances/${instanceId}/restart`)).statusCode, 202);
    await until('running after the restart', async () => (await status()) === 'running' && t.context.runtime.port(instanceId));
    assert.ok((await runningFlows(admin)).length > 0, 'the editor answers again, with the flows');
    const restarted = t.context.runtime.port(instanceId)!;

    assert.equal((await admin.post(`/api/instances/${instanceId}/stop`)).statusCode, 202);
    assert.equal(await status(), 'stopped');
    await until('Node-RED gone', async () => t.context.runtime.port(instanceId) === null && (await answers(restarted)) === null);
    assert.equal((await (await on(admin)).get(`/instances/${instanceId}/editor/flows`)).statusCode, 503);

    assert.equal((await admin.post(`/api/instances/${instanceId}/start`)).statusCode, 202);
    await until('running after the start', async () => (await status()) === 'running' && t.context.runtime.port(instanceId));
    // Start again while it runs, twice at once (two people, a stale page): the agent that runs
    // keeps its token, and a deploy still reaches it.
    const starts = await Promise.all([admin.post(`/api/instances/${instanceId}/start`), admin.post(`/api/instances/${instanceId}/start`)]);
    assert.deepEqual(
      starts.map((r) => r.statusCode),
      [202, 202],
    );
    const after = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'after two starts', flows: FLOW_B })).json().id as string;
    assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: after })).statusCode, 202);
    await until('the agent applied the deploy', async () => {
      const i = (await admin.get(`/api/instances/${instanceId}`)).json();
      return i.runningSnapshotId === after && i.status === 'running';
    });

    // The agent dies (killed, out of memory) and is stopped before it is started again: it stays stopped.
    const [agentPid] = agentPids(t.config.dataDir, instanceId);
    assert.ok(agentPid, 'the agent process is found');
    process.kill(agentPid, 'SIGKILL');
    // The platform has seen it go, and will start it again in a moment: the stop comes in that moment.
    await until('the platform saw the agent exit', async () =>
      ((await admin.get(`/api/instances/${instanceId}/logs`)).json() as Array<{ msg: string }>).some((l) => /\[platform\] agent exited \(SIGKILL\); restarting/.test(l.msg)),
    );
    assert.equal((await admin.post(`/api/instances/${instanceId}/stop`)).statusCode, 202);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(agentPids(t.config.dataDir, instanceId), [], 'no agent started again after the stop');
    assert.equal(t.context.runtime.isRunning(instanceId), false);
    assert.equal((await admin.post(`/api/instances/${instanceId}/start`)).statusCode, 202);
    await until('running after the start', async () => (await status()) === 'running' && t.context.runtime.port(instanceId));
    const port = t.context.runtime.port(instanceId)!;
    const events = ((await admin.get('/api/audit?event=instance.*')).json().events as Array<{ event: string; targetId: string }>)
      .filter((e) => e.targetId === instanceId)
      .map((e) => e.event);
    for (const event of ['instance.restarted', 'instance.stopped', 'instance.started']) assert.ok(events.includes(event), `${event} audited`);

    const dir = path.join(t.config.dataDir, 'instances', instanceId);
    assert.ok(fs.existsSync(path.join(dir, 'userdir')), 'the agent keeps its state and Node-RED its files here');
    assert.equal((await admin.delete(`/api/instances/${instanceId}`)).statusCode, 204);
    assert.equal(await answers(port), null, 'Node-RED stopped');
    assert.equal(fs.existsSync(dir), false, "the instance's files are gone, secret values with them");
    assert.equal((await admin.get(`/api/instances/${instanceId}`)).statusCode, 404);
  });
});

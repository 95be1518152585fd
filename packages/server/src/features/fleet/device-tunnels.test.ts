import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { TUNNEL_PATH } from '@flowgate/protocol';
import { addMember, Client, DIALECTS, setupAdmin, startTestApp, teamWithDevices, type RegisteredDevice, type TestApp } from '../../../test/harness.ts';

/**
 * The editor tunnel at the protocol level, with a device played by hand: opening a
 * device's editor asks the device through its long poll, and waits for its tunnel; a
 * tunnel with a forged credential is refused and audited. The whole way, with the real
 * agent and Node-RED, is in device-agent.test.ts.
 */
for (const dialect of DIALECTS) {
  describe(`device editor tunnels on ${dialect}`, () => {
    let t: TestApp;
    let owner: Client;
    let tunnelUrl: string;
    let device: RegisteredDevice;
    const sockets: WebSocket[] = [];

    const openTunnel = (credential: string) => {
      const ws = new WebSocket(tunnelUrl, { headers: { authorization: `Bearer ${credential}` } });
      sockets.push(ws);
      // A refused handshake ends in an error too; the tests read the answer instead.
      ws.on('error', () => undefined);
      return ws;
    };

    before(async () => {
      t = await startTestApp(dialect);
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      tunnelUrl = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}${TUNNEL_PATH}`;
      owner = await setupAdmin(t);
      [device] = (await teamWithDevices(t, owner, ['gw-a'])).devices;
    });
    after(async () => {
      for (const ws of sockets) ws.terminate();
      await t.close();
    });

    test('a device that is not connected: its editor answers 503 at once, saying so', async () => {
      const r = await owner.get(`/devices/${device.id}/editor/`);
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.match(r.json().detail, /not connected/);
      assert.equal(t.context.tunnels.pending(device.id), false, 'nothing asked of it');
    });

    test("a platform admin outside the team is refused the device's editor, its page and its WebSocket", async () => {
      const lobby = (await owner.post('/api/teams', { name: 'Lobby' })).json().id as string;
      const admin2 = await addMember(t, owner, lobby, 'ines@plant.example', 'owner');
      const id = (await admin2.get('/api/account')).json().user.id as string;
      assert.equal((await owner.patch(`/api/platform/users/${id}`, { platformRole: 'admin' })).statusCode, 200);
      assert.equal((await admin2.get(`/api/devices/${device.id}`)).statusCode, 200, 'the admin sees the device');
      const page = await admin2.get(`/devices/${device.id}/editor/`);
      assert.equal(page.statusCode, 403);
      assert.match(page.json().detail, /Only the team's people open its Node-RED editors \(fleet:editor\)/);
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(tunnelUrl.replace(TUNNEL_PATH, `/devices/${device.id}/editor/comms`), { headers: { cookie: admin2.cookie! } });
        sockets.push(ws);
        ws.on('error', () => undefined);
        ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        ws.once('open', () => resolve(101));
      });
      assert.equal(refused, 404, 'refused before any tunnel is asked for');
      assert.equal(t.context.tunnels.pending(device.id), false);
    });

    test('opened in a browser tab, the same answer is a page: what went wrong, escaped, and the way back; signed out, the sign-in page and back', async () => {
      const renamed = await owner.patch(`/api/devices/${device.id}`, { name: 'Press <b>7</b> & "west"' });
      assert.equal(renamed.statusCode, 200, renamed.body);
      const navigate = { 'sec-fetch-mode': 'navigate', accept: 'text/html,application/xhtml+xml' };
      const page = await owner.request('GET', `/devices/${device.id}/editor/`, undefined, navigate);
      assert.equal(page.statusCode, 503);
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(page.body, /<h1>Device not reachable<\/h1>/);
      assert.ok(page.body.includes('&#34;Press &#60;b&#62;7&#60;/b&#62; &#38; &#34;west&#34;&#34;: the device is not connected'), page.body);
      assert.ok(!page.body.includes('<b>7</b>'), 'the name is text, not markup');
      assert.ok(page.body.includes(`<a href="/devices/${device.id}">Back to Flowgate</a>`));
      const signedOut = await new Client(t).request('GET', `/devices/${device.id}/editor/`, undefined, navigate);
      assert.equal(signedOut.statusCode, 303);
      assert.equal(signedOut.headers.location, `/sign-in?next=${encodeURIComponent(`/devices/${device.id}/editor/`)}`);
      // A script's request (the editor's own, a fetch, curl asking for HTML) still gets problem+json.
      for (const headers of [{ 'sec-fetch-mode': 'cors', accept: 'text/html' }, { accept: 'text/html' }] as Array<Record<string, string>>) {
        const fetched = await new Client(t).request('GET', `/devices/${device.id}/editor/`, undefined, headers);
        assert.equal(fetched.statusCode, 401);
        assert.equal(fetched.headers['content-type'], 'application/problem+json; charset=utf-8');
      }
      assert.equal((await owner.patch(`/api/devices/${device.id}`, { name: 'gw-a' })).statusCode, 200);
    });

    test('opening the editor answers the long poll with editorTunnel, once; the tunnel arrives and the editor opens', async () => {
      const device_ = new Client(t);
      device_.bearer = device.credential;
      const { generation } = (await device_.get('/api/fleet/v1/desired')).json() as { generation: number; editorTunnel: boolean };
      const held = device_.get(`/api/fleet/v1/desired?generation=${generation}&wait=20`);
      await new Promise((r) => setTimeout(r, 100));
      const opening = owner.get(`/devices/${device.id}/editor/`);
      const answer = (await held).json() as { generation: number; editorTunnel: boolean };
      assert.equal(answer.editorTunnel, true, 'the long poll answers at once, asking for the tunnel');
      assert.equal(answer.generation, generation, 'the desired state itself did not change');
      assert.equal(((await device_.get('/api/fleet/v1/desired')).json() as { editorTunnel: boolean }).editorTunnel, false, 'asked once');

      const ws = openTunnel(device.credential);
      await new Promise((resolve) => ws.once('open', resolve));
      const door = await opening;
      assert.equal(door.statusCode, 302, door.body);
      assert.match(String(door.headers.location), new RegExp(`^/devices/${device.id}/editor/\\?access_token=`));
      // Audited as the tunnel opens, beside the request that waited for it: it may land a moment later.
      let opened: Array<{ targetId: string; actorLabel: string }> = [];
      for (let i = 0; i < 40 && opened.length === 0; i++) {
        opened = (await owner.get(`/api/audit?event=device.tunnel.opened`)).json().events as typeof opened;
        if (opened.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(
        opened.map((e) => [e.targetId, e.actorLabel]),
        [[device.id, `device:${device.id}`]],
      );
      ws.close();
      await new Promise((resolve) => ws.once('close', resolve));
    });

    test('a tunnel with a forged credential is refused (401) and audited', async () => {
      const ws = openTunnel('fgd_forged-credential');
      const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      assert.equal(status, 401);
      const rejected = (await owner.get('/api/audit?event=device.credential.rejected')).json().events as Array<{ details: string }>;
      assert.ok(rejected.some((e) => JSON.parse(e.details).transport === 'tunnel'));
    });
  });
}

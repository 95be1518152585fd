import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { TUNNEL_PATH } from '@flowgate/protocol';
import { decodeFrame, encodeFrame, MAX_STREAMS, OP_CLOSE, OP_DATA, OP_OPEN, TunnelSession } from '@flowgate/protocol/tunnel';
import { createEditorTunnel } from './tunnel.ts';

/**
 * The tunnel between a real WebSocket server (the platform's end) and the agent's end,
 * which connects each stream to a real HTTP server standing in for Node-RED.
 */
describe('the editor tunnel', () => {
  let nodeRed: http.Server;
  let nodeRedPort: number | null;
  let platform: http.Server;
  let platformUrl: string;
  const sessions: TunnelSession[] = [];
  let authorization: string | undefined;

  before(async () => {
    nodeRed = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    await new Promise<void>((resolve) => nodeRed.listen(0, '127.0.0.1', resolve));
    nodeRedPort = (nodeRed.address() as AddressInfo).port;
    platform = http.createServer();
    const wss = new WebSocketServer({ server: platform, path: TUNNEL_PATH });
    wss.on('connection', (ws, req) => {
      authorization = req.headers.authorization;
      sessions.push(new TunnelSession(ws));
    });
    await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
    platformUrl = `http://127.0.0.1:${(platform.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sessions) s.terminate();
    await new Promise((r) => platform.close(r));
    await new Promise((r) => nodeRed.close(r));
  });

  const until = async (probe: () => boolean) => {
    for (let i = 0; i < 100 && !probe(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(probe(), 'timed out');
  };
  const get = (session: TunnelSession, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ createConnection: () => session.openStream() as never, method: body ? 'POST' : 'GET', path, headers: { host: '127.0.0.1' } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  test('frames carry their op, stream id and payload; anything else is not a frame', () => {
    const frame = decodeFrame(encodeFrame(OP_DATA, 70_000, Buffer.from('abc')));
    assert.deepEqual({ ...frame, payload: frame!.payload.toString() }, { op: OP_DATA, id: 70_000, payload: 'abc' });
    assert.equal(decodeFrame(Buffer.from([OP_OPEN, 0, 0])), null, 'too short');
    assert.equal(decodeFrame(Buffer.from([9, 0, 0, 0, 1])), null, 'unknown op');
    assert.equal(decodeFrame(encodeFrame(OP_CLOSE, 1))!.payload.length, 0);
  });

  test('the device opens it with its credential; HTTP requests, several at once, reach its Node-RED and answer', async () => {
    const lines: string[] = [];
    const tunnel = createEditorTunnel({ platformUrl, credential: 'fgd_device-secret', nodeRedPort: () => nodeRedPort, log: (_l, m) => lines.push(m) });
    tunnel.open();
    tunnel.open(); // opening twice opens one
    await until(() => sessions.length === 1 && sessions[0]!.open);
    await until(() => tunnel.isOpen());
    assert.equal(authorization, 'Bearer fgd_device-secret');
    const session = sessions[0]!;
    const answers = await Promise.all([get(session, '/devices/d1/editor/flows'), get(session, '/devices/d1/editor/settings', 'x'.repeat(200_000))]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200],
    );
    assert.equal(answers[0]!.text, 'GET /devices/d1/editor/flows ');
    assert.equal(answers[1]!.text.length, 'POST /devices/d1/editor/settings '.length + 200_000, 'a large body goes through whole');
    await until(() => session.streamCount === 0);

    // Node-RED not running: the stream is refused, the request fails, the tunnel stays.
    nodeRedPort = null;
    await assert.rejects(get(session, '/devices/d1/editor/'));
    assert.ok(session.open);
    tunnel.close();
    await until(() => !session.open);
  });

  test('it closes itself when idle, and refuses more streams than MAX_STREAMS', async () => {
    const tunnel = createEditorTunnel({ platformUrl, credential: 'fgd_x', nodeRedPort: () => null, log: () => undefined, idleMs: 300 });
    tunnel.open();
    await until(() => sessions.length === 2 && sessions[1]!.open);
    const session = sessions[1]!;
    const streams = Array.from({ length: MAX_STREAMS }, () => session.openStream());
    assert.throws(() => session.openStream(), /carries 64 streams already/);
    for (const s of streams) s.destroy();
    await until(() => !session.open);
    assert.equal(tunnel.isOpen(), false, 'closed after being idle');
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { forwardToNodeRed, passBodiesThrough } from './node-red-proxy.ts';

/**
 * forwardToNodeRed against a stand-in for Node-RED that misbehaves on purpose: what the
 * real Node-RED does is covered by instances.runtime.test.ts.
 */
describe('forwarding to a Node-RED', () => {
  let upstream: http.Server;
  let app: FastifyInstance;
  let base: string;
  const agent = new http.Agent({ keepAlive: true });

  before(async () => {
    upstream = http.createServer((req, res) => {
      if (req.url === '/cut') {
        // The answer begins, then the connection dies under it (Node-RED killed mid-answer).
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null })));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    app = Fastify();
    await app.register(async (scope) => {
      passBodiesThrough(scope);
      scope.all('/*', (request, reply) =>
        forwardToNodeRed(request, reply, { host: '127.0.0.1', port, agent }, { path: request.url, headers: request.headers, answerWithinMs: 2_000 }),
      );
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    agent.destroy();
    await app.close();
    upstream.close();
  });

  test('a body of any type arrives as it was sent', async () => {
    const r = await fetch(`${base}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'line=4&count=17' });
    assert.deepEqual(await r.json(), { method: 'POST', body: 'line=4&count=17', type: 'application/x-www-form-urlencoded' });
  });

  test('a connection lost after the answer began cuts the answer short, and the platform keeps serving', async () => {
    await assert.rejects(fetch(`${base}/cut`).then((r) => r.text()));
    const r = await fetch(`${base}/after`);
    assert.equal(r.status, 200);
  });

  test('a GET that claims a body is answered at once, not after the answer timeout', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(base).port), '127.0.0.1', () =>
        socket.write('GET /claims HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.ok(Date.now() - started < 1_500, `answered in ${Date.now() - started} ms`);
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { requestForLog } from './request-log.ts';

test('the request log keeps the path and leaves out the query, where an editor token travels', async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const app = Fastify({ logger: { level: 'info', stream, serializers: { req: requestForLog } } });
  app.get('/instances/:id/editor/', async () => 'ok');
  await app.inject({ method: 'GET', url: '/instances/i1/editor/?access_token=eyJ.secret.token' });
  await app.close();
  const logged = lines.join('');
  assert.match(logged, /"url":"\/instances\/i1\/editor\/"/);
  assert.ok(!logged.includes('secret.token'), logged);
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, DIALECTS, startTestApp, type TestApp } from '../../test/harness.ts';

for (const dialect of DIALECTS) {
  describe(`problem+json for Fastify's own errors on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_LOGIN_RATE_LIMIT: '2' });
    });
    after(() => t.close());

    test("the sign-in rate limit answers 429 titled 'Too many requests', not 'Bad request'", async () => {
      const c = new Client(t);
      const attempt = () => c.post('/api/auth/login', { email: 'x@plant.example', password: 'whatever it is' });
      assert.equal((await attempt()).statusCode, 401);
      assert.equal((await attempt()).statusCode, 401);
      const limited = await attempt();
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8');
      const problem = limited.json() as { type: string; title: string; status: number; detail: string; instance: string };
      assert.equal(problem.title, 'Too many requests');
      assert.equal(problem.type, 'https://flowgate.dev/problems/too-many-requests');
      assert.equal(problem.status, 429);
      assert.equal(problem.instance, '/api/auth/login');
      assert.match(problem.detail, /rate limit/i);
    });
  });
}

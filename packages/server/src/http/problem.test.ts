import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { ADMIN, Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../test/harness.ts';

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

for (const dialect of DIALECTS) {
  describe(`refusals on record, written once by the error mapper, on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
    });
    after(() => t.close());

    const refusals = async (event: string) =>
      t.db.database.db.selectFrom('audit_events').select(['outcome', 'actor_label', 'details']).where('event', '=', event).where('outcome', '!=', 'success').execute();

    test('a refusal thrown by a service answers its problem and is recorded once, as the caller, with its reason', async () => {
      const r = await admin.put('/api/account/password', { currentPassword: 'not the password at all', newPassword: 'a brand new long passphrase 7' });
      assert.equal(r.statusCode, 403, r.body);
      assert.equal(r.json().detail, 'The current password is wrong.');
      const events = await refusals('user.password.changed');
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.deepEqual(
        { outcome: events[0]!.outcome, actor: events[0]!.actor_label, reason: JSON.parse(events[0]!.details).reason },
        { outcome: 'denied', actor: ADMIN.email, reason: 'wrong current password' },
      );
    });

    test('a refusal whose event cannot be written is answered 503, not as if it were on record', async () => {
      // The audit table out of reach, as a full disk or a revoked grant would leave it.
      await sql`alter table audit_events rename to audit_events_away`.execute(t.db.database.db);
      try {
        const r = await admin.put('/api/account/password', { currentPassword: 'not the password at all', newPassword: 'a brand new long passphrase 7' });
        assert.equal(r.statusCode, 503, r.body);
        assert.equal(r.json().type, 'https://flowgate.dev/problems/audit-unavailable');
      } finally {
        await sql`alter table audit_events_away rename to audit_events`.execute(t.db.database.db);
      }
    });
  });
}

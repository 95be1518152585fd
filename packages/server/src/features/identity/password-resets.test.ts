import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addMember, Client, createManualClock, DIALECTS, MEMBER_PASSWORD, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

const NEW_PASSWORD = 'harbour lantern copper sleeps';

for (const dialect of DIALECTS) {
  describe(`a forgotten password, reset with a link a platform admin issues, on ${dialect}`, () => {
    const clock = createManualClock();
    let t: TestApp;
    let admin: Client;
    let member: Client;
    let memberId: string;
    /** Issues a link as the admin; with no mail server it comes back to pass on. */
    const issue = async () => {
      const issued = await admin.post(`/api/platform/users/${memberId}/password-reset`);
      assert.equal(issued.statusCode, 201, issued.body);
      assert.equal(issued.json().mailed, false);
      return new URL(issued.json().link as string).pathname.split('/reset-password/')[1]!;
    };

    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_LOCKOUT_MAX_FAILURES: '3' }, { clock });
      admin = await setupAdmin(t);
      const teamId = (await admin.post('/api/teams', { name: 'Press shop' })).json().id;
      member = await addMember(t, admin, teamId, 'pia@plant.example', 'member');
      memberId = ((await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>).find((u) => u.email === 'pia@plant.example')!.id;
    });
    after(() => t.close());

    test('only a platform admin issues one; the link sets a new password once, ends every session and lifts a lockout', async () => {
      assert.equal((await member.post(`/api/platform/users/${memberId}/password-reset`)).statusCode, 403, 'not for themselves');
      // Locked out by forgetting it.
      for (let i = 0; i < 3; i++) await new Client(t).post('/api/auth/login', { email: 'pia@plant.example', password: 'what was it again' });
      assert.equal((await new Client(t).post('/api/auth/login', { email: 'pia@plant.example', password: MEMBER_PASSWORD })).statusCode, 401, 'locked');

      const token = await issue();
      assert.deepEqual((await new Client(t).get(`/api/password-resets/${token}`)).json().email, 'pia@plant.example');

      const weak = await new Client(t).post(`/api/password-resets/${token}`, { password: 'password' });
      assert.equal(weak.statusCode, 400);
      assert.match(weak.json().detail, /not allowed/);
      assert.equal((await new Client(t).post(`/api/password-resets/${token}`, { password: NEW_PASSWORD })).statusCode, 204);
      assert.equal((await member.get('/api/teams')).statusCode, 401, 'the old session is over');
      assert.equal((await new Client(t).post('/api/auth/login', { email: 'pia@plant.example', password: MEMBER_PASSWORD })).statusCode, 401, 'the old password is gone');
      const signedIn = await new Client(t).post('/api/auth/login', { email: 'pia@plant.example', password: NEW_PASSWORD });
      assert.equal(signedIn.statusCode, 200, 'the new one works, the lockout lifted');

      const again = await new Client(t).post(`/api/password-resets/${token}`, { password: 'another harbour lantern' });
      assert.equal(again.statusCode, 404, 'once');
      const events = (await admin.get('/api/audit?event=user.password.reset*')).json().events as Array<{
        event: string;
        outcome: string;
        targetId: string | null;
        actorLabel: string;
      }>;
      assert.deepEqual(events.map((e) => [e.event, e.outcome]).sort(), [
        ['user.password.reset', 'denied'],
        ['user.password.reset', 'success'],
        ['user.password.reset.issued', 'success'],
      ]);
      assert.equal(events.find((e) => e.outcome === 'success' && e.event === 'user.password.reset')?.actorLabel, 'pia@plant.example');
    });

    test('a link expires after 24 hours, and a newer one spends the older', async () => {
      assert.equal((await admin.post('/api/platform/users/00000000-0000-4000-8000-000000000000/password-reset')).statusCode, 404);
      const first = await issue();
      const second = await issue();
      assert.equal((await new Client(t).get(`/api/password-resets/${first}`)).statusCode, 404, 'the newer link spent it');
      assert.equal((await new Client(t).get(`/api/password-resets/${second}`)).statusCode, 200);
      clock.advance(24 * 3_600_000 + 1000);
      const late = await new Client(t).post(`/api/password-resets/${second}`, { password: NEW_PASSWORD });
      assert.equal(late.statusCode, 404);
      assert.equal(late.headers['content-type'], 'application/problem+json; charset=utf-8');
    });
  });
}

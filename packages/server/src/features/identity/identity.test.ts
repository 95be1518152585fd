import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { totpCode } from '../../security/totp.ts';
import { ADMIN, Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

for (const dialect of DIALECTS) {
  describe(`identity on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_LOCKOUT_MAX_FAILURES: '3' });
    });
    after(() => t.close());

    test('setup needs the one-time token and then creates the first admin, signed in', async () => {
      const anonymous = new Client(t);
      assert.equal((await anonymous.get('/api/auth/config')).json().setupRequired, true);
      const wrong = await anonymous.post('/api/setup', { token: 'not-the-token', ...ADMIN });
      assert.equal(wrong.statusCode, 403);
      assert.equal(wrong.headers['content-type'], 'application/problem+json; charset=utf-8');
      admin = await setupAdmin(t);
      const session = (await admin.get('/api/auth/session')).json();
      assert.equal(session.signedIn, true);
      assert.equal(session.user.email, ADMIN.email);
      assert.equal(session.user.platformRole, 'admin');
      const again = await anonymous.post('/api/setup', { token: 'x', ...ADMIN });
      assert.equal(again.statusCode, 403);
      assert.equal((await anonymous.get('/api/auth/config')).json().setupRequired, false);
    });

    test('a refused setup attempt is audited, without the token it gave', async () => {
      const refused = (await admin.get('/api/audit?event=platform.setup.refused')).json().events as Array<{ outcome: string; actorType: string; details: string }>;
      assert.equal(refused.length, 2);
      assert.ok(refused.every((e) => e.outcome === 'denied' && e.actorType === 'anonymous'));
      assert.deepEqual(
        refused.map((e) => JSON.parse(e.details)),
        [
          { email: ADMIN.email, reason: 'set up already' },
          { email: ADMIN.email, reason: 'wrong setup token' },
        ],
      );
      assert.ok(!refused.some((e) => e.details.includes('not-the-token')));
    });

    test('a weak or common password is refused with the reason', async () => {
      const invite = await admin.post('/api/teams', { name: 'Line 1' });
      const teamId = invite.json().id;
      const link = (await admin.post(`/api/teams/${teamId}/invitations`, { email: 'weak@plant.example', role: 'viewer' })).json().link as string;
      const token = link.split('/invite/')[1];
      const response = await new Client(t).post(`/api/invitations/${token}/accept`, { name: 'Weak', password: 'password1234' });
      assert.equal(response.statusCode, 400);
      assert.match(response.json().detail, /common/i);
    });

    test('wrong passwords lock the account after the limit; each attempt is audited', async () => {
      const c = new Client(t);
      for (let i = 0; i < 3; i++) {
        const r = await c.post('/api/auth/login', { email: ADMIN.email, password: 'wrong password here' });
        assert.equal(r.statusCode, 401);
      }
      const locked = await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      assert.equal(locked.statusCode, 401, 'the right password does not open a locked account');
      const events = (await admin.get('/api/audit?event=auth.login.*&limit=20')).json().events as Array<{ event: string; outcome: string }>;
      assert.equal(events.filter((e) => e.event === 'auth.login.failed').length, 4);
      assert.equal(events.filter((e) => e.event === 'auth.login.locked').length, 1);
      const users = (await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string; locked: boolean }>;
      const me = users.find((u) => u.email === ADMIN.email)!;
      assert.equal(me.locked, true);
      assert.equal((await admin.patch(`/api/platform/users/${me.id}`, { unlock: true })).statusCode, 200);
      assert.equal((await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).statusCode, 200);
    });

    test('an unknown email gets the same answer as a wrong password', async () => {
      const r = await new Client(t).post('/api/auth/login', { email: 'nobody@plant.example', password: 'whatever it is' });
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().detail, 'The email or password is wrong, or the account is locked or disabled.');
    });

    test('writes without the CSRF header are refused for cookie sessions', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/api/teams', headers: { cookie: admin.cookie! }, payload: { name: 'No CSRF' } });
      assert.equal(r.statusCode, 403);
      assert.match(r.json().detail, /x-csrf-token/);
    });

    test('TOTP enrolment, sign-in with a code, a recovery code once, replay refused', async () => {
      const setup = await admin.post('/api/account/mfa/setup');
      assert.equal(setup.statusCode, 200);
      const { secret, qrSvg } = setup.json();
      assert.match(qrSvg, /^<svg/);
      const now = Date.now();
      const confirm = await admin.post('/api/account/mfa/confirm', { code: totpCode(secret, now) });
      assert.equal(confirm.statusCode, 200, confirm.body);
      const codes = confirm.json().recoveryCodes as string[];
      assert.equal(codes.length, 10);

      const c = new Client(t);
      const login = await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      assert.equal(login.json().status, 'mfa-required');
      assert.equal((await c.get('/api/teams')).statusCode, 401, 'no access before the second factor');
      assert.equal((await c.post('/api/auth/mfa', { code: totpCode(secret, now) })).statusCode, 401, 'the code used at enrolment cannot be replayed');
      const ok = await c.post('/api/auth/mfa', { code: totpCode(secret, now + 30_000) });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((await c.get('/api/teams')).statusCode, 200);

      const d = new Client(t);
      await d.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      assert.equal((await d.post('/api/auth/mfa', { code: codes[0] })).statusCode, 200);
      const e = new Client(t);
      await e.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      assert.equal((await e.post('/api/auth/mfa', { code: codes[0] })).statusCode, 401, 'a recovery code works once');
    });

    test('wrong MFA codes lock the account like wrong passwords', async () => {
      const c = new Client(t);
      await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      for (let i = 0; i < 2; i++) assert.equal((await c.post('/api/auth/mfa', { code: '000000' })).statusCode, 401);
      assert.equal((await c.post('/api/auth/mfa', { code: '000001' })).statusCode, 401);
      const again = await new Client(t).post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      assert.equal(again.statusCode, 401, 'locked after 3 wrong codes');
      const events = (await admin.get('/api/audit?event=auth.*&limit=10')).json().events.map((e: { event: string }) => e.event);
      assert.ok(events.includes('auth.mfa.failed') && events.includes('auth.login.locked'));
      const me = (await admin.get('/api/platform/users')).json().find((u: { email: string }) => u.email === ADMIN.email);
      assert.equal((await admin.patch(`/api/platform/users/${me.id}`, { unlock: true })).statusCode, 200);
    });

    test('a lock reached in one MFA challenge ends the others: not even the right code gets in through them', async () => {
      const setup = await admin.post('/api/account/mfa/setup');
      assert.equal(setup.statusCode, 409, 'enrolled in the test before');
      const a = new Client(t);
      const b = new Client(t);
      for (const c of [a, b]) assert.equal((await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).json().status, 'mfa-required');
      for (let i = 0; i < 3; i++) assert.equal((await a.post('/api/auth/mfa', { code: '000000' })).statusCode, 401);
      const through = await b.post('/api/auth/mfa', { code: '123456' });
      assert.equal(through.statusCode, 401);
      assert.doesNotMatch(through.json().detail, /code is wrong/, 'the other challenge is gone: no code is even looked at');
      assert.equal((await b.get('/api/teams')).statusCode, 401);
      const me = (await admin.get('/api/platform/users')).json().find((u: { email: string }) => u.email === ADMIN.email);
      assert.equal((await admin.patch(`/api/platform/users/${me.id}`, { unlock: true })).statusCode, 200);
    });

    test('the password again does not wipe the count of wrong MFA codes: guessing codes between password sign-ins still locks', async () => {
      for (let round = 0; round < 2; round++) {
        const c = new Client(t);
        assert.equal((await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).json().status, 'mfa-required');
        const wrong = round === 0 ? 2 : 1;
        for (let i = 0; i < wrong; i++) assert.equal((await c.post('/api/auth/mfa', { code: '000000' })).statusCode, 401);
      }
      const again = await new Client(t).post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      assert.equal(again.statusCode, 401, 'locked after 3 wrong codes over two password sign-ins');
      const me = (await admin.get('/api/platform/users')).json().find((u: { email: string }) => u.email === ADMIN.email);
      assert.equal((await admin.patch(`/api/platform/users/${me.id}`, { unlock: true })).statusCode, 200);
    });

    test('starting MFA enrolment is audited, and so is a removal refused for a wrong password', async () => {
      const me = (await admin.get('/api/account')).json().user as { id: string };
      const started = (await admin.get('/api/audit?event=user.mfa.enrolment.started')).json().events as Array<{ outcome: string; targetId: string; details: string }>;
      assert.equal(started.length, 1, 'the enrolment above started once');
      assert.equal(started[0]!.outcome, 'success');
      assert.equal(started[0]!.targetId, me.id);
      assert.deepEqual(JSON.parse(started[0]!.details), { method: 'totp', replacedPending: false }, 'never the secret');

      const wrong = await admin.delete('/api/account/mfa', { password: 'not the password at all' });
      assert.equal(wrong.statusCode, 403);
      assert.equal(wrong.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(wrong.json().detail, 'The password is wrong.');
      const refused = (await admin.get('/api/audit?event=user.mfa.removed')).json().events as Array<{ outcome: string; targetId: string; details: string }>;
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.outcome, 'denied');
      assert.equal(refused[0]!.targetId, me.id);
      assert.deepEqual(JSON.parse(refused[0]!.details), { reason: 'wrong password' });
      assert.equal((await admin.get('/api/account')).json().user.mfaEnrolled, true, 'MFA stays');
    });

    test('API tokens: shown once, read-only cannot write, revoked is refused', async () => {
      const created = await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 30 });
      assert.equal(created.statusCode, 201);
      const { token, record } = created.json();
      assert.match(token, /^fgt_/);
      const listed = (await admin.get('/api/account/tokens')).json();
      assert.ok(!JSON.stringify(listed).includes(token), 'the token is never shown again');
      const bot = new Client(t);
      bot.bearer = token;
      assert.equal((await bot.get('/api/teams')).statusCode, 200);
      const write = await bot.post('/api/teams', { name: 'By token' });
      assert.equal(write.statusCode, 403);
      assert.match(write.json().detail, /read-only/);
      assert.equal((await admin.delete(`/api/account/tokens/${record.id}`)).statusCode, 204);
      assert.equal((await bot.get('/api/teams')).statusCode, 401);
    });

    test('sign out everywhere ends every session', async () => {
      const other = new Client(t);
      await other.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      // MFA is on for the admin now, so the other session is only a challenge; both end.
      const r = await admin.post('/api/account/sessions/revoke-all');
      assert.equal(r.statusCode, 200);
      assert.ok(r.json().revoked >= 2);
      assert.equal((await admin.get('/api/account')).statusCode, 401);
    });
  });
}

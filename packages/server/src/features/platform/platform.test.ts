import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { SYSTEM_CONTEXT } from '../../context.ts';
import { totpCode } from '../../security/totp.ts';
import { ADMIN, addMember, Client, createManualClock, DIALECTS, MEMBER_PASSWORD, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

for (const dialect of DIALECTS) {
  describe(`platform on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    const clock = createManualClock();
    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_METRICS_TOKEN: 'prometheus-scrape-token-123', FLOWGATE_SESSION_IDLE_MINUTES: '30' }, { clock });
      admin = await setupAdmin(t);
    });
    after(() => t.close());

    test('health, OpenAPI and its docs page answer', async () => {
      assert.deepEqual((await new Client(t).get('/api/health')).json(), { status: 'ok' });
      const openapi = (await new Client(t).get('/api/openapi.json')).json();
      assert.equal(openapi.openapi, '3.0.3');
      assert.equal(openapi.paths['/api/teams/{teamId}'].patch['x-permission'], 'team:update');
      assert.equal((await new Client(t).get('/api/docs/')).statusCode, 200);
    });

    test('security headers are set on every answer', async () => {
      const r = await new Client(t).get('/api/health');
      assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      // Plain HTTP here: HSTS is for a platform reached over HTTPS (sweep-findings.test.ts).
      assert.equal(r.headers['strict-transport-security'], undefined);
      assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
    });

    test('metrics: refused anonymously, given to admins and to the metrics token', async () => {
      assert.equal((await new Client(t).get('/metrics')).statusCode, 401);
      const wrong = new Client(t);
      wrong.bearer = 'not-the-token';
      assert.equal((await wrong.get('/metrics')).statusCode, 401);
      const scraper = new Client(t);
      scraper.bearer = 'prometheus-scrape-token-123';
      const scraped = await scraper.get('/metrics');
      assert.equal(scraped.statusCode, 200);
      assert.match(scraped.body, /flowgate_audit_events_total\{outcome="success"\} \d+/);
      assert.equal((await admin.get('/metrics')).statusCode, 200);
    });

    test('the login banner is shown before sign-in and its change is audited', async () => {
      const banner = 'Authorised use only. Activity is monitored and recorded.';
      assert.equal((await admin.patch('/api/platform/settings', { loginBanner: banner })).statusCode, 200);
      assert.equal((await new Client(t).get('/api/auth/config')).json().loginBanner, banner);
      const event = (await admin.get('/api/audit?event=platform.settings.updated')).json().events[0];
      assert.equal(JSON.parse(event.details).after.loginBanner, banner);
    });

    test('a session ends after the idle timeout', async () => {
      const c = new Client(t);
      assert.equal((await c.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).statusCode, 200);
      clock.advance(20 * 60_000);
      assert.equal((await c.get('/api/account')).statusCode, 200, 'still active after 20 minutes');
      clock.advance(31 * 60_000);
      assert.equal((await c.get('/api/account')).statusCode, 401, 'idle for 31 minutes');
      admin = new Client(t);
      await admin.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
    });

    test('a disabled account is signed out at once and cannot sign in', async () => {
      const teamId = (await admin.post('/api/teams', { name: 'Boiler house' })).json().id;
      const member = await addMember(t, admin, teamId, 'dora@plant.example', 'member');
      const users = (await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>;
      const dora = users.find((u) => u.email === 'dora@plant.example')!;
      assert.equal((await admin.patch(`/api/platform/users/${dora.id}`, { status: 'disabled' })).statusCode, 200);
      assert.equal((await member.get('/api/teams')).statusCode, 401);
    });

    test('an admin resets the MFA of someone who lost both authenticator and recovery codes: signed out, signs in with the password alone', async () => {
      const teamId = (await admin.post('/api/teams', { name: 'Kiln' })).json().id;
      const kim = await addMember(t, admin, teamId, 'kim@plant.example', 'member');
      const secret = (await kim.post('/api/account/mfa/setup')).json().secret as string;
      assert.equal((await kim.post('/api/account/mfa/confirm', { code: totpCode(secret, clock.now().getTime()) })).statusCode, 200);
      const id = ((await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>).find((u) => u.email === 'kim@plant.example')!.id;
      assert.equal((await kim.patch(`/api/platform/users/${id}`, { resetMfa: true })).statusCode, 403, 'not by themselves: they are no admin');

      const reset = await admin.patch(`/api/platform/users/${id}`, { resetMfa: true });
      assert.equal(reset.statusCode, 200, reset.body);
      assert.equal(reset.json().mfaEnrolled, false);
      assert.equal((await kim.get('/api/teams')).statusCode, 401, 'signed out at once');
      const again = await new Client(t).post('/api/auth/login', { email: 'kim@plant.example', password: MEMBER_PASSWORD });
      assert.equal(again.json().status, 'signed-in', 'no code asked: MFA is gone');
      const [event] = (await admin.get('/api/audit?event=user.mfa.reset')).json().events as Array<{ targetId: string; actorLabel: string }>;
      assert.equal(event?.targetId, id);
    });

    test("the Users list says what may be done to each account, and the server holds to it (one's own account is another admin's)", async () => {
      type Listed = { id: string; email: string; allowed: Record<string, boolean> };
      const users = (await admin.get('/api/platform/users')).json() as Listed[];
      const ada = users.find((u) => u.email === ADMIN.email)!;
      const kim = users.find((u) => u.email === 'kim@plant.example')!;
      // Ada is the only active admin: nothing is offered on her own row.
      assert.deepEqual(
        Object.entries(ada.allowed).filter(([, yes]) => yes),
        [],
      );
      assert.deepEqual(kim.allowed, { disable: true, enable: false, unlock: false, resetPassword: true, resetMfa: false, makeAdmin: true, removeAdmin: false, changeRole: true });
      // The platform roles beside admin (compliance lead, auditor) are granted and taken back the same way, on record.
      for (const platformRole of ['auditor', 'compliance', 'user'] as const) {
        const granted = await admin.patch(`/api/platform/users/${kim.id}`, { platformRole });
        assert.equal(granted.statusCode, 200, granted.body);
        assert.equal(granted.json().platformRole, platformRole);
      }
      const roleEvents = (await admin.get('/api/audit?event=user.updated&outcome=success')).json().events as Array<{ targetId: string; details: string }>;
      assert.deepEqual(
        roleEvents
          .filter((e) => e.targetId === kim.id)
          .map((e) => (JSON.parse(e.details) as { change: { platformRole?: string } }).change.platformRole)
          .slice(0, 3),
        ['user', 'compliance', 'auditor'],
      );
      const refused = await admin.patch(`/api/platform/users/${ada.id}`, { resetMfa: true });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.match(refused.json().detail, /Another admin manages your account/);
      const [event] = (await admin.get('/api/audit?event=user.updated&outcome=denied')).json().events as Array<{ targetId: string; details: string }>;
      assert.equal(event?.targetId, ada.id, 'the refusal is in the audit trail');
      assert.equal(JSON.parse(event.details).reason, 'own account');
    });

    test('the last active platform admin can be neither demoted nor disabled', async () => {
      const users = (await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>;
      const ada = users.find((u) => u.email === ADMIN.email)!;
      for (const change of [{ platformRole: 'user' }, { status: 'disabled' }]) {
        const refused = await admin.patch(`/api/platform/users/${ada.id}`, change);
        assert.equal(refused.statusCode, 409, refused.body);
        assert.match(refused.json().detail, /last active platform admin/);
      }
      const other = users.find((u) => u.email === 'kim@plant.example')!;
      assert.equal((await admin.patch(`/api/platform/users/${other.id}`, { platformRole: 'admin' })).statusCode, 200);
      assert.equal((await admin.patch(`/api/platform/users/${ada.id}`, { platformRole: 'user' })).statusCode, 200, 'with another admin, one may step down');
      const kimAdmin = new Client(t);
      await kimAdmin.post('/api/auth/login', { email: 'kim@plant.example', password: MEMBER_PASSWORD });
      assert.equal((await kimAdmin.patch(`/api/platform/users/${ada.id}`, { platformRole: 'admin' })).statusCode, 200);
      // Two admins disabling each other at the same moment: one of them stays.
      const [one, two] = await Promise.all([
        admin.patch(`/api/platform/users/${other.id}`, { status: 'disabled' }),
        kimAdmin.patch(`/api/platform/users/${ada.id}`, { status: 'disabled' }),
      ]);
      assert.deepEqual([one.statusCode, two.statusCode].sort(), [200, 409], `${one.body} ${two.body}`);
      const survivor = one.statusCode === 200 ? admin : kimAdmin;
      const stepped = one.statusCode === 200 ? other : ada;
      assert.equal((await survivor.patch(`/api/platform/users/${stepped.id}`, { status: 'active' })).statusCode, 200);
      admin = new Client(t);
      await admin.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
    });

    test('when an audit event cannot be written, the change is refused whole and an alert is raised', async () => {
      const db = t.db.database.db;
      if (dialect === 'sqlite') {
        await sql.raw(`CREATE TRIGGER break_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END`).execute(db);
      } else {
        await sql.raw(`CREATE FUNCTION break_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$`).execute(db);
        await sql.raw('CREATE TRIGGER break_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION break_audit()').execute(db);
      }
      const before = (await admin.get('/api/teams')).json().length;
      const r = await admin.post('/api/teams', { name: 'Never made' });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().title, 'Audit log unavailable');
      assert.equal((await admin.get('/api/teams')).json().length, before, 'nothing half-written');
      const alerts = (await admin.get('/api/platform/alerts')).json() as Array<{ kind: string }>;
      assert.ok(alerts.some((a) => a.kind === 'audit-write-failed'));
      await sql.raw(dialect === 'sqlite' ? 'DROP TRIGGER break_audit' : 'DROP TRIGGER break_audit ON audit_events').execute(db);
      assert.equal((await admin.post('/api/teams', { name: 'Made after repair' })).statusCode, 201);
      assert.ok(!(await admin.get('/api/platform/alerts')).json().some((a: { kind: string }) => a.kind === 'audit-write-failed'));
    });
  });
}

describe('capacity and rate limits', () => {
  test('audit storage past 80 % of its capacity raises the warning, recorded once', async () => {
    const t = await startTestApp('sqlite', { FLOWGATE_AUDIT_CAPACITY_MB: '1' });
    try {
      const admin = await setupAdmin(t);
      // An empty SQLite database with the schema is already a few hundred kB; fill past 800 kB.
      await t.context.auditLog.recordMany(
        SYSTEM_CONTEXT,
        Array.from({ length: 3000 }, (_, i) => ({ event: 'team.updated' as const, details: { padding: 'x'.repeat(200), i } })),
      );
      await t.context.checkCapacity();
      const alerts = (await admin.get('/api/platform/alerts')).json() as Array<{ kind: string; message: string }>;
      const alert = alerts.find((a) => a.kind === 'audit-capacity');
      assert.ok(alert, 'capacity alert raised');
      assert.match(alert.message, /of 1 MiB/);
      await t.context.checkCapacity();
      const events = (await admin.get('/api/audit?event=audit.capacity.warning')).json().events;
      assert.equal(events.length, 1);
    } finally {
      await t.close();
    }
  });

  test('sign-in is rate limited per address', async () => {
    const t = await startTestApp('sqlite', { FLOWGATE_LOGIN_RATE_LIMIT: '3' });
    try {
      const c = new Client(t);
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await c.post('/api/auth/login', { email: 'x@plant.example', password: 'whatever it is' })).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
  });
});

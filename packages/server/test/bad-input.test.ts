import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Clock } from '../src/context.ts';
import { addMember, Client, createTestDatabase, DIALECTS, MEMBER_PASSWORD, setupAdmin, startTestApp, type TestApp } from './harness.ts';

/**
 * Hostile and careless input: every refusal is a problem+json document that names what
 * was wrong and reveals nothing of the server, and a refused write leaves no trace but
 * its audit event.
 */

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const DAY_MS = 86_400_000;

/** A clock the test moves: buildApp takes it through the composition root. */
class MovableClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** Like the harness's startTestApp, but with the test's clock. */
async function startAppWithClock(dialect: (typeof DIALECTS)[number], clock: Clock): Promise<TestApp> {
  const db = await createTestDatabase(dialect);
  const config = loadConfig({ FLOWGATE_DATA_DIR: db.dataDir, FLOWGATE_LOGIN_RATE_LIMIT: '1000' });
  const built = await buildApp({ config, database: db.database, logger: false, clock });
  await built.app.ready();
  return {
    ...built,
    db,
    config,
    async close() {
      await built.app.close();
      await db.drop();
    },
  };
}

const LEAKS = [/stack/i, /at \//, /SELECT/, /sqlite/i, /postgres/i];

/** Checks the problem+json envelope and that nothing internal leaks; returns the problem. */
function assertProblem(r: LightMyRequestResponse, status: number, title?: string) {
  assert.equal(r.statusCode, status, r.body);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const problem = r.json() as { type: unknown; title: unknown; status: unknown; detail: unknown; errors?: Array<{ field: string }> };
  assert.equal(typeof problem.type, 'string');
  assert.equal(typeof problem.title, 'string');
  assert.equal(typeof problem.detail, 'string');
  assert.equal(problem.status, status);
  if (title !== undefined) assert.equal(problem.title, title);
  for (const leak of LEAKS) assert.doesNotMatch(r.body, leak, `the error body leaks ${leak}: ${r.body}`);
  return problem;
}

/** A 400 that names the field at fault. */
function assertNamesField(r: LightMyRequestResponse, field: string) {
  const problem = assertProblem(r, 400, 'Invalid request');
  assert.ok(
    problem.errors?.some((e) => e.field === field),
    `the problem names ${field}: ${r.body}`,
  );
  assert.ok((problem.detail as string).includes(field), `the detail names ${field}: ${problem.detail}`);
}

const TABLES = ['users', 'teams', 'memberships', 'invitations', 'api_tokens', 'audit_events'] as const;

/** Row counts and the state that a refused write must leave alone. */
async function snapshot(t: TestApp) {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const row = await t.db.database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  const teams = await t.db.database.db.selectFrom('teams').select(['id', 'name', 'require_mfa']).orderBy('id').execute();
  return { counts, teams, settings: await t.context.settingsStore.get() };
}

/** Runs refused writes and checks they left no trace at all, not even an audit event. */
async function leavesNoTrace(t: TestApp, refused: () => Promise<void>): Promise<void> {
  const beforeState = await snapshot(t);
  await refused();
  assert.deepEqual(await snapshot(t), beforeState, 'a refused write changed the database');
}

/** Runs requests with a bad token: nothing changes but the audit log, which gains one rejection each. */
async function onlyAudited(t: TestApp, expectedEvents: number, refused: () => Promise<void>): Promise<void> {
  const beforeState = await snapshot(t);
  const headBefore = (await t.context.auditStore.head()).seq;
  await refused();
  const afterState = await snapshot(t);
  const rejected = await t.context.auditStore.page({ event: 'auth.token.rejected' }, null, expectedEvents + 1);
  assert.equal(rejected.filter((e) => e.seq > headBefore).length, expectedEvents, 'each rejected token is audited');
  assert.equal(afterState.counts.audit_events, beforeState.counts.audit_events + expectedEvents);
  assert.deepEqual({ ...afterState, counts: { ...afterState.counts, audit_events: 0 } }, { ...beforeState, counts: { ...beforeState.counts, audit_events: 0 } });
}

async function deniedEvents(admin: Client, actorId: string) {
  const r = await admin.get(`/api/audit?event=auth.access.denied&actorId=${actorId}&limit=1000`);
  assert.equal(r.statusCode, 200, r.body);
  return (r.json().events as Array<{ details: string; outcome: string }>).map((e) => ({ ...(JSON.parse(e.details) as { method: string; route: string }), outcome: e.outcome }));
}

function raw(t: TestApp, client: Client, method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload: string, contentType?: string) {
  const headers: Record<string, string> = { 'user-agent': 'flowgate-test' };
  if (client.cookie) headers.cookie = client.cookie;
  if (client.csrf) headers['x-csrf-token'] = client.csrf;
  if (contentType) headers['content-type'] = contentType;
  return t.app.inject({ method, url, payload, headers });
}

for (const dialect of DIALECTS) {
  describe(`bad input on ${dialect}`, () => {
    const clock = new MovableClock();
    let t: TestApp;
    let admin: Client;
    let viewer: Client;
    let viewerId: string;
    let teamId: string;

    before(async () => {
      t = await startAppWithClock(dialect, clock);
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Line 1' })).json().id as string;
      viewer = await addMember(t, admin, teamId, 'viewer@plant.example', 'viewer');
      viewerId = (await viewer.get('/api/account')).json().user.id as string;
    });
    after(() => t.close());

    test('malformed JSON is refused as such, before any handler runs', async () => {
      await leavesNoTrace(t, async () => {
        assertProblem(await admin.request('POST', '/api/teams', '{"name": '), 400, 'Malformed JSON');
        assertProblem(await admin.request('POST', '/api/teams', ''), 400, 'Malformed JSON');
        assertProblem(await admin.request('PATCH', `/api/teams/${teamId}`, '{"name": "x",}'), 400, 'Malformed JSON');
        // Prototype poisoning is refused by the parser, not merged into an object.
        assertProblem(await admin.request('POST', '/api/teams', '{"name": "x", "__proto__": {"admin": true}}'), 400, 'Malformed JSON');
        assertProblem(await admin.request('POST', '/api/teams', '{"name": "x", "constructor": {"prototype": {"admin": true}}}'), 400, 'Malformed JSON');
      });
      // On a public route too, for an anonymous caller.
      assertProblem(await new Client(t).request('POST', '/api/auth/login', '{"email":'), 400, 'Malformed JSON');
    });

    test('a body that is JSON but not an object is a validation error', async () => {
      await leavesNoTrace(t, async () => {
        for (const body of ['null', '[]', '"Line 2"', '42']) assertNamesField(await admin.request('POST', '/api/teams', body), '(body)');
      });
    });

    test('unknown fields are refused and named, in bodies and query strings', async () => {
      await leavesNoTrace(t, async () => {
        assertNamesField(await admin.post('/api/teams', { name: 'Line 2', color: 'red' }), 'color');
        assertNamesField(await admin.patch(`/api/teams/${teamId}`, { name: 'Line 1', owner: 'me' }), 'owner');
        assertNamesField(await admin.patch('/api/platform/settings', { requireMfa: false, debug: true }), 'debug');
        assertNamesField(await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 1, scopes: ['all'] }), 'scopes');
        assertNamesField(await admin.patch(`/api/platform/users/${viewerId}`, { platformRole: 'admin', password: 'x' }), 'password');
      });
      assertNamesField(await admin.get('/api/audit?sql=1'), 'sql');
      assert.equal((await admin.get(`/api/platform/users`)).json().find((u: { id: string }) => u.id === viewerId).platformRole, 'user');
    });

    test('wrong types are refused and named', async () => {
      await leavesNoTrace(t, async () => {
        assertNamesField(await admin.post('/api/teams', { name: { first: 'Line' } }), 'name');
        assertNamesField(await admin.patch(`/api/teams/${teamId}`, { requireMfa: 'yes' }), 'requireMfa');
        assertNamesField(await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 1.5 }), 'expiresInDays');
        assertNamesField(await admin.post('/api/account/tokens', { name: 'ci', access: 'root', expiresInDays: 1 }), 'access');
        assertNamesField(await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 1, teamIds: { all: true } }), 'teamIds');
        assertNamesField(await admin.post(`/api/teams/${teamId}/invitations`, { email: 'not-an-email', role: 'viewer' }), 'email');
        assertNamesField(await admin.post(`/api/teams/${teamId}/invitations`, { email: 'new@plant.example', role: 'admin' }), 'role');
        assertNamesField(await admin.patch(`/api/teams/${teamId}`, {}), '(body)');
        // Bodies are JSON: no coercion of numbers, arrays or strings into the declared type.
        assertNamesField(await admin.post('/api/teams', { name: 42 }), 'name');
        assertNamesField(await admin.post('/api/teams', { name: ['Line'] }), 'name');
        assertNamesField(await admin.patch(`/api/teams/${teamId}`, { requireMfa: 'false' }), 'requireMfa');
        assertNamesField(await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: '30' }), 'expiresInDays');
        // Names must show something and hold no control characters (NUL breaks PostgreSQL text).
        assertNamesField(await admin.post('/api/teams', { name: '   ' }), 'name');
        assertNamesField(await admin.post('/api/teams', { name: 'Line\u0000 2' }), 'name');
      });
      assertNamesField(await admin.get('/api/audit?before=99999999999999999999'), 'before');
      assertNamesField(await admin.get('/api/audit?limit=lots'), 'limit');
      assertNamesField(await admin.get('/api/audit?limit=0'), 'limit');
      assertNamesField(await admin.get('/api/audit?from=yesterday'), 'from');
      assertNamesField(await admin.get('/api/audit?event=%27%3B%20drop%20table'), 'event');
    });

    test('overlong strings and ids are refused before they reach a hash or a query', async () => {
      const long = 'x'.repeat(10_000);
      await leavesNoTrace(t, async () => {
        assertNamesField(await admin.post('/api/teams', { name: long }), 'name');
        assertNamesField(await admin.patch(`/api/teams/${teamId}`, { name: long }), 'name');
        assertNamesField(await admin.patch('/api/platform/settings', { loginBanner: long }), 'loginBanner');
        assertNamesField(await admin.post('/api/account/tokens', { name: long, access: 'read', expiresInDays: 1 }), 'name');
        assertNamesField(await admin.post(`/api/teams/${teamId}/invitations`, { email: `${long}@plant.example`, role: 'viewer' }), 'email');
        assertNamesField(await admin.put('/api/account/password', { currentPassword: long, newPassword: long }), 'currentPassword');
        assertNamesField(await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 1, teamIds: Array(101).fill(teamId) }), 'teamIds');
      });
      // Login is public: a huge password must not cost a hash, and is not a failed sign-in either.
      const auditBefore = (await snapshot(t)).counts.audit_events;
      assertNamesField(await new Client(t).post('/api/auth/login', { email: 'admin@plant.example', password: long }), 'password');
      assert.equal((await snapshot(t)).counts.audit_events, auditBefore);
      assertNamesField(await admin.get(`/api/teams/${'a'.repeat(65)}`), 'teamId');
      assertNamesField(await admin.get(`/api/invitations/${'a'.repeat(19)}`), 'token');
      // Past Fastify's maxParamLength (100) a path parameter matches no API route: the web UI's
      // catch-all takes it (404). Without the built UI Fastify refuses it itself (414); both in problem+json.
      const overlong = await admin.get(`/api/invitations/${'a'.repeat(10_000)}`);
      if (overlong.statusCode === 414) assertProblem(overlong, 414, 'URI too long');
      else assertProblem(overlong, 404, 'Not found');
    });

    test('ids that are not ids are refused; well-formed unknown ids answer 404', async () => {
      assertNamesField(await admin.get("/api/teams/1'%20OR%20'1'%3D'1"), 'teamId');
      assertNamesField(await admin.get('/api/teams/..%2F..%2Fetc'), 'teamId');
      await leavesNoTrace(t, async () => {
        assertProblem(await admin.get(`/api/teams/${UNKNOWN_ID}`), 404, 'Not found');
        assertProblem(await admin.patch(`/api/teams/${UNKNOWN_ID}`, { name: 'Ghost' }), 404);
        assertProblem(await admin.delete(`/api/teams/${UNKNOWN_ID}`), 404);
        assertProblem(await admin.patch(`/api/teams/${teamId}/members/${UNKNOWN_ID}`, { role: 'owner' }), 404);
        assertProblem(await admin.delete(`/api/teams/${teamId}/members/${UNKNOWN_ID}`), 404);
        assertProblem(await admin.delete(`/api/teams/${teamId}/invitations/${UNKNOWN_ID}`), 404);
        assertProblem(await admin.patch(`/api/platform/users/${UNKNOWN_ID}`, { status: 'disabled' }), 404);
        assertProblem(await admin.delete(`/api/account/tokens/${UNKNOWN_ID}`), 404);
        assertProblem(await admin.delete(`/api/account/sessions/${UNKNOWN_ID}`), 404);
        assertProblem(await admin.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 1, teamIds: [UNKNOWN_ID] }), 404);
        assertProblem(await admin.get(`/api/invitations/${'u'.repeat(43)}`), 404);
        assertProblem(await new Client(t).post(`/api/invitations/${'u'.repeat(43)}/accept`, { name: 'Eve', password: MEMBER_PASSWORD }), 404);
      });
      // A team of which the caller is no member looks exactly like one that does not exist.
      const other = (await admin.post('/api/teams', { name: 'Line 2' })).json().id as string;
      const hidden = assertProblem(await viewer.get(`/api/teams/${other}`), 404);
      const missing = assertProblem(await viewer.get(`/api/teams/${UNKNOWN_ID}`), 404);
      assert.equal(hidden.detail, missing.detail);
      assertProblem(await admin.get('/api/no-such-route'), 404, 'Not found');
    });

    test('wrong content types are refused', async () => {
      await leavesNoTrace(t, async () => {
        assertProblem(await raw(t, admin, 'POST', '/api/teams', 'name=Line+2', 'application/x-www-form-urlencoded'), 415, 'Unsupported media type');
        assertProblem(await raw(t, admin, 'POST', '/api/teams', '<name>Line 2</name>', 'application/xml'), 415, 'Unsupported media type');
        assertProblem(await raw(t, admin, 'POST', '/api/teams', '{"name":"Line 2"}'), 415, 'Unsupported media type');
        assertProblem(
          await raw(t, admin, 'POST', '/api/teams', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nLine 2\r\n--x--', 'multipart/form-data; boundary=x'),
          415,
        );
        // text/plain has a parser in Fastify, so it is a body that is not an object.
        assertNamesField(await raw(t, admin, 'POST', '/api/teams', '{"name":"Line 2"}', 'text/plain'), '(body)');
      });
    });

    test('an expired, a revoked and a made-up API token are refused with 401', async () => {
      const bot = new Client(t);
      const created = await admin.post('/api/account/tokens', { name: 'short-lived', access: 'write', expiresInDays: 1 });
      assert.equal(created.statusCode, 201, created.body);
      bot.bearer = created.json().token as string;
      assert.equal((await bot.get('/api/teams')).statusCode, 200);

      clock.offsetMs = 2 * DAY_MS;
      try {
        await onlyAudited(t, 2, async () => {
          assertProblem(await bot.get('/api/teams'), 401, 'Not signed in');
          assertProblem(await bot.post('/api/teams', { name: 'By expired token' }), 401);
        });
      } finally {
        clock.offsetMs = 0;
      }
      assert.equal((await bot.get('/api/teams')).statusCode, 200, 'the token works again inside its lifetime');

      assert.equal((await admin.delete(`/api/account/tokens/${created.json().record.id}`)).statusCode, 204);
      await onlyAudited(t, 2, async () => {
        assertProblem(await bot.get('/api/teams'), 401, 'Not signed in');
        assertProblem(await bot.post('/api/teams', { name: 'By revoked token' }), 401);
      });
      for (const made of ['fgt_madeup', 'not-even-the-prefix', `fgt_${'a'.repeat(5000)}`, '']) {
        const r = await t.app.inject({ method: 'GET', url: '/api/teams', headers: { authorization: `Bearer ${made}` } });
        assertProblem(r, 401);
      }
      // A bearer header wins over a session cookie: a bad token is not rescued by the cookie.
      const both = await t.app.inject({ method: 'GET', url: '/api/teams', headers: { authorization: 'Bearer fgt_madeup', cookie: admin.cookie! } });
      assertProblem(both, 401);
    });

    test('a denied write is audited, and its body is not even read', async () => {
      const beforeEvents = (await deniedEvents(admin, viewerId)).length;
      const state = await snapshot(t);
      assertProblem(await viewer.patch('/api/platform/settings', { requireMfa: true }), 403, 'Not allowed');
      assertProblem(await viewer.patch(`/api/teams/${teamId}`, { name: 'x'.repeat(10_000) }), 403);
      assertProblem(await viewer.request('DELETE', `/api/teams/${teamId}`, '{"malformed": '), 403);
      assertProblem(await viewer.post(`/api/teams/${teamId}/invitations`, { email: 'friend@plant.example', role: 'owner' }), 403);
      const after = await snapshot(t);
      assert.deepEqual(after.teams, state.teams);
      assert.deepEqual(after.settings, state.settings);
      assert.deepEqual({ ...after.counts, audit_events: 0 }, { ...state.counts, audit_events: 0 });
      assert.equal(after.counts.audit_events, state.counts.audit_events + 4, 'one audit event per denial, nothing else');
      const events = await deniedEvents(admin, viewerId);
      assert.equal(events.length, beforeEvents + 4);
      const routes = events.map((e) => `${e.method} ${e.route}`);
      for (const expected of ['PATCH /api/platform/settings', 'PATCH /api/teams/:teamId', 'DELETE /api/teams/:teamId', 'POST /api/teams/:teamId/invitations']) {
        assert.ok(routes.includes(expected), `no auth.access.denied event for ${expected}`);
      }
      assert.ok(events.every((e) => e.outcome === 'denied'));
    });

    test('without CSRF header a cookie write is refused and leaves no trace', async () => {
      await leavesNoTrace(t, async () => {
        const r = await t.app.inject({ method: 'POST', url: '/api/teams', headers: { cookie: admin.cookie!, 'content-type': 'application/json' }, payload: '{"name":"Line 3"}' });
        assertProblem(r, 403);
      });
    });
  });

  describe(`body limit on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_BODY_LIMIT_BYTES: '2048' });
      admin = await setupAdmin(t);
    });
    after(() => t.close());

    test('a body over FLOWGATE_BODY_LIMIT_BYTES is refused with 413 and nothing is written', async () => {
      const big = { name: 'x'.repeat(10 * 1024) };
      await leavesNoTrace(t, async () => {
        assertProblem(await admin.post('/api/teams', big), 413, 'Body too large');
        assertProblem(await admin.request('POST', '/api/teams', `{"name": "${'x'.repeat(10 * 1024)}`), 413, 'Body too large');
        // Authentication comes first: an anonymous caller learns nothing about the body limit.
        assertProblem(await new Client(t).post('/api/teams', big), 401);
        assertProblem(await new Client(t).post('/api/auth/login', { email: 'admin@plant.example', password: 'x'.repeat(10 * 1024) }), 413);
      });
      assert.equal((await admin.post('/api/teams', { name: 'Fits' })).statusCode, 201, 'a body under the limit is accepted');
    });
  });
}

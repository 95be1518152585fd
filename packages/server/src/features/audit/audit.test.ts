import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { SYSTEM_CONTEXT } from '../../context.ts';
import { Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

const run = promisify(execFile);
const CLI = new URL('../../../bin/flowgate.js', import.meta.url).pathname;

async function cliVerify(t: TestApp): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, FLOWGATE_DATABASE_URL: t.db.url, FLOWGATE_DATA_DIR: t.db.dataDir, PGOPTIONS: t.db.schema ? `-c search_path=${t.db.schema}` : '' };
  try {
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify'], { env });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

/** Tampering needs the append-only triggers out of the way, as a DBA with full rights could do. */
async function withoutTriggers(t: TestApp, change: string): Promise<void> {
  const db = t.db.database.db;
  if (t.db.database.dialect === 'sqlite') {
    await sql.raw('DROP TRIGGER audit_events_no_update').execute(db);
    await sql.raw('DROP TRIGGER audit_events_no_delete').execute(db);
  } else {
    await sql.raw('ALTER TABLE audit_events DISABLE TRIGGER USER').execute(db);
  }
  await sql.raw(change).execute(db);
}

for (const dialect of DIALECTS) {
  describe(`audit log on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_AUDIT_CHECKPOINT_EVERY: '5' });
      admin = await setupAdmin(t);
      for (let i = 0; i < 6; i++) await admin.post('/api/teams', { name: `Team ${i}` });
      await t.context.checkpointer.checkpoint();
    });
    after(() => t.close());

    test('the database refuses UPDATE and DELETE on audit events', async () => {
      const db = t.db.database.db;
      await assert.rejects(sql.raw(`UPDATE audit_events SET event = 'x' WHERE seq = 1`).execute(db), /append-only/);
      await assert.rejects(sql.raw('DELETE FROM audit_events WHERE seq = 1').execute(db), /append-only/);
      await assert.rejects(sql.raw('DELETE FROM audit_checkpoints').execute(db), /append-only/);
    });

    test('every change carries who, what, where and when; events chain', async () => {
      const { events } = (await admin.get('/api/audit?event=team.created')).json();
      assert.equal(events.length, 6);
      const e = events[0];
      assert.equal(e.actorType, 'user');
      assert.equal(e.actorLabel, 'admin@plant.example');
      assert.equal(e.outcome, 'success');
      assert.equal(e.userAgent, 'flowgate-test');
      assert.ok(e.ip);
      assert.match(e.occurredAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(e.targetType, 'team');
      const all = (await admin.get('/api/audit?limit=1000')).json().events as Array<{ seq: number; hash: string; prevHash: string }>;
      for (let i = 0; i < all.length - 1; i++) assert.equal(all[i]!.prevHash, all[i + 1]!.hash);
    });

    test('paging walks back with nextBefore and filters by team', async () => {
      const first = (await admin.get('/api/audit?limit=3')).json();
      assert.equal(first.events.length, 3);
      const second = (await admin.get(`/api/audit?limit=3&before=${first.nextBefore}`)).json();
      assert.ok(second.events[0].seq < first.events[2].seq);
      const teamId = (await admin.get('/api/teams')).json()[0].id;
      const teamEvents = (await admin.get(`/api/teams/${teamId}/audit`)).json().events as Array<{ teamId: string }>;
      assert.ok(teamEvents.length >= 1 && teamEvents.every((e) => e.teamId === teamId));
    });

    test('export streams JSON Lines and CSV, and is itself audited', async () => {
      const jsonl = await admin.get('/api/audit/export?format=jsonl&event=team.created');
      assert.equal(jsonl.statusCode, 200);
      assert.match(String(jsonl.headers['content-disposition']), /attachment; filename="flowgate-audit-.*\.jsonl"/);
      const lines = jsonl.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 6);
      assert.ok(lines.every((l) => l.event === 'team.created'));
      const csv = await admin.get('/api/audit/export?format=csv');
      assert.match(csv.body.split('\r\n')[0]!, /^seq,occurredAt,actorType/);
      const exported = (await admin.get('/api/audit?event=audit.exported')).json().events;
      assert.equal(exported.length, 2);
    });

    test('signed checkpoints are written as the log grows', async () => {
      const rows = await t.db.database.db.selectFrom('audit_checkpoints').selectAll().execute();
      assert.ok(rows.length >= 1);
      const verify = (await admin.get('/api/audit/verify')).json();
      assert.equal(verify.ok, true);
      assert.ok(verify.checkpoints >= 1);
    });

    test('flowgate audit verify passes on an intact log', async () => {
      const result = await cliVerify(t);
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /audit log intact: \d+ events/);
    });

    test('batched ingestion chains many events in one transaction', async () => {
      const before = (await t.context.auditStore.head()).seq;
      await t.context.auditLog.recordMany(
        SYSTEM_CONTEXT,
        Array.from({ length: 1200 }, (_, i) => ({ event: 'team.updated' as const, details: { i } })),
      );
      assert.equal((await t.context.auditStore.head()).seq, before + 1200);
      assert.equal((await admin.get('/api/audit/verify')).json().ok, true);
    });

    test('an altered event is named by verify, and the CLI exits non-zero', async () => {
      await withoutTriggers(t, `UPDATE audit_events SET actor_label = 'mallory@plant.example' WHERE seq = 3`);
      const result = await cliVerify(t);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /first bad event 3: event 3 was altered/);
      const api = (await admin.get('/api/audit/verify')).json();
      assert.equal(api.ok, false);
      assert.equal(api.problem.seq, 3);
    });
  });

  describe(`audit tampering detection on ${dialect}`, () => {
    const cases: Array<[string, string, RegExp]> = [
      ['a removed event', 'DELETE FROM audit_events WHERE seq = 4', /first bad event 4: event 4 is missing/],
      ['reordered events', `UPDATE audit_events SET occurred_at = (SELECT occurred_at FROM audit_events WHERE seq = 2) WHERE seq = 5`, /first bad event 5/],
      ['a cut tail', 'DELETE FROM audit_events WHERE seq > 6', /events after 6 were removed/],
    ];
    for (const [name, change, expected] of cases) {
      test(`${name} is detected`, async () => {
        const t = await startTestApp(dialect, { FLOWGATE_AUDIT_CHECKPOINT_EVERY: '5' });
        try {
          const admin = await setupAdmin(t);
          for (let i = 0; i < 8; i++) await admin.post('/api/teams', { name: `Team ${i}` });
          await t.context.checkpointer.checkpoint();
          assert.equal((await cliVerify(t)).code, 0);
          await withoutTriggers(t, change);
          const result = await cliVerify(t);
          assert.equal(result.code, 1, result.stdout);
          assert.match(result.stdout, expected);
        } finally {
          await t.close();
        }
      });
    }
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { SYSTEM_CONTEXT } from '../../context.ts';
import { DIALECTS, startTestApp, type TestApp } from '../../../test/harness.ts';
import { verifyAuditLog } from './audit.verify.ts';

const EVENTS = 3_000;
/** Workers for a log this small (they start from 50,000 events by default). */
const PARALLEL = { threads: 3, parallelFrom: 100 };

/**
 * The parallel verification must give exactly what one pass from the first event gives:
 * the same count when intact, and the same first bad event when not, wherever in the
 * log it lies (in the first worker's range, a middle one, or the last).
 */
for (const dialect of DIALECTS) {
  describe(`parallel audit verification on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect, { FLOWGATE_AUDIT_CHECKPOINT_EVERY: '250' });
      await t.context.auditLog.recordMany(
        SYSTEM_CONTEXT,
        // Text that JSON escapes in ways worth checking: quotes, backslashes, control characters, non-Latin script.
        Array.from({ length: EVENTS }, (_, i) => ({ event: 'team.updated' as const, details: { i, name: `Line "${i}" \\ Zoë\n\t\u0001 ☃ 🔐` } })),
      );
      await t.context.checkpointer.checkpoint();
    });
    after(() => t.close());

    test('an intact log: worker threads count every event, as one thread does', async () => {
      const single = await verifyAuditLog(t.db.database, t.context.auditStore, () => {}, { threads: 0 });
      const parallel = await verifyAuditLog(t.db.database, t.context.auditStore, () => {}, PARALLEL);
      assert.equal(single.ok, true, JSON.stringify(single.problem));
      assert.deepEqual({ ...parallel, checkedByWorkers: 0 }, single);
      // Every event was there when the workers started: they checked them all.
      assert.equal(parallel.checkedByWorkers, parallel.events);
      assert.ok(parallel.events >= EVENTS);
      assert.ok(parallel.checkpoints >= 1);
    });

    test('an altered event in any worker range is named, as one thread names it', async () => {
      const db = t.db.database.db;
      if (dialect === 'sqlite') await sql.raw('DROP TRIGGER audit_events_no_update').execute(db);
      else await sql.raw('ALTER TABLE audit_events DISABLE TRIGGER USER').execute(db);
      // The last one first: each later check must still find the earliest.
      for (const seq of [2_900, 1_500, 40]) {
        await sql.raw(`UPDATE audit_events SET actor_label = 'mallory' WHERE seq = ${seq}`).execute(db);
        const single = await verifyAuditLog(t.db.database, t.context.auditStore, () => {}, { threads: 0 });
        const parallel = await verifyAuditLog(t.db.database, t.context.auditStore, () => {}, PARALLEL);
        assert.equal(parallel.ok, false);
        assert.equal(parallel.problem?.seq, seq);
        assert.match(parallel.problem!.reason, new RegExp(`event ${seq} was altered`));
        assert.deepEqual({ ...parallel, checkedByWorkers: 0 }, single);
        // The workers vouch for the ranges before the altered one, no further.
        assert.ok(parallel.checkedByWorkers < seq);
      }
    });
  });
}

/**
 * A lone event (auditLog.record) goes in as one statement of its own. It must never
 * become part of a transaction that is open at the time, nor a page show an event that
 * is not committed yet.
 */
for (const dialect of DIALECTS) {
  describe(`lone events beside an open transaction on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect);
      await t.context.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', details: { step: 'first' } });
    });
    after(() => t.close());

    test('a lone event written while a change is open survives its rollback; a page never shows the rolled-back event', async () => {
      const { auditLog, auditStore } = t.context;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let recorded!: () => void;
      const inside = new Promise<void>((resolve) => (recorded = resolve));
      const change = auditLog
        .transaction(SYSTEM_CONTEXT, async (tx) => {
          await tx.record({ event: 'team.updated', details: { step: 'rolled back' } });
          recorded();
          await gate;
          throw new Error('the change fails');
        })
        .then(
          () => 'committed',
          (e: Error) => e.message,
        );
      await inside;
      const lone = auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', details: { step: 'lone' } });
      const page = auditStore.page({}, null, 100);
      release();
      assert.equal(await change, 'the change fails');
      await lone;
      const shown = (await page).map((e) => JSON.parse(e.details).step as string);
      assert.equal(shown.includes('rolled back'), false, 'a page shows no uncommitted event');
      const steps = (await auditStore.page({}, null, 100)).map((e) => JSON.parse(e.details).step as string);
      assert.deepEqual(steps, ['lone', 'first']);
      const verified = await verifyAuditLog(t.db.database, auditStore, () => {}, { threads: 0 });
      assert.equal(verified.ok, true, JSON.stringify(verified.problem));
    });
  });
}

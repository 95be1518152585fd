/**
 * Chain integrity under concurrent appends on PostgreSQL: 8 writers for 2 s, spread over
 * two stores on two connection pools (as two server processes would be), each appending
 * through the audit log as the server does. Most appends are single audited changes;
 * every 10th is a batch of 10 (recordMany), and every 10th is a change whose transaction
 * rolls back after its event was appended (so a store's remembered head can vanish).
 * Afterwards the chain must verify, hold exactly the committed events, and no append may
 * have failed.
 *
 *   node --import tsx bench/audit-concurrency.ts [seconds]
 */
import { createAlerts } from '../packages/server/src/alerts.ts';
import { systemClock } from '../packages/server/src/context.ts';
import { openDatabase } from '../packages/server/src/db/database.ts';
import { createAuditLog, type AuditEventInput } from '../packages/server/src/features/audit/audit.service.ts';
import { createAuditStore } from '../packages/server/src/features/audit/audit.store.ts';
import { verifyAuditLog } from '../packages/server/src/features/audit/audit.verify.ts';
import { createTestDatabase, POSTGRES_URL } from '../packages/server/test/harness.ts';
import { fmt, line, machineNote, syntheticInput, withCleanup } from './lib.ts';

const WRITERS = 8;
const SECONDS = process.argv[2] ? Number(process.argv[2]) : 2;

class Rollback extends Error {}

line(`audit-concurrency: ${machineNote()}`);
const t = await createTestDatabase('postgres');
const second = await openDatabase(POSTGRES_URL, { schema: t.schema! });
let failed = false;
await withCleanup(
  async () => {
    await second.close().catch(() => {});
    await t.drop();
  },
  async () => {
    const logs = [t.database, second].map((database) => {
      const store = createAuditStore(database);
      return { store, log: createAuditLog({ database, store, clock: systemClock, alerts: createAlerts() }) };
    });

    let committed = 0;
    let rolledBack = 0;
    let transactions = 0;
    const errors = new Map<string, number>();
    let next = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();

    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const { log } = logs[w % logs.length]!;
        for (let i = 0; performance.now() < deadline; i++) {
          const n = next++;
          const { ctx, ...input } = syntheticInput(n);
          const event: AuditEventInput = input;
          try {
            if (i % 10 === 3) {
              const batch: AuditEventInput[] = Array.from({ length: 10 }, (_, k) => syntheticInput(n * 10 + k));
              await log.recordMany(ctx, batch);
              committed += batch.length;
            } else if (i % 10 === 7) {
              await log
                .transaction(ctx, async (tx) => {
                  await tx.record(event);
                  throw new Rollback();
                })
                .catch((error: unknown) => {
                  if (!(error instanceof Rollback)) throw error;
                });
              rolledBack += 1;
            } else {
              await log.record(ctx, event);
              committed += 1;
            }
            transactions += 1;
          } catch (error) {
            const message = String((error as Error).cause ?? (error as Error).message);
            errors.set(message, (errors.get(message) ?? 0) + 1);
          }
        }
      }),
    );
    const ms = performance.now() - started;

    const result = await verifyAuditLog(t.database, logs[0]!.store);
    const stored = await logs[0]!.store.count();
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    failed = !result.ok || stored !== committed || result.events !== committed || errorCount > 0;
    line(
      `audit-concurrency postgres: ${WRITERS} writers on 2 pools for ${(ms / 1000).toFixed(1)} s: ${fmt(transactions)} transactions ` +
        `(${fmt(committed)} events committed, ${fmt(rolledBack)} rolled back on purpose), ${fmt((committed * 1000) / ms)} events/s, ${fmt(errorCount)} failed appends`,
    );
    for (const [message, count] of errors) line(`  ${count} x ${message}`);
    line(
      `audit-concurrency postgres check: ${result.ok ? 'chain intact' : `chain BROKEN: ${JSON.stringify(result.problem)}`}, ` +
        `${fmt(result.events)} events verified, ${fmt(stored)} stored, ${fmt(committed)} committed — ${failed ? 'FAILED' : 'OK'}`,
    );
  },
);
if (failed) process.exitCode = 1;

/**
 * Audit append throughput with the hash chain on.
 *   single: one audited change per transaction, through auditLog.record(ctx, event)
 *   batch:  batched ingestion through auditLog.recordMany, 500 events a transaction
 * On SQLite (synchronous=FULL, WAL, as openDatabase sets) next to a bare single-row
 * insert done with better-sqlite3 directly, and the same on PostgreSQL.
 *
 *   node --import tsx bench/audit-append.ts [sqlite|postgres]
 */
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { GENESIS_HASH, type AuditRecord } from '@flowgate/core';
import { createAlerts } from '../packages/server/src/alerts.ts';
import { systemClock } from '../packages/server/src/context.ts';
import type { Dialect } from '../packages/server/src/db/database.ts';
import { createAuditLog, type AuditEventInput } from '../packages/server/src/features/audit/audit.service.ts';
import { createAuditStore } from '../packages/server/src/features/audit/audit.store.ts';
import { verifyAuditLog } from '../packages/server/src/features/audit/audit.verify.ts';
import { createTestDatabase, POSTGRES_URL, type TestDatabase } from '../packages/server/test/harness.ts';
import { chainBatches, fmt, line, machineNote, percentile, perSecond, syntheticInput, withCleanup } from './lib.ts';

const SINGLE_EVENTS = 5000; // measured in ROUNDS rounds, alternating with the bare insert
const ROUNDS = 5;
const BATCH_SIZE = 500;
const BATCHES = 100; // 50,000 events
const WARMUP = 100;
const PHASE_LIMIT_MS = 30_000; // a phase stops early (and says so) past this

const TARGET_SINGLE = 1500;
const TARGET_BATCH = 20_000;

const verdict = (rate: number, target: number) => `target >= ${fmt(target)}/s: ${rate >= target ? 'MET' : 'MISSED'}`;

function event(i: number): { ctx: ReturnType<typeof syntheticInput>['ctx']; input: AuditEventInput } {
  const { ctx, ...input } = syntheticInput(i);
  return { ctx, input };
}

interface Bare {
  /** Inserts one prepared row, in its own (autocommit) transaction. */
  insert(row: AuditRecord): Promise<void>;
  label: string;
  close(): Promise<void>;
}

const COLUMNS = [
  'seq',
  'occurred_at',
  'actor_type',
  'actor_id',
  'actor_label',
  'event',
  'outcome',
  'target_type',
  'target_id',
  'team_id',
  'ip',
  'user_agent',
  'details',
  'prev_hash',
  'hash',
];
const values = (r: AuditRecord) => [
  r.seq,
  r.occurredAt,
  r.actorType,
  r.actorId,
  r.actorLabel,
  r.event,
  r.outcome,
  r.targetType,
  r.targetId,
  r.teamId,
  r.ip,
  r.userAgent,
  r.details,
  r.prevHash,
  r.hash,
];

async function openBare(t: TestDatabase): Promise<Bare> {
  if (t.database.dialect === 'sqlite') {
    const sqlite = new BetterSqlite3(t.url.replace(/^sqlite:/, ''));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    const stmt = sqlite.prepare(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
    return {
      label: 'better-sqlite3 prepared INSERT, autocommit, synchronous=FULL',
      insert: async (r) => void stmt.run(...values(r)),
      close: async () => void sqlite.close(),
    };
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${t.schema}` });
  await client.connect();
  const text = `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
  return {
    label: 'pg client, named prepared INSERT, autocommit',
    insert: async (r) => void (await client.query({ name: 'bare-insert', text, values: values(r) })),
    close: () => client.end(),
  };
}

async function bench(dialect: Dialect): Promise<void> {
  const chained = await createTestDatabase(dialect);
  const bareDb = await createTestDatabase(dialect);
  await withCleanup(
    async () => {
      await chained.drop().catch(() => {});
      await bareDb.drop().catch(() => {});
    },
    async () => {
      const store = createAuditStore(chained.database);
      const auditLog = createAuditLog({ database: chained.database, store, clock: systemClock, alerts: createAlerts() });
      const bare = await openBare(bareDb);
      try {
        // Rows for the bare insert are built (and hashed) before timing: it measures the write alone.
        const bareRows = [...chainBatches(0, GENESIS_HASH, WARMUP + SINGLE_EVENTS, WARMUP + SINGLE_EVENTS)][0]!;
        let next = 0;
        for (; next < WARMUP; next++) {
          await bare.insert(bareRows[next]!);
          const { ctx, input } = event(next);
          await auditLog.record(ctx, input);
        }

        // Alternate the two in rounds so that drift in the machine's load hits both alike.
        let bareMs = 0;
        let bareCount = 0;
        let singleMs = 0;
        let singleCount = 0;
        const latencies: number[] = [];
        const perRound = SINGLE_EVENTS / ROUNDS;
        const deadline = performance.now() + PHASE_LIMIT_MS;
        for (let round = 0; round < ROUNDS && performance.now() < deadline; round++) {
          let t0 = performance.now();
          for (let k = 0; k < perRound; k++) await bare.insert(bareRows[WARMUP + bareCount + k]!);
          bareMs += performance.now() - t0;
          bareCount += perRound;

          t0 = performance.now();
          for (let k = 0; k < perRound; k++) {
            const { ctx, input } = event(next++);
            const s = performance.now();
            await auditLog.record(ctx, input);
            latencies.push(performance.now() - s);
          }
          singleMs += performance.now() - t0;
          singleCount += perRound;
        }
        latencies.sort((a, b) => a - b);
        const bareRate = (bareCount * 1000) / bareMs;
        const singleRate = (singleCount * 1000) / singleMs;
        const stopped = singleCount < SINGLE_EVENTS ? ` [stopped early at the ${PHASE_LIMIT_MS / 1000} s limit]` : '';
        line(
          `audit-append ${dialect} bare insert: ${perSecond(bareCount, bareMs)} rows/s (${fmt(bareCount)} single-row inserts into audit_events, ${bare.label}, no chain)${stopped}`,
        );
        line(
          `audit-append ${dialect} single: ${perSecond(singleCount, singleMs)} events/s (${fmt(singleCount)} audited changes via auditLog.record, 1 transaction each` +
            `${dialect === 'sqlite' ? ', synchronous=FULL' : ', one autocommit statement each: advisory lock, head check, insert'}; p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms; ` +
            `${fmt((singleRate / bareRate) * 100)}% of bare insert) — ${verdict(singleRate, TARGET_SINGLE)}${stopped}`,
        );

        // Batched ingestion: inputs built before timing, as a caller would hand them over.
        const batches: Array<{ ctx: ReturnType<typeof syntheticInput>['ctx']; inputs: AuditEventInput[] }> = [];
        for (let b = 0; b < BATCHES + 2; b++) {
          const inputs: AuditEventInput[] = [];
          for (let k = 0; k < BATCH_SIZE; k++) inputs.push(event(next++).input);
          batches.push({ ctx: event(b).ctx, inputs });
        }
        for (const b of batches.slice(0, 2)) await auditLog.recordMany(b.ctx, b.inputs); // warm-up
        let batchCount = 0;
        const batchDeadline = performance.now() + PHASE_LIMIT_MS;
        const t0 = performance.now();
        for (const b of batches.slice(2)) {
          if (performance.now() > batchDeadline) break;
          await auditLog.recordMany(b.ctx, b.inputs);
          batchCount += b.inputs.length;
        }
        const batchMs = performance.now() - t0;
        const batchRate = (batchCount * 1000) / batchMs;
        const batchStopped = batchCount < BATCHES * BATCH_SIZE ? ` [stopped early at the ${PHASE_LIMIT_MS / 1000} s limit]` : '';
        line(
          `audit-append ${dialect} batch: ${perSecond(batchCount, batchMs)} events/s (${fmt(batchCount)} events via auditLog.recordMany, ${fmt(batchCount / BATCH_SIZE)} batches of ${BATCH_SIZE}, 1 transaction each` +
            `${dialect === 'sqlite' ? ', synchronous=FULL' : ''}) — ${verdict(batchRate, TARGET_BATCH)}${batchStopped}`,
        );

        // The chain the benchmark wrote must be valid, or the figures mean nothing.
        const check = await verifyAuditLog(chained.database, store);
        if (!check.ok) throw new Error(`the chain written by the benchmark does not verify: ${JSON.stringify(check.problem)}`);
        line(`audit-append ${dialect} check: chain of ${fmt(check.events)} events verifies`);
      } finally {
        await bare.close();
      }
    },
  );
}

const only = process.argv[2] as Dialect | undefined;
line(`audit-append: ${machineNote()}`);
for (const dialect of ['sqlite', 'postgres'] as const) {
  if (only && only !== dialect) continue;
  await bench(dialect);
}

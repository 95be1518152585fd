import { sql, type SelectQueryBuilder, type Transaction } from 'kysely';
import { GENESIS_HASH, hashAuditRecord, type AuditRecord, type UnhashedAuditRecord } from '@flowgate/core';
import type { Database, Db, Dialect } from '../../db/database.ts';
import type { AuditEventsTable, Schema } from '../../db/schema.ts';

export type AuditInput = Omit<UnhashedAuditRecord, 'seq' | 'prevHash'>;

export interface AuditFilter {
  from?: string | undefined;
  to?: string | undefined;
  actorId?: string | undefined;
  event?: string | undefined;
  teamId?: string | undefined;
  outcome?: string | undefined;
}

// An arbitrary constant: the advisory lock that serialises appends to the chain on PostgreSQL.
const CHAIN_LOCK_KEY = 6244_3302;

export function toRecord(row: AuditEventsTable): AuditRecord {
  return {
    seq: Number(row.seq),
    occurredAt: row.occurred_at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    actorLabel: row.actor_label,
    event: row.event,
    outcome: row.outcome,
    targetType: row.target_type,
    targetId: row.target_id,
    teamId: row.team_id,
    ip: row.ip,
    userAgent: row.user_agent,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The audit_events columns under their AuditRecord names, in toRecord's order (export writes records as they are). */
const RECORD_COLUMNS = [
  'seq',
  'occurred_at as occurredAt',
  'actor_type as actorType',
  'actor_id as actorId',
  'actor_label as actorLabel',
  'event',
  'outcome',
  'target_type as targetType',
  'target_id as targetId',
  'team_id as teamId',
  'ip',
  'user_agent as userAgent',
  'details',
  'prev_hash as prevHash',
  'hash',
] as const;

function toRow(r: AuditRecord): AuditEventsTable {
  return {
    seq: r.seq,
    occurred_at: r.occurredAt,
    actor_type: r.actorType,
    actor_id: r.actorId,
    actor_label: r.actorLabel,
    event: r.event,
    outcome: r.outcome,
    target_type: r.targetType,
    target_id: r.targetId,
    team_id: r.teamId,
    ip: r.ip,
    user_agent: r.userAgent,
    details: r.details,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

export function createAuditStore(database: Pick<Database, 'db' | 'dialect'>) {
  const { db, dialect } = database;

  async function lockChain(trx: Transaction<Schema>, d: Dialect): Promise<void> {
    // SQLite runs one write transaction at a time already; PostgreSQL needs the lock so
    // that two concurrent transactions never chain onto the same predecessor.
    if (d === 'postgres') await sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`.execute(trx);
  }

  async function head(executor: Db | Transaction<Schema>): Promise<{ seq: number; hash: string }> {
    const row = await executor.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  return {
    head: () => head(db),

    /** Appends events inside the caller's transaction, chained onto the current head. */
    async append(trx: Transaction<Schema>, inputs: readonly AuditInput[]): Promise<AuditRecord[]> {
      await lockChain(trx, dialect);
      let prev = await head(trx);
      const records: AuditRecord[] = [];
      for (const input of inputs) {
        const unhashed: UnhashedAuditRecord = { ...input, seq: prev.seq + 1, prevHash: prev.hash };
        const record = { ...unhashed, hash: hashAuditRecord(unhashed) };
        records.push(record);
        prev = { seq: record.seq, hash: record.hash };
      }
      // Chunked so one huge batch stays under both dialects' bound-parameter limits.
      for (let i = 0; i < records.length; i += 500) {
        await trx.insertInto('audit_events').values(records.slice(i, i + 500).map(toRow)).execute();
      }
      return records;
    },

    /** Newest first, keyset-paged by seq. */
    async page(filter: AuditFilter, beforeSeq: number | null, limit: number): Promise<AuditRecord[]> {
      let q = db.selectFrom('audit_events').selectAll();
      q = applyFilter(q, filter);
      if (beforeSeq !== null) q = q.where('seq', '<', beforeSeq);
      const rows = await q.orderBy('seq', 'desc').limit(limit).execute();
      return rows.map(toRecord);
    },

    /**
     * Oldest first from afterSeq, in batches, for export, verification and forwarding.
     * The columns are selected under their record names, so the rows are the records:
     * no second object per event, which is most of verification's garbage at a million rows.
     */
    async *iterate(filter: AuditFilter, afterSeq = 0, batchSize = 5000): AsyncGenerator<AuditRecord[]> {
      let cursor = afterSeq;
      for (;;) {
        const q = applyFilter(db.selectFrom('audit_events').select(RECORD_COLUMNS), filter);
        const records: AuditRecord[] = await q.where('seq', '>', cursor).orderBy('seq', 'asc').limit(batchSize).execute();
        if (records.length === 0) return;
        // As toRecord does: seq is a number whatever the driver returned.
        for (const r of records) if (typeof r.seq !== 'number') r.seq = Number(r.seq);
        yield records;
        cursor = records[records.length - 1]!.seq;
        if (records.length < batchSize) return;
      }
    },

    async count(): Promise<number> {
      const row = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

function applyFilter<O>(q: SelectQueryBuilder<Schema, 'audit_events', O>, f: AuditFilter): SelectQueryBuilder<Schema, 'audit_events', O> {
  if (f.from) q = q.where('occurred_at', '>=', f.from);
  if (f.to) q = q.where('occurred_at', '<', f.to);
  if (f.actorId) q = q.where('actor_id', '=', f.actorId);
  if (f.event) q = f.event.endsWith('*') ? q.where('event', 'like', f.event.slice(0, -1) + '%') : q.where('event', '=', f.event);
  if (f.teamId) q = q.where('team_id', '=', f.teamId);
  if (f.outcome) q = q.where('outcome', '=', f.outcome as AuditRecord['outcome']);
  return q;
}

export type AuditStore = ReturnType<typeof createAuditStore>;

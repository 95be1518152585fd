import { CompiledQuery, sql, type SelectQueryBuilder, type Transaction } from 'kysely';
import { GENESIS_HASH, hashAuditRecord, type AuditRecord, type AuditRow, type UnhashedAuditRecord } from '@flowgate/core';
import { AUDIT_ROW_COLUMNS, type Database, type Dialect, type Executor } from '../../db/database.ts';
import type { AuditEventsTable, Schema } from '../../db/schema.ts';

export type AuditInput = Omit<UnhashedAuditRecord, 'seq' | 'prevHash'>;

export interface AuditFilter {
  from?: string | undefined;
  to?: string | undefined;
  actorId?: string | undefined;
  event?: string | undefined;
  teamId?: string | undefined;
  outcome?: string | undefined;
  /** The events about one thing: a SuC's history. */
  target?: { type: string; id: string } | undefined;
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

/** An AuditRow as an AuditRecord (the same fields, the record's order). */
export function rowToRecord(r: AuditRow): AuditRecord {
  return {
    seq: r[0],
    occurredAt: r[2],
    actorType: r[3],
    actorId: r[4],
    actorLabel: r[5],
    event: r[6],
    outcome: r[7],
    targetType: r[8],
    targetId: r[9],
    teamId: r[10],
    ip: r[11],
    userAgent: r[12],
    details: r[13],
    prevHash: r[1],
    hash: r[14],
  };
}

/** The audit_events columns in AuditRow order, for the query builder. */
const ROW_COLUMNS = AUDIT_ROW_COLUMNS.split(', ') as Array<keyof AuditEventsTable>;

/**
 * PostgreSQL, one event chained onto a head already known, in one statement: takes the
 * chain lock and inserts only if that head is still the head (see appendOnto).
 */
const INSERT_ONTO_SQL = `insert into audit_events (${AUDIT_ROW_COLUMNS})
select $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::text, $12::text, $13::text, $14::text, $15::text
from (select pg_advisory_xact_lock($16::bigint)) as chain_lock
where exists (
  select 1 from (select seq, hash from audit_events order by seq desc limit 1) as head
  where head.seq = $17::bigint and head.hash = $2::text
)
on conflict (seq) do nothing
returning seq`;

/**
 * SQLite, the same as INSERT_ONTO_SQL: one event onto a known head, in one autocommit
 * statement. No lock is needed: SQLite has one writer, and a statement whose read of the
 * head went stale before it could write fails (SQLITE_BUSY_SNAPSHOT) instead of writing.
 */
const INSERT_ONTO_SQLITE = `insert into audit_events (${AUDIT_ROW_COLUMNS})
select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
where exists (
  select 1 from (select seq, hash from audit_events order by seq desc limit 1) as head
  where head.seq = ? and head.hash = ?
)
returning seq`;

/** A record's values in AUDIT_ROW_COLUMNS order. */
function rowValues(r: AuditRecord): unknown[] {
  return [r.seq, r.prevHash, r.occurredAt, r.actorType, r.actorId, r.actorLabel, r.event, r.outcome, r.targetType, r.targetId, r.teamId, r.ip, r.userAgent, r.details, r.hash];
}

/** PostgreSQL, a batch in one statement: each parameter an array of one column's values, in AUDIT_ROW_COLUMNS order. */
const INSERT_UNNEST_SQL = `insert into audit_events (${AUDIT_ROW_COLUMNS}) select * from unnest($1::bigint[], ${Array.from({ length: 14 }, (_, i) => `$${i + 2}::text[]`).join(', ')})`;

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

export function createAuditStore(database: Pick<Database, 'db' | 'dialect' | 'selectRows'>) {
  const { db, dialect } = database;
  /** The last event this store appended: the head a lone event is first tried onto. */
  let lastAppended: { seq: number; hash: string } | null = null;

  async function lockChain(trx: Transaction<Schema>, d: Dialect): Promise<void> {
    // SQLite runs one write transaction at a time already; PostgreSQL needs the lock so
    // that two concurrent transactions never chain onto the same predecessor.
    if (d === 'postgres') await sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`.execute(trx);
  }

  async function head(executor: Executor): Promise<{ seq: number; hash: string }> {
    const row = await executor.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  function chain(prev: { seq: number; hash: string }, inputs: readonly AuditInput[]): AuditRecord[] {
    const records: AuditRecord[] = [];
    for (const input of inputs) {
      const unhashed: UnhashedAuditRecord = { ...input, seq: prev.seq + 1, prevHash: prev.hash };
      const record = { ...unhashed, hash: hashAuditRecord(unhashed) };
      records.push(record);
      prev = { seq: record.seq, hash: record.hash };
    }
    return records;
  }

  /**
   * One event, one round trip: on PostgreSQL the lock, the check and the insert in a single
   * statement (on SQLite INSERT_ONTO_SQLITE, the check and the insert),
   * chained onto `prev`, the head this store last appended. Returns null, having
   * inserted nothing, unless `prev` is still the head when the event goes in:
   *  - the head the statement sees must be `prev`, with its hash (it is not when another
   *    writer appended since, or when the transaction that appended `prev` rolled back);
   *  - and no event may have been committed while the statement waited for the lock. Its
   *    snapshot predates the lock, so the check above cannot see such an event; but that
   *    event holds the next seq, and ON CONFLICT (seq) DO NOTHING turns the insert into
   *    nothing instead of a duplicate-key error.
   * One event only: of a batch, part could go in. (Taking the lock and reading the head
   * in one statement is not enough either: the read uses the snapshot from before the
   * wait, and chains onto a stale head.)
   * With no transaction (trx null), the statement is its own, prepared once.
   */
  async function appendOnto(trx: Transaction<Schema> | null, prev: { seq: number; hash: string }, input: AuditInput): Promise<AuditRecord | null> {
    const record = chain(prev, [input])[0]!;
    const values = rowValues(record);
    const query =
      dialect === 'postgres' ? CompiledQuery.raw(INSERT_ONTO_SQL, [...values, CHAIN_LOCK_KEY, prev.seq]) : CompiledQuery.raw(INSERT_ONTO_SQLITE, [...values, prev.seq, prev.hash]);
    const inserted = trx ? (await trx.executeQuery(query)).rows.length : (await database.selectRows(query)).length;
    return inserted === 1 ? record : null;
  }

  async function pageRows(filter: AuditFilter, beforeSeq: number | null, limit: number): Promise<AuditRow[]> {
    let q = applyFilter(db.selectFrom('audit_events').select(ROW_COLUMNS), filter);
    if (beforeSeq !== null) q = q.where('seq', '<', beforeSeq);
    return database.selectRows<AuditRow>(q.orderBy('seq', 'desc').limit(limit).compile());
  }

  return {
    head: () => head(db),

    /**
     * One event with no change of its own, as one autocommit statement chained onto the
     * head this store last appended: a single round trip and a single commit. Null, having
     * written nothing, when that head is unknown or no longer the head: then append it in
     * a transaction instead.
     */
    async appendAlone(input: AuditInput): Promise<AuditRecord | null> {
      if (!lastAppended) return null;
      let record: AuditRecord | null;
      try {
        record = await appendOnto(null, lastAppended, input);
      } catch {
        // A stale read on SQLite, or a failure the transaction path will meet and report.
        return null;
      }
      if (record) lastAppended = { seq: record.seq, hash: record.hash };
      return record;
    },

    /** Appends events inside the caller's transaction, chained onto the current head. */
    async append(trx: Transaction<Schema>, inputs: readonly AuditInput[]): Promise<AuditRecord[]> {
      if (dialect === 'postgres' && inputs.length === 1 && lastAppended) {
        const record = await appendOnto(trx, lastAppended, inputs[0]!);
        if (record) {
          lastAppended = { seq: record.seq, hash: record.hash };
          return [record];
        }
      }
      await lockChain(trx, dialect);
      const records = chain(await head(trx), inputs);
      if (dialect === 'postgres') {
        // One statement, a column an array: twice as fast here as a VALUES list, which
        // PostgreSQL parses and plans anew for every 7,500 parameters.
        const columns: unknown[][] = Array.from({ length: 15 }, () => new Array<unknown>(records.length));
        records.forEach((r, k) => rowValues(r).forEach((v, c) => (columns[c]![k] = v)));
        await trx.executeQuery(CompiledQuery.raw(INSERT_UNNEST_SQL, columns));
      } else {
        // Chunked so one huge batch stays under SQLite's bound-parameter limit.
        for (let i = 0; i < records.length; i += 500) {
          await trx
            .insertInto('audit_events')
            .values(records.slice(i, i + 500).map(toRow))
            .execute();
        }
      }
      const last = records[records.length - 1];
      if (last) lastAppended = { seq: last.seq, hash: last.hash };
      return records;
    },

    /** Newest first, keyset-paged by seq. */
    async page(filter: AuditFilter, beforeSeq: number | null, limit: number): Promise<AuditRecord[]> {
      return (await pageRows(filter, beforeSeq, limit)).map(rowToRecord);
    },

    /** The same page as AuditRows, straight from the driver: the page route writes its JSON from them. */
    pageRows,

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
      const row = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
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
  if (f.target) q = q.where('target_type', '=', f.target.type).where('target_id', '=', f.target.id);
  return q;
}

export type AuditStore = ReturnType<typeof createAuditStore>;

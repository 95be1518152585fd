import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type CompiledQuery, type Transaction, type TransactionBuilder } from 'kysely';
import pg from 'pg';
import type { AuditRow } from '@flowgate/core';
import { makePrivateDir, touchPrivateFile } from '../security/data-dir.ts';
import { migrationProvider } from './migrations.ts';
import type { Schema } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Schema>;
/** What a store runs a query on: the database, or a transaction passed to it. */
export type Executor = Db | Transaction<Schema>;

export interface Database {
  /**
   * The handle every store queries. Inside a transaction (`db.transaction().execute(fn)`),
   * every query made through it, however deep in fn's calls, runs in that transaction:
   * see boundToTransactions.
   */
  db: Db;
  dialect: Dialect;
  /** Size in bytes of the audit storage, for the capacity warning. */
  auditStorageBytes(): Promise<number>;
  /**
   * Audit events after afterSeq, oldest first, as AuditRow arrays in batches: the fast
   * read for chain verification, straight from the driver (array rows, no query builder,
   * no object per row). Each batch is a query of its own, so the connection stays free
   * for other work between batches.
   */
  auditRows(afterSeq: number, batchSize: number): AsyncGenerator<AuditRow[]>;
  /**
   * Runs a compiled statement that returns rows (a SELECT, or a write with RETURNING) and
   * returns them as arrays in the query's column order: no object per row. The statement
   * is prepared once per query text (per connection on PostgreSQL), not at every call.
   */
  selectRows<R extends unknown[]>(query: CompiledQuery): Promise<R[]>;
  /** How a worker thread opens a connection of its own to read audit rows; null when it cannot (an in-memory database). */
  auditRowSource: AuditRowSource | null;
  close(): Promise<void>;
}

/**
 * A database another thread can open, with the SQL that reads a range of audit rows there.
 * On SQLite the range query also writes each event's hash material itself (json_array
 * gives the same text as JSON.stringify of the fields): one string a row instead of
 * fifteen, which is most of the cost of reading. A row is then [seq, prev_hash, hash,
 * material]; on PostgreSQL (whose json_build_array spaces its commas) it is an AuditRow.
 */
export type AuditRowSource =
  { dialect: 'sqlite'; file: string; rangeSql: string; materialInSql: true } | { dialect: 'postgres'; url: string; schema: string | null; rangeSql: string; materialInSql: false };

/**
 * audit_events columns in AuditRow order: the hashed fields in the order the chain hashes
 * them (AUDIT_HASHED_FIELDS in core), then the hash.
 */
const AUDIT_HASHED_COLUMNS = 'seq, prev_hash, occurred_at, actor_type, actor_id, actor_label, event, outcome, target_type, target_id, team_id, ip, user_agent, details';
export const AUDIT_ROW_COLUMNS = `${AUDIT_HASHED_COLUMNS}, hash`;

// PostgreSQL returns BIGINT as a string; audit sequence numbers fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface OpenOptions {
  /** PostgreSQL only: the schema to use (tests give each suite its own). */
  schema?: string;
  /** Migrate only up to this migration: a test of a later migration's data step starts there. */
  migrateTo?: string;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  let database: Database;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) database = openPostgres(url, options.schema);
  else if (url.startsWith('sqlite:')) database = openSqlite(url);
  else throw new Error(`FLOWGATE_DATABASE_URL must start with sqlite: or postgres://, got "${url.slice(0, 40)}"`);
  await migrate(database, options.schema, options.migrateTo);
  return database;
}

/**
 * The database handle, bound to the transaction in progress: inside
 * `db.transaction().execute(fn)`, a query made through `db` anywhere in fn's async calls
 * runs in that transaction (AsyncLocalStorage carries it), so a store's read that defaults
 * to the handle reads what the transaction wrote. Without it, on SQLite such a read waited
 * forever for the one connection the transaction held; on PostgreSQL it ran beside the
 * transaction, blind to its rows. A transaction started inside another is refused at once
 * rather than waiting for that connection.
 */
function boundToTransactions(db: Db): Db {
  // `open` turns false when the transaction ends: work it started that runs later (a timer,
  // a promise left running) queries the database again, not a finished transaction.
  const active = new AsyncLocalStorage<{ trx: Transaction<Schema>; open: boolean }>();
  const bindExecute = (builder: TransactionBuilder<Schema>): TransactionBuilder<Schema> =>
    new Proxy(builder, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (property === 'execute') {
          return <T>(fn: (trx: Transaction<Schema>) => Promise<T>) =>
            target.execute(async (trx) => {
              const binding = { trx, open: true };
              try {
                return await active.run(binding, () => fn(trx));
              } finally {
                binding.open = false;
              }
            });
        }
        // setIsolationLevel and the like return a new builder: it binds too.
        return typeof value === 'function' ? (...args: unknown[]) => bindExecute((value as (...a: unknown[]) => TransactionBuilder<Schema>).apply(target, args)) : value;
      },
    });
  return new Proxy(db, {
    get(target, property) {
      const binding = active.getStore();
      const trx = binding?.open ? binding.trx : undefined;
      if (property === 'transaction') {
        return () => {
          if (trx) throw new Error('A transaction was started inside another one: pass the open transaction instead.');
          return bindExecute(target.transaction());
        };
      }
      const source = trx ?? target;
      const value = Reflect.get(source, property, source) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(source) : value;
    },
  });
}

function openSqlite(url: string): Database {
  const file = url.replace(/^sqlite:/, '');
  if (file !== ':memory:') {
    makePrivateDir(path.dirname(file));
    touchPrivateFile(file);
  }
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a committed change and its audit event survive a power cut.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Kysely's SQLite driver prepares every statement at every call; a statement is
  // reusable, so each query text is prepared once (a bounded cache: `IN (?, ?, …)` lists
  // of many lengths make many texts). Kysely runs one statement at a time on the
  // connection, so a cached statement is never busy when it is used again.
  const prepared = new Map<string, BetterSqlite3.Statement>();
  const cachingDatabase = {
    close: () => sqlite.close(),
    prepare(text: string): BetterSqlite3.Statement {
      let statement = prepared.get(text);
      if (!statement) {
        if (prepared.size >= 500) prepared.clear();
        statement = sqlite.prepare(text);
        prepared.set(text, statement);
      }
      return statement;
    },
  };
  const raw = new Kysely<Schema>({ dialect: new SqliteDialect({ database: cachingDatabase }) });
  const db = boundToTransactions(raw);
  let rowBatch: BetterSqlite3.Statement<[number, number], AuditRow> | null = null;
  // Prepared once per distinct query text (a handful: one per combination of filters).
  const rowStatements = new Map<string, BetterSqlite3.Statement>();
  /**
   * Runs a statement on the raw connection while holding Kysely's hold on it. Without the
   * hold it would run inside whatever transaction Kysely has open on that one connection:
   * reading its uncommitted rows, and an insert would roll back with it.
   */
  const exclusive = <T>(run: () => T): Promise<T> => raw.connection().execute(async () => run());
  return {
    db,
    dialect: 'sqlite',
    async auditStorageBytes() {
      // dbstat is not compiled into every build; the whole file is an upper bound.
      const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
      const pages = sqlite.pragma('page_count', { simple: true }) as number;
      return pageSize * pages;
    },
    async *auditRows(afterSeq, batchSize) {
      rowBatch ??= sqlite.prepare<[number, number], AuditRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`).raw(true);
      let cursor = afterSeq;
      for (;;) {
        const statement = rowBatch;
        const rows = await exclusive(() => statement.all(cursor, batchSize));
        if (rows.length === 0) return;
        yield rows;
        if (rows.length < batchSize) return;
        cursor = rows[rows.length - 1]![0];
      }
    },
    async selectRows<R extends unknown[]>(query: CompiledQuery): Promise<R[]> {
      let statement = rowStatements.get(query.sql);
      if (!statement) {
        if (rowStatements.size >= 100) rowStatements.clear();
        statement = sqlite.prepare(query.sql).raw(true);
        rowStatements.set(query.sql, statement);
      }
      const prepared = statement;
      return exclusive(() => prepared.all(...query.parameters) as R[]);
    },
    auditRowSource:
      file === ':memory:'
        ? null
        : {
            dialect: 'sqlite',
            file: path.resolve(file),
            rangeSql: `SELECT seq, prev_hash, hash, json_array(${AUDIT_HASHED_COLUMNS}) FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
            materialInSql: true,
          },
    close: () => db.destroy(),
  };
}

function openPostgres(url: string, schema: string | undefined): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const db = boundToTransactions(new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }));
  const rowBatchSql = `SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`;
  // Prepared-statement names by query text (a handful: one per combination of filters).
  const statementNames = new Map<string, string>();
  const statementName = (text: string): string => {
    let name = statementNames.get(text);
    if (!name) {
      name = `fg_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      statementNames.set(text, name);
    }
    return name;
  };
  return {
    db,
    dialect: 'postgres',
    async auditStorageBytes() {
      const result = await sql<{ size: number }>`select pg_total_relation_size('audit_events')::bigint as size`.execute(db);
      return Number(result.rows[0]?.size ?? 0);
    },
    async *auditRows(afterSeq, batchSize) {
      let cursor = afterSeq;
      for (;;) {
        // rowMode 'array': pg skips building an object per row. seq arrives as a number (the INT8 parser above).
        const { rows } = await pool.query<AuditRow>({ text: rowBatchSql, values: [cursor, batchSize], rowMode: 'array' });
        if (rows.length === 0) return;
        yield rows;
        if (rows.length < batchSize) return;
        cursor = rows[rows.length - 1]![0];
      }
    },
    async selectRows<R extends unknown[]>(query: CompiledQuery): Promise<R[]> {
      // Named, so each connection parses and plans it once.
      return (await pool.query<R>({ name: statementName(query.sql), text: query.sql, values: [...query.parameters], rowMode: 'array' })).rows;
    },
    auditRowSource: {
      dialect: 'postgres',
      url,
      schema: schema ?? null,
      rangeSql: `SELECT ${AUDIT_ROW_COLUMNS} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
      materialInSql: false,
    },
    close: () => db.destroy(),
  };
}

async function migrate(database: Database, schema: string | undefined, upTo: string | undefined): Promise<void> {
  const migrator = new Migrator({
    db: database.db,
    provider: migrationProvider(database.dialect),
    migrationTableName: 'flowgate_migrations',
    migrationLockTableName: 'flowgate_migrations_lock',
    // Kysely looks for its tables across all schemas unless told which one is ours.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}

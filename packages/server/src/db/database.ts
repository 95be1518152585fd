import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.ts';
import type { Schema } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Schema>;

export interface Database {
  db: Db;
  dialect: Dialect;
  /** Size in bytes of the audit storage, for the capacity warning. */
  auditStorageBytes(): Promise<number>;
  close(): Promise<void>;
}

// PostgreSQL returns BIGINT as a string; audit sequence numbers fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface OpenOptions {
  /** PostgreSQL only: the schema to use (tests give each suite its own). */
  schema?: string;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  let database: Database;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) database = openPostgres(url, options.schema);
  else if (url.startsWith('sqlite:')) database = openSqlite(url);
  else throw new Error(`FLOWGATE_DATABASE_URL must start with sqlite: or postgres://, got "${url.slice(0, 40)}"`);
  await migrate(database, options.schema);
  return database;
}

function openSqlite(url: string): Database {
  const file = url.replace(/^sqlite:/, '');
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a committed change and its audit event survive a power cut.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: 'sqlite',
    async auditStorageBytes() {
      // dbstat is not compiled into every build; the whole file is an upper bound.
      const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
      const pages = sqlite.pragma('page_count', { simple: true }) as number;
      return pageSize * pages;
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
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    async auditStorageBytes() {
      const result = await sql<{ size: number }>`select pg_total_relation_size('audit_events')::bigint as size`.execute(db);
      return Number(result.rows[0]?.size ?? 0);
    },
    close: () => db.destroy(),
  };
}

async function migrate(database: Database, schema: string | undefined): Promise<void> {
  const migrator = new Migrator({
    db: database.db,
    provider: migrationProvider(database.dialect),
    migrationTableName: 'flowgate_migrations',
    migrationLockTableName: 'flowgate_migrations_lock',
    // Kysely looks for its tables across all schemas unless told which one is ours.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}

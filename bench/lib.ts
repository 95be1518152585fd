/**
 * Shared pieces of the benchmarks: number formatting, realistic synthetic audit events,
 * and fast fills that write a valid hash chain (with signed checkpoints) straight into
 * the database, so a benchmark can start from a large log in seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { GENESIS_HASH, checkpointMessage, hashAuditRecord, type AuditEventName, type AuditOutcome, type AuditRecord, type UnhashedAuditRecord } from '@flowgate/core';
import type { RequestContext } from '../packages/server/src/context.ts';
import { SIGNING_KEY_PURPOSE } from '../packages/server/src/features/audit/audit.checkpoints.ts';
import type { AuditEventInput } from '../packages/server/src/features/audit/audit.service.ts';
import { loadMasterKey, SecretBox } from '../packages/server/src/security/crypto.ts';
import { until } from '../packages/server/test/harness.ts';

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const perSecond = (count: number, ms: number): string => `${fmt((count * 1000) / ms)}`;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Writes a line at once (the runner shows progress as it comes). */
export function line(text: string): void {
  process.stdout.write(text + '\n');
}

/** Other work on the machine skews every figure: say how busy it was. */
export function machineNote(): string {
  return `node ${process.version}, ${cpus().length} cores, load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`;
}

// ---------------------------------------------------------------------------------------
// Synthetic but realistic content: a few dozen people in a few dozen teams, browser user
// agents, small JSON details, the usual mix of event names and outcomes.

const USERS = Array.from({ length: 40 }, (_, i) => ({ id: randomUUID(), email: `person${i}@plant.example` }));
const TEAMS = Array.from({ length: 25 }, () => randomUUID());
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** Weighted so that team.created is about 4% of the log (the filtered-page benchmark reads it). */
const EVENT_MIX: Array<[AuditEventName, AuditOutcome, string | null]> = [
  ['auth.login.succeeded', 'success', null],
  ['auth.login.succeeded', 'success', null],
  ['auth.login.succeeded', 'success', null],
  ['auth.logout', 'success', null],
  ['auth.login.failed', 'failure', null],
  ['auth.access.denied', 'denied', 'team'],
  ['team.updated', 'success', 'team'],
  ['team.created', 'success', 'team'],
  ['member.invited', 'success', 'invitation'],
  ['member.joined', 'success', 'user'],
  ['member.role.changed', 'success', 'user'],
  ['token.created', 'success', 'token'],
  ['user.updated', 'success', 'user'],
  ['audit.exported', 'success', null],
  ['auth.login.succeeded', 'success', null],
  ['team.updated', 'success', 'team'],
  ['member.role.changed', 'success', 'user'],
  ['auth.logout', 'success', null],
  ['user.password.changed', 'success', 'user'],
  ['member.removed', 'success', 'user'],
  ['auth.login.succeeded', 'success', null],
  ['team.updated', 'success', 'team'],
  ['auth.login.succeeded', 'success', null],
  ['member.invited', 'success', 'invitation'],
  ['token.revoked', 'success', 'token'],
];

/** The content of event number i (deterministic apart from the per-run ids). */
export function syntheticInput(i: number): AuditEventInput & { ctx: RequestContext } {
  const [event, outcome, targetType] = EVENT_MIX[i % EVENT_MIX.length]!;
  const user = USERS[(i * 7) % USERS.length]!;
  const teamId = TEAMS[(i * 13) % TEAMS.length]!;
  const ctx: RequestContext = {
    actor: { type: 'user', userId: user.id, label: user.email },
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
    userAgent: USER_AGENT,
  };
  const target = targetType === null ? null : { type: targetType, id: targetType === 'team' ? teamId : randomishId(i) };
  const details: Record<string, unknown> = event.startsWith('team.')
    ? { name: `Line ${i % 97}`, requireMfa: i % 2 === 0 }
    : event.startsWith('member.')
      ? { role: ['viewer', 'editor', 'owner'][i % 3], email: `guest${i % 500}@supplier.example` }
      : event === 'auth.login.failed'
        ? { reason: 'wrong-password', email: user.email }
        : {};
  return { ctx, event, outcome, target, teamId: targetType === null ? null : teamId, details };
}

function randomishId(i: number): string {
  const hex = ((i * 2654435761) >>> 0).toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
}

/** What the service would store for syntheticInput(i) (the same shape as its toInput). */
function syntheticUnhashed(i: number, seq: number, prevHash: string, occurredAt: string): UnhashedAuditRecord {
  const e = syntheticInput(i);
  return {
    seq,
    prevHash,
    occurredAt,
    actorType: e.ctx.actor.type,
    actorId: e.ctx.actor.userId,
    actorLabel: e.ctx.actor.label,
    event: e.event,
    outcome: e.outcome ?? 'success',
    targetType: e.target?.type ?? null,
    targetId: e.target?.id ?? null,
    teamId: e.teamId ?? null,
    ip: e.ctx.ip,
    userAgent: e.ctx.userAgent,
    details: JSON.stringify(e.details ?? {}),
  };
}

/** Yields valid chained records from (afterSeq, afterHash), in batches. */
export function* chainBatches(afterSeq: number, afterHash: string, count: number, batchSize: number): Generator<AuditRecord[]> {
  let prevHash = afterHash;
  const start = Date.parse('2025-01-01T00:00:00.000Z');
  let produced = 0;
  while (produced < count) {
    const n = Math.min(batchSize, count - produced);
    const batch: AuditRecord[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const seq = afterSeq + produced + k + 1;
      const unhashed = syntheticUnhashed(seq, seq, prevHash, new Date(start + seq * 250).toISOString());
      const record = { ...unhashed, hash: hashAuditRecord(unhashed) };
      batch[k] = record;
      prevHash = record.hash;
    }
    produced += n;
    yield batch;
  }
}

const COLUMNS = 'seq, occurred_at, actor_type, actor_id, actor_label, event, outcome, target_type, target_id, team_id, ip, user_agent, details, prev_hash, hash';

function rowValues(r: AuditRecord): unknown[] {
  return [r.seq, r.occurredAt, r.actorType, r.actorId, r.actorLabel, r.event, r.outcome, r.targetType, r.targetId, r.teamId, r.ip, r.userAgent, r.details, r.prevHash, r.hash];
}

/** A signing key stored the way the checkpointer stores it (sealed under the data dir's master key). */
function newSigningKey(dataDir: string): { id: string; publicPem: string; privateKey: ReturnType<typeof generateKeyPairSync>['privateKey']; sealed: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const secrets = new SecretBox(loadMasterKey(null, dataDir));
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { id: randomUUID(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey, sealed: secrets.seal(privatePem, SIGNING_KEY_PURPOSE) };
}

export interface FillResult {
  events: number;
  checkpoints: number;
  ms: number;
}

/**
 * Appends `count` chained events (and a signed checkpoint every `checkpointEvery`, as
 * the server does by default) directly with better-sqlite3, 50,000 rows a transaction.
 */
export function fillSqlite(file: string, dataDir: string, count: number, checkpointEvery = 1000): FillResult {
  const started = performance.now();
  const sqlite = new BetterSqlite3(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    const head = sqlite.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    const key = newSigningKey(dataDir);
    sqlite
      .prepare('INSERT INTO audit_signing_keys (id, public_key, private_key_enc, created_at) VALUES (?, ?, ?, ?)')
      .run(key.id, key.publicPem, key.sealed, new Date().toISOString());
    const insert = sqlite.prepare(
      `INSERT INTO audit_events (${COLUMNS}) VALUES (${COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );
    const insertCheckpoint = sqlite.prepare('INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature) VALUES (?, ?, ?, ?, ?)');
    let checkpoints = 0;
    const writeBatch = sqlite.transaction((batch: AuditRecord[]) => {
      for (const r of batch) {
        insert.run(...rowValues(r));
        if (r.seq % checkpointEvery === 0) {
          const signedAt = r.occurredAt;
          const signature = sign(null, checkpointMessage(r.seq, r.hash, signedAt), key.privateKey).toString('base64');
          insertCheckpoint.run(r.seq, r.hash, signedAt, key.id, signature);
          checkpoints += 1;
        }
      }
    });
    for (const batch of chainBatches(head?.seq ?? 0, head?.hash ?? GENESIS_HASH, count, 50_000)) writeBatch(batch);
    return { events: count, checkpoints, ms: performance.now() - started };
  } finally {
    sqlite.close();
  }
}

/** The same fill on PostgreSQL, 5,000 rows a statement through unnest(). */
export async function fillPostgres(url: string, schema: string, dataDir: string, count: number, checkpointEvery = 1000): Promise<FillResult> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const head = (await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1')).rows[0];
    const key = newSigningKey(dataDir);
    await client.query('INSERT INTO audit_signing_keys (id, public_key, private_key_enc, created_at) VALUES ($1, $2, $3, $4)', [
      key.id,
      key.publicPem,
      key.sealed,
      new Date().toISOString(),
    ]);
    const types = ['bigint', ...Array(14).fill('text')] as string[];
    const insert = `INSERT INTO audit_events (${COLUMNS}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
    let checkpoints = 0;
    for (const batch of chainBatches(head ? Number(head.seq) : 0, head?.hash ?? GENESIS_HASH, count, 5000)) {
      const columns: unknown[][] = types.map(() => new Array(batch.length));
      batch.forEach((r, k) => rowValues(r).forEach((v, c) => (columns[c]![k] = v)));
      await client.query('BEGIN');
      await client.query(insert, columns);
      for (const r of batch) {
        if (r.seq % checkpointEvery !== 0) continue;
        const signature = sign(null, checkpointMessage(r.seq, r.hash, r.occurredAt), key.privateKey).toString('base64');
        await client.query('INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)', [r.seq, r.hash, r.occurredAt, key.id, signature]);
        checkpoints += 1;
      }
      await client.query('COMMIT');
    }
    await client.query('ANALYZE audit_events');
    return { events: count, checkpoints, ms: performance.now() - started };
  } finally {
    await client.end();
  }
}

/** Runs fn, and still runs cleanup when it throws or the process is interrupted. */
export async function withCleanup<T>(cleanupOnce: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  let done: Promise<void> | null = null;
  const cleanup = () => (done ??= cleanupOnce());
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/** A person's browser: the session cookie and the CSRF header. */
export function browser(base: string) {
  let cookie = '';
  let csrf = '';
  return async <T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = /fg_session=[^;]*/.exec(response.headers.get('set-cookie') ?? '')?.[0];
    if (set) cookie = set;
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
    const json = text ? (JSON.parse(text) as T & { csrfToken?: string }) : ({} as T & { csrfToken?: string });
    if (json.csrfToken) csrf = json.csrfToken;
    return json;
  };
}

export interface BuiltPlatform {
  child: ChildProcess;
  /** What it printed last (20,000 characters): the setup link, or why it failed. */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * The platform as `npm start` runs it (the bundle, heap capped at 1 GB), a process of its own on
 * loopback, with no FLOWGATE_ setting of the caller's environment but those given here; resolves
 * once it answers /api/health (90 s at most; killed if it does not).
 */
export async function startBuiltPlatform(options: { dataDir: string; port: number; env?: Record<string, string> }): Promise<BuiltPlatform> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('FLOWGATE_')) delete env[name];
  Object.assign(env, { FLOWGATE_DATA_DIR: options.dataDir, FLOWGATE_PORT: String(options.port), FLOWGATE_HOST: '127.0.0.1', FLOWGATE_LOG_LEVEL: 'warn' }, options.env);
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--max-old-space-size=1024', 'packages/server/dist/cli.mjs', 'start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(
      '/api/health',
      async () => {
        if (child.exitCode !== null) throw new Error(`the platform exited ${child.exitCode}:\n${out}`);
        return fetch(`http://127.0.0.1:${options.port}/api/health`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 90_000 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, output: () => out, exited };
}

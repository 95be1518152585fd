import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AUDIT_HASH_ALGORITHM, AUDIT_ROW_HASH, AuditChainVerifier, GENESIS_HASH, auditHashMaterial, hashAuditFields, type AuditRow, type ChainBreak } from '@flowgate/core';
import type { AuditRowSource, Database } from '../../db/database.ts';
import { checkpointSignatureProblem, loadCheckpoints, type CheckpointRow, type CheckpointTrust, type KeyTrust } from './audit.checkpoints.ts';
import type { AuditStore } from './audit.store.ts';

export interface VerifyResult {
  ok: boolean;
  events: number;
  checkpoints: number;
  headSeq: number;
  /** The hash of event headSeq (the genesis hash for an empty log): a head to keep outside the database and expect next time. */
  headHash: string;
  /** The keys that signed the checkpoints, and why this verifier believes them (null: it does not). */
  signingKeys: Array<{ id: string; fingerprint: string; trustedBy: KeyTrust | null }>;
  /** The first problem found, in words an operator can act on. */
  problem: { seq: number; reason: string } | null;
  /** Of `events`, how many worker threads checked (the rest this thread did). */
  checkedByWorkers: number;
}

export interface VerifyOptions {
  /**
   * Worker threads that check ranges of a large log side by side; 0 or 1 checks it in
   * this thread alone. Default: one a core, up to 8.
   */
  threads?: number;
  /** The smallest log worth starting workers for (50,000 events; tests set it lower). */
  parallelFrom?: number;
  /**
   * Whom to believe a checkpoint from. Absent: any key stored in the database, which
   * proves nothing against someone who can write to it (see docs/audit.md).
   */
  trust?: CheckpointTrust;
  /** A head kept outside the database at an earlier verification: the log must still hold that event, with that hash. */
  expectHead?: { seq: number; hash: string };
}

/** Below this many events a single thread finishes before workers would have started. */
const PARALLEL_MIN_EVENTS = 50_000;
/**
 * Rows a batch. Small: a batch this size dies young, where 20,000 records (tens of MB)
 * were promoted to the old generation first and then spent as long in GC as in hashing.
 */
const BATCH_SIZE = 2_000;

function describe(b: ChainBreak): { seq: number; reason: string } {
  switch (b.kind) {
    case 'gap':
      return { seq: b.expectedSeq, reason: `event ${b.expectedSeq} is missing (next stored event is ${b.foundSeq}): removed or reordered` };
    case 'prev-hash':
      return { seq: b.seq, reason: `event ${b.seq} does not link to the event before it: an earlier event was altered, removed or reordered` };
    case 'hash':
      return { seq: b.seq, reason: `event ${b.seq} was altered: its content no longer matches its hash` };
  }
}

/** How far the chain is known to be intact: through seq, whose hash is hash, `checked` events in all. */
interface Verified {
  seq: number;
  hash: string;
  checked: number;
}

/**
 * Streams the whole log through the chain verifier, then checks every signed checkpoint
 * against the chain: a checkpoint past the end means the tail was cut; one whose hash
 * differs means the chain was rewritten.
 *
 * A large log is first checked in parallel by worker threads, a range of events each.
 * They can only vouch for the chain: from the first range that is not intact from end to
 * end (or whose first event does not link to the range before it), this thread checks
 * again, event by event, to the end of the log. So the result, and the problem it names,
 * are exactly those of one pass from the first event.
 */
export async function verifyAuditLog(database: Database, store: AuditStore, onProgress: (checked: number) => void = () => {}, options: VerifyOptions = {}): Promise<VerifyResult> {
  const { checkpoints, keys } = await loadCheckpoints(database, options.trust);

  const threads = options.threads ?? Math.min(availableParallelism(), 8);
  const source = database.auditRowSource;
  const parallel = threads > 1 && source ? { source, headSeq: (await store.head()).seq } : null;
  const workers =
    parallel && parallel.headSeq >= (options.parallelFrom ?? PARALLEL_MIN_EVENTS) ? verifyInWorkers(parallel.source, parallel.headSeq, threads, checkpoints, onProgress) : null;
  // The signatures need no chain: checked here, while the workers (if any) read.
  const signatureProblems = checkpoints.map((c) => checkpointSignatureProblem(c, keys.get(c.keyId)));
  // Only a checkpoint a trusted key signed says what the chain must hold. (The workers are
  // given them all: one that a forged checkpoint contradicts is checked again here.)
  const expected = new Map(checkpoints.filter((_, i) => signatureProblems[i] === null).map((c) => [c.seq, c.hash]));
  const start: Verified = workers ? await workers : { seq: 0, hash: GENESIS_HASH, checked: 0 };

  // This thread: the whole log when it is small, else whatever the workers could not vouch
  // for, and the events appended since they started.
  const verifier = new AuditChainVerifier({ seq: start.seq + 1, prevHash: start.hash });
  let problem: VerifyResult['problem'] = null;
  let batches = 0;
  outer: for await (const batch of database.auditRows(start.seq, BATCH_SIZE)) {
    for (const row of batch) {
      const broken = verifier.pushRow(row);
      if (broken) {
        problem = describe(broken);
        break outer;
      }
      const signed = expected.get(row[0]);
      if (signed !== undefined && signed !== row[AUDIT_ROW_HASH]) {
        problem = { seq: row[0], reason: `event ${row[0]} differs from the signed checkpoint at that point: the log was rewritten` };
        break outer;
      }
    }
    onProgress(start.checked + verifier.count);
    // SQLite reads block: let the server answer its other requests now and then.
    if (++batches % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
  }

  const head = verifier.head;
  if (!problem) {
    for (const [i, c] of checkpoints.entries()) {
      const signatureProblem = signatureProblems[i];
      if (signatureProblem) {
        problem = { seq: c.seq, reason: signatureProblem };
        break;
      }
      if (c.seq > head.seq) {
        problem = { seq: head.seq + 1, reason: `events after ${head.seq} were removed: a signed checkpoint covers the log up to event ${c.seq}` };
        break;
      }
    }
  }
  if (!problem && options.expectHead) problem = await expectedHeadProblem(database, head, options.expectHead);
  if (!problem && checkpoints.length === 0) problem = missingCheckpointsProblem(keys.values(), options.trust);

  const signers = new Set(checkpoints.map((c) => c.keyId));
  const signingKeys = [...signers].map((id) => {
    const key = keys.get(id);
    return { id, fingerprint: key?.fingerprint ?? 'not stored', trustedBy: key?.trustedBy ?? null };
  });
  return {
    ok: problem === null,
    events: start.checked + verifier.count,
    checkpoints: checkpoints.length,
    headSeq: head.seq,
    headHash: head.hash,
    signingKeys,
    problem,
    checkedByWorkers: start.checked,
  };
}

/** The chain checked out: does it still hold the head recorded outside it? */
async function expectedHeadProblem(database: Database, head: { seq: number; hash: string }, expected: { seq: number; hash: string }): Promise<VerifyResult['problem']> {
  if (expected.seq > head.seq) {
    return { seq: head.seq + 1, reason: `events after ${head.seq} were removed: the head recorded at an earlier verification is event ${expected.seq}` };
  }
  if (expected.seq === 0) return null;
  const row = await database.db.selectFrom('audit_events').select('hash').where('seq', '=', expected.seq).executeTakeFirst();
  if (row?.hash === expected.hash) return null;
  return { seq: expected.seq, reason: `event ${expected.seq} differs from the head recorded at an earlier verification: the log was rewritten up to there` };
}

/**
 * No checkpoint at all. The platform makes its signing key for its first checkpoint, so
 * a key of its own that is still stored, or a key an auditor pinned, says checkpoints
 * were written: they were removed, and with them what vouched for the events.
 */
function missingCheckpointsProblem(
  keys: Iterable<{ fingerprint: string; createdAt: string; trustedBy: KeyTrust | null }>,
  trust: CheckpointTrust | undefined,
): VerifyResult['problem'] {
  const own = [...keys].find((k) => k.trustedBy !== null);
  if (own) {
    return {
      seq: 1,
      reason: `no signed checkpoint is left, yet the signing key ${own.fingerprint} was made for one at ${own.createdAt}: the checkpoints were removed, and no event can be vouched for`,
    };
  }
  if (trust && trust.fingerprints.length > 0) {
    return { seq: 1, reason: 'no signed checkpoint is left, yet FLOWGATE_AUDIT_KEY_FINGERPRINT pins a key that signed this log: the log was emptied or its checkpoints removed' };
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Parallel verification

/** What a worker is given: the events in (from, to] and the signed checkpoints among them. */
interface RangeJob {
  source: AuditRowSource;
  /** The database driver's module (better-sqlite3 or pg), resolved here: the worker has no package context. */
  driverUrl: string;
  from: number;
  to: number;
  batchSize: number;
  checkpoints: Array<[number, string]>;
  hashIndex: number;
  algorithm: string;
  /** auditHashMaterial's source text, so the worker hashes exactly as core does... */
  material: string;
  /** ...which it proves on this sample before it starts. */
  sample: { fields: unknown[]; hash: string };
}

/** What a worker reports: whether every event in its range is there and intact, and the range's ends. */
interface RangeResult {
  clean: boolean;
  count: number;
  firstPrevHash: string | null;
  lastHash: string | null;
}

type RangeMessage = { progress: number } | { done: RangeResult };

/** Unusual content on purpose: quotes, escapes, non-Latin text, a null. */
const SAMPLE_ROW: unknown[] = [
  7,
  GENESIS_HASH,
  '2025-01-01T00:00:00.000Z',
  'user',
  null,
  'Zoë "Ops" \\ Ångström \u2028 \u{1F510}',
  'team.updated',
  'success',
  'team',
  'id\n\t\u0001',
  null,
  '::1',
  'agent/1.0',
  '{"name":"Line 7"}',
  'f'.repeat(64),
];

async function verifyInWorkers(
  source: AuditRowSource,
  headSeq: number,
  threads: number,
  checkpoints: readonly CheckpointRow[],
  onProgress: (checked: number) => void,
): Promise<Verified> {
  let driverUrl: string;
  try {
    driverUrl = pathToFileURL(createRequire(import.meta.url).resolve(source.dialect === 'sqlite' ? 'better-sqlite3' : 'pg')).href;
  } catch {
    return { seq: 0, hash: GENESIS_HASH, checked: 0 };
  }
  const code = `const __name = (f) => f; (${checkRangeInWorker.toString()})();`;
  const sample = { fields: SAMPLE_ROW, hash: hashAuditFields(SAMPLE_ROW) };
  const progress: number[] = new Array(threads).fill(0);
  const workers: Worker[] = [];
  const results: Array<Promise<RangeResult | null>> = [];
  for (let i = 0; i < threads; i++) {
    const from = Math.floor((headSeq * i) / threads);
    const to = Math.floor((headSeq * (i + 1)) / threads);
    const job: RangeJob = {
      source,
      driverUrl,
      from,
      to,
      batchSize: BATCH_SIZE,
      checkpoints: checkpoints.filter((c) => c.seq > from && c.seq <= to).map((c) => [c.seq, c.hash]),
      hashIndex: AUDIT_ROW_HASH,
      algorithm: AUDIT_HASH_ALGORITHM,
      material: auditHashMaterial.toString(),
      sample,
    };
    const worker = new Worker(code, { eval: true, workerData: job });
    workers.push(worker);
    results.push(
      new Promise((resolve) => {
        worker.on('message', (m: RangeMessage) => {
          if ('done' in m) return resolve(m.done);
          progress[i] = m.progress;
          onProgress(progress.reduce((a, b) => a + b, 0));
        });
        // A worker that cannot run (no driver, no connection) vouches for nothing: this thread checks instead.
        worker.on('error', () => resolve(null));
        worker.on('exit', () => resolve(null));
      }),
    );
  }

  let verified: Verified = { seq: 0, hash: GENESIS_HASH, checked: 0 };
  try {
    for (let i = 0; i < threads; i++) {
      const r = await results[i]!;
      const from = Math.floor((headSeq * i) / threads);
      const to = Math.floor((headSeq * (i + 1)) / threads);
      if (!r || !r.clean || r.count !== to - from || r.firstPrevHash !== verified.hash || r.lastHash === null) break;
      verified = { seq: to, hash: r.lastHash, checked: verified.checked + r.count };
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return verified;
}

interface RangeStatement {
  all(...params: number[]): AuditRow[];
}

/**
 * The worker's body. It runs from its source text (an eval worker needs no TypeScript
 * loader, and survives bundling), so it must stay self-contained: nothing from outside
 * but globals, its workerData and what it imports itself.
 */
async function checkRangeInWorker(): Promise<void> {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { hash } = await import('node:crypto');
  const job = workerData as RangeJob;
  const material = new Function(`return (${job.material});`)() as (fields: readonly unknown[]) => string;
  if (hash(job.algorithm, material(job.sample.fields), 'hex') !== job.sample.hash) throw new Error('the hash material differs in the worker');

  const driver = (await import(job.driverUrl)).default;
  let statement: RangeStatement | null = null;
  let sqlite: { close(): void } | null = null;
  let client: { query(q: { text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: AuditRow[] }>; end(): Promise<void> } | null = null;
  if (job.source.dialect === 'sqlite') {
    const db = new driver(job.source.file, { readonly: true, fileMustExist: true, timeout: 5000 });
    sqlite = db;
    statement = db.prepare(job.source.rangeSql).raw(true);
  } else {
    const pgClient = new driver.Client({ connectionString: job.source.url, ...(job.source.schema ? { options: `-c search_path=${job.source.schema}` } : {}) });
    await pgClient.connect();
    client = pgClient;
  }

  const checkpoints = new Map(job.checkpoints);
  let expectedSeq = job.from + 1;
  let prevHash: string | null = null;
  let firstPrevHash: string | null = null;
  let count = 0;
  let clean = true;
  let batches = 0;
  try {
    while (clean && expectedSeq <= job.to) {
      const rows: AuditRow[] = statement
        ? statement.all(expectedSeq - 1, job.to, job.batchSize)
        : (await client!.query({ text: job.source.rangeSql, values: [expectedSeq - 1, job.to, job.batchSize], rowMode: 'array' })).rows;
      if (rows.length === 0) break;
      for (const row of rows) {
        // PostgreSQL's BIGINT arrives as text here (the server's parser is not set in this thread).
        const seq = Number(row[0]);
        row[0] = seq;
        if (seq !== expectedSeq || (count > 0 && row[1] !== prevHash)) {
          clean = false;
          break;
        }
        // [seq, prev_hash, hash, material] when SQLite wrote the material, else an AuditRow.
        // Should SQLite's text ever differ from core's, the hash differs: the range is not
        // vouched for and the main thread checks it again with core's own code.
        const own = (job.source.materialInSql ? row[2] : row[job.hashIndex]) as string;
        const text = job.source.materialInSql ? (row[3] as unknown as string) : material(row);
        const signed = checkpoints.get(seq);
        if (hash(job.algorithm, text, 'hex') !== own || (signed !== undefined && signed !== own)) {
          clean = false;
          break;
        }
        if (count === 0) firstPrevHash = row[1];
        prevHash = own;
        expectedSeq += 1;
        count += 1;
      }
      if (++batches % 10 === 0) parentPort!.postMessage({ progress: count });
    }
  } finally {
    sqlite?.close();
    await client?.end();
  }
  parentPort!.postMessage({ done: { clean: clean && expectedSeq === job.to + 1, count, firstPrevHash, lastHash: prevHash } });
}

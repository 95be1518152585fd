import { hash } from 'node:crypto';

/**
 * The tamper-evident audit chain. Each event's hash covers its own fields and the hash
 * of the event before it, so altering, removing or reordering any stored row breaks
 * every hash after it. The hashed form is a JSON array in a fixed field order: cheap
 * to build (verification must run at hundreds of thousands of events a second) and
 * unambiguous, because JSON escapes every separator.
 */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'success' | 'denied' | 'failure';
export type AuditActorType = 'user' | 'token' | 'system' | 'anonymous';

export interface AuditRecord {
  seq: number;
  occurredAt: string; // ISO 8601 UTC with milliseconds
  actorType: AuditActorType;
  actorId: string | null;
  actorLabel: string | null;
  event: string;
  outcome: AuditOutcome;
  targetType: string | null;
  targetId: string | null;
  teamId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** JSON text exactly as stored; hashed as text so no re-serialisation is needed to verify. */
  details: string;
  prevHash: string;
  hash: string;
}

export type UnhashedAuditRecord = Omit<AuditRecord, 'hash'>;

/** The fields an event's hash covers, in the order they are hashed. */
export const AUDIT_HASHED_FIELDS = [
  'seq',
  'prevHash',
  'occurredAt',
  'actorType',
  'actorId',
  'actorLabel',
  'event',
  'outcome',
  'targetType',
  'targetId',
  'teamId',
  'ip',
  'userAgent',
  'details',
] as const satisfies ReadonlyArray<keyof UnhashedAuditRecord>;

/**
 * An event as an array, the form fast readers return (no object per row): the hashed
 * fields in AUDIT_HASHED_FIELDS order, then the event's own hash.
 */
export type AuditRow = [
  seq: number,
  prevHash: string,
  occurredAt: string,
  actorType: AuditActorType,
  actorId: string | null,
  actorLabel: string | null,
  event: string,
  outcome: AuditOutcome,
  targetType: string | null,
  targetId: string | null,
  teamId: string | null,
  ip: string | null,
  userAgent: string | null,
  details: string,
  hash: string,
];

/** Where an AuditRow holds the event's own hash. */
export const AUDIT_ROW_HASH = AUDIT_HASHED_FIELDS.length;

/** The digest over the hash material (hex). Workers that verify the chain use it by name. */
export const AUDIT_HASH_ALGORITHM = 'sha256';

/**
 * The text an event's hash covers: the JSON array of the fields in AUDIT_HASHED_FIELDS
 * order (entries after them, such as an AuditRow's own hash, are left out).
 * Self-contained on purpose: verification workers run it from its source text.
 */
export function auditHashMaterial(fields: readonly unknown[]): string {
  return JSON.stringify(fields.length === 14 ? fields : fields.slice(0, 14));
}

/** The chain hash of an event given as its fields in AUDIT_HASHED_FIELDS order (an AuditRow will do). */
export function hashAuditFields(fields: readonly unknown[]): string {
  // The one-shot crypto.hash: about four times faster than createHash for inputs this short.
  return hash(AUDIT_HASH_ALGORITHM, auditHashMaterial(fields), 'hex');
}

export function hashAuditRecord(r: UnhashedAuditRecord): string {
  return hashAuditFields([
    r.seq,
    r.prevHash,
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
  ]);
}

export type ChainBreak = { kind: 'gap'; expectedSeq: number; foundSeq: number } | { kind: 'prev-hash'; seq: number } | { kind: 'hash'; seq: number };

/**
 * Walks a chain fed in order, one record at a time, so a caller can stream millions of
 * rows through it without holding them.
 */
export class AuditChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  private checked = 0;

  constructor(start: { seq: number; prevHash: string } = { seq: 1, prevHash: GENESIS_HASH }) {
    this.expectedSeq = start.seq;
    this.prevHash = start.prevHash;
  }

  /** Returns the first break found at this record, or null when it continues the chain. */
  push(record: AuditRecord): ChainBreak | null {
    if (record.seq !== this.expectedSeq) {
      return { kind: 'gap', expectedSeq: this.expectedSeq, foundSeq: record.seq };
    }
    if (record.prevHash !== this.prevHash) return { kind: 'prev-hash', seq: record.seq };
    if (hashAuditRecord(record) !== record.hash) return { kind: 'hash', seq: record.seq };
    this.prevHash = record.hash;
    this.expectedSeq += 1;
    this.checked += 1;
    return null;
  }

  /** The same check for an event read as an AuditRow. */
  pushRow(row: AuditRow): ChainBreak | null {
    const seq = row[0];
    if (seq !== this.expectedSeq) return { kind: 'gap', expectedSeq: this.expectedSeq, foundSeq: seq };
    if (row[1] !== this.prevHash) return { kind: 'prev-hash', seq };
    const own = row[AUDIT_ROW_HASH];
    if (hashAuditFields(row) !== own) return { kind: 'hash', seq };
    this.prevHash = own;
    this.expectedSeq += 1;
    this.checked += 1;
    return null;
  }

  get count(): number {
    return this.checked;
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.prevHash };
  }
}

/** What a checkpoint signs: the chain's head at one point in time. */
export function checkpointMessage(seq: number, hash: string, signedAt: string): Buffer {
  return Buffer.from(`flowgate-audit-checkpoint:v1:${seq}:${hash}:${signedAt}`, 'utf8');
}

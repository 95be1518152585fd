import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { checkpointMessage } from '@flowgate/core';
import type { Clock } from '../../context.ts';
import type { Database } from '../../db/database.ts';
import type { SecretBox } from '../../security/crypto.ts';
import type { AuditStore } from './audit.store.ts';

/**
 * Signed checkpoints: every so many events the chain's head is signed with an Ed25519
 * key whose private half is sealed under the master key. A checkpoint proves the log
 * once reached that length with that hash, so even someone who rewrites the whole chain
 * consistently (or cuts its tail) is caught by `flowgate audit verify`, which believes a
 * checkpoint only from a key it can tell is the platform's (CheckpointTrust).
 */
/** Bound to the signing key's sealed private half: nothing else the platform seals opens as one. */
export const SIGNING_KEY_PURPOSE = 'flowgate audit signing key';

export function createCheckpointer(deps: { database: Database; store: AuditStore; secrets: SecretBox; clock: Clock; every: number }) {
  const { database, store, secrets, clock, every } = deps;
  const { db } = database;
  let lastSeq: number | null = null;
  let running: Promise<void> | null = null;

  async function signingKey(): Promise<{ id: string; privateKeyPem: string }> {
    const stored = await db.selectFrom('audit_signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    // The newest key that is the platform's own: a row planted beside it is never signed with.
    for (const row of stored) {
      const privateKeyPem = ownPrivateKey(secrets, row);
      if (privateKeyPem) return { id: row.id, privateKeyPem };
    }
    // None of its own (a changed master key, or keys sealed before their purpose was bound):
    // a new key, appended, signs from now on; verify names the checkpoints it cannot prove.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const id = randomUUID();
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await db
      .insertInto('audit_signing_keys')
      .values({
        id,
        public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        private_key_enc: secrets.seal(privateKeyPem, SIGNING_KEY_PURPOSE),
        created_at: clock.now().toISOString(),
      })
      .execute();
    return { id, privateKeyPem };
  }

  async function lastCheckpointSeq(): Promise<number> {
    const row = await db.selectFrom('audit_checkpoints').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? Number(row.seq) : 0;
  }

  async function checkpointNow(): Promise<void> {
    const head = await store.head();
    const last = await lastCheckpointSeq();
    lastSeq = last;
    if (head.seq <= last) return;
    const key = await signingKey();
    const signedAt = clock.now().toISOString();
    const signature = sign(null, checkpointMessage(head.seq, head.hash, signedAt), createPrivateKey(key.privateKeyPem));
    await db
      .insertInto('audit_checkpoints')
      .values({ seq: head.seq, hash: head.hash, signed_at: signedAt, key_id: key.id, signature: signature.toString('base64') })
      .onConflict((oc) => oc.column('seq').doNothing())
      .execute();
    lastSeq = head.seq;
  }

  /** One checkpoint at a time; concurrent callers share the run in flight. */
  function checkpoint(): Promise<void> {
    running ??= checkpointNow().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    checkpoint,
    /** Called after events commit; signs when `every` events have passed since the last checkpoint. */
    async afterAppend(headSeq: number): Promise<void> {
      if (lastSeq === null) lastSeq = await lastCheckpointSeq();
      if (headSeq - lastSeq >= every) await checkpoint();
    },
  };
}

export type Checkpointer = ReturnType<typeof createCheckpointer>;

export interface CheckpointRow {
  seq: number;
  hash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}

/**
 * Whom verify believes a checkpoint from, decided outside the database it checks:
 * whoever can write to the tables could otherwise store a key of their own beside the
 * chain they rewrote and signed.
 */
export interface CheckpointTrust {
  /**
   * The master key: a stored key is the platform's own when its private half opens
   * under it and is the private half of the stored public key. null: not at hand.
   */
  secrets: SecretBox | null;
  /** SHA-256 fingerprints (64 hex) of public keys pinned by configuration (FLOWGATE_AUDIT_KEY_FINGERPRINT). */
  fingerprints: readonly string[];
}

/** How a verifier came to believe a key: it is sealed under the master key, it is pinned, or (no trust given) it is stored. */
export type KeyTrust = 'master key' | 'pinned fingerprint' | 'stored in the database';

export interface SigningKey {
  id: string;
  /** sha256:<hex> of the public key (SPKI, DER). */
  fingerprint: string;
  createdAt: string;
  /** null: the stored public half is not an Ed25519 key. */
  publicKey: KeyObject | null;
  /** null: not trusted; its checkpoints prove nothing. */
  trustedBy: KeyTrust | null;
}

function publicKeyOf(pem: string): { publicKey: KeyObject | null; der: Buffer } {
  try {
    const publicKey = createPublicKey(pem);
    if (publicKey.asymmetricKeyType !== 'ed25519') return { publicKey: null, der: Buffer.from(pem) };
    return { publicKey, der: publicKey.export({ type: 'spki', format: 'der' }) };
  } catch {
    return { publicKey: null, der: Buffer.from(pem) };
  }
}

function fingerprintOf(der: Buffer): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/** The private key (PEM) of a stored key row when it is the platform's own, else null. */
function ownPrivateKey(secrets: SecretBox, row: { public_key: string; private_key_enc: string }): string | null {
  try {
    const privateKeyPem = secrets.open(row.private_key_enc, SIGNING_KEY_PURPOSE).toString('utf8');
    const derived = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
    return derived.equals(publicKeyOf(row.public_key).der) ? privateKeyPem : null;
  } catch {
    return null;
  }
}

/**
 * The checkpoints, oldest first, and the stored keys with whether `trust` believes each.
 * Without `trust` every stored key is believed, as before keys were pinned.
 */
export async function loadCheckpoints(database: Database, trust?: CheckpointTrust): Promise<{ checkpoints: CheckpointRow[]; keys: Map<string, SigningKey> }> {
  const rows = await database.db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'asc').execute();
  const stored = await database.db.selectFrom('audit_signing_keys').selectAll().execute();
  const pinned = new Set(trust?.fingerprints.map((hex) => `sha256:${hex}`));
  const keys = new Map<string, SigningKey>();
  for (const row of stored) {
    const { publicKey, der } = publicKeyOf(row.public_key);
    const fingerprint = fingerprintOf(der);
    let trustedBy: KeyTrust | null = null;
    if (!trust) trustedBy = 'stored in the database';
    else if (publicKey && trust.secrets && ownPrivateKey(trust.secrets, row)) trustedBy = 'master key';
    else if (publicKey && pinned.has(fingerprint)) trustedBy = 'pinned fingerprint';
    keys.set(row.id, { id: row.id, fingerprint, createdAt: row.created_at, publicKey, trustedBy });
  }
  return {
    checkpoints: rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, signedAt: r.signed_at, keyId: r.key_id, signature: r.signature })),
    keys,
  };
}

/** What is wrong with a checkpoint's signature, in words, or null when a trusted key made it. */
export function checkpointSignatureProblem(c: CheckpointRow, key: SigningKey | undefined): string | null {
  if (!key) return `the checkpoint at event ${c.seq} is signed by key ${c.keyId}, which is not stored`;
  if (!key.trustedBy || !key.publicKey) {
    return (
      `the checkpoint at event ${c.seq} is signed by key ${c.keyId} (${key.fingerprint}), which this verifier does not trust: ` +
      "it is not the platform's own key (sealed under its master key) nor pinned by FLOWGATE_AUDIT_KEY_FINGERPRINT"
    );
  }
  const valid = verify(null, checkpointMessage(c.seq, c.hash, c.signedAt), key.publicKey, Buffer.from(c.signature, 'base64'));
  return valid ? null : `the checkpoint at event ${c.seq} has an invalid signature`;
}

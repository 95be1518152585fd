import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { checkpointMessage } from '@flowgate/core';
import type { Clock } from '../../context.ts';
import type { Database } from '../../db/database.ts';
import type { SecretBox } from '../../security/crypto.ts';
import type { AuditStore } from './audit.store.ts';

/**
 * Signed checkpoints: every so many events the chain's head is signed with an Ed25519
 * key whose private half is sealed under the master key. A checkpoint proves the log
 * once reached that length with that hash, so even someone who rewrites the whole chain
 * consistently (or cuts its tail) is caught by `flowgate audit verify`.
 */
export function createCheckpointer(deps: { database: Database; store: AuditStore; secrets: SecretBox; clock: Clock; every: number }) {
  const { database, store, secrets, clock, every } = deps;
  const { db } = database;
  let lastSeq: number | null = null;
  let running: Promise<void> | null = null;

  async function signingKey(): Promise<{ id: string; privateKeyPem: string }> {
    const existing = await db.selectFrom('audit_signing_keys').selectAll().orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (existing) return { id: existing.id, privateKeyPem: secrets.open(existing.private_key_enc).toString('utf8') };
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const id = randomUUID();
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await db
      .insertInto('audit_signing_keys')
      .values({
        id,
        public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        private_key_enc: secrets.seal(privateKeyPem),
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

export async function loadCheckpoints(database: Database): Promise<{ checkpoints: CheckpointRow[]; keys: Map<string, string> }> {
  const rows = await database.db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'asc').execute();
  const keys = await database.db.selectFrom('audit_signing_keys').select(['id', 'public_key']).execute();
  return {
    checkpoints: rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, signedAt: r.signed_at, keyId: r.key_id, signature: r.signature })),
    keys: new Map(keys.map((k) => [k.id, k.public_key])),
  };
}

export function checkpointSignatureValid(c: CheckpointRow, publicKeyPem: string | undefined): boolean {
  if (!publicKeyPem) return false;
  return verify(null, checkpointMessage(c.seq, c.hash, c.signedAt), createPublicKey(publicKeyPem), Buffer.from(c.signature, 'base64'));
}

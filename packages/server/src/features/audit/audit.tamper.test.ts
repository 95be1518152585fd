import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { checkpointMessage, hashAuditFields } from '@flowgate/core';
import { SYSTEM_CONTEXT } from '../../context.ts';
import { loadMasterKey, SecretBox } from '../../security/crypto.ts';
import { ADMIN, Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';
import type { CheckpointTrust } from './audit.checkpoints.ts';
import { verifyAuditLog, type VerifyResult } from './audit.verify.ts';

/**
 * Tampering by someone with full rights on the database (triggers off), who does not
 * hold the platform's master key: whatever they store, verify trusts only the platform's
 * own signing key or a pinned one.
 */

const run = promisify(execFile);
const CLI = new URL('../../../bin/flowgate.js', import.meta.url).pathname;
const AUDIT_TABLES = ['audit_events', 'audit_checkpoints', 'audit_signing_keys'];

async function cliVerify(t: TestApp, extra: { env?: Record<string, string>; args?: string[] } = {}): Promise<{ code: number; stdout: string }> {
  const env = {
    ...process.env,
    FLOWGATE_DATABASE_URL: t.db.url,
    FLOWGATE_DATA_DIR: t.db.dataDir,
    PGOPTIONS: t.db.schema ? `-c search_path=${t.db.schema}` : '',
    ...extra.env,
  };
  try {
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', ...(extra.args ?? [])], { env });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

/** As a DBA with full rights could: the append-only triggers of every audit table out of the way. */
async function disableTriggers(t: TestApp): Promise<void> {
  const db = t.db.database.db;
  for (const table of AUDIT_TABLES) {
    if (t.db.database.dialect === 'sqlite') {
      await sql.raw(`DROP TRIGGER ${table}_no_update`).execute(db);
      await sql.raw(`DROP TRIGGER ${table}_no_delete`).execute(db);
    } else {
      await sql.raw(`ALTER TABLE ${table} DISABLE TRIGGER USER`).execute(db);
    }
  }
}

function platformTrust(t: TestApp): CheckpointTrust {
  return { secrets: new SecretBox(loadMasterKey(t.config.masterKey, t.config.dataDir)), fingerprints: [] };
}

function verify(t: TestApp, options: Parameters<typeof verifyAuditLog>[3] = {}): Promise<VerifyResult> {
  return verifyAuditLog(t.db.database, t.context.auditStore, () => {}, { threads: 0, trust: platformTrust(t), ...options });
}

/** A key of the intruder's own, stored as the platform stores its key, sealed under a master key of their own. */
async function storeStrangerKey(t: TestApp, sealed?: string | ((privateKeyPem: string) => string)) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const id = randomUUID();
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await t.db.database.db
    .insertInto('audit_signing_keys')
    .values({
      id,
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      private_key_enc: typeof sealed === 'function' ? sealed(privateKeyPem) : (sealed ?? new SecretBox(randomBytes(32)).seal(privateKeyPem)),
      created_at: new Date(Date.now() + 60_000).toISOString(),
    })
    .execute();
  return {
    id,
    async checkpoint(seq: number, hash: string) {
      const signedAt = new Date().toISOString();
      const signature = sign(null, checkpointMessage(seq, hash, signedAt), privateKey).toString('base64');
      await t.db.database.db.insertInto('audit_checkpoints').values({ seq, hash, signed_at: signedAt, key_id: id, signature }).execute();
    },
  };
}

async function events(t: TestApp) {
  return (await t.db.database.db.selectFrom('audit_events').selectAll().orderBy('seq').execute()).map((e) => ({ ...e, seq: Number(e.seq) }));
}

/** A fresh platform with 8 teams made (some 10 events) and a checkpoint every 5 events. */
async function platform(dialect: (typeof DIALECTS)[number]): Promise<TestApp> {
  const t = await startTestApp(dialect, { FLOWGATE_AUDIT_CHECKPOINT_EVERY: '5' });
  const admin = await setupAdmin(t);
  for (let i = 0; i < 8; i++) await admin.post('/api/teams', { name: `Team ${i}` });
  await t.context.checkpointer.checkpoint();
  return t;
}

for (const dialect of DIALECTS) {
  describe(`audit signing keys on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await platform(dialect);
    });
    after(() => t.close());

    test('the database refuses UPDATE and DELETE on signing keys and checkpoints', async () => {
      const db = t.db.database.db;
      await assert.rejects(sql.raw(`UPDATE audit_signing_keys SET public_key = 'x'`).execute(db), /append-only/);
      await assert.rejects(sql.raw('DELETE FROM audit_signing_keys').execute(db), /append-only/);
      await assert.rejects(sql.raw(`UPDATE audit_checkpoints SET hash = 'x'`).execute(db), /append-only/);
      await assert.rejects(sql.raw('DELETE FROM audit_checkpoints').execute(db), /append-only/);
      if (dialect === 'postgres') await assert.rejects(sql.raw('TRUNCATE audit_signing_keys').execute(db), /append-only/);
      assert.equal((await db.selectFrom('audit_signing_keys').select('id').execute()).length, 1);
    });

    test("an intact log verifies against the platform's key; a copy without the master key, against its pinned fingerprint", async () => {
      const own = await cliVerify(t);
      assert.equal(own.code, 0, own.stdout);
      const fingerprint = /signed by (sha256:[0-9a-f]{64}) \(trusted by master key\)/.exec(own.stdout)?.[1];
      assert.ok(fingerprint, own.stdout);
      assert.match(own.stdout, /^head: \d+:[0-9a-f]{64}$/m);

      // An auditor's machine: the database, no master key.
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-auditor-'));
      try {
        const unpinned = await cliVerify(t, { env: { FLOWGATE_DATA_DIR: elsewhere } });
        assert.equal(unpinned.code, 1, unpinned.stdout);
        assert.match(unpinned.stdout, /first bad event 5: the checkpoint at event 5 is signed by key .*which this verifier does not trust/);
        const pinned = await cliVerify(t, { env: { FLOWGATE_DATA_DIR: elsewhere, FLOWGATE_AUDIT_KEY_FINGERPRINT: fingerprint } });
        assert.equal(pinned.code, 0, pinned.stdout);
        assert.match(pinned.stdout, /trusted by pinned fingerprint/);
        assert.equal(fs.existsSync(path.join(elsewhere, 'master.key')), false, 'verify makes no master key of its own');
        const malformed = await cliVerify(t, { env: { FLOWGATE_DATA_DIR: elsewhere, FLOWGATE_AUDIT_KEY_FINGERPRINT: 'abc' } });
        assert.equal(malformed.code, 2);
      } finally {
        fs.rmSync(elsewhere, { recursive: true, force: true });
      }
    });
  });

  describe(`audit tampering by a database administrator on ${dialect}`, () => {
    test("a checkpoint signed by a stranger's key, inserted with the triggers off, is named", async () => {
      const t = await platform(dialect);
      try {
        for (let i = 0; i < 3; i++) await t.context.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', details: { i } });
        const head = await t.context.auditStore.head();
        await disableTriggers(t);
        // Their own key, and one that carries the platform's own sealed private key beside a public key of theirs.
        const stranger = await storeStrangerKey(t);
        await stranger.checkpoint(head.seq, head.hash);
        const platformKey = await t.db.database.db.selectFrom('audit_signing_keys').select('private_key_enc').where('id', '!=', stranger.id).executeTakeFirstOrThrow();
        const borrowed = await storeStrangerKey(t, platformKey.private_key_enc);
        await borrowed.checkpoint(head.seq - 1, 'f'.repeat(64));

        const result = await verify(t);
        assert.equal(result.ok, false);
        assert.equal(result.problem?.seq, head.seq - 1);
        assert.match(result.problem!.reason, new RegExp(`checkpoint at event ${head.seq - 1} is signed by key ${borrowed.id} .*does not trust`));
        const cli = await cliVerify(t);
        assert.equal(cli.code, 1, cli.stdout);
        assert.match(cli.stdout, new RegExp(`first bad event ${head.seq - 1}: the checkpoint at event ${head.seq - 1} is signed by key ${borrowed.id}`));
        // The audit page's "Verify chain" believes the same keys as the command line.
        const admin = new Client(t);
        await admin.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
        const page = (await admin.get('/api/audit/verify')).json();
        assert.equal(page.ok, false);
        assert.deepEqual(page.problem?.seq, head.seq - 1);
        assert.match(page.problem.reason, /does not trust/);
        // The platform goes on signing with its own key, not the planted newer ones.
        await t.context.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', details: {} });
        await t.context.checkpointer.checkpoint();
        const latest = await t.db.database.db.selectFrom('audit_checkpoints').select('key_id').orderBy('seq', 'desc').executeTakeFirstOrThrow();
        assert.notEqual(latest.key_id, stranger.id);
        assert.notEqual(latest.key_id, borrowed.id);
      } finally {
        await t.close();
      }
    });

    test("a key of their own, sealed by the platform for another use (as a secret environment variable is), is not the platform's", async () => {
      const t = await platform(dialect);
      try {
        for (let i = 0; i < 3; i++) await t.context.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', details: { i } });
        const head = await t.context.auditStore.head();
        await disableTriggers(t);
        // What the platform seals for anyone who sets a secret value; copied over as a signing key.
        const box = new SecretBox(loadMasterKey(t.config.masterKey, t.config.dataDir));
        const planted = await storeStrangerKey(t, (pem) => box.seal(pem));
        await planted.checkpoint(head.seq, head.hash);
        const result = await verify(t);
        assert.equal(result.ok, false);
        assert.match(result.problem!.reason, new RegExp(`signed by key ${planted.id} .*does not trust`));
      } finally {
        await t.close();
      }
    });

    test('a chain rewritten from scratch and signed again with a new key fails', async () => {
      const t = await platform(dialect);
      try {
        await disableTriggers(t);
        const db = t.db.database.db;
        await db.deleteFrom('audit_checkpoints').execute();
        let prevHash: string | null = null;
        for (const e of await events(t)) {
          const actorLabel = e.seq === 2 ? 'mallory@plant.example' : e.actor_label;
          const fields = [
            e.seq,
            prevHash ?? e.prev_hash,
            e.occurred_at,
            e.actor_type,
            e.actor_id,
            actorLabel,
            e.event,
            e.outcome,
            e.target_type,
            e.target_id,
            e.team_id,
            e.ip,
            e.user_agent,
            e.details,
          ];
          const hash = hashAuditFields(fields);
          await db
            .updateTable('audit_events')
            .set({ actor_label: actorLabel, prev_hash: fields[1] as string, hash })
            .where('seq', '=', e.seq)
            .execute();
          prevHash = hash;
        }
        const stranger = await storeStrangerKey(t);
        for (const e of await events(t)) if (e.seq % 5 === 0) await stranger.checkpoint(e.seq, e.hash);

        // What verify used to do, believing any stored key: the rewrite passes.
        const believing = await verifyAuditLog(t.db.database, t.context.auditStore, () => {}, { threads: 0 });
        assert.equal(believing.ok, true, JSON.stringify(believing.problem));

        const result = await verify(t);
        assert.equal(result.ok, false);
        assert.equal(result.problem?.seq, 5);
        assert.match(result.problem!.reason, /checkpoint at event 5 is signed by key .*does not trust/);
        const cli = await cliVerify(t);
        assert.equal(cli.code, 1, cli.stdout);
        assert.match(cli.stdout, /first bad event 5: the checkpoint at event 5 is signed by key/);
      } finally {
        await t.close();
      }
    });

    test('two events whose contents are swapped are found at the first of them', async () => {
      const t = await platform(dialect);
      try {
        await disableTriggers(t);
        const all = await events(t);
        const contentOf = (seq: number) => ({ ...all[seq - 1]!, seq: undefined });
        await t.db.database.db.updateTable('audit_events').set(contentOf(5)).where('seq', '=', 3).execute();
        await t.db.database.db.updateTable('audit_events').set(contentOf(3)).where('seq', '=', 5).execute();
        const result = await verify(t);
        assert.equal(result.problem?.seq, 3, JSON.stringify(result.problem));
        const cli = await cliVerify(t);
        assert.equal(cli.code, 1, cli.stdout);
        assert.match(cli.stdout, /first bad event 3: event 3 does not link to the event before it/);
      } finally {
        await t.close();
      }
    });

    test('an emptied log: caught while the key remains, by a pinned fingerprint or a kept head once it is gone too', async () => {
      const t = await platform(dialect);
      try {
        const intact = await cliVerify(t);
        const fingerprint = /signed by (sha256:[0-9a-f]{64})/.exec(intact.stdout)![1]!;
        const head = /^head: (\S+)$/m.exec(intact.stdout)![1]!;
        await disableTriggers(t);
        const db = t.db.database.db;
        await db.deleteFrom('audit_events').execute();
        await db.deleteFrom('audit_checkpoints').execute();
        const keyLeft = await cliVerify(t);
        assert.equal(keyLeft.code, 1, keyLeft.stdout);
        assert.match(keyLeft.stdout, /no signed checkpoint is left, yet the signing key sha256:[0-9a-f]{64} was made for one/);

        await db.deleteFrom('audit_signing_keys').execute();
        // The documented limit: with nothing left in the database and nothing kept outside it, the log looks new.
        assert.equal((await cliVerify(t)).code, 0);
        const pinned = await cliVerify(t, { env: { FLOWGATE_AUDIT_KEY_FINGERPRINT: fingerprint } });
        assert.equal(pinned.code, 1, pinned.stdout);
        assert.match(pinned.stdout, /FLOWGATE_AUDIT_KEY_FINGERPRINT pins a key that signed this log/);
        const kept = await cliVerify(t, { args: ['--expect-head', head] });
        assert.equal(kept.code, 1, kept.stdout);
        assert.match(kept.stdout, /first bad event 1: events after 0 were removed: the head recorded at an earlier verification is event \d+/);
      } finally {
        await t.close();
      }
    });

    test('a kept head catches a chain rewritten consistently up to it', async () => {
      const t = await platform(dialect);
      try {
        const head = await t.context.auditStore.head();
        assert.equal((await verify(t, { expectHead: head })).ok, true);
        const other = await verify(t, { expectHead: { seq: head.seq, hash: 'e'.repeat(64) } });
        assert.equal(other.problem?.seq, head.seq);
        assert.match(other.problem!.reason, /differs from the head recorded at an earlier verification/);
      } finally {
        await t.close();
      }
    });
  });
}

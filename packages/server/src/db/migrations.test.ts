import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { DIALECTS, POSTGRES_URL } from '../../test/harness.ts';
import { openDatabase, type Dialect } from './database.ts';

/**
 * Migrations that move data, run on data: the database is migrated up to the step before,
 * given rows of the old shape, and opened again, which migrates it the rest of the way.
 */

/** A fresh database (a SQLite file, or a PostgreSQL schema), and how to open it at a given migration. */
async function emptyDatabase(dialect: Dialect) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-migrations-'));
  const schema = `m_${randomBytes(6).toString('hex')}`;
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
  }
  const url = dialect === 'sqlite' ? `sqlite:${path.join(dir, 'flowgate.db')}` : POSTGRES_URL;
  return {
    open: (migrateTo?: string) => openDatabase(url, { ...(dialect === 'postgres' ? { schema } : {}), ...(migrateTo ? { migrateTo } : {}) }),
    async drop() {
      fs.rmSync(dir, { recursive: true, force: true });
      if (dialect !== 'postgres') return;
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`migrations on ${dialect}`, () => {
    const drops: Array<() => Promise<void>> = [];
    after(async () => {
      for (const drop of drops) await drop();
    });

    test("0010 moves an OIDC provider's settings into its settings column and keeps its sealed secret", async () => {
      const database = await emptyDatabase(dialect);
      drops.push(database.drop);
      const before = await database.open('0009_sso_test_sign_in');
      const now = new Date().toISOString();
      await sql`insert into identity_providers (id, kind, name, enabled, issuer_url, client_id, client_secret_enc, scopes, groups_claim, email_domains, mappings, mfa_acr_values, admin_group, disable_local_passwords, created_at, updated_at)
        values ('p1', 'oidc', 'Contoso Entra', 1, 'https://login.contoso.example/v2.0', 'flowgate', 'sealed-secret', 'openid email', 'roles', '["contoso.example"]', '[]', '[]', null, 0, ${now}, ${now})`.execute(
        before.db,
      );
      // A person linked to it: dropping the provider's old columns must not take the link with it.
      await sql`insert into users (id, email, name, password_hash, platform_role, status, failed_logins, locked_until, mfa_secret_enc, mfa_enrolled_at, mfa_last_step, created_at, updated_at)
        values ('u1', 'erin@contoso.example', 'Erin', null, 'user', 'active', 0, null, null, null, null, ${now}, ${now})`.execute(before.db);
      await sql`insert into sso_identities (provider_id, subject, user_id, created_at, last_login_at) values ('p1', 'sub-1', 'u1', ${now}, ${now})`.execute(before.db);
      await before.close();

      const after = await database.open();
      const provider = await after.db.selectFrom('identity_providers').selectAll().where('id', '=', 'p1').executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(provider.settings), { issuerUrl: 'https://login.contoso.example/v2.0', clientId: 'flowgate', scopes: 'openid email', groupsClaim: 'roles' });
      assert.equal(provider.secret_enc, 'sealed-secret');
      assert.equal(provider.name, 'Contoso Entra');
      assert.equal('issuer_url' in provider, false, 'the old columns are gone');
      assert.equal((await after.db.selectFrom('sso_identities').select('user_id').where('provider_id', '=', 'p1').execute()).length, 1);
      await after.close();
    });

    test('0014 records as having run what is known to have: every automatic snapshot, and what runs on its own instance', async () => {
      const database = await emptyDatabase(dialect);
      drops.push(database.drop);
      const before = await database.open('0013_snapshots_immutable');
      const now = '2026-11-30T08:00:00.000Z';
      await sql`insert into teams (id, name, require_mfa, created_at, updated_at) values ('t1', 'Bottling', 0, ${now}, ${now})`.execute(before.db);
      await sql`insert into applications (id, team_id, name, description, created_at, updated_at) values ('a1', 't1', 'Filler', '', ${now}, ${now})`.execute(before.db);
      for (const [id, status, running] of [
        ['i1', 'running', 's1'],
        ['i2', 'crashed', 's3'],
        ['i3', 'stopped', null],
        ['i4', 'running', 's2'],
      ] as const) {
        await sql`insert into instances (id, application_id, team_id, name, node_red_version, desired_state, status, status_detail, target_snapshot_id, running_snapshot_id, endpoint_access, agent_token_hash, credential_secret_enc, editor_key_enc, generation, created_at, updated_at)
          values (${id}, 'a1', 't1', ${id}, '4.1.8', 'running', ${status}, null, ${running}, ${running}, 'team', ${`hash-${id}`}, 'x', 'x', 1, ${now}, ${now})`.execute(before.db);
      }
      const earlier = '2026-11-29T17:30:00.000Z';
      for (const [id, instance, kind, at] of [
        ['s1', 'i1', 'manual', now],
        ['s2', 'i1', 'manual', now],
        ['s3', 'i2', 'manual', now],
        ['s4', 'i3', 'auto', earlier],
      ] as const) {
        await sql`insert into snapshots (id, instance_id, team_id, hash, name, description, kind, content, node_count, created_by, created_by_label, created_at)
          values (${id}, ${instance}, 't1', ${`h-${id}`}, ${id}, '', ${kind}, '{}', 0, null, null, ${at})`.execute(before.db);
      }
      await before.close();

      const after = await database.open();
      // s1 runs on i1; s4 was an editor deploy on i3, run as it was made. s3 was being started
      // on i2 when it crashed; s2 is i1's, whatever i4 says it runs.
      assert.deepEqual(await after.db.selectFrom('snapshot_runs').selectAll().orderBy('snapshot_id').execute(), [
        { snapshot_id: 's1', instance_id: 'i1', first_ran_at: now, last_ran_at: now },
        { snapshot_id: 's4', instance_id: 'i3', first_ran_at: earlier, last_ran_at: earlier },
      ]);
      await after.close();
    });

    test('0015 counts again the nodes of the snapshots made before, and the rows stay immutable', async () => {
      const database = await emptyDatabase(dialect);
      drops.push(database.drop);
      const before = await database.open('0014_snapshot_runs');
      const now = '2026-12-01T08:00:00.000Z';
      await sql`insert into teams (id, name, require_mfa, created_at, updated_at) values ('t1', 'Bottling', 0, ${now}, ${now})`.execute(before.db);
      await sql`insert into applications (id, team_id, name, description, created_at, updated_at) values ('a1', 't1', 'Filler', '', ${now}, ${now})`.execute(before.db);
      await sql`insert into instances (id, application_id, team_id, name, node_red_version, desired_state, status, status_detail, target_snapshot_id, running_snapshot_id, endpoint_access, agent_token_hash, credential_secret_enc, editor_key_enc, generation, created_at, updated_at)
        values ('i1', 'a1', 't1', 'dev', '4.1.8', 'stopped', 'stopped', null, null, null, 'team', 'hash-i1', 'x', 'x', 1, ${now}, ${now})`.execute(before.db);
      // Five nodes on one flow, with a second flow and a broker: seven records, as the old count had it.
      const flows = [
        { id: 'f1', type: 'tab', label: 'Line' },
        { id: 'f2', type: 'tab', label: 'Spare' },
        { id: 'b1', type: 'mqtt-broker', broker: 'plc.local' },
        ...['n1', 'n2', 'n3', 'n4'].map((id, i, all) => ({ id, type: 'function', z: 'f1', wires: [[all[i + 1] ?? 'n5']] })),
        { id: 'n5', type: 'debug', z: 'f1', wires: [] },
      ];
      for (const [id, content, count] of [
        ['s1', JSON.stringify({ flows }), flows.length],
        ['s2', '{}', 3],
      ] as const) {
        await sql`insert into snapshots (id, instance_id, team_id, hash, name, description, kind, content, node_count, created_by, created_by_label, created_at)
          values (${id}, 'i1', 't1', ${`h-${id}`}, ${id}, '', 'manual', ${content}, ${count}, null, null, ${now})`.execute(before.db);
      }
      await before.close();

      const after = await database.open();
      const counts = await after.db.selectFrom('snapshots').select(['id', 'node_count']).orderBy('id').execute();
      assert.deepEqual(
        counts.map((c) => [c.id, Number(c.node_count)]),
        [
          ['s1', 5],
          ['s2', 3],
        ],
        'five nodes; a content without flows is left as it was',
      );
      await assert.rejects(sql`update snapshots set name = 'renamed' where id = 's1'`.execute(after.db), /immutable/);
      await after.close();
    });
  });
}

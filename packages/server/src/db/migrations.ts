import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { countFlowNodes, type NodeRedNode } from '@flowgate/core';
import type { Dialect } from './database.ts';

/**
 * One ordered list of migrations for both dialects. The schema builder covers what the
 * two share; the few dialect differences (triggers) sit here, inside the migration layer.
 */
type Step = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

async function appendOnlyTriggers(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<void> {
  if (dialect === 'sqlite') {
    for (const op of ['UPDATE', 'DELETE']) {
      await sql.raw(`CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table} ` + `BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`).execute(db);
    }
    return;
  }
  await sql
    .raw(
      `CREATE OR REPLACE FUNCTION flowgate_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$`,
    )
    .execute(db);
  await sql.raw(`CREATE TRIGGER ${table}_no_change BEFORE UPDATE OR DELETE ON ${table} ` + `FOR EACH ROW EXECUTE FUNCTION flowgate_refuse_change()`).execute(db);
  await sql.raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} ` + `FOR EACH STATEMENT EXECUTE FUNCTION flowgate_refuse_change()`).execute(db);
}

/** Rows that may be added and deleted (retention, a deleted instance) but never changed. */
async function immutableRowsTrigger(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<void> {
  if (dialect === 'sqlite') {
    await sql.raw(`CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} are immutable'); END`).execute(db);
    return;
  }
  await sql
    .raw(
      `CREATE OR REPLACE FUNCTION flowgate_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% are immutable', TG_TABLE_NAME; END $$`,
    )
    .execute(db);
  await sql.raw(`CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION flowgate_refuse_update()`).execute(db);
}

const steps: Array<[string, Step]> = [
  [
    '0001_identity_teams_audit',
    async (db, dialect) => {
      const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('platform_role', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'text')
        .addColumn('mfa_secret_enc', 'text')
        .addColumn('mfa_enrolled_at', 'text')
        .addColumn('mfa_last_step', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('mfa_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('access', 'text', (c) => c.notNull())
        .addColumn('team_ids', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();

      await db.schema
        .createTable('teams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('require_mfa', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();

      await db.schema
        .createTable('invitations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('invited_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('accepted_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('invitations_team').on('invitations').column('team_id').execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('seq', sql.raw(bigint), (c) => c.primaryKey())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('actor_label', 'text')
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text')
        .addColumn('target_id', 'text')
        .addColumn('team_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_time').on('audit_events').columns(['occurred_at']).execute();
      await db.schema.createIndex('audit_events_team').on('audit_events').columns(['team_id', 'seq']).execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'seq']).execute();
      await db.schema.createIndex('audit_events_event').on('audit_events').columns(['event', 'seq']).execute();
      await appendOnlyTriggers(db, dialect, 'audit_events');

      await db.schema
        .createTable('audit_signing_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('private_key_enc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', sql.raw(bigint), (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('signed_at', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();
      await appendOnlyTriggers(db, dialect, 'audit_checkpoints');

      await db.schema
        .createTable('audit_forwarding')
        .addColumn('target', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', sql.raw(bigint), (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  ],
  [
    '0002_applications_instances_snapshots',
    async (db) => {
      await db.schema
        .createTable('applications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('applications_team').on('applications').column('team_id').execute();

      await db.schema
        .createTable('instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('node_red_version', 'text', (c) => c.notNull())
        .addColumn('desired_state', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_detail', 'text')
        .addColumn('target_snapshot_id', 'text')
        .addColumn('running_snapshot_id', 'text')
        .addColumn('endpoint_access', 'text', (c) => c.notNull())
        .addColumn('agent_token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('credential_secret_enc', 'text', (c) => c.notNull())
        .addColumn('editor_key_enc', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instances_application').on('instances').column('application_id').execute();

      await db.schema
        .createTable('instance_env')
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('secret', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('instance_env_pk', ['instance_id', 'name'])
        .execute();

      await db.schema
        .createTable('snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
        .addColumn('team_id', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('node_count', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_by_label', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('snapshots_instance').on('snapshots').columns(['instance_id', 'created_at']).execute();

      await db.schema
        .createTable('team_settings')
        .addColumn('team_id', 'text', (c) => c.primaryKey().references('teams.id').onDelete('cascade'))
        .addColumn('palette_allow', 'text', (c) => c.notNull())
        .addColumn('palette_deny', 'text', (c) => c.notNull())
        .addColumn('auto_snapshot_retention', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  ],
  [
    '0003_fleet_sites_groups_provisioning',
    async (db) => {
      await db.schema
        .createTable('sites')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('sites_team_name', ['team_id', 'name'])
        .execute();

      await db.schema
        .createTable('device_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('device_groups_team_name', ['team_id', 'name'])
        .execute();

      await db.schema
        .createTable('provisioning_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('site_id', 'text', (c) => c.notNull().references('sites.id').onDelete('cascade'))
        .addColumn('group_id', 'text', (c) => c.references('device_groups.id').onDelete('cascade'))
        // A deleted application leaves the token usable, with nothing to run yet.
        .addColumn('application_id', 'text', (c) => c.references('applications.id').onDelete('set null'))
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('single_use', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('provisioning_tokens_team').on('provisioning_tokens').column('team_id').execute();
    },
  ],
  [
    '0004_devices',
    async (db) => {
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        // The service refuses to delete a site with devices that are not revoked.
        .addColumn('site_id', 'text', (c) => c.notNull().references('sites.id').onDelete('cascade'))
        .addColumn('group_id', 'text', (c) => c.references('device_groups.id').onDelete('set null'))
        .addColumn('application_id', 'text', (c) => c.references('applications.id').onDelete('set null'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('credential_hash', 'text', (c) => c.notNull().unique())
        .addColumn('provisioning_token_id', 'text')
        .addColumn('agent_version', 'text', (c) => c.notNull())
        .addColumn('node_red_version', 'text')
        .addColumn('last_seen_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('devices_team').on('devices').columns(['team_id', 'name']).execute();
    },
  ],
  [
    '0005_device_targets_rollouts',
    async (db, dialect) => {
      const real = dialect === 'postgres' ? 'double precision' : 'real';
      // What a device should run and what it says it runs; its Node-RED secrets, sealed.
      for (const [name, type] of [
        ['target_snapshot_id', 'text'],
        ['running_snapshot_id', 'text'],
        ['status_detail', 'text'],
        ['credential_secret_enc', 'text'],
        ['editor_key_enc', 'text'],
      ] as const) {
        await db.schema.alterTable('devices').addColumn(name, type).execute();
      }
      await db.schema
        .alterTable('devices')
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('unknown'))
        .execute();
      await db.schema
        .alterTable('devices')
        .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('devices').addColumn('cpu_percent', real).execute();
      await db.schema.alterTable('devices').addColumn('memory_mb', real).execute();
      await db.schema.alterTable('device_groups').addColumn('target_snapshot_id', 'text').execute();

      await db.schema
        .createTable('rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('group_id', 'text', (c) => c.notNull().references('device_groups.id').onDelete('cascade'))
        .addColumn('snapshot_id', 'text', (c) => c.notNull())
        .addColumn('snapshot_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('wave_size', 'integer', (c) => c.notNull())
        .addColumn('max_failures', 'integer', (c) => c.notNull())
        .addColumn('health_seconds', 'integer', (c) => c.notNull())
        .addColumn('wave_timeout_seconds', 'integer', (c) => c.notNull())
        .addColumn('current_wave', 'integer', (c) => c.notNull())
        .addColumn('wave_count', 'integer', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_by_label', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('rollouts_team').on('rollouts').columns(['team_id', 'created_at']).execute();
      await db.schema
        .createTable('rollout_devices')
        .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addColumn('site_id', 'text', (c) => c.notNull())
        .addColumn('wave', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('started_at', 'text')
        .addColumn('reached_at', 'text')
        .addColumn('finished_at', 'text')
        .addPrimaryKeyConstraint('rollout_devices_pk', ['rollout_id', 'device_id'])
        .execute();
    },
  ],
  [
    '0006_fleet_alerts',
    async (db) => {
      await db.schema
        .createTable('fleet_settings')
        .addColumn('team_id', 'text', (c) => c.primaryKey().references('teams.id').onDelete('cascade'))
        // Null: no offline alerts.
        .addColumn('offline_alert_minutes', 'integer')
        .addColumn('alert_webhook_url', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  ],
  [
    '0007_sso',
    async (db) => {
      await db.schema
        .createTable('identity_providers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('issuer_url', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_secret_enc', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('groups_claim', 'text', (c) => c.notNull())
        // JSON arrays: the email domains it signs in, its group-to-role mappings, the acr values that mean MFA.
        .addColumn('email_domains', 'text', (c) => c.notNull())
        .addColumn('mappings', 'text', (c) => c.notNull())
        .addColumn('mfa_acr_values', 'text', (c) => c.notNull())
        .addColumn('admin_group', 'text')
        .addColumn('disable_local_passwords', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sso_identities')
        .addColumn('provider_id', 'text', (c) => c.notNull().references('identity_providers.id').onDelete('cascade'))
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_login_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sso_identities_pk', ['provider_id', 'subject'])
        .execute();
      // A sign-in under way: its state (hashed), PKCE verifier (encrypted) and nonce; used once.
      await db.schema
        .createTable('sso_requests')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('provider_id', 'text', (c) => c.notNull().references('identity_providers.id').onDelete('cascade'))
        .addColumn('code_verifier_enc', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('return_to', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      // Which provider's mapping made a membership; null: made by hand (an invitation), which sign-ins leave alone.
      await db.schema.alterTable('memberships').addColumn('mapped_by', 'text').execute();
    },
  ],
  [
    '0008_scim',
    async (db) => {
      // The SCIM bearer token of a provider, hashed; null: SCIM is off for it.
      await db.schema.alterTable('identity_providers').addColumn('scim_token_hash', 'text').execute();
      // The accounts a provider pushed over SCIM, with the id it knows them by.
      await db.schema
        .createTable('scim_users')
        .addColumn('provider_id', 'text', (c) => c.notNull().references('identity_providers.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('external_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('scim_users_pk', ['provider_id', 'user_id'])
        .execute();
      await db.schema
        .createTable('scim_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('provider_id', 'text', (c) => c.notNull().references('identity_providers.id').onDelete('cascade'))
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('scim_groups_name', ['provider_id', 'display_name'])
        .execute();
      await db.schema
        .createTable('scim_group_members')
        .addColumn('group_id', 'text', (c) => c.notNull().references('scim_groups.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('scim_group_members_pk', ['group_id', 'user_id'])
        .execute();
    },
  ],
  [
    '0009_sso_test_sign_in',
    async (db) => {
      // 'test': an admin's test sign-in, which reports what the provider sent instead of signing in.
      await db.schema
        .alterTable('sso_requests')
        .addColumn('purpose', 'text', (c) => c.notNull().defaultTo('sign-in'))
        .execute();
    },
  ],
  [
    '0010_sso_kinds',
    async (db) => {
      // SAML and LDAP providers beside OIDC: what differs by kind moves into one JSON column.
      await db.schema
        .alterTable('identity_providers')
        .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.alterTable('identity_providers').addColumn('secret_enc', 'text').execute();
      type Before = {
        identity_providers: {
          id: string;
          issuer_url: string;
          client_id: string;
          client_secret_enc: string;
          scopes: string;
          groups_claim: string;
          settings: string;
          secret_enc: string | null;
        };
      };
      const before = db as unknown as Kysely<Before>;
      const oidc = await before.selectFrom('identity_providers').select(['id', 'issuer_url', 'client_id', 'client_secret_enc', 'scopes', 'groups_claim']).execute();
      for (const p of oidc) {
        const settings = JSON.stringify({ issuerUrl: p.issuer_url, clientId: p.client_id, scopes: p.scopes, groupsClaim: p.groups_claim });
        await before.updateTable('identity_providers').set({ settings, secret_enc: p.client_secret_enc }).where('id', '=', p.id).execute();
      }
      for (const column of ['issuer_url', 'client_id', 'client_secret_enc', 'scopes', 'groups_claim']) {
        await db.schema.alterTable('identity_providers').dropColumn(column).execute();
      }
      // Sign-ins under way live ten minutes: remade rather than altered (SQLite cannot drop a NOT NULL).
      await db.schema.dropTable('sso_requests').execute();
      await db.schema
        .createTable('sso_requests')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('provider_id', 'text', (c) => c.notNull().references('identity_providers.id').onDelete('cascade'))
        .addColumn('verifier_enc', 'text')
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('return_to', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .execute();
    },
  ],
  [
    '0011_audit_signing_keys_append_only',
    async (db, dialect) => {
      // The keys that checkpoints are checked against, as append-only as the log they vouch
      // for (audit_checkpoints has had its triggers since 0001).
      await appendOnlyTriggers(db, dialect, 'audit_signing_keys');
    },
  ],
  [
    '0012_password_resets',
    async (db) => {
      await db.schema
        .createTable('password_resets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('issued_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('password_resets_user').on('password_resets').column('user_id').execute();
    },
  ],
  [
    '0013_snapshots_immutable',
    async (db, dialect) => {
      // A snapshot's content is covered by its hash; its name, description, author and time
      // are not, and the database refuses to change any of them (SR 3.4).
      await immutableRowsTrigger(db, dialect, 'snapshots');
    },
  ],
  [
    '0014_snapshot_runs',
    async (db) => {
      // Which snapshots have run on their instance, from the agent's reports: an operator may
      // go back to one of these (a roll back), not deploy one that never ran there.
      await db.schema
        .createTable('snapshot_runs')
        .addColumn('snapshot_id', 'text', (c) => c.primaryKey().references('snapshots.id').onDelete('cascade'))
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
        .addColumn('first_ran_at', 'text', (c) => c.notNull())
        .addColumn('last_ran_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('snapshot_runs_instance').on('snapshot_runs').column('instance_id').execute();
      // What is known of the time before this record was kept: every automatic snapshot is
      // an editor deploy, which Node-RED ran as it was made; and what runs now.
      await sql`insert into snapshot_runs (snapshot_id, instance_id, first_ran_at, last_ran_at)
        select id, instance_id, created_at, created_at from snapshots where kind = 'auto'`.execute(db);
      await sql`insert into snapshot_runs (snapshot_id, instance_id, first_ran_at, last_ran_at)
        select i.running_snapshot_id, i.id, i.updated_at, i.updated_at from instances i
        join snapshots s on s.id = i.running_snapshot_id and s.instance_id = i.id
        where i.status = 'running' and s.kind <> 'auto'`.execute(db);
    },
  ],
  [
    '0015_snapshot_node_count',
    async (db, dialect) => {
      // node_count held the flows file's records, tabs and configuration nodes among them: a
      // flow of five nodes read "7". It is now the nodes on the flows (countFlowNodes), and
      // the rows made before are counted again from their content. The count is not covered
      // by the hash but derived from what is, so recounting it changes no fact the trigger
      // keeps (name, description, author, time, content): the trigger is lifted for this
      // one statement per row and put back in the same migration.
      await sql.raw(dialect === 'sqlite' ? 'DROP TRIGGER IF EXISTS snapshots_no_update' : 'DROP TRIGGER IF EXISTS snapshots_no_update ON snapshots').execute(db);
      const PAGE = 50;
      let after = '';
      for (;;) {
        const { rows } = await sql<{
          id: string;
          content: string;
          node_count: number;
        }>`select id, content, node_count from snapshots where id > ${after} order by id limit ${PAGE}`.execute(db);
        for (const row of rows) {
          const flows = (JSON.parse(row.content) as { flows?: unknown }).flows;
          if (!Array.isArray(flows)) continue;
          const count = countFlowNodes(flows as NodeRedNode[]);
          if (count !== Number(row.node_count)) await sql`update snapshots set node_count = ${count} where id = ${row.id}`.execute(db);
        }
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.id;
      }
      await immutableRowsTrigger(db, dialect, 'snapshots');
    },
  ],
  [
    '0016_instance_origin_sign_in',
    async (db) => {
      // Each instance's editor and endpoints are served from an origin of its own, which the
      // platform's session cookie never reaches (instance-origins.ts). The platform hands the
      // browser a one-time code there (stored hashed, used once, a minute at most); the
      // instance's origin exchanges it for a cookie of its own, which lives as long as the
      // platform session it came from (deleted with it).
      await db.schema
        .createTable('instance_origin_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('instance_origin_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_origin_sessions_session').on('instance_origin_sessions').column('session_id').execute();
      await db.schema.createIndex('instance_origin_codes_session').on('instance_origin_codes').column('session_id').execute();
    },
  ],
  [
    '0017_instance_resources',
    async (db) => {
      // What an owner gave the instance (SR 7.2): memory in MiB, CPU in percent of a core, disk
      // in MiB; null is the platform's default (FLOWGATE_INSTANCE_*), which may change.
      for (const column of ['memory_mb', 'cpu_percent', 'disk_mb']) {
        await db.schema.alterTable('instances').addColumn(column, 'integer').execute();
      }
    },
  ],
  [
    '0018_compliance_scope',
    async (db) => {
      // Systems under Consideration (IEC 62443-3-2): what a compliance lead scopes. Platform
      // records, no team's: a SuC spans teams and sites.
      await db.schema
        .createTable('sucs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('boundary', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // What is inside a SuC, by kind and id and without a foreign key: the kinds live in
      // different tables (and assets in one another branch adds), so the services that delete
      // a team, site, application, instance or device take it out of scope, on record.
      // team_id is the team the thing belongs to (a team's own id for a team): a deleted team
      // takes everything of it out in one statement.
      await db.schema
        .createTable('suc_members')
        .addColumn('suc_id', 'text', (c) => c.notNull().references('sucs.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('member_id', 'text', (c) => c.notNull())
        .addColumn('team_id', 'text')
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('suc_members_pk', ['suc_id', 'kind', 'member_id'])
        .execute();
      await db.schema.createIndex('suc_members_member').on('suc_members').columns(['kind', 'member_id']).execute();
      await db.schema.createIndex('suc_members_team').on('suc_members').column('team_id').execute();
      // Zones with their target security level per foundational requirement (SL-T, FR1..FR7),
      // one column each so that a gap assessment compares them with achieved levels in SQL.
      await db.schema
        .createTable('zones')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('suc_id', 'text', (c) => c.notNull().references('sucs.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('sl_t_fr1', 'integer', (c) => c.notNull().check(sql`sl_t_fr1 between 1 and 4`))
        .addColumn('sl_t_fr2', 'integer', (c) => c.notNull().check(sql`sl_t_fr2 between 1 and 4`))
        .addColumn('sl_t_fr3', 'integer', (c) => c.notNull().check(sql`sl_t_fr3 between 1 and 4`))
        .addColumn('sl_t_fr4', 'integer', (c) => c.notNull().check(sql`sl_t_fr4 between 1 and 4`))
        .addColumn('sl_t_fr5', 'integer', (c) => c.notNull().check(sql`sl_t_fr5 between 1 and 4`))
        .addColumn('sl_t_fr6', 'integer', (c) => c.notNull().check(sql`sl_t_fr6 between 1 and 4`))
        .addColumn('sl_t_fr7', 'integer', (c) => c.notNull().check(sql`sl_t_fr7 between 1 and 4`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('zones_suc_name', ['suc_id', 'name'])
        .execute();
      // A zone's assets are things in its SuC's scope (leaving the scope leaves the zone), and
      // in one zone of that SuC at most: the unique key says so where the service cannot race.
      await db.schema
        .createTable('zone_members')
        .addColumn('zone_id', 'text', (c) => c.notNull().references('zones.id').onDelete('cascade'))
        .addColumn('suc_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('member_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('zone_members_pk', ['zone_id', 'kind', 'member_id'])
        .addUniqueConstraint('zone_members_one_zone', ['suc_id', 'kind', 'member_id'])
        .addForeignKeyConstraint('zone_members_in_scope', ['suc_id', 'kind', 'member_id'], 'suc_members', ['suc_id', 'kind', 'member_id'], (c) => c.onDelete('cascade'))
        .execute();
      // Conduits between two zones of one SuC, or between a zone and the outside (a null end).
      await db.schema
        .createTable('conduits')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('suc_id', 'text', (c) => c.notNull().references('sucs.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('from_zone_id', 'text', (c) => c.references('zones.id').onDelete('cascade'))
        .addColumn('to_zone_id', 'text', (c) => c.references('zones.id').onDelete('cascade'))
        .addColumn('protocols', 'text', (c) => c.notNull())
        .addColumn('ports', 'text', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('initiator', 'text', (c) => c.notNull())
        .addColumn('crossing', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('conduits_suc').on('conduits').column('suc_id').execute();
      // A SuC's history is the audit events about it (target suc).
      await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_type', 'target_id']).execute();
    },
  ],
  [
    '0019_inventory',
    async (db) => {
      // The automatic inventory (SR 7.8). What each agent last read of its machine (MachineFacts
      // of @flowgate/protocol, as JSON) and when; an instance's last report, written at most
      // once a minute (a device has last_seen_at already). On the rows themselves, so a
      // deleted instance, a deleted team's instances and devices leave the inventory with them.
      for (const table of ['instances', 'devices']) {
        await db.schema.alterTable(table).addColumn('facts', 'text').execute();
        await db.schema.alterTable(table).addColumn('facts_reported_at', 'text').execute();
      }
      await db.schema.alterTable('instances').addColumn('last_seen_at', 'text').execute();
      // A compliance lead's word on a suggested conduit: one per item and address (flow-inventory.ts, connectionKey).
      await db.schema
        .createTable('inventory_decisions')
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('item_kind', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('connection_key', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('inventory_decisions_pk', ['item_kind', 'item_id', 'connection_key'])
        .execute();
    },
  ],
];

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const [name, step] of steps) migrations[name] = { up: (db) => step(db, dialect) };
      return migrations;
    },
  };
}

import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import type { ApplicationsTable, InstanceEnvTable, InstancesTable, TeamSettingsTable } from '../../db/schema.ts';
import { ACTIVE_ROLLOUT_STATES } from '../fleet/deployments.store.ts';

export function createApplicationsStore(db: Db) {
  return {
    applicationsOfTeam: (teamId: string) => db.selectFrom('applications').selectAll().where('team_id', '=', teamId).orderBy('name').execute(),
    applicationById: (id: string, ex: Executor = db) => ex.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst(),
    insertApplication: (a: ApplicationsTable, ex: Executor) => ex.insertInto('applications').values(a).execute(),
    updateApplication: (id: string, patch: Partial<ApplicationsTable>, ex: Executor) => ex.updateTable('applications').set(patch).where('id', '=', id).execute(),
    deleteApplication: (id: string, ex: Executor) => ex.deleteFrom('applications').where('id', '=', id).execute(),

    instancesOfApplication: (applicationId: string) => db.selectFrom('instances').selectAll().where('application_id', '=', applicationId).orderBy('name').execute(),
    instancesOfTeam: (teamId: string, ex: Executor = db) => ex.selectFrom('instances').selectAll().where('team_id', '=', teamId).orderBy('name').execute(),
    instancesToRun: () => db.selectFrom('instances').selectAll().where('desired_state', '=', 'running').execute(),
    instanceById: (id: string, ex: Executor = db) => ex.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst(),
    instanceByAgentToken: (tokenHash: string) => db.selectFrom('instances').selectAll().where('agent_token_hash', '=', tokenHash).executeTakeFirst(),
    insertInstance: (i: InstancesTable, ex: Executor) => ex.insertInto('instances').values(i).execute(),
    updateInstance: (id: string, patch: Partial<InstancesTable>, ex: Executor = db) => ex.updateTable('instances').set(patch).where('id', '=', id).execute(),
    /**
     * Makes `snapshotId` the target only while the target is still `expected` (one statement:
     * a deploy committed meanwhile wins). Whether it did.
     */
    replaceTarget: async (id: string, expected: string | null, snapshotId: string, ex: Executor): Promise<boolean> => {
      const result = await ex
        .updateTable('instances')
        .set({ target_snapshot_id: snapshotId })
        .where('id', '=', id)
        .where('target_snapshot_id', expected === null ? 'is' : '=', expected)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    /**
     * Records that one of the instance's snapshots runs on it now: kept as the snapshots an
     * operator may roll back to. An id that is not a snapshot of this instance records nothing.
     */
    recordRun: (instanceId: string, snapshotId: string, at: string, ex: Executor = db) =>
      ex
        .insertInto('snapshot_runs')
        .columns(['snapshot_id', 'instance_id', 'first_ran_at', 'last_ran_at'])
        .expression((eb) =>
          eb
            .selectFrom('snapshots')
            .select(['id', 'instance_id', sql<string>`cast(${at} as text)`.as('first_ran_at'), sql<string>`cast(${at} as text)`.as('last_ran_at')])
            .where('id', '=', snapshotId)
            .where('instance_id', '=', instanceId),
        )
        .onConflict((oc) => oc.column('snapshot_id').doUpdateSet({ last_ran_at: at }))
        .execute(),
    /** Marks a change the agent must act on. */
    bumpGeneration: (id: string, updatedAt: string, ex: Executor) =>
      ex
        .updateTable('instances')
        .set((eb) => ({ generation: eb('generation', '+', 1), updated_at: updatedAt }))
        .where('id', '=', id)
        .execute(),
    /**
     * Devices, groups and rollouts that name a snapshot of these instances: deleting the
     * instances would take away what those devices run, so it is refused while any does.
     */
    fleetUsingSnapshotsOf: async (instanceIds: readonly string[]): Promise<number> => {
      if (instanceIds.length === 0) return 0;
      const ofInstances = db.selectFrom('snapshots').select('id').where('instance_id', 'in', instanceIds);
      const [devices, groups, rollouts] = await Promise.all([
        db
          .selectFrom('devices')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('revoked_at', 'is', null)
          .where((eb) => eb.or([eb('target_snapshot_id', 'in', ofInstances), eb('running_snapshot_id', 'in', ofInstances)]))
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('device_groups')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('target_snapshot_id', 'in', ofInstances)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('rollouts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('state', 'in', ACTIVE_ROLLOUT_STATES)
          .where('snapshot_id', 'in', ofInstances)
          .executeTakeFirstOrThrow(),
      ]);
      return Number(devices.n) + Number(groups.n) + Number(rollouts.n);
    },
    deleteInstance: (id: string, ex: Executor) => ex.deleteFrom('instances').where('id', '=', id).execute(),
    /** The snapshots that go with the instances when they are deleted, oldest first: for the record. */
    snapshotsOfInstances: (instanceIds: readonly string[], ex: Executor = db) =>
      instanceIds.length === 0
        ? Promise.resolve([])
        : ex.selectFrom('snapshots').select(['id', 'hash', 'name']).where('instance_id', 'in', instanceIds).orderBy('created_at').execute(),

    envOf: (instanceId: string, ex: Executor = db) => ex.selectFrom('instance_env').selectAll().where('instance_id', '=', instanceId).orderBy('name').execute(),
    replaceEnv: async (instanceId: string, rows: InstanceEnvTable[], ex: Executor) => {
      await ex.deleteFrom('instance_env').where('instance_id', '=', instanceId).execute();
      if (rows.length) await ex.insertInto('instance_env').values(rows).execute();
    },

    teamSettings: (teamId: string, ex: Executor = db) => ex.selectFrom('team_settings').selectAll().where('team_id', '=', teamId).executeTakeFirst(),
    upsertTeamSettings: (row: TeamSettingsTable, ex: Executor) =>
      ex
        .insertInto('team_settings')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('team_id')
            .doUpdateSet({ palette_allow: row.palette_allow, palette_deny: row.palette_deny, auto_snapshot_retention: row.auto_snapshot_retention, updated_at: row.updated_at }),
        )
        .execute(),
  };
}

export type ApplicationsStore = ReturnType<typeof createApplicationsStore>;

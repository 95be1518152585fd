import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import type { DevicesTable, RolloutDevicesTable, RolloutDeviceState, RolloutsTable, RolloutState } from '../../db/schema.ts';

/** Rollouts that still hold their group: a new target or rollout for it waits until they end. */
export const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = ['running', 'paused', 'halted'];

export type WaveDevice = Pick<RolloutDevicesTable, 'device_id' | 'state' | 'started_at' | 'reached_at'> &
  Pick<DevicesTable, 'revoked_at' | 'running_snapshot_id' | 'status_detail'> & { device_state: DevicesTable['state'] };

export function createDeploymentsStore(db: Db) {
  return {
    /** Points devices at a snapshot and bumps their generation, so their long polls answer. */
    setTargets: async (deviceIds: readonly string[], snapshotId: string | null, ex: Executor) => {
      for (let i = 0; i < deviceIds.length; i += 5000) {
        await ex
          .updateTable('devices')
          .set((eb) => ({ target_snapshot_id: snapshotId, generation: eb('generation', '+', 1), state: 'updating', status_detail: null }))
          .where('id', 'in', deviceIds.slice(i, i + 5000))
          // A device that targets it already keeps its state: it reports nothing new to wait for.
          .where((eb) =>
            snapshotId === null ? eb('target_snapshot_id', 'is not', null) : eb.or([eb('target_snapshot_id', 'is', null), eb('target_snapshot_id', '!=', snapshotId)]),
          )
          .execute();
      }
    },
    setGroupTarget: (groupId: string, snapshotId: string | null, ex: Executor) =>
      ex.updateTable('device_groups').set({ target_snapshot_id: snapshotId }).where('id', '=', groupId).execute(),
    liveDevicesOfGroup: (groupId: string, ex: Executor = db) =>
      ex
        .selectFrom('devices')
        .innerJoin('sites', 'sites.id', 'devices.site_id')
        .select(['devices.id', 'devices.site_id', 'devices.target_snapshot_id'])
        .where('devices.group_id', '=', groupId)
        .where('devices.revoked_at', 'is', null)
        // Wave order: one plant after the other, so the first wave is a canary at one site.
        .orderBy('sites.name')
        .orderBy('devices.name')
        .orderBy('devices.id')
        .execute(),

    insertRollout: (rollout: RolloutsTable, ex: Executor) => ex.insertInto('rollouts').values(rollout).execute(),
    insertRolloutDevices: async (rows: readonly RolloutDevicesTable[], ex: Executor) => {
      // SQLite takes at most 32,766 bound values in one statement: 9 columns a row.
      for (let i = 0; i < rows.length; i += 2000)
        await ex
          .insertInto('rollout_devices')
          .values(rows.slice(i, i + 2000))
          .execute();
    },
    rolloutById: (id: string, ex: Executor = db) => ex.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst(),
    rolloutsOfTeam: (teamId: string, limit: number) =>
      db.selectFrom('rollouts').selectAll().where('team_id', '=', teamId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute(),
    activeRolloutOfGroup: (groupId: string, ex: Executor = db) =>
      ex.selectFrom('rollouts').selectAll().where('group_id', '=', groupId).where('state', 'in', ACTIVE_ROLLOUT_STATES).executeTakeFirst(),
    runningRollouts: () => db.selectFrom('rollouts').selectAll().where('state', '=', 'running').execute(),
    updateRollout: (id: string, patch: Partial<RolloutsTable>, ex: Executor = db) => ex.updateTable('rollouts').set(patch).where('id', '=', id).execute(),

    /** The devices of one wave with what they last reported. */
    waveDevices: (rolloutId: string, wave: number, ex: Executor = db): Promise<WaveDevice[]> =>
      ex
        .selectFrom('rollout_devices')
        .innerJoin('devices', 'devices.id', 'rollout_devices.device_id')
        .select([
          'rollout_devices.device_id',
          'rollout_devices.state',
          'rollout_devices.started_at',
          'rollout_devices.reached_at',
          'devices.revoked_at',
          'devices.running_snapshot_id',
          'devices.status_detail',
          'devices.state as device_state',
        ])
        .where('rollout_devices.rollout_id', '=', rolloutId)
        .where('rollout_devices.wave', '=', wave)
        .execute(),
    waveDeviceIds: async (rolloutId: string, wave: number, ex: Executor) =>
      (await ex.selectFrom('rollout_devices').select('device_id').where('rollout_id', '=', rolloutId).where('wave', '=', wave).execute()).map((r) => r.device_id),
    setRolloutDevices: async (rolloutId: string, deviceIds: readonly string[], patch: Partial<RolloutDevicesTable>, ex: Executor = db) => {
      for (let i = 0; i < deviceIds.length; i += 5000) {
        await ex
          .updateTable('rollout_devices')
          .set(patch)
          .where('rollout_id', '=', rolloutId)
          .where('device_id', 'in', deviceIds.slice(i, i + 5000))
          .execute();
      }
    },
    startWave: (rolloutId: string, wave: number, at: string, ex: Executor) =>
      ex
        .updateTable('rollout_devices')
        .set({ state: 'updating', started_at: at })
        .where('rollout_id', '=', rolloutId)
        .where('wave', '=', wave)
        .where('state', '=', 'pending')
        .execute(),
    /** An aborted rollout's devices that never got their wave. */
    skipPending: (rolloutId: string, detail: string, ex: Executor) =>
      ex.updateTable('rollout_devices').set({ state: 'skipped', detail }).where('rollout_id', '=', rolloutId).where('state', '=', 'pending').execute(),
    failedCount: async (rolloutId: string, ex: Executor = db) =>
      Number(
        (
          await ex
            .selectFrom('rollout_devices')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('rollout_id', '=', rolloutId)
            .where('state', '=', 'failed')
            .executeTakeFirstOrThrow()
        ).n,
      ),
    /** Devices by site and state: what the rollout page draws. */
    progress: (rolloutId: string) =>
      db
        .selectFrom('rollout_devices')
        .select(['site_id', 'state', sql<number>`count(*)`.as('n')])
        .where('rollout_id', '=', rolloutId)
        .groupBy(['site_id', 'state'])
        .execute(),
    rolloutDevices: (rolloutId: string, state: RolloutDeviceState | undefined, limit: number, offset: number) =>
      db
        .selectFrom('rollout_devices')
        .innerJoin('devices', 'devices.id', 'rollout_devices.device_id')
        .select([
          'rollout_devices.device_id',
          'devices.name',
          'rollout_devices.site_id',
          'rollout_devices.wave',
          'rollout_devices.state',
          'rollout_devices.detail',
          'rollout_devices.started_at',
          'rollout_devices.finished_at',
        ])
        .where('rollout_devices.rollout_id', '=', rolloutId)
        .$if(state !== undefined, (q) => q.where('rollout_devices.state', '=', state!))
        .orderBy('rollout_devices.wave')
        .orderBy('devices.name')
        .limit(limit)
        .offset(offset)
        .execute(),
    /** The rollout a device is in now, if its group has one that has not ended. */
    activeRolloutOfDevice: (deviceId: string, ex: Executor = db) =>
      ex
        .selectFrom('rollout_devices')
        .innerJoin('rollouts', 'rollouts.id', 'rollout_devices.rollout_id')
        .select(['rollouts.id', 'rollouts.state'])
        .where('rollout_devices.device_id', '=', deviceId)
        .where('rollouts.state', 'in', ACTIVE_ROLLOUT_STATES)
        .executeTakeFirst(),
    devicesInActiveRollouts: async (deviceIds: readonly string[], ex: Executor = db): Promise<string[]> =>
      deviceIds.length === 0
        ? []
        : (
            await ex
              .selectFrom('rollout_devices')
              .innerJoin('rollouts', 'rollouts.id', 'rollout_devices.rollout_id')
              .select('rollout_devices.device_id')
              .where('rollout_devices.device_id', 'in', deviceIds)
              .where('rollouts.state', 'in', ACTIVE_ROLLOUT_STATES)
              .execute()
          ).map((r) => r.device_id),
  };
}

export type DeploymentsStore = ReturnType<typeof createDeploymentsStore>;

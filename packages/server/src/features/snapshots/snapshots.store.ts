import type { Transaction } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Schema, SnapshotsTable } from '../../db/schema.ts';

type Executor = Db | Transaction<Schema>;
const LISTED = ['id', 'instance_id', 'team_id', 'hash', 'name', 'description', 'kind', 'node_count', 'created_by', 'created_by_label', 'created_at'] as const;
export type SnapshotSummary = Omit<SnapshotsTable, 'content'>;

export function createSnapshotsStore(db: Db) {
  return {
    listOfInstance: (instanceId: string): Promise<SnapshotSummary[]> =>
      db.selectFrom('snapshots').select(LISTED).where('instance_id', '=', instanceId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute(),
    byId: (id: string, ex: Executor = db) => ex.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst(),
    /** What a snapshot is, without its content: for answers that name it, not ship it. */
    summaryById: (id: string, ex: Executor = db): Promise<SnapshotSummary | undefined> => ex.selectFrom('snapshots').select(LISTED).where('id', '=', id).executeTakeFirst(),
    insert: (s: SnapshotsTable, ex: Executor) => ex.insertInto('snapshots').values(s).execute(),
    /**
     * Automatic snapshots beyond the newest `keep`, never the ones an instance targets or
     * runs, nor one a device, a device group or a rollout names.
     */
    /** Automatic snapshots past the newest `keep`, less those in use (`protectedIds`, devices, groups, rollouts). */
    expiredAuto: async (instanceId: string, keep: number, protectedIds: string[], ex: Executor) => {
      const newest = await ex.selectFrom('snapshots').select('id').where('instance_id', '=', instanceId).where('kind', '=', 'auto').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(keep).execute();
      const kept = [...protectedIds, ...newest.map((n) => n.id)];
      return ex
        .selectFrom('snapshots')
        .select(['id', 'name', 'hash'])
        .where('instance_id', '=', instanceId)
        .where('kind', '=', 'auto')
        .$if(kept.length > 0, (q) => q.where('id', 'not in', kept))
        .where(({ eb, exists, not, selectFrom, or }) =>
          not(
            or([
              exists(selectFrom('devices').select('devices.id').where((w) => w.or([w('devices.target_snapshot_id', '=', eb.ref('snapshots.id')), w('devices.running_snapshot_id', '=', eb.ref('snapshots.id'))]))),
              exists(selectFrom('device_groups').select('device_groups.id').where('device_groups.target_snapshot_id', '=', eb.ref('snapshots.id'))),
              exists(selectFrom('rollouts').select('rollouts.id').where('rollouts.snapshot_id', '=', eb.ref('snapshots.id'))),
            ]),
          ),
        )
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(10_000)
        .execute();
    },
    delete: (ids: string[], ex: Executor) => ex.deleteFrom('snapshots').where('id', 'in', ids).execute(),
  };
}

export type SnapshotsStore = ReturnType<typeof createSnapshotsStore>;

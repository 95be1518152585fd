import type { Db, Executor } from '../../db/database.ts';
import type { SnapshotsTable } from '../../db/schema.ts';

const LISTED = ['id', 'instance_id', 'team_id', 'hash', 'name', 'description', 'kind', 'node_count', 'created_by', 'created_by_label', 'created_at'] as const;
export type SnapshotSummary = Omit<SnapshotsTable, 'content'>;
export type Runs = { first_ran_at: string | null; last_ran_at: string | null };
/** Where a snapshot runs now, by its hash: its instance (running), and how many of the team's devices (running it). */
export type RunsNow = { runs_now: { instance: boolean; devices: number } };
/** The hash the instance runs now (null unless running), and per hash how many of the team's devices run it. */
export type Running = { instanceHash: string | null; devices: Map<string, number> };

export function createSnapshotsStore(db: Db) {
  return {
    /** Newest first, each with when it ran on the instance (first and last time), if it ever did. */
    listOfInstance: (instanceId: string): Promise<Array<SnapshotSummary & Runs>> =>
      db
        .selectFrom('snapshots')
        .leftJoin('snapshot_runs', 'snapshot_runs.snapshot_id', 'snapshots.id')
        .select(LISTED.map((c) => `snapshots.${c}` as const))
        .select(['snapshot_runs.first_ran_at', 'snapshot_runs.last_ran_at'])
        .where('snapshots.instance_id', '=', instanceId)
        .orderBy('snapshots.created_at', 'desc')
        .orderBy('snapshots.id', 'desc')
        .execute(),
    /**
     * What runs now, by hash rather than id: a snapshot named after an editor deploy holds
     * the same flows as the deploy's automatic one, and runs wherever that one does.
     */
    running: async (instanceId: string, teamId: string): Promise<Running> => {
      const instance = await db
        .selectFrom('instances')
        .innerJoin('snapshots', 'snapshots.id', 'instances.running_snapshot_id')
        .select('snapshots.hash')
        .where('instances.id', '=', instanceId)
        .where('instances.status', '=', 'running')
        .executeTakeFirst();
      const devices = await db
        .selectFrom('devices')
        .innerJoin('snapshots', 'snapshots.id', 'devices.running_snapshot_id')
        .select(['snapshots.hash', (eb) => eb.fn.countAll<number>().as('n')])
        .where('devices.team_id', '=', teamId)
        .where('devices.revoked_at', 'is', null)
        .where('devices.state', '=', 'running')
        .groupBy('snapshots.hash')
        .execute();
      return { instanceHash: instance?.hash ?? null, devices: new Map(devices.map((d) => [d.hash, Number(d.n)])) };
    },
    /** When the snapshot ran on its instance, first and last time; undefined if it never did. */
    runOf: (snapshotId: string, ex: Executor = db) =>
      ex.selectFrom('snapshot_runs').select(['first_ran_at', 'last_ran_at']).where('snapshot_id', '=', snapshotId).executeTakeFirst(),
    byId: (id: string, ex: Executor = db) => ex.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst(),
    /** What a snapshot is, without its content: for answers that name it, not ship it. */
    summaryById: (id: string, ex: Executor = db): Promise<SnapshotSummary | undefined> => ex.selectFrom('snapshots').select(LISTED).where('id', '=', id).executeTakeFirst(),
    insert: (s: SnapshotsTable, ex: Executor) => ex.insertInto('snapshots').values(s).execute(),
    /** Automatic snapshots past the newest `keep`, less those in use (`protectedIds`, devices, groups, rollouts). */
    expiredAuto: async (instanceId: string, keep: number, protectedIds: string[], ex: Executor) => {
      const newest = await ex
        .selectFrom('snapshots')
        .select('id')
        .where('instance_id', '=', instanceId)
        .where('kind', '=', 'auto')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(keep)
        .execute();
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
              exists(
                selectFrom('devices')
                  .select('devices.id')
                  .where((w) => w.or([w('devices.target_snapshot_id', '=', eb.ref('snapshots.id')), w('devices.running_snapshot_id', '=', eb.ref('snapshots.id'))])),
              ),
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

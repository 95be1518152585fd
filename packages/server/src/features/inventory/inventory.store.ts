import type { Db, Executor } from '../../db/database.ts';
import type { InventoryDecisionsTable } from '../../db/schema.ts';

/**
 * The automatic inventory's reads: every hosted instance and every device that is not
 * revoked, with its team, site and the hash of the snapshot it runs, across all teams (the
 * compliance lead's view). Two queries, not a union: the two kinds share few columns.
 */
export function createInventoryStore(db: Db) {
  return {
    instances: (teamId?: string) => {
      let query = db
        .selectFrom('instances')
        .innerJoin('teams', 'teams.id', 'instances.team_id')
        .innerJoin('applications', 'applications.id', 'instances.application_id')
        .leftJoin('snapshots', 'snapshots.id', 'instances.running_snapshot_id')
        .select([
          'instances.id',
          'instances.name',
          'instances.team_id',
          'teams.name as team_name',
          'applications.name as application_name',
          'instances.node_red_version',
          'instances.desired_state',
          'instances.status',
          'instances.running_snapshot_id',
          'snapshots.hash as running_hash',
          'instances.facts',
          'instances.facts_reported_at',
          'instances.last_seen_at',
          'instances.created_at',
        ]);
      if (teamId) query = query.where('instances.team_id', '=', teamId);
      return query.orderBy('instances.name').orderBy('instances.id').execute();
    },
    devices: (filter: { teamId?: string | undefined; siteId?: string | undefined }) => {
      let query = db
        .selectFrom('devices')
        .innerJoin('teams', 'teams.id', 'devices.team_id')
        .innerJoin('sites', 'sites.id', 'devices.site_id')
        .leftJoin('applications', 'applications.id', 'devices.application_id')
        .leftJoin('snapshots', 'snapshots.id', 'devices.running_snapshot_id')
        .select([
          'devices.id',
          'devices.name',
          'devices.team_id',
          'teams.name as team_name',
          'devices.site_id',
          'sites.name as site_name',
          'applications.name as application_name',
          'devices.agent_version',
          'devices.node_red_version',
          'devices.state',
          'devices.running_snapshot_id',
          'snapshots.hash as running_hash',
          'devices.facts',
          'devices.facts_reported_at',
          'devices.last_seen_at',
          'devices.created_at',
        ])
        // A revoked device is cut off: the platform no longer governs or sees it (device.revoked is its record).
        .where('devices.revoked_at', 'is', null);
      if (filter.teamId) query = query.where('devices.team_id', '=', filter.teamId);
      if (filter.siteId) query = query.where('devices.site_id', '=', filter.siteId);
      return query.orderBy('devices.name').orderBy('devices.id').execute();
    },
    snapshotContent: (id: string) => db.selectFrom('snapshots').select(['id', 'hash', 'content']).where('id', '=', id).executeTakeFirst(),
    allDecisions: () => db.selectFrom('inventory_decisions').selectAll().execute(),
    /** Where instances and devices are placed: a zone of each SuC they are in (compliance's zone_members). */
    zonePlacements: () =>
      db
        .selectFrom('zone_members')
        .innerJoin('zones', 'zones.id', 'zone_members.zone_id')
        .innerJoin('sucs', 'sucs.id', 'zone_members.suc_id')
        .select(['zone_members.kind', 'zone_members.member_id', 'sucs.id as suc_id', 'sucs.name as suc_name', 'zones.id as zone_id', 'zones.name as zone_name'])
        .where('zone_members.kind', 'in', ['instance', 'device'])
        .orderBy('sucs.name')
        .execute(),
    decisionsOf: (kind: 'instance' | 'device', itemId: string) =>
      db.selectFrom('inventory_decisions').selectAll().where('item_kind', '=', kind).where('item_id', '=', itemId).execute(),
    putDecision: async (row: InventoryDecisionsTable, ex: Executor) => {
      await ex
        .deleteFrom('inventory_decisions')
        .where('item_kind', '=', row.item_kind)
        .where('item_id', '=', row.item_id)
        .where('connection_key', '=', row.connection_key)
        .execute();
      await ex.insertInto('inventory_decisions').values(row).execute();
    },
    deleteDecision: (kind: 'instance' | 'device', itemId: string, key: string, ex: Executor) =>
      ex.deleteFrom('inventory_decisions').where('item_kind', '=', kind).where('item_id', '=', itemId).where('connection_key', '=', key).execute(),
  };
}

export type InventoryStore = ReturnType<typeof createInventoryStore>;

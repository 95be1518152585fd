import type { Db, Executor } from '../../db/database.ts';
import type { ConduitsTable, ScopeKind, SucMembersTable, SucsTable, ZoneMembersTable, ZonesTable } from '../../db/schema.ts';

/** A thing that may be scoped into a SuC, as the catalogue of the platform names it. */
export interface ScopeThing {
  kind: ScopeKind;
  id: string;
  name: string;
  /** The team it belongs to (its own id for a team). */
  teamId: string | null;
  teamName: string | null;
  /** For an instance: what it runs, by name and hash (metadata only, never the flows). */
  detail: string;
}

export type ScopeKey = Pick<SucMembersTable, 'kind' | 'member_id'>;

export function createComplianceStore(db: Db) {
  return {
    sucs: (ex: Executor = db) => ex.selectFrom('sucs').selectAll().orderBy('name').execute(),
    sucById: (id: string, ex: Executor = db) => ex.selectFrom('sucs').selectAll().where('id', '=', id).executeTakeFirst(),
    sucByName: (name: string, ex: Executor) => ex.selectFrom('sucs').select('id').where('name', '=', name).executeTakeFirst(),
    insertSuc: (suc: SucsTable, ex: Executor) => ex.insertInto('sucs').values(suc).execute(),
    updateSuc: (id: string, patch: Partial<SucsTable>, ex: Executor) => ex.updateTable('sucs').set(patch).where('id', '=', id).execute(),
    deleteSuc: (id: string, ex: Executor) => ex.deleteFrom('sucs').where('id', '=', id).execute(),

    /** Every SuC's members, for the list's counts and the unscoped remainder. */
    allMembers: (ex: Executor = db) => ex.selectFrom('suc_members').selectAll().execute(),
    membersOf: (sucId: string, ex: Executor = db) => ex.selectFrom('suc_members').selectAll().where('suc_id', '=', sucId).orderBy('kind').orderBy('member_id').execute(),
    insertMembers: async (rows: SucMembersTable[], ex: Executor) => {
      if (rows.length) await ex.insertInto('suc_members').values(rows).execute();
    },
    /** Takes things out of a SuC; their zone assignments go with them (foreign key, cascade). */
    deleteMembers: async (sucId: string, keys: readonly ScopeKey[], ex: Executor) => {
      for (const key of keys) await ex.deleteFrom('suc_members').where('suc_id', '=', sucId).where('kind', '=', key.kind).where('member_id', '=', key.member_id).execute();
    },
    zonesOf: (sucId: string, ex: Executor = db) => ex.selectFrom('zones').selectAll().where('suc_id', '=', sucId).orderBy('name').execute(),
    zoneCounts: (ex: Executor = db) =>
      ex
        .selectFrom('zones')
        .select(['suc_id'])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .groupBy('suc_id')
        .execute(),
    zoneById: (id: string, ex: Executor = db) => ex.selectFrom('zones').selectAll().where('id', '=', id).executeTakeFirst(),
    zoneByName: (sucId: string, name: string, ex: Executor) => ex.selectFrom('zones').select('id').where('suc_id', '=', sucId).where('name', '=', name).executeTakeFirst(),
    insertZone: (zone: ZonesTable, ex: Executor) => ex.insertInto('zones').values(zone).execute(),
    updateZone: (id: string, patch: Partial<ZonesTable>, ex: Executor) => ex.updateTable('zones').set(patch).where('id', '=', id).execute(),
    deleteZone: (id: string, ex: Executor) => ex.deleteFrom('zones').where('id', '=', id).execute(),

    zoneMembersOfSuc: (sucId: string, ex: Executor = db) => ex.selectFrom('zone_members').selectAll().where('suc_id', '=', sucId).execute(),
    replaceZoneMembers: async (zoneId: string, rows: ZoneMembersTable[], ex: Executor) => {
      await ex.deleteFrom('zone_members').where('zone_id', '=', zoneId).execute();
      if (rows.length) await ex.insertInto('zone_members').values(rows).execute();
    },

    conduitsOf: (sucId: string, ex: Executor = db) => ex.selectFrom('conduits').selectAll().where('suc_id', '=', sucId).orderBy('name').execute(),
    conduitCounts: (ex: Executor = db) =>
      ex
        .selectFrom('conduits')
        .select(['suc_id'])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .groupBy('suc_id')
        .execute(),
    conduitsOfZone: (zoneId: string, ex: Executor) =>
      ex
        .selectFrom('conduits')
        .selectAll()
        .where((eb) => eb.or([eb('from_zone_id', '=', zoneId), eb('to_zone_id', '=', zoneId)]))
        .execute(),
    conduitById: (id: string, ex: Executor = db) => ex.selectFrom('conduits').selectAll().where('id', '=', id).executeTakeFirst(),
    insertConduit: (conduit: ConduitsTable, ex: Executor) => ex.insertInto('conduits').values(conduit).execute(),
    updateConduit: (id: string, patch: Partial<ConduitsTable>, ex: Executor) => ex.updateTable('conduits').set(patch).where('id', '=', id).execute(),
    deleteConduit: (id: string, ex: Executor) => ex.deleteFrom('conduits').where('id', '=', id).execute(),

    /**
     * Everything of the platform that may be scoped, by name and team: teams, sites,
     * applications, instances and devices (revoked ones are records, not in operation, and
     * left out). Assets come from the inventory when it exists.
     */
    async catalogue(ex: Executor = db): Promise<ScopeThing[]> {
      const teams = await ex.selectFrom('teams').select(['id', 'name']).execute();
      const teamName = new Map(teams.map((t) => [t.id, t.name]));
      const of = (teamId: string) => ({ teamId, teamName: teamName.get(teamId) ?? null });
      const sites = await ex.selectFrom('sites').select(['id', 'name', 'team_id', 'location']).execute();
      const applications = await ex.selectFrom('applications').select(['id', 'name', 'team_id']).execute();
      const instances = await ex
        .selectFrom('instances')
        .leftJoin('snapshots', 'snapshots.id', 'instances.running_snapshot_id')
        .select(['instances.id', 'instances.name', 'instances.team_id', 'snapshots.name as snapshotName', 'snapshots.hash as snapshotHash'])
        .execute();
      const devices = await ex.selectFrom('devices').select(['id', 'name', 'team_id']).where('revoked_at', 'is', null).execute();
      return [
        ...teams.map((t) => ({ kind: 'team' as const, id: t.id, name: t.name, ...of(t.id), detail: '' })),
        ...sites.map((s) => ({ kind: 'site' as const, id: s.id, name: s.name, ...of(s.team_id), detail: s.location })),
        ...applications.map((a) => ({ kind: 'application' as const, id: a.id, name: a.name, ...of(a.team_id), detail: '' })),
        ...instances.map((i) => ({
          kind: 'instance' as const,
          id: i.id,
          name: i.name,
          ...of(i.team_id),
          detail: i.snapshotName ? `runs ${i.snapshotName} (${String(i.snapshotHash).slice(0, 12)})` : 'runs no snapshot',
        })),
        ...devices.map((d) => ({ kind: 'device' as const, id: d.id, name: d.name, ...of(d.team_id), detail: '' })),
      ];
    },

    /** The team of each named thing that exists (revoked devices do not count); a missing id is absent from the map. */
    async teamsOf(kind: ScopeKind, ids: readonly string[], ex: Executor = db): Promise<Map<string, string | null>> {
      if (ids.length === 0) return new Map();
      const list = [...ids];
      switch (kind) {
        case 'team':
          return new Map((await ex.selectFrom('teams').select('id').where('id', 'in', list).execute()).map((r) => [r.id, r.id]));
        case 'site':
          return new Map((await ex.selectFrom('sites').select(['id', 'team_id']).where('id', 'in', list).execute()).map((r) => [r.id, r.team_id]));
        case 'application':
          return new Map((await ex.selectFrom('applications').select(['id', 'team_id']).where('id', 'in', list).execute()).map((r) => [r.id, r.team_id]));
        case 'instance':
          return new Map((await ex.selectFrom('instances').select(['id', 'team_id']).where('id', 'in', list).execute()).map((r) => [r.id, r.team_id]));
        case 'device':
          return new Map(
            (await ex.selectFrom('devices').select(['id', 'team_id']).where('id', 'in', list).where('revoked_at', 'is', null).execute()).map((r) => [r.id, r.team_id]),
          );
        case 'asset':
          // The asset inventory is not built yet: no asset exists to be scoped.
          return new Map();
      }
    },
  };
}

export type ComplianceStore = ReturnType<typeof createComplianceStore>;

import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import type { DeviceGroupsTable, DevicesTable, FleetSettingsTable, ProvisioningTokensTable, SitesTable } from '../../db/schema.ts';

export interface DeviceFilter {
  siteId?: string | undefined;
  groupId?: string | undefined;
  state?: DevicesTable['state'] | undefined;
  q?: string | undefined;
  /** false: only devices that are not revoked. */
  revoked?: boolean | undefined;
}

export function createFleetStore(db: Db) {
  return {
    sitesOfTeam: (teamId: string) => db.selectFrom('sites').selectAll().where('team_id', '=', teamId).orderBy('name').execute(),
    siteById: (id: string, ex: Executor = db) => ex.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst(),
    siteByName: (teamId: string, name: string, ex: Executor) => ex.selectFrom('sites').select('id').where('team_id', '=', teamId).where('name', '=', name).executeTakeFirst(),
    insertSite: (site: SitesTable, ex: Executor) => ex.insertInto('sites').values(site).execute(),
    updateSite: (id: string, patch: Partial<SitesTable>, ex: Executor) => ex.updateTable('sites').set(patch).where('id', '=', id).execute(),
    deleteSite: (id: string, ex: Executor) => ex.deleteFrom('sites').where('id', '=', id).execute(),

    groupsOfTeam: (teamId: string) => db.selectFrom('device_groups').selectAll().where('team_id', '=', teamId).orderBy('name').execute(),
    groupById: (id: string, ex: Executor = db) => ex.selectFrom('device_groups').selectAll().where('id', '=', id).executeTakeFirst(),
    groupByName: (teamId: string, name: string, ex: Executor) =>
      ex.selectFrom('device_groups').select('id').where('team_id', '=', teamId).where('name', '=', name).executeTakeFirst(),
    insertGroup: (group: DeviceGroupsTable, ex: Executor) => ex.insertInto('device_groups').values(group).execute(),
    updateGroup: (id: string, patch: Partial<DeviceGroupsTable>, ex: Executor) => ex.updateTable('device_groups').set(patch).where('id', '=', id).execute(),
    deleteGroup: (id: string, ex: Executor) => ex.deleteFrom('device_groups').where('id', '=', id).execute(),

    tokensOfTeam: (teamId: string) => db.selectFrom('provisioning_tokens').selectAll().where('team_id', '=', teamId).orderBy('created_at', 'desc').execute(),
    tokenById: (id: string, ex: Executor = db) => ex.selectFrom('provisioning_tokens').selectAll().where('id', '=', id).executeTakeFirst(),
    insertToken: (token: ProvisioningTokensTable, ex: Executor) => ex.insertInto('provisioning_tokens').values(token).execute(),
    revokeToken: (id: string, at: string, ex: Executor) => ex.updateTable('provisioning_tokens').set({ revoked_at: at }).where('id', '=', id).execute(),
    tokenByHash: (hash: string) => db.selectFrom('provisioning_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst(),
    /**
     * Spends one use of a token, only while it is usable: the check and the count in one
     * statement, so two devices racing for a one-time code cannot both have it.
     */
    spendToken: async (id: string, now: string, ex: Executor): Promise<boolean> => {
      const result = await ex
        .updateTable('provisioning_tokens')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where((eb) => eb.or([eb('single_use', '=', 0), eb('uses', '=', 0)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** One page of a team's devices, by name, with the filters the device list offers; and how many match in all. */
    devicesPage: async (teamId: string, filter: DeviceFilter, limit: number, offset: number) => {
      const where = db
        .selectFrom('devices')
        .where('team_id', '=', teamId)
        .$if(filter.siteId !== undefined, (q) => q.where('site_id', '=', filter.siteId!))
        .$if(filter.groupId !== undefined, (q) => q.where('group_id', '=', filter.groupId!))
        .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state!))
        .$if(filter.revoked === false, (q) => q.where('revoked_at', 'is', null))
        // A name fragment, matched literally: % and _ typed by a person are not wildcards.
        .$if(Boolean(filter.q), (q) => q.where(sql<boolean>`lower(name) like ${`%${filter.q!.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`));
      const [rows, count] = await Promise.all([
        where.selectAll().orderBy('name').orderBy('created_at').limit(limit).offset(offset).execute(),
        where.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(count.n) };
    },
    devicesOfTeam: (teamId: string) => db.selectFrom('devices').selectAll().where('team_id', '=', teamId).orderBy('name').orderBy('created_at').execute(),
    deviceById: (id: string, ex: Executor = db) => ex.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst(),
    /** A device that may call the platform: known credential, not revoked. */
    deviceByCredentialHash: (hash: string) => db.selectFrom('devices').selectAll().where('credential_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst(),
    insertDevice: (device: DevicesTable, ex: Executor) => ex.insertInto('devices').values(device).execute(),
    updateDevice: (id: string, patch: Partial<DevicesTable>, ex: Executor = db) => ex.updateTable('devices').set(patch).where('id', '=', id).execute(),
    /** Changes to many devices in one transaction: a batch of heartbeats or of reported states. */
    updateDevices: (entries: ReadonlyArray<readonly [id: string, changes: Partial<DevicesTable>]>) =>
      db.transaction().execute(async (trx) => {
        for (const [id, changes] of entries) await trx.updateTable('devices').set(changes).where('id', '=', id).execute();
      }),
    liveDevicesAt: (siteId: string, ex: Executor) => ex.selectFrom('devices').select('id').where('site_id', '=', siteId).where('revoked_at', 'is', null).execute(),

    fleetSettings: (teamId: string) => db.selectFrom('fleet_settings').selectAll().where('team_id', '=', teamId).executeTakeFirst(),
    teamsWithOfflineAlerts: () => db.selectFrom('fleet_settings').selectAll().where('offline_alert_minutes', 'is not', null).execute(),
    saveFleetSettings: (row: FleetSettingsTable, ex: Executor) =>
      ex
        .insertInto('fleet_settings')
        .values(row)
        .onConflict((oc) =>
          oc.column('team_id').doUpdateSet({ offline_alert_minutes: row.offline_alert_minutes, alert_webhook_url: row.alert_webhook_url, updated_at: row.updated_at }),
        )
        .execute(),

    /** Tokens still usable that name the site or group: they keep it from being deleted. */
    activeTokensNaming: (column: 'site_id' | 'group_id', id: string, now: string, ex: Executor) =>
      ex
        .selectFrom('provisioning_tokens')
        .select('id')
        .where(column, '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where((eb) => eb.or([eb('single_use', '=', 0), eb('uses', '=', 0)]))
        .execute(),
  };
}

export type FleetStore = ReturnType<typeof createFleetStore>;

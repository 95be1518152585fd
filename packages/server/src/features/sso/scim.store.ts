import type { Db, Executor } from '../../db/database.ts';
import type { ScimGroupsTable, UsersTable } from '../../db/schema.ts';

export type ScimUserRow = UsersTable & { external_id: string | null };

export function createScimStore(db: Db) {
  const usersOf = (providerId: string, ex: Executor) =>
    ex
      .selectFrom('scim_users')
      .innerJoin('users', 'users.id', 'scim_users.user_id')
      .selectAll('users')
      .select('scim_users.external_id')
      .where('scim_users.provider_id', '=', providerId);

  return {
    providerByTokenHash: (hash: string) => db.selectFrom('identity_providers').selectAll().where('scim_token_hash', '=', hash).executeTakeFirst(),
    setToken: (providerId: string, hash: string | null, ex: Executor) => ex.updateTable('identity_providers').set({ scim_token_hash: hash }).where('id', '=', providerId).execute(),

    /** The provider's users, filtered by user name (email) or external id; a page of them, and how many match. */
    async users(providerId: string, filter: { userName?: string; externalId?: string }, offset: number, limit: number): Promise<{ rows: ScimUserRow[]; total: number }> {
      let query = usersOf(providerId, db);
      if (filter.userName !== undefined) query = query.where('users.email', '=', filter.userName.toLowerCase());
      if (filter.externalId !== undefined) query = query.where('scim_users.external_id', '=', filter.externalId);
      const rows = await query.orderBy('users.created_at').orderBy('users.id').limit(limit).offset(offset).execute();
      const counted = await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return { rows, total: Number(counted.n) };
    },
    user: (providerId: string, userId: string, ex: Executor = db) => usersOf(providerId, ex).where('users.id', '=', userId).executeTakeFirst(),
    link: (providerId: string, userId: string, externalId: string | null, at: string, ex: Executor) =>
      ex.insertInto('scim_users').values({ provider_id: providerId, user_id: userId, external_id: externalId, created_at: at }).execute(),
    setExternalId: (providerId: string, userId: string, externalId: string | null, ex: Executor) =>
      ex.updateTable('scim_users').set({ external_id: externalId }).where('provider_id', '=', providerId).where('user_id', '=', userId).execute(),
    unlink: (providerId: string, userId: string, ex: Executor) => ex.deleteFrom('scim_users').where('provider_id', '=', providerId).where('user_id', '=', userId).execute(),

    groups(providerId: string, displayName: string | undefined, ex: Executor = db): Promise<ScimGroupsTable[]> {
      let query = ex.selectFrom('scim_groups').selectAll().where('provider_id', '=', providerId);
      if (displayName !== undefined) query = query.where('display_name', '=', displayName);
      return query.orderBy('display_name').execute();
    },
    group: (providerId: string, id: string, ex: Executor = db) =>
      ex.selectFrom('scim_groups').selectAll().where('provider_id', '=', providerId).where('id', '=', id).executeTakeFirst(),
    groupByName: (providerId: string, name: string, ex: Executor) =>
      ex.selectFrom('scim_groups').select('id').where('provider_id', '=', providerId).where('display_name', '=', name).executeTakeFirst(),
    insertGroup: (g: ScimGroupsTable, ex: Executor) => ex.insertInto('scim_groups').values(g).execute(),
    updateGroup: (id: string, patch: Partial<ScimGroupsTable>, ex: Executor) => ex.updateTable('scim_groups').set(patch).where('id', '=', id).execute(),
    deleteGroup: (id: string, ex: Executor) => ex.deleteFrom('scim_groups').where('id', '=', id).execute(),
    members: async (groupId: string, ex: Executor = db) =>
      await ex
        .selectFrom('scim_group_members')
        .innerJoin('users', 'users.id', 'scim_group_members.user_id')
        .select(['users.id', 'users.email'])
        .where('group_id', '=', groupId)
        .orderBy('users.email')
        .execute(),
    addMember: (groupId: string, userId: string, ex: Executor) =>
      ex
        .insertInto('scim_group_members')
        .values({ group_id: groupId, user_id: userId })
        .onConflict((oc) => oc.doNothing())
        .execute(),
    removeMember: (groupId: string, userId: string, ex: Executor) => ex.deleteFrom('scim_group_members').where('group_id', '=', groupId).where('user_id', '=', userId).execute(),
    /** The names of the provider's groups a person is in: what their mappings are applied from. */
    groupNamesOf: async (providerId: string, userId: string, ex: Executor) =>
      (
        await ex
          .selectFrom('scim_group_members')
          .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
          .select('scim_groups.display_name')
          .where('scim_groups.provider_id', '=', providerId)
          .where('scim_group_members.user_id', '=', userId)
          .execute()
      ).map((r) => r.display_name),
  };
}

export type ScimStore = ReturnType<typeof createScimStore>;

import type { Db, Executor } from '../../db/database.ts';
import type { IdentityProvidersTable, MembershipsTable, SsoIdentitiesTable, SsoRequestsTable } from '../../db/schema.ts';

export function createSsoStore(db: Db) {
  return {
    providers: (ex: Executor = db) => ex.selectFrom('identity_providers').selectAll().orderBy('name').execute(),
    providerById: (id: string, ex: Executor = db) => ex.selectFrom('identity_providers').selectAll().where('id', '=', id).executeTakeFirst(),
    providerByName: (name: string, ex: Executor) => ex.selectFrom('identity_providers').select('id').where('name', '=', name).executeTakeFirst(),
    insertProvider: (p: IdentityProvidersTable, ex: Executor) => ex.insertInto('identity_providers').values(p).execute(),
    updateProvider: (id: string, patch: Partial<IdentityProvidersTable>, ex: Executor) => ex.updateTable('identity_providers').set(patch).where('id', '=', id).execute(),
    deleteProvider: (id: string, ex: Executor) => ex.deleteFrom('identity_providers').where('id', '=', id).execute(),

    identity: (providerId: string, subject: string, ex: Executor = db) =>
      ex.selectFrom('sso_identities').selectAll().where('provider_id', '=', providerId).where('subject', '=', subject).executeTakeFirst(),
    insertIdentity: (i: SsoIdentitiesTable, ex: Executor) => ex.insertInto('sso_identities').values(i).execute(),
    touchIdentity: (providerId: string, subject: string, at: string, ex: Executor) =>
      ex.updateTable('sso_identities').set({ last_login_at: at }).where('provider_id', '=', providerId).where('subject', '=', subject).execute(),
    hasIdentity: async (userId: string, ex: Executor = db) =>
      (await ex.selectFrom('sso_identities').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined,

    insertRequest: (r: SsoRequestsTable) => db.insertInto('sso_requests').values(r).execute(),
    /** The request a state names, deleted as it is read: a state works once. */
    takeRequest: (stateHash: string) => db.deleteFrom('sso_requests').where('state_hash', '=', stateHash).returningAll().executeTakeFirst(),
    deleteExpiredRequests: (now: string) => db.deleteFrom('sso_requests').where('expires_at', '<', now).execute(),

    membershipsOf: (userId: string, ex: Executor): Promise<MembershipsTable[]> => ex.selectFrom('memberships').selectAll().where('user_id', '=', userId).execute(),
    setMapped: (teamId: string, userId: string, patch: Pick<MembershipsTable, 'role' | 'mapped_by'>, ex: Executor) =>
      ex.updateTable('memberships').set(patch).where('team_id', '=', teamId).where('user_id', '=', userId).execute(),
  };
}

export type SsoStore = ReturnType<typeof createSsoStore>;

import type { Db, Dialect, Executor } from '../../db/database.ts';
import type { ApiTokensTable, PasswordResetsTable, SessionsTable, UsersTable } from '../../db/schema.ts';

export function createIdentityStore(db: Db, dialect: Dialect) {
  return {
    /**
     * The active platform admins, their rows locked until the transaction ends: of two admins
     * stepping each other down at once, on PostgreSQL the second waits here and then sees the
     * first's change (SQLite runs one write transaction at a time anyway, and has no FOR UPDATE).
     */
    lockActiveAdmins: async (trx: Executor): Promise<string[]> => {
      const active = trx.selectFrom('users').select('id').where('platform_role', '=', 'admin').where('status', '=', 'active');
      return (await (dialect === 'postgres' ? active.forUpdate() : active).execute()).map((u) => u.id);
    },
    countUsers: async (ex: Executor = db): Promise<number> => {
      const row = await ex
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    userById: (id: string, ex: Executor = db) => ex.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(),
    userByEmail: (email: string, ex: Executor = db) => ex.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst(),
    listUsers: (ex: Executor = db) => ex.selectFrom('users').selectAll().orderBy('email').execute(),
    insertUser: (user: UsersTable, ex: Executor) => ex.insertInto('users').values(user).execute(),
    updateUser: (id: string, patch: Partial<UsersTable>, ex: Executor) => ex.updateTable('users').set(patch).where('id', '=', id).execute(),

    insertSession: (session: SessionsTable, ex: Executor) => ex.insertInto('sessions').values(session).execute(),
    sessionByTokenHash: (tokenHash: string) => db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    sessionById: (id: string) => db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst(),
    sessionsOfUser: (userId: string) => db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('stage', '=', 'full').orderBy('last_seen_at', 'desc').execute(),
    updateSession: (id: string, patch: Partial<SessionsTable>, ex: Executor = db) => ex.updateTable('sessions').set(patch).where('id', '=', id).execute(),
    deleteSession: (id: string, ex: Executor = db) => ex.deleteFrom('sessions').where('id', '=', id).execute(),
    deleteSessionsOfUser: async (userId: string, ex: Executor): Promise<number> => {
      const result = await ex.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** The sign-ins still waiting for an MFA code. */
    deleteMfaSessionsOfUser: (userId: string, ex: Executor) => ex.deleteFrom('sessions').where('user_id', '=', userId).where('stage', '=', 'mfa').execute(),

    passwordResetByTokenHash: (tokenHash: string) => db.selectFrom('password_resets').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    /** One link at a time: a new one spends any earlier one of the person's. */
    insertPasswordReset: async (reset: PasswordResetsTable, ex: Executor) => {
      await ex.updateTable('password_resets').set({ used_at: reset.created_at }).where('user_id', '=', reset.user_id).where('used_at', 'is', null).execute();
      await ex.insertInto('password_resets').values(reset).execute();
    },
    /** Spends a link; false when it was spent already (two tabs racing with one link set one password). */
    spendPasswordReset: async (id: string, at: string, ex: Executor): Promise<boolean> =>
      Number((await ex.updateTable('password_resets').set({ used_at: at }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst()).numUpdatedRows) === 1,

    replaceRecoveryCodes: async (userId: string, hashes: string[], ex: Executor) => {
      await ex.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      if (hashes.length === 0) return;
      await ex
        .insertInto('recovery_codes')
        .values(hashes.map((code_hash) => ({ id: crypto.randomUUID(), user_id: userId, code_hash, used_at: null })))
        .execute();
    },
    /** Marks the code used if it exists and is unused; true when it did. */
    useRecoveryCode: async (userId: string, codeHash: string, usedAt: string, ex: Executor): Promise<boolean> => {
      const result = await ex
        .updateTable('recovery_codes')
        .set({ used_at: usedAt })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    unusedRecoveryCodes: async (userId: string): Promise<number> => {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    insertToken: (token: ApiTokensTable, ex: Executor) => ex.insertInto('api_tokens').values(token).execute(),
    tokenByHash: (tokenHash: string) => db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    tokensOfUser: (userId: string) => db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute(),
    tokenOfUser: (userId: string, id: string, ex: Executor = db) => ex.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst(),
    updateToken: (id: string, patch: Partial<ApiTokensTable>, ex: Executor = db) => ex.updateTable('api_tokens').set(patch).where('id', '=', id).execute(),

    teamMfaRequiredFor: async (userId: string): Promise<boolean> => {
      const row = await db
        .selectFrom('memberships')
        .innerJoin('teams', 'teams.id', 'memberships.team_id')
        .select('teams.id')
        .where('memberships.user_id', '=', userId)
        .where('teams.require_mfa', '=', 1)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

export type IdentityStore = ReturnType<typeof createIdentityStore>;

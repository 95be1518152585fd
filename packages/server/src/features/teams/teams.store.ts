import type { TeamRole } from '@flowgate/core';
import type { Db, Dialect, Executor } from '../../db/database.ts';
import type { InvitationsTable, MembershipsTable, TeamsTable } from '../../db/schema.ts';

export function createTeamsStore(db: Db, dialect: Dialect) {
  return {
    /**
     * The team's row locked until the transaction ends: two invitations to one address at
     * once, on PostgreSQL the second waits here and then sees the first's (SQLite runs one
     * write transaction at a time anyway, and has no FOR UPDATE).
     */
    lockTeam: async (teamId: string, trx: Executor): Promise<void> => {
      const row = trx.selectFrom('teams').select('id').where('id', '=', teamId);
      await (dialect === 'postgres' ? row.forUpdate() : row).execute();
    },
    teamById: (id: string, ex: Executor = db) => ex.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst(),
    teamsOfUser: (userId: string) =>
      db
        .selectFrom('teams')
        .innerJoin('memberships', 'memberships.team_id', 'teams.id')
        .selectAll('teams')
        .select('memberships.role')
        .where('memberships.user_id', '=', userId)
        .orderBy('teams.name')
        .execute(),
    allTeams: () => db.selectFrom('teams').selectAll().orderBy('name').execute(),
    insertTeam: (team: TeamsTable, ex: Executor) => ex.insertInto('teams').values(team).execute(),
    updateTeam: (id: string, patch: Partial<TeamsTable>, ex: Executor) => ex.updateTable('teams').set(patch).where('id', '=', id).execute(),
    deleteTeam: (id: string, ex: Executor) => ex.deleteFrom('teams').where('id', '=', id).execute(),
    /** The hosted instances and devices that go with a team: the automatic inventory's items, named in team.deleted. */
    inventoryOf: async (teamId: string, ex: Executor) => ({
      instances: await ex.selectFrom('instances').select(['id', 'name']).where('team_id', '=', teamId).orderBy('name').execute(),
      devices: await ex.selectFrom('devices').select(['id', 'name']).where('team_id', '=', teamId).where('revoked_at', 'is', null).orderBy('name').execute(),
    }),

    roleOf: async (teamId: string, userId: string, ex: Executor = db): Promise<TeamRole | null> => {
      const row = await ex.selectFrom('memberships').select('role').where('team_id', '=', teamId).where('user_id', '=', userId).executeTakeFirst();
      return row?.role ?? null;
    },
    members: (teamId: string) =>
      db
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(['users.id', 'users.email', 'users.name', 'users.mfa_enrolled_at', 'memberships.role', 'memberships.created_at'])
        .where('memberships.team_id', '=', teamId)
        .orderBy('users.email')
        .execute(),
    countOwners: async (teamId: string, ex: Executor): Promise<number> => {
      const row = await ex
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('team_id', '=', teamId)
        .where('role', '=', 'owner')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    insertMembership: (m: MembershipsTable, ex: Executor) => ex.insertInto('memberships').values(m).execute(),
    updateRole: (teamId: string, userId: string, role: TeamRole, ex: Executor) =>
      ex.updateTable('memberships').set({ role }).where('team_id', '=', teamId).where('user_id', '=', userId).execute(),
    deleteMembership: (teamId: string, userId: string, ex: Executor) => ex.deleteFrom('memberships').where('team_id', '=', teamId).where('user_id', '=', userId).execute(),

    insertInvitation: (inv: InvitationsTable, ex: Executor) => ex.insertInto('invitations').values(inv).execute(),
    pendingInvitations: (teamId: string, now: string) =>
      db
        .selectFrom('invitations')
        .selectAll()
        .where('team_id', '=', teamId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .execute(),
    /** The invitations to one address still waiting to be accepted. */
    pendingInvitationsFor: (teamId: string, email: string, now: string, ex: Executor) =>
      ex
        .selectFrom('invitations')
        .selectAll()
        .where('team_id', '=', teamId)
        .where('email', '=', email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .execute(),
    invitationById: (teamId: string, id: string, ex: Executor = db) =>
      ex.selectFrom('invitations').selectAll().where('team_id', '=', teamId).where('id', '=', id).executeTakeFirst(),
    invitationByTokenHash: (tokenHash: string, ex: Executor = db) => ex.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    updateInvitation: (id: string, patch: Partial<InvitationsTable>, ex: Executor) => ex.updateTable('invitations').set(patch).where('id', '=', id).execute(),
  };
}

export type TeamsStore = ReturnType<typeof createTeamsStore>;

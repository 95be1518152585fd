import { takeOutOfScope } from '../compliance/scope-pruning.ts';
import { randomUUID } from 'node:crypto';
import type { TeamRole } from '@flowgate/core';
import type { Clock, RequestContext } from '../../context.ts';
import type { TeamsTable, UsersTable } from '../../db/schema.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../http/errors.ts';
import { mailLink, type Mailer } from '../../mailer.ts';
import { randomToken, sha256Hex } from '../../security/crypto.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { TeamsStore } from './teams.store.ts';
import { memberActions } from './members.policy.ts';
import { checkedByRoute } from '../../http/holds.ts';

export interface TeamsDeps {
  store: TeamsStore;
  identity: IdentityService;
  auditLog: AuditLog;
  mailer: Mailer;
  clock: Clock;
  publicUrl: string;
  log: { warn(obj: object, msg: string): void };
}

const INVITATION_DAYS = 7;

export function createTeamsService(deps: TeamsDeps) {
  const { store, identity, auditLog, mailer, clock, publicUrl, log } = deps;
  const iso = (offsetMs = 0) => new Date(clock.now().getTime() + offsetMs).toISOString();

  async function requireTeam(teamId: string): Promise<TeamsTable> {
    const team = await store.teamById(teamId);
    if (!team) throw new NotFoundError('Team');
    return team;
  }

  return {
    requireTeam,
    teamsOf: (user: UsersTable) => store.teamsOfUser(user.id),
    roleOf: (teamId: string, userId: string) => store.roleOf(teamId, userId),

    async create(user: UsersTable, name: string, ctx: RequestContext): Promise<TeamsTable> {
      const team: TeamsTable = { id: randomUUID(), name: name.trim(), require_mfa: 0, created_at: iso(), updated_at: iso() };
      await auditLog.transaction(ctx, async (tx) => {
        await store.insertTeam(team, tx.trx);
        await store.insertMembership({ team_id: team.id, user_id: user.id, role: 'owner', created_at: iso(), mapped_by: null }, tx.trx);
        await tx.record({ event: 'team.created', target: { type: 'team', id: team.id }, teamId: team.id, details: { name: team.name } });
      });
      return team;
    },

    async update(teamId: string, patch: { name?: string | undefined; requireMfa?: boolean | undefined }, ctx: RequestContext): Promise<TeamsTable> {
      const before = await requireTeam(teamId);
      const changes: Partial<TeamsTable> = { updated_at: iso() };
      if (patch.name !== undefined) changes.name = patch.name.trim();
      if (patch.requireMfa !== undefined) changes.require_mfa = patch.requireMfa ? 1 : 0;
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateTeam(teamId, changes, tx.trx);
        await tx.record({
          event: 'team.updated',
          target: { type: 'team', id: teamId },
          teamId,
          details: { before: { name: before.name, requireMfa: before.require_mfa === 1 }, after: patch },
        });
      });
      return { ...before, ...changes };
    },

    async remove(teamId: string, ctx: RequestContext): Promise<void> {
      const team = await requireTeam(teamId);
      await auditLog.transaction(ctx, async (tx) => {
        // Its instances and devices go with it (foreign keys), and so leave the automatic
        // inventory: named here, so the record says what left it, not only the team's name.
        const inventory = await store.inventoryOf(teamId, tx.trx);
        await store.deleteTeam(teamId, tx.trx);
        await takeOutOfScope(tx, { teamId }, `team "${team.name}" deleted`);
        await tx.record({ event: 'team.deleted', target: { type: 'team', id: teamId }, teamId, details: { name: team.name, inventoryRemoved: inventory } });
      });
    },

    members: (teamId: string) => store.members(teamId),

    async changeRole(teamId: string, userId: string, role: TeamRole, ctx: RequestContext): Promise<void> {
      await auditLog.transaction(ctx, async (tx) => {
        const current = await store.roleOf(teamId, userId, tx.trx);
        if (!current) throw new NotFoundError('Member');
        if (role !== current && !memberActions(checkedByRoute, { role: current, owners: await store.countOwners(teamId, tx.trx) }).changeRole) {
          throw new ConflictError('The last owner of a team cannot be demoted: make someone else owner first.');
        }
        await store.updateRole(teamId, userId, role, tx.trx);
        await tx.record({ event: 'member.role.changed', target: { type: 'user', id: userId }, teamId, details: { from: current, to: role } });
      });
    },

    async removeMember(teamId: string, userId: string, ctx: RequestContext, leaving = false): Promise<void> {
      await auditLog.transaction(ctx, async (tx) => {
        const current = await store.roleOf(teamId, userId, tx.trx);
        if (!current) throw new NotFoundError('Member');
        // Leaving is the member's own call (team:leave), removing is members:write: the service rules on the team's side only.
        if (!memberActions(checkedByRoute, { role: current, owners: await store.countOwners(teamId, tx.trx) }).remove) {
          throw new ConflictError('The last owner cannot leave or be removed: make someone else owner first, or delete the team.');
        }
        await store.deleteMembership(teamId, userId, tx.trx);
        await tx.record({ event: leaving ? 'member.left' : 'member.removed', target: { type: 'user', id: userId }, teamId, details: { role: current } });
      });
    },

    pendingInvitations: (teamId: string) => store.pendingInvitations(teamId, iso()),

    /**
     * Returns the link: shown to the inviter once when no mail server is set up. A pending
     * invitation to the same address is withdrawn in the same change.
     */
    async invite(teamId: string, inviter: UsersTable, email: string, role: TeamRole, ctx: RequestContext) {
      const team = await requireTeam(teamId);
      const token = randomToken();
      const invitation = {
        id: randomUUID(),
        team_id: teamId,
        email: email.trim().toLowerCase(),
        role,
        token_hash: sha256Hex(token),
        invited_by: inviter.id,
        created_at: iso(),
        expires_at: iso(INVITATION_DAYS * 86_400_000),
        accepted_at: null,
        revoked_at: null,
      };
      await auditLog.transaction(ctx, async (tx) => {
        // One pending invitation per address and team: a new one replaces it (its link stops
        // working), so the owner who invites again, because the mail went astray or the role
        // was wrong, gets the link that works and one row, never two that look the same.
        await store.lockTeam(teamId, tx.trx);
        const replaced = await store.pendingInvitationsFor(teamId, invitation.email, iso(), tx.trx);
        for (const old of replaced) {
          await store.updateInvitation(old.id, { revoked_at: iso() }, tx.trx);
          await tx.record({
            event: 'member.invitation.revoked',
            target: { type: 'invitation', id: old.id },
            teamId,
            details: { email: old.email, role: old.role, reason: 'replaced by a new invitation', replacedBy: invitation.id },
          });
        }
        await store.insertInvitation(invitation, tx.trx);
        await tx.record({
          event: 'member.invited',
          target: { type: 'invitation', id: invitation.id },
          teamId,
          details: { email: invitation.email, role, ...(replaced.length > 0 ? { replaces: replaced.map((r) => r.id) } : {}) },
        });
      });
      const link = `${publicUrl}/invite/${token}`;
      const mailed = await mailLink(
        mailer,
        {
          to: invitation.email,
          subject: `You are invited to ${team.name} on Flowgate`,
          text: `${inviter.name} invited you to the team "${team.name}" as ${role}.\n\nAccept within ${INVITATION_DAYS} days: ${link}\n`,
        },
        link,
        log,
      );
      return { invitation, link: mailed ? null : link, mailed };
    },

    async revokeInvitation(teamId: string, invitationId: string, ctx: RequestContext): Promise<void> {
      await auditLog.transaction(ctx, async (tx) => {
        const invitation = await store.invitationById(teamId, invitationId, tx.trx);
        if (!invitation || invitation.accepted_at || invitation.revoked_at) throw new NotFoundError('Invitation');
        await store.updateInvitation(invitationId, { revoked_at: iso() }, tx.trx);
        await tx.record({ event: 'member.invitation.revoked', target: { type: 'invitation', id: invitationId }, teamId, details: { email: invitation.email } });
      });
    },

    /** What the invitation page shows before anyone signs in. */
    async describeInvitation(token: string) {
      const invitation = await store.invitationByTokenHash(sha256Hex(token));
      if (!invitation || invitation.accepted_at || invitation.revoked_at || invitation.expires_at <= iso()) {
        throw new NotFoundError('Invitation (it may have expired, been used or been withdrawn)');
      }
      const team = await requireTeam(invitation.team_id);
      return { invitation, team };
    },

    /**
     * Accepts an invitation as the signed-in person (whose email must match) or by
     * creating the account the invitation is for.
     */
    async accept(token: string, as: UsersTable | null, newAccount: { name: string; password: string } | null, ctx: RequestContext): Promise<UsersTable> {
      const result = await auditLog.transaction(ctx, async (tx) => {
        const invitation = await store.invitationByTokenHash(sha256Hex(token), tx.trx);
        if (!invitation || invitation.accepted_at || invitation.revoked_at || invitation.expires_at <= iso()) {
          throw new NotFoundError('Invitation (it may have expired, been used or been withdrawn)');
        }
        let user = as;
        if (user) {
          // Refused after this transaction, which writes nothing: an event recorded in it would roll back with a throw.
          if (user.email !== invitation.email) return { refused: { invitation, user } };
        } else {
          if (!newAccount) throw new ValidationError('Give a name and a password to create your account.', [{ field: 'password', message: 'is required' }]);
          user = await identity.createUserIn(tx, { email: invitation.email, name: newAccount.name, password: newAccount.password, platformRole: 'user' });
        }
        if (await store.roleOf(invitation.team_id, user.id, tx.trx)) throw new ConflictError('You are a member of this team already.');
        await store.insertMembership({ team_id: invitation.team_id, user_id: user.id, role: invitation.role, created_at: iso(), mapped_by: null }, tx.trx);
        await store.updateInvitation(invitation.id, { accepted_at: iso() }, tx.trx);
        await tx.record(
          { event: 'member.joined', target: { type: 'user', id: user.id }, teamId: invitation.team_id, details: { role: invitation.role, invitationId: invitation.id } },
          { ...ctx, actor: { type: 'user', userId: user.id, label: user.email } },
        );
        return { joined: user };
      });
      if (result.joined) return result.joined;
      const { invitation, user } = result.refused;
      throw new ForbiddenError(`This invitation is for ${invitation.email}; you are signed in as ${user.email}.`).audited({
        event: 'member.joined',
        target: { type: 'invitation', id: invitation.id },
        teamId: invitation.team_id,
        details: { reason: 'invitation for another email', invitationId: invitation.id, invitedEmail: invitation.email, signedInAs: user.email },
      });
    },
  };
}

export type TeamsService = ReturnType<typeof createTeamsService>;

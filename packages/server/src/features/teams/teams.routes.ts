import { Type } from '@sinclair/typebox';
import { TEAM_ROLES } from '@flowgate/core';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { Email, Id, LinkToken, Name, NoContent, Password, TeamParams, TeamRole } from '../../http/schemas.ts';
import { requireAuth } from '../identity/identity.routes.ts';
import { tokenTeamIds } from '../identity/identity.service.ts';
import { holdsOf } from '../../http/holds.ts';
import { memberActions } from './members.policy.ts';
import { setSessionCookie } from '../../http/auth.ts';
import { UnauthenticatedError } from '../../http/errors.ts';
import { LoginReply } from '../identity/identity.schemas.ts';

const TeamView = Type.Object({ id: Type.String(), name: Type.String(), requireMfa: Type.Boolean(), createdAt: Type.String(), role: Type.Union([TeamRole, Type.Null()]) });
/** What the caller may do to the member (members.policy.ts): the web UI's controls come from this, not from rules of its own. */
const MemberAllowed = Type.Object({ changeRole: Type.Boolean(), remove: Type.Boolean() });
const MemberView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: TeamRole,
  mfaEnrolled: Type.Boolean(),
  since: Type.String(),
  allowed: MemberAllowed,
});
const InvitationView = Type.Object({ id: Type.String(), email: Type.String(), role: TeamRole, createdAt: Type.String(), expiresAt: Type.String() });
const MemberParams = Type.Object({ teamId: Id, userId: Id });
const InvitationParams = Type.Object({ teamId: Id, invitationId: Id });
const InvitationTokenParams = Type.Object({ token: LinkToken });

export function teamsRoutes(app: TypedApp, c: Pick<AppContext, 'config' | 'identity' | 'identityStore' | 'teams'>): void {
  const { teams } = c;
  const secureCookie = c.config.publicUrl.startsWith('https://');
  const present = (t: { id: string; name: string; require_mfa: number; created_at: string }, role: (typeof TEAM_ROLES)[number] | null) => ({
    id: t.id,
    name: t.name,
    requireMfa: t.require_mfa === 1,
    createdAt: t.created_at,
    role,
  });

  app.get(
    '/api/teams',
    { config: { access: { kind: 'user', permission: 'teams:list' } }, schema: { tags: ['teams'], response: { 200: Type.Array(TeamView) } } },
    async (request) => {
      const { user, token } = requireAuth(request);
      // A token scoped to teams sees only those: the others are as if they did not exist.
      const scope = tokenTeamIds(token);
      return (await teams.teamsOf(user)).filter((t) => !scope || scope.includes(t.id)).map((t) => present(t, t.role));
    },
  );

  app.post(
    '/api/teams',
    {
      config: { access: { kind: 'user', permission: 'teams:create' } },
      schema: { tags: ['teams'], body: Type.Object({ name: Name }, { additionalProperties: false }), response: { 201: TeamView } },
    },
    async (request, reply) => {
      const team = await teams.create(requireAuth(request).user, request.body.name, request.ctx);
      return reply.code(201).send(present(team, 'owner'));
    },
  );

  app.get(
    '/api/teams/:teamId',
    { config: { access: { kind: 'user', permission: 'team:read', team: 'teamId' } }, schema: { tags: ['teams'], params: TeamParams, response: { 200: TeamView } } },
    async (request) => present(await teams.requireTeam(request.params.teamId), request.teamRole),
  );

  app.patch(
    '/api/teams/:teamId',
    {
      config: { access: { kind: 'user', permission: 'team:update', team: 'teamId' } },
      schema: {
        tags: ['teams'],
        params: TeamParams,
        body: Type.Object({ name: Type.Optional(Name), requireMfa: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: TeamView },
      },
    },
    async (request) => present(await teams.update(request.params.teamId, request.body, request.ctx), request.teamRole),
  );

  app.delete(
    '/api/teams/:teamId',
    { config: { access: { kind: 'user', permission: 'team:delete', team: 'teamId' } }, schema: { tags: ['teams'], params: TeamParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await teams.remove(request.params.teamId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/teams/:teamId/leave',
    { config: { access: { kind: 'user', permission: 'team:leave', team: 'teamId' } }, schema: { tags: ['teams'], params: TeamParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await teams.removeMember(request.params.teamId, requireAuth(request).user.id, request.ctx, true);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/teams/:teamId/members',
    {
      config: { access: { kind: 'user', permission: 'members:read', team: 'teamId' } },
      schema: { tags: ['members'], params: TeamParams, response: { 200: Type.Array(MemberView) } },
    },
    async (request) => {
      await teams.requireTeam(request.params.teamId);
      const members = await teams.members(request.params.teamId);
      const owners = members.filter((m) => m.role === 'owner').length;
      const holds = holdsOf(request);
      return members.map((m) => ({
        id: m.id,
        email: m.email,
        name: m.name,
        role: m.role,
        mfaEnrolled: m.mfa_enrolled_at !== null,
        since: m.created_at,
        allowed: memberActions(holds, { role: m.role, owners }),
      }));
    },
  );

  app.patch(
    '/api/teams/:teamId/members/:userId',
    {
      config: { access: { kind: 'user', permission: 'members:write', team: 'teamId' } },
      schema: { tags: ['members'], params: MemberParams, body: Type.Object({ role: TeamRole }, { additionalProperties: false }), response: { 204: NoContent } },
    },
    async (request, reply) => {
      await teams.changeRole(request.params.teamId, request.params.userId, request.body.role, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/teams/:teamId/members/:userId',
    { config: { access: { kind: 'user', permission: 'members:write', team: 'teamId' } }, schema: { tags: ['members'], params: MemberParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await teams.removeMember(request.params.teamId, request.params.userId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/teams/:teamId/invitations',
    {
      config: { access: { kind: 'user', permission: 'members:read', team: 'teamId' } },
      schema: { tags: ['members'], params: TeamParams, response: { 200: Type.Array(InvitationView) } },
    },
    async (request) => {
      await teams.requireTeam(request.params.teamId);
      return (await teams.pendingInvitations(request.params.teamId)).map((i) => ({ id: i.id, email: i.email, role: i.role, createdAt: i.created_at, expiresAt: i.expires_at }));
    },
  );

  app.post(
    '/api/teams/:teamId/invitations',
    {
      config: { access: { kind: 'user', permission: 'members:write', team: 'teamId' } },
      schema: {
        tags: ['members'],
        params: TeamParams,
        body: Type.Object({ email: Email, role: TeamRole }, { additionalProperties: false }),
        response: { 201: Type.Object({ invitation: InvitationView, mailed: Type.Boolean(), link: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request, reply) => {
      const { invitation, link, mailed } = await teams.invite(request.params.teamId, requireAuth(request).user, request.body.email, request.body.role, request.ctx);
      return reply.code(201).send({
        invitation: { id: invitation.id, email: invitation.email, role: invitation.role, createdAt: invitation.created_at, expiresAt: invitation.expires_at },
        mailed,
        link,
      });
    },
  );

  app.delete(
    '/api/teams/:teamId/invitations/:invitationId',
    { config: { access: { kind: 'user', permission: 'members:write', team: 'teamId' } }, schema: { tags: ['members'], params: InvitationParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await teams.revokeInvitation(request.params.teamId, request.params.invitationId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/invitations/:token',
    {
      config: { access: { kind: 'public' } },
      schema: {
        tags: ['members'],
        params: InvitationTokenParams,
        response: { 200: Type.Object({ teamName: Type.String(), email: Type.String(), role: TeamRole, expiresAt: Type.String(), accountExists: Type.Boolean() }) },
      },
    },
    async (request) => {
      const { invitation, team } = await teams.describeInvitation(request.params.token);
      return {
        teamName: team.name,
        email: invitation.email,
        role: invitation.role,
        expiresAt: invitation.expires_at,
        accountExists: (await c.identityStore.userByEmail(invitation.email)) !== undefined,
      };
    },
  );

  app.post(
    '/api/invitations/:token/accept',
    {
      config: { access: { kind: 'public', csrfWhenSignedIn: true }, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['members'],
        params: InvitationTokenParams,
        body: Type.Object({ name: Type.Optional(Name), password: Type.Optional(Password) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            teamId: Type.String(),
            /** A new account is signed in at once (the session cookie is set): how far, as a sign-in answers. Null when joining as oneself. */
            signIn: Type.Union([Type.Object({ status: LoginReply.properties.status, csrfToken: Type.String() }), Type.Null()]),
          }),
        },
      },
    },
    async (request, reply) => {
      // Signed in: join as yourself. Not signed in: the invitation creates your account.
      const signedIn = request.auth?.session?.stage === 'full' ? request.auth.user : null;
      const { name, password } = request.body;
      const newAccount = !signedIn && name && password ? { name, password } : null;
      const { invitation } = await teams.describeInvitation(request.params.token);
      const joined = await teams.accept(request.params.token, signedIn, newAccount, request.ctx);
      if (!newAccount) return { teamId: invitation.team_id, signIn: null };
      // The person has just chosen the password: asking for it again on the sign-in page only
      // delays them. Signed in as the sign-in page would (audited, MFA enrolment if a policy asks).
      try {
        const result = await c.identity.login({ email: joined.email, password: newAccount.password }, request.ctx);
        return { teamId: invitation.team_id, signIn: { status: result.status, csrfToken: setSessionCookie(reply, result.sessionToken, secureCookie) } };
      } catch (error) {
        // An email domain whose identity provider signs its people in: they join, and sign in there.
        if (error instanceof UnauthenticatedError) return { teamId: invitation.team_id, signIn: null };
        throw error;
      }
    },
  );
}

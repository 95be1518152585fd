import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiTokensTable, SessionsTable } from '../../db/schema.ts';
import { csrfTokenFor, SESSION_COOKIE, setSessionCookie as setSession } from '../../http/auth.ts';
import { ForbiddenError, UnauthenticatedError } from '../../http/errors.ts';
import { presentUser } from '../../http/presenters.ts';
import { LinkToken, NoContent } from '../../http/schemas.ts';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { tokenTeamIds } from './identity.service.ts';
import {
  AccountReply,
  AuthConfigReply,
  LoginBody,
  LoginReply,
  MfaCodeBody,
  MfaConfirmReply,
  MfaSetupReply,
  PasswordBody,
  PasswordChangeBody,
  SessionParams,
  SessionReply,
  SessionView,
  SetupBody,
  TokenCreateBody,
  TokenCreateReply,
  TokenParams,
  TokenView,
} from './identity.schemas.ts';

export function requireAuth(request: FastifyRequest) {
  if (!request.auth) throw new UnauthenticatedError();
  return request.auth;
}

function presentToken(t: ApiTokensTable) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    access: t.access,
    teamIds: tokenTeamIds(t),
    expiresAt: t.expires_at,
    createdAt: t.created_at,
    lastUsedAt: t.last_used_at,
    revokedAt: t.revoked_at,
  };
}

export function identityRoutes(app: TypedApp, c: Pick<AppContext, 'clock' | 'config' | 'identity' | 'passwordResets' | 'settingsStore' | 'setup' | 'sso' | 'teams'>): void {
  const { identity, teams, settingsStore, clock } = c;
  const secureCookie = c.config.publicUrl.startsWith('https://');

  const setSessionCookie = (reply: FastifyReply, token: string) => setSession(reply, token, secureCookie);
  function clearSessionCookie(reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }
  const loginRateLimit = { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' };

  app.get('/api/auth/config', { config: { access: { kind: 'public' } }, schema: { tags: ['auth'], response: { 200: AuthConfigReply } } }, async () => {
    const settings = await settingsStore.get();
    return { loginBanner: settings.loginBanner, setupRequired: await identity.setupRequired() };
  });

  app.post(
    '/api/setup',
    { config: { access: { kind: 'public' }, rateLimit: loginRateLimit }, schema: { tags: ['auth'], body: SetupBody, response: { 201: LoginReply } } },
    async (request, reply) => {
      if (!c.setup.check(request.body.token)) {
        // On record like a failed sign-in: someone tried to become the first admin. Never the token given.
        const used = c.setup.token === null;
        throw new ForbiddenError(
          used
            ? 'Flowgate is set up already: this setup link was used. Sign in, or ask a platform admin for an account; on the server, `flowgate admin create` adds an admin.'
            : 'The setup link is wrong. Use the link flowgate start printed last: a restart prints a new one.',
        ).audited({
          event: 'platform.setup.refused',
          details: { email: request.body.email.trim().toLowerCase(), reason: used ? 'set up already' : 'wrong setup token' },
        });
      }
      const { email, name, password } = request.body;
      await identity.createFirstAdmin({ email, name, password }, request.ctx);
      c.setup.consume();
      const result = await identity.login({ email, password }, request.ctx);
      const csrfToken = setSessionCookie(reply, result.sessionToken);
      return reply.code(201).send({ status: result.status, user: presentUser(result.user, clock.now()), csrfToken });
    },
  );

  app.post(
    '/api/auth/login',
    { config: { access: { kind: 'public' }, rateLimit: loginRateLimit }, schema: { tags: ['auth'], body: LoginBody, response: { 200: LoginReply } } },
    async (request, reply) => {
      // A domain an LDAP directory signs in: the password is the directory's.
      const directory = await c.sso.directoryFor(request.body.email);
      const result = directory ? await c.sso.directorySignIn(directory, request.body, request.ctx) : await identity.login(request.body, request.ctx);
      const csrfToken = setSessionCookie(reply, result.sessionToken);
      return { status: result.status, ...(result.status === 'mfa-required' ? {} : { user: presentUser(result.user, clock.now()) }), csrfToken };
    },
  );

  app.post(
    '/api/auth/mfa',
    {
      config: { access: { kind: 'user', permission: 'account:write', partialSession: ['mfa'] }, rateLimit: loginRateLimit },
      schema: { tags: ['auth'], body: MfaCodeBody, response: { 200: LoginReply } },
    },
    async (request, reply) => {
      const { user, session } = requireAuth(request);
      if (!session) throw new ForbiddenError('MFA completes a browser sign-in, not an API token.');
      const token = await identity.completeMfa(session, user, request.body.code, request.ctx);
      return { status: 'signed-in' as const, user: presentUser(user, clock.now()), csrfToken: setSessionCookie(reply, token) };
    },
  );

  app.get('/api/auth/session', { config: { access: { kind: 'public' } }, schema: { tags: ['auth'], response: { 200: SessionReply } } }, async (request) => {
    const auth = request.auth;
    const cookie = request.cookies[SESSION_COOKIE];
    if (!auth?.session || !cookie) return { signedIn: false };
    const memberships = auth.session.stage === 'full' ? await teams.teamsOf(auth.user) : [];
    return {
      signedIn: auth.session.stage === 'full',
      stage: auth.session.stage,
      csrfToken: csrfTokenFor(cookie),
      user: presentUser(auth.user, clock.now()),
      teams: memberships.map((t) => ({ id: t.id, name: t.name, role: t.role })),
      mfaRequired: await identity.mfaRequiredFor(auth.user),
    };
  });

  app.post(
    '/api/auth/logout',
    { config: { access: { kind: 'user', permission: 'account:write', partialSession: ['mfa', 'enrol'] } }, schema: { tags: ['auth'], response: { 204: NoContent } } },
    async (request, reply) => {
      const { session } = requireAuth(request);
      if (session) await identity.logout(session, request.ctx);
      clearSessionCookie(reply);
      return reply.code(204).send(null);
    },
  );

  app.get('/api/account', { config: { access: { kind: 'user', permission: 'account:read' } }, schema: { tags: ['account'], response: { 200: AccountReply } } }, async (request) => {
    const { user } = requireAuth(request);
    return {
      user: presentUser(user, clock.now()),
      recoveryCodesLeft: await identity.unusedRecoveryCodes(user),
      mfaRequired: await identity.mfaRequiredFor(user),
    };
  });

  // A forgotten password, with the one-time link a platform admin issued (password-resets.ts).
  const ResetParams = Type.Object({ token: LinkToken });
  app.get(
    '/api/password-resets/:token',
    {
      config: { access: { kind: 'public' }, rateLimit: loginRateLimit },
      schema: { tags: ['auth'], params: ResetParams, response: { 200: Type.Object({ email: Type.String(), expiresAt: Type.String() }) } },
    },
    async (request) => c.passwordResets.describe(request.params.token),
  );
  app.post(
    '/api/password-resets/:token',
    { config: { access: { kind: 'public' }, rateLimit: loginRateLimit }, schema: { tags: ['auth'], params: ResetParams, body: PasswordBody, response: { 204: NoContent } } },
    async (request, reply) => {
      await c.passwordResets.complete(request.params.token, request.body.password, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/api/account/password',
    { config: { access: { kind: 'user', permission: 'account:write' } }, schema: { tags: ['account'], body: PasswordChangeBody, response: { 204: NoContent } } },
    async (request, reply) => {
      const { user, session } = requireAuth(request);
      await identity.changePassword(user, session, request.body.currentPassword, request.body.newPassword, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/account/mfa/setup',
    { config: { access: { kind: 'user', permission: 'account:write', partialSession: ['enrol'] } }, schema: { tags: ['account'], response: { 200: MfaSetupReply } } },
    async (request) => identity.beginMfaEnrolment(requireAuth(request).user, request.ctx),
  );

  app.post(
    '/api/account/mfa/confirm',
    {
      config: { access: { kind: 'user', permission: 'account:write', partialSession: ['enrol'] } },
      schema: { tags: ['account'], body: MfaCodeBody, response: { 200: MfaConfirmReply } },
    },
    async (request, reply) => {
      const { user, session } = requireAuth(request);
      const result = await identity.confirmMfaEnrolment(user, session, request.body.code, request.ctx);
      return {
        recoveryCodes: result.recoveryCodes,
        ...(result.sessionToken ? { csrfToken: setSessionCookie(reply, result.sessionToken) } : {}),
      };
    },
  );

  app.delete(
    '/api/account/mfa',
    { config: { access: { kind: 'user', permission: 'account:write' } }, schema: { tags: ['account'], body: PasswordBody, response: { 204: NoContent } } },
    async (request, reply) => {
      await identity.removeMfa(requireAuth(request).user, request.body.password, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/account/sessions',
    { config: { access: { kind: 'user', permission: 'account:read' } }, schema: { tags: ['account'], response: { 200: Type.Array(SessionView) } } },
    async (request) => {
      const { user, session } = requireAuth(request);
      const sessions = await identity.listSessions(user);
      return sessions.map((s: SessionsTable) => ({
        id: s.id,
        createdAt: s.created_at,
        lastSeenAt: s.last_seen_at,
        expiresAt: s.expires_at,
        ip: s.ip,
        userAgent: s.user_agent,
        current: s.id === session?.id,
      }));
    },
  );

  app.delete(
    '/api/account/sessions/:sessionId',
    { config: { access: { kind: 'user', permission: 'account:write' } }, schema: { tags: ['account'], params: SessionParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await identity.revokeSession(requireAuth(request).user, request.params.sessionId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/account/sessions/revoke-all',
    { config: { access: { kind: 'user', permission: 'account:write' } }, schema: { tags: ['account'], response: { 200: Type.Object({ revoked: Type.Integer() }) } } },
    async (request, reply) => {
      const revoked = await identity.revokeAllSessions(requireAuth(request).user, request.ctx);
      clearSessionCookie(reply);
      return { revoked };
    },
  );

  app.get(
    '/api/account/tokens',
    { config: { access: { kind: 'user', permission: 'account:read' } }, schema: { tags: ['account'], response: { 200: Type.Array(TokenView) } } },
    async (request) => (await identity.listTokens(requireAuth(request).user)).map(presentToken),
  );

  app.post(
    '/api/account/tokens',
    { config: { access: { kind: 'user', permission: 'account:write' } }, schema: { tags: ['account'], body: TokenCreateBody, response: { 201: TokenCreateReply } } },
    async (request, reply) => {
      const { user, token } = requireAuth(request);
      // A token that could mint tokens would outlive its own expiry and revocation.
      if (token) {
        throw new ForbiddenError('API tokens are made by a signed-in person on the account page, not with another API token.').audited({
          event: 'token.created',
          details: { reason: 'made with an API token' },
        });
      }
      const body = request.body;
      const created = await identity.createToken(
        user,
        { name: body.name, access: body.access, teamIds: body.teamIds ?? null, expiresInDays: body.expiresInDays },
        async (teamId) => (await teams.roleOf(teamId, user.id)) !== null,
        request.ctx,
      );
      return reply.code(201).send({ token: created.token, record: presentToken(created.record) });
    },
  );

  app.delete(
    '/api/account/tokens/:tokenId',
    { config: { access: { kind: 'user', permission: 'account:write' } }, schema: { tags: ['account'], params: TokenParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await identity.revokeToken(requireAuth(request).user, request.params.tokenId, request.ctx);
      return reply.code(204).send(null);
    },
  );
}

import { Type } from '@sinclair/typebox';
import { TEAM_ROLES } from '@flowgate/core';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { IdentityProvidersTable } from '../../db/schema.ts';
import { setSessionCookie } from '../../http/auth.ts';
import { ForbiddenError } from '../../http/errors.ts';
import { Id, Name, NoContent, Nullable } from '../../http/schemas.ts';
import { mappingsOf, parseList, SSO_REQUEST_MINUTES, SsoRefusal, type Mapping } from './sso.service.ts';

const STATE_COOKIE = 'fg_sso_state';
const STATE_PATH = '/api/auth/sso';

const Domain = Type.String({ minLength: 3, maxLength: 253, pattern: '^@?[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$' });
const Group = Type.String({ minLength: 1, maxLength: 256 });
const ProviderFields = {
  name: Name,
  issuerUrl: Type.String({ minLength: 8, maxLength: 500, description: "The issuer; its metadata is at <issuerUrl>/.well-known/openid-configuration" }),
  clientId: Type.String({ minLength: 1, maxLength: 500 }),
  scopes: Type.Optional(Type.String({ minLength: 6, maxLength: 500, pattern: '(^|\\s)openid(\\s|$)', default: 'openid email profile' })),
  groupsClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 100, default: 'groups' })),
  emailDomains: Type.Array(Domain, { maxItems: 50, description: 'The email domains this provider signs in; the sign-in page routes them to it' }),
  adminGroup: Type.Optional(Nullable(Group)),
  mappings: Type.Optional(
    Type.Array(Type.Object({ group: Group, teamId: Id, role: Type.Union(TEAM_ROLES.map((r) => Type.Literal(r))) }, { additionalProperties: false }), { maxItems: 500, default: [] }),
  ),
  mfaAcrValues: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20, default: [] })),
  disableLocalPasswords: Type.Optional(Type.Boolean({ default: false, description: 'Its email domains cannot sign in with a local password (platform admins still can: break-glass)' })),
  enabled: Type.Optional(Type.Boolean({ default: true })),
};
const CreateBody = Type.Object({ ...ProviderFields, clientSecret: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
const ReplaceBody = Type.Object({ ...ProviderFields, clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Only to change it' })) }, { additionalProperties: false });
const ProviderParams = Type.Object({ providerId: Id });
const ProviderView = Type.Object({
  id: Type.String(),
  kind: Type.Literal('oidc'),
  name: Type.String(),
  issuerUrl: Type.String(),
  clientId: Type.String(),
  scopes: Type.String(),
  groupsClaim: Type.String(),
  emailDomains: Type.Array(Type.String()),
  adminGroup: Nullable(Type.String()),
  mappings: Type.Array(Type.Object({ group: Type.String(), teamId: Type.String(), role: Type.String() })),
  mfaAcrValues: Type.Array(Type.String()),
  disableLocalPasswords: Type.Boolean(),
  enabled: Type.Boolean(),
  redirectUri: Type.String({ description: 'Register this at the identity provider' }),
  scimEnabled: Type.Boolean({ description: 'It has a SCIM token (POST .../scim-token makes one)' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

type Body = { name: string; issuerUrl: string; clientId: string; scopes?: string; groupsClaim?: string; emailDomains: string[]; adminGroup?: string | null; mappings?: Mapping[]; mfaAcrValues?: string[]; disableLocalPasswords?: boolean; enabled?: boolean };

function withDefaults(body: Body) {
  return {
    name: body.name,
    issuerUrl: body.issuerUrl,
    clientId: body.clientId,
    scopes: body.scopes ?? 'openid email profile',
    groupsClaim: body.groupsClaim ?? 'groups',
    emailDomains: body.emailDomains,
    adminGroup: body.adminGroup ?? null,
    mappings: body.mappings ?? [],
    mfaAcrValues: body.mfaAcrValues ?? [],
    disableLocalPasswords: body.disableLocalPasswords ?? false,
    enabled: body.enabled ?? true,
  };
}

/** Where a sign-in may return to: a path of this platform, never another site. */
function safeReturn(path: string | undefined): string {
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
}

export function ssoRoutes(app: TypedApp, c: AppContext): void {
  const { sso } = c;
  const secure = c.config.publicUrl.startsWith('https://');
  const present = (p: IdentityProvidersTable) => ({
    id: p.id,
    kind: p.kind,
    name: p.name,
    issuerUrl: p.issuer_url,
    clientId: p.client_id,
    scopes: p.scopes,
    groupsClaim: p.groups_claim,
    emailDomains: parseList(p.email_domains),
    adminGroup: p.admin_group,
    mappings: mappingsOf(p),
    mfaAcrValues: parseList(p.mfa_acr_values),
    disableLocalPasswords: p.disable_local_passwords === 1,
    enabled: p.enabled === 1,
    redirectUri: sso.redirectUri(p.id),
    scimEnabled: p.scim_token_hash !== null,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
  });

  app.get('/api/platform/identity-providers', { config: { permission: 'platform:settings:read' }, schema: { tags: ['sso'], response: { 200: Type.Array(ProviderView) } } }, async () =>
    (await sso.list()).map(present),
  );
  app.post('/api/platform/identity-providers', { config: { permission: 'platform:settings:write' }, schema: { tags: ['sso'], body: CreateBody, response: { 201: ProviderView } } }, async (request, reply) =>
    reply.code(201).send(present(await sso.create({ ...withDefaults(request.body), clientSecret: request.body.clientSecret }, request.ctx))),
  );
  app.get('/api/platform/identity-providers/:providerId', { config: { permission: 'platform:settings:read' }, schema: { tags: ['sso'], params: ProviderParams, response: { 200: ProviderView } } }, async (request) =>
    present(await sso.get(request.params.providerId)),
  );
  app.put(
    '/api/platform/identity-providers/:providerId',
    { config: { permission: 'platform:settings:write' }, schema: { tags: ['sso'], params: ProviderParams, body: ReplaceBody, response: { 200: ProviderView } } },
    async (request) => present(await sso.update(request.params.providerId, { ...withDefaults(request.body), clientSecret: request.body.clientSecret }, request.ctx)),
  );
  app.delete('/api/platform/identity-providers/:providerId', { config: { permission: 'platform:settings:write' }, schema: { tags: ['sso'], params: ProviderParams, response: { 204: NoContent } } }, async (request, reply) => {
    await sso.remove(request.params.providerId, request.ctx);
    return reply.code(204).send(null);
  });
  app.post(
    '/api/platform/identity-providers/:providerId/test',
    {
      config: { permission: 'platform:settings:write' },
      schema: {
        tags: ['sso'],
        description: "Reads the provider's metadata as a sign-in would, and says what is wrong: unreachable, wrong issuer, clocks apart",
        params: ProviderParams,
        response: { 200: Type.Object({ ok: Type.Boolean(), problem: Type.Optional(Type.String()), issuer: Type.Optional(Type.String()), authorizationEndpoint: Type.Optional(Type.String()), clockSkewSeconds: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
            certificates: Type.Optional(Type.Array(Type.Object({ kid: Type.Union([Type.String(), Type.Null()]), subject: Type.String(), expiresAt: Type.String(), daysLeft: Type.Integer() }), { description: "Certificates of the provider's signing keys, when it publishes them" })),
          }),
        },
      },
    },
    async (request) => sso.test(request.params.providerId),
  );

  app.get(
    '/api/auth/sso/discover',
    {
      config: { public: true, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: { tags: ['auth'], description: 'The provider that signs in an email\'s domain, by the domain alone', querystring: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }) }, { additionalProperties: false }), response: { 200: Type.Object({ provider: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]) }) } },
    },
    async (request) => ({ provider: await sso.discover(request.query.email) }),
  );

  app.get(
    '/api/auth/sso/:providerId/start',
    {
      config: { public: true, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        params: ProviderParams,
        querystring: Type.Object(
          { returnTo: Type.Optional(Type.String({ maxLength: 500 })), test: Type.Optional(Type.Literal('1', { description: "A platform admin's test sign-in: reports what the provider sent, signs nobody in" })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const test = request.query.test === '1';
      if (test && !(request.auth?.session?.stage === 'full' && request.auth.user.platform_role === 'admin')) throw new ForbiddenError('A test sign-in is for platform admins, signed in.');
      try {
        const { url, state } = await sso.start(request.params.providerId, safeReturn(request.query.returnTo), test ? 'test' : 'sign-in');
        // The state comes back in the URL and in this cookie: a callback this browser did not start is refused.
        reply.setCookie(STATE_COOKIE, state, { httpOnly: true, sameSite: 'lax', path: STATE_PATH, secure, maxAge: SSO_REQUEST_MINUTES * 60 });
        return reply.redirect(url);
      } catch (error) {
        if (error instanceof SsoRefusal) return reply.redirect(`/sign-in?ssoError=${encodeURIComponent(error.message)}`);
        throw error;
      }
    },
  );

  app.get(
    '/api/auth/sso/:providerId/callback',
    // Public by name: the provider's answer (code and state) and the state cookie are what it checks.
    { config: { public: true, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } }, schema: { tags: ['auth'], params: ProviderParams } },
    async (request, reply) => {
      reply.clearCookie(STATE_COOKIE, { path: STATE_PATH });
      const callbackUrl = new URL(request.url, sso.redirectUri(request.params.providerId));
      try {
        const result = await sso.finish(request.params.providerId, callbackUrl, request.cookies[STATE_COOKIE], request.ctx);
        // A test sign-in goes back to the Platform page with its report, and signs nobody in.
        if (result.kind === 'test') return reply.redirect(`/platform?ssoTest=${Buffer.from(JSON.stringify({ providerId: request.params.providerId, ...result.report })).toString('base64url')}`);
        setSessionCookie(reply, result.sessionToken, secure);
        // A second factor still to give (or to enrol): the sign-in page asks for it.
        return reply.redirect(result.status === 'signed-in' ? result.returnTo : '/sign-in');
      } catch (error) {
        if (error instanceof SsoRefusal) return reply.redirect(`/sign-in?ssoError=${encodeURIComponent(error.message)}`);
        throw error;
      }
    },
  );
}

import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply } from 'fastify';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { IdentityProvidersTable } from '../../db/schema.ts';
import { setSessionCookie } from '../../http/auth.ts';
import { ForbiddenError } from '../../http/errors.ts';
import { Id, Name, NoContent, Nullable, TeamRole } from '../../http/schemas.ts';
import { LDAP_DEFAULTS, ldapSettings, oidcSettings, SAML_DEFAULTS, samlSettings } from './provider-settings.ts';
import { MAX_SAML_XML_BYTES, samlCertificates } from './saml.ts';
import { SsoRefusal } from './profile.ts';
import { mappingsOf, parseList, SSO_REQUEST_MINUTES, type ProviderInput } from './sso.service.ts';

const STATE_COOKIE = 'fg_sso_state';
const STATE_PATH = '/api/auth/sso';

const Domain = Type.String({ minLength: 3, maxLength: 253, pattern: '^@?[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$' });
const Group = Type.String({ minLength: 1, maxLength: 256 });
const AttributeName = Type.String({ minLength: 1, maxLength: 300 });
const Certificate = Type.String({ minLength: 100, maxLength: 20_000, description: 'PEM, or its base64 body' });
const OidcFields = Type.Object(
  {
    issuerUrl: Type.String({ minLength: 8, maxLength: 500, description: 'The issuer; its metadata is at <issuerUrl>/.well-known/openid-configuration' }),
    clientId: Type.String({ minLength: 1, maxLength: 500 }),
    clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Needed to add the provider; afterwards only to change it' })),
    scopes: Type.Optional(Type.String({ minLength: 6, maxLength: 500, pattern: '(^|\\s)openid(\\s|$)', default: 'openid email profile' })),
    groupsClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 100, default: 'groups' })),
  },
  { additionalProperties: false },
);
const SamlFields = Type.Object(
  {
    metadataXml: Type.Optional(
      Type.String({ minLength: 20, maxLength: MAX_SAML_XML_BYTES, description: "The IdP's metadata (EntityDescriptor): entity ID, sign-in URL and certificates are read from it" }),
    ),
    idpMetadataUrl: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 2000,
        description: 'Where the IdP publishes its metadata: read now, and again at every certificate check (every 6 hours), so a key rollover is followed',
      }),
    ),
    idpEntityId: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    ssoUrl: Type.Optional(Type.String({ minLength: 8, maxLength: 2000, description: 'HTTP-Redirect sign-in URL' })),
    certificates: Type.Optional(Type.Array(Certificate, { minItems: 1, maxItems: 5 })),
    emailAttribute: Type.Optional(AttributeName),
    nameAttribute: Type.Optional(AttributeName),
    groupsAttribute: Type.Optional(AttributeName),
  },
  { additionalProperties: false },
);
const LdapFields = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 500, description: 'ldaps://host:636, or ldap://host:389 with startTls' }),
    startTls: Type.Optional(Type.Boolean({ description: 'Default: on for ldap://, off for ldaps://' })),
    caCertificate: Type.Optional(Nullable(Certificate)),
    bindDn: Type.String({ minLength: 3, maxLength: 1000, description: 'The service account that searches' }),
    bindPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Needed to add the provider; afterwards only to change it' })),
    userBase: Type.String({ minLength: 3, maxLength: 1000 }),
    userFilter: Type.Optional(Type.String({ minLength: 3, maxLength: 1000, default: LDAP_DEFAULTS.userFilter, description: '{username} is what the person typed, escaped' })),
    groupBase: Type.Optional(Type.String({ minLength: 3, maxLength: 1000, description: 'Default: the user base' })),
    groupFilter: Type.Optional(Type.String({ minLength: 3, maxLength: 1000, default: LDAP_DEFAULTS.groupFilter, description: "{dn} is the member's DN, escaped" })),
    groupNameAttribute: Type.Optional(AttributeName),
    emailAttribute: Type.Optional(AttributeName),
    nameAttribute: Type.Optional(AttributeName),
    nestedGroups: Type.Optional(Type.Boolean({ default: LDAP_DEFAULTS.nestedGroups })),
  },
  { additionalProperties: false },
);
const ProviderBody = Type.Object(
  {
    kind: Type.Optional(Type.Union([Type.Literal('oidc'), Type.Literal('saml'), Type.Literal('ldap')], { default: 'oidc' })),
    name: Name,
    emailDomains: Type.Array(Domain, { maxItems: 50, description: 'The email domains this provider signs in; the sign-in page routes them to it' }),
    adminGroup: Type.Optional(Nullable(Group)),
    mappings: Type.Optional(
      Type.Array(Type.Object({ group: Group, teamId: Id, role: TeamRole }, { additionalProperties: false }), {
        maxItems: 500,
        default: [],
      }),
    ),
    mfaAcrValues: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 20,
        default: [],
        description: 'OIDC acr, SAML AuthnContextClassRef or authnmethodsreferences values that mean the provider checked MFA',
      }),
    ),
    disableLocalPasswords: Type.Optional(
      Type.Boolean({ default: false, description: 'Its email domains cannot sign in with a local password (platform admins still can: break-glass)' }),
    ),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    oidc: Type.Optional(OidcFields),
    saml: Type.Optional(SamlFields),
    ldap: Type.Optional(LdapFields),
  },
  { additionalProperties: false },
);
const ProviderParams = Type.Object({ providerId: Id });
const CertificateView = Type.Object({ kid: Nullable(Type.String()), subject: Type.String(), expiresAt: Type.String(), daysLeft: Type.Integer() });
const ProviderCommonView = {
  id: Type.String(),
  name: Type.String(),
  emailDomains: Type.Array(Type.String()),
  adminGroup: Nullable(Type.String()),
  mappings: Type.Array(Type.Object({ group: Type.String(), teamId: Type.String(), role: TeamRole })),
  mfaAcrValues: Type.Array(Type.String()),
  disableLocalPasswords: Type.Boolean(),
  enabled: Type.Boolean(),
  scimEnabled: Type.Boolean({ description: 'It has a SCIM token (POST .../scim-token makes one)' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
};
/** A provider with the settings of its kind only: the kind tells which (a client narrows on it). */
const ProviderView = Type.Union([
  Type.Object({
    ...ProviderCommonView,
    kind: Type.Literal('oidc'),
    oidc: Type.Object({
      issuerUrl: Type.String(),
      clientId: Type.String(),
      scopes: Type.String(),
      groupsClaim: Type.String(),
      redirectUri: Type.String({ description: 'Register this at the identity provider' }),
    }),
  }),
  Type.Object({
    ...ProviderCommonView,
    kind: Type.Literal('saml'),
    saml: Type.Object({
      idpEntityId: Type.String(),
      ssoUrl: Type.String(),
      certificates: Type.Array(CertificateView),
      idpMetadataUrl: Nullable(Type.String()),
      emailAttribute: Type.String(),
      nameAttribute: Type.String(),
      groupsAttribute: Type.String(),
      spEntityId: Type.String({ description: "This platform's entity ID (the assertions' audience)" }),
      acsUrl: Type.String({ description: 'Assertion Consumer Service, HTTP-POST' }),
      metadataUrl: Type.String({ description: 'SP metadata for the IdP to import' }),
    }),
  }),
  Type.Object({
    ...ProviderCommonView,
    kind: Type.Literal('ldap'),
    ldap: Type.Object({
      url: Type.String(),
      startTls: Type.Boolean(),
      caCertificate: Nullable(Type.String()),
      bindDn: Type.String(),
      userBase: Type.String(),
      userFilter: Type.String(),
      groupBase: Type.String(),
      groupFilter: Type.String(),
      groupNameAttribute: Type.String(),
      emailAttribute: Type.String(),
      nameAttribute: Type.String(),
      nestedGroups: Type.Boolean(),
    }),
  }),
]);
const TestReportView = Type.Object({
  email: Nullable(Type.String()),
  name: Nullable(Type.String()),
  subject: Type.String(),
  groupsFrom: Type.String(),
  groups: Type.Array(Type.String()),
  groupCount: Type.Integer(),
  amr: Type.Array(Type.String()),
  acr: Nullable(Type.String()),
  mfaByProvider: Type.Boolean(),
  platformAdmin: Type.Boolean(),
  roles: Type.Array(Type.Object({ teamId: Type.String(), role: TeamRole })),
  problems: Type.Array(Type.String()),
});

type Body = Static<typeof ProviderBody>;

function withDefaults(body: Body): ProviderInput {
  const { oidc, saml, ldap } = body;
  return {
    kind: body.kind ?? 'oidc',
    name: body.name,
    emailDomains: body.emailDomains,
    adminGroup: body.adminGroup ?? null,
    mappings: body.mappings ?? [],
    mfaAcrValues: body.mfaAcrValues ?? [],
    disableLocalPasswords: body.disableLocalPasswords ?? false,
    enabled: body.enabled ?? true,
    oidc: oidc && { ...oidc, scopes: oidc.scopes ?? 'openid email profile', groupsClaim: oidc.groupsClaim ?? 'groups' },
    saml: saml && { ...SAML_DEFAULTS, ...saml },
    // StartTLS by default on ldap://; ldaps:// is TLS already.
    ldap: ldap && { ...LDAP_DEFAULTS, startTls: /^ldap:/i.test(ldap.url), groupBase: ldap.userBase, ...ldap, caCertificate: ldap.caCertificate ?? null },
  };
}

/** Where a sign-in may return to: a path of this platform, never another site. */
function safeReturn(path: string | undefined): string {
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
}

export function ssoRoutes(app: TypedApp, c: Pick<AppContext, 'auditLog' | 'clock' | 'config' | 'sso'>): void {
  const { sso } = c;
  const secure = c.config.publicUrl.startsWith('https://');
  const present = (p: IdentityProvidersTable): Static<typeof ProviderView> => {
    const common = {
      id: p.id,
      name: p.name,
      emailDomains: parseList(p.email_domains),
      adminGroup: p.admin_group,
      mappings: mappingsOf(p),
      mfaAcrValues: parseList(p.mfa_acr_values),
      disableLocalPasswords: p.disable_local_passwords === 1,
      enabled: p.enabled === 1,
      scimEnabled: p.scim_token_hash !== null,
      createdAt: p.created_at,
      updatedAt: p.updated_at,
    };
    if (p.kind === 'ldap') return { ...common, kind: 'ldap', ldap: ldapSettings(p) };
    if (p.kind === 'saml') {
      const sp = sso.serviceProvider(p.id);
      const saml = { ...samlSettings(p), certificates: samlCertificates(p, c.clock.now()), spEntityId: sp.entityId, acsUrl: sp.acsUrl, metadataUrl: sp.metadataUrl };
      return { ...common, kind: 'saml', saml };
    }
    return { ...common, kind: 'oidc', oidc: { ...oidcSettings(p), redirectUri: sso.redirectUri(p.id) } };
  };

  app.get(
    '/api/platform/identity-providers',
    { config: { access: { kind: 'user', permission: 'platform:settings:read' } }, schema: { tags: ['sso'], response: { 200: Type.Array(ProviderView) } } },
    async () => (await sso.list()).map(present),
  );
  app.post(
    '/api/platform/identity-providers',
    { config: { access: { kind: 'user', permission: 'platform:settings:write' } }, schema: { tags: ['sso'], body: ProviderBody, response: { 201: ProviderView } } },
    async (request, reply) => reply.code(201).send(present(await sso.create(withDefaults(request.body), request.ctx))),
  );
  app.get(
    '/api/platform/identity-providers/:providerId',
    { config: { access: { kind: 'user', permission: 'platform:settings:read' } }, schema: { tags: ['sso'], params: ProviderParams, response: { 200: ProviderView } } },
    async (request) => present(await sso.get(request.params.providerId)),
  );
  app.put(
    '/api/platform/identity-providers/:providerId',
    {
      config: { access: { kind: 'user', permission: 'platform:settings:write' } },
      schema: { tags: ['sso'], params: ProviderParams, body: ProviderBody, response: { 200: ProviderView } },
    },
    async (request) => present(await sso.update(request.params.providerId, withDefaults(request.body), request.ctx)),
  );
  app.delete(
    '/api/platform/identity-providers/:providerId',
    { config: { access: { kind: 'user', permission: 'platform:settings:write' } }, schema: { tags: ['sso'], params: ProviderParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await sso.remove(request.params.providerId, request.ctx);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/api/platform/identity-providers/:providerId/test',
    {
      config: { access: { kind: 'user', permission: 'platform:settings:write' } },
      schema: {
        tags: ['sso'],
        description:
          'Reaches the provider as a sign-in would, and says what is wrong: unreachable, wrong issuer, clocks apart, an untrusted or expired certificate, a service account refused',
        params: ProviderParams,
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            problem: Type.Optional(Type.String()),
            endpoint: Type.Optional(Type.String({ description: 'What was asked: the sign-in URL, or the directory' })),
            clockSkewSeconds: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
            certificates: Type.Optional(Type.Array(CertificateView, { description: "The provider's signing certificates, or the directory's TLS one" })),
            details: Type.Optional(Type.Array(Type.String())),
          }),
        },
      },
    },
    async (request) => sso.test(request.params.providerId),
  );

  app.get(
    '/api/auth/sso/discover',
    {
      config: { access: { kind: 'public' }, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        description: "The provider that signs in an email's domain, by the domain alone",
        querystring: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            provider: Type.Union([
              Type.Object({ id: Type.String(), name: Type.String(), kind: Type.Union([Type.Literal('oidc'), Type.Literal('saml'), Type.Literal('ldap')]) }),
              Type.Null(),
            ]),
          }),
        },
      },
    },
    async (request) => ({ provider: await sso.discover(request.query.email) }),
  );

  app.get(
    '/api/auth/sso/:providerId/start',
    {
      config: { access: { kind: 'public' }, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        params: ProviderParams,
        querystring: Type.Object(
          {
            returnTo: Type.Optional(Type.String({ maxLength: 500 })),
            test: Type.Optional(Type.Literal('1', { description: "A platform admin's test sign-in: reports what the provider sent, signs nobody in" })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const test = request.query.test === '1';
      if (test && !(request.auth?.session?.stage === 'full' && request.auth.user.platform_role === 'admin'))
        throw new ForbiddenError('A test sign-in is for platform admins, signed in.');
      try {
        const { url, state } = await sso.start(request.params.providerId, safeReturn(request.query.returnTo), test ? 'test' : 'sign-in', request.ctx);
        // The state comes back in the URL and in this cookie: a callback this browser did not start is refused.
        // SAML's answer is a cross-site POST from the IdP, which a lax cookie does not ride on: over
        // https the cookie is SameSite=None (Secure); over http (loopback) the IdP must be same-site.
        reply.setCookie(STATE_COOKIE, state, { httpOnly: true, sameSite: secure ? 'none' : 'lax', path: STATE_PATH, secure, maxAge: SSO_REQUEST_MINUTES * 60 });
        return reply.redirect(url);
      } catch (error) {
        if (error instanceof SsoRefusal) return reply.redirect(`/sign-in?ssoError=${encodeURIComponent(error.message)}`);
        throw error;
      }
    },
  );

  /** Where a redirect sign-in's answer lands: signed in, asked for a second factor, a test report, or the refusal said on the sign-in page. */
  async function land(reply: FastifyReply, providerId: string, finish: () => ReturnType<typeof sso.finishOidc>) {
    reply.clearCookie(STATE_COOKIE, { path: STATE_PATH });
    try {
      const result = await finish();
      // A test sign-in goes back to the Platform page with its report, and signs nobody in.
      if (result.kind === 'test') return reply.redirect(`/platform?ssoTest=${Buffer.from(JSON.stringify({ providerId, ...result.report })).toString('base64url')}`, 303);
      setSessionCookie(reply, result.sessionToken, secure);
      // A second factor still to give (or to enrol): the sign-in page asks for it.
      return reply.redirect(result.status === 'signed-in' ? result.returnTo : '/sign-in', 303);
    } catch (error) {
      if (error instanceof SsoRefusal) return reply.redirect(`/sign-in?ssoError=${encodeURIComponent(error.message)}`, 303);
      throw error;
    }
  }

  app.get(
    '/api/auth/sso/:providerId/callback',
    // Public by name: the provider's answer (code and state) and the state cookie are what it checks.
    {
      config: { access: { kind: 'public' }, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: { tags: ['auth'], description: 'OpenID Connect redirect URI', params: ProviderParams },
    },
    async (request, reply) =>
      land(reply, request.params.providerId, () =>
        sso.finishOidc(request.params.providerId, new URL(request.url, sso.redirectUri(request.params.providerId)), request.cookies[STATE_COOKIE], request.ctx),
      ),
  );

  app.get(
    '/api/auth/sso/:providerId/saml/metadata',
    {
      config: { access: { kind: 'public' } },
      schema: { tags: ['auth'], description: "A SAML provider's SP metadata: this platform's entity ID and ACS, for the IdP to import", params: ProviderParams },
    },
    async (request, reply) => reply.type('application/samlmetadata+xml').send(await sso.samlMetadata(request.params.providerId)),
  );

  // The IdP's answer comes as a form post (HTTP-POST binding): parsed here only, under SAML's own size limit.
  app.register(async (acs) => {
    // A post the ACS cannot even read (too large, no SAMLResponse, not a form) is an attempt
    // too: audited here, then answered by the platform's problem handler.
    acs.setErrorHandler(async (error: FastifyError, request) => {
      if (error.validation || error.statusCode === 413 || error.statusCode === 415 || error.code?.startsWith('FST_ERR_CTP')) {
        const reason = error.statusCode === 413 ? 'response-too-large' : 'response-malformed';
        await c.auditLog.record(request.ctx, {
          event: 'auth.sso.login.failed',
          outcome: 'denied',
          details: { providerId: (request.params as { providerId?: string }).providerId ?? null, reason, detail: error.message.slice(0, 300) },
        });
      }
      throw error;
    });
    acs.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_SAML_XML_BYTES * 2 }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    acs.withTypeProvider<TypeBoxTypeProvider>().post(
      '/api/auth/sso/:providerId/saml/acs',
      // Public by name: the signed assertion, the RelayState and the state cookie are what it checks.
      {
        config: { access: { kind: 'public' }, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
        bodyLimit: MAX_SAML_XML_BYTES * 2,
        schema: {
          tags: ['auth'],
          description: 'SAML Assertion Consumer Service (HTTP-POST binding)',
          params: ProviderParams,
          body: Type.Object({ SAMLResponse: Type.String({ minLength: 1, maxLength: MAX_SAML_XML_BYTES * 2 }), RelayState: Type.Optional(Type.String({ maxLength: 200 })) }),
        },
      },
      async (request, reply) => land(reply, request.params.providerId, () => sso.finishSaml(request.params.providerId, request.body, request.cookies[STATE_COOKIE], request.ctx)),
    );
  });

  app.post(
    '/api/platform/identity-providers/:providerId/test-sign-in',
    {
      config: { access: { kind: 'user', permission: 'platform:settings:write' } },
      schema: {
        tags: ['sso'],
        description:
          "A directory (LDAP) sign-in tried with someone's name and password: what it finds and what a sign-in would make of it. Signs nobody in; OIDC and SAML test sign-ins go through .../start?test=1",
        params: ProviderParams,
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: { 200: Type.Union([TestReportView, Type.Object({ problem: Type.String() })]) },
      },
    },
    async (request) => sso.directoryTest(request.params.providerId, request.body, request.ctx),
  );
}

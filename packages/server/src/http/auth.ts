import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAllowed, isPermission, MEMBERS_ONLY_PERMISSIONS, PERMISSIONS, readOnlyPlatformRole, seesEveryTeam, SESSION_ONLY_PERMISSIONS, type Permission } from '@flowgate/core';
import type { Config } from '../config.ts';
import type { RequestContext } from '../context.ts';
import type { DevicesTable, IdentityProvidersTable, InstancesTable } from '../db/schema.ts';
import { looksLikeApiToken, tokenAllows, tokenTeamIds, type IdentityService } from '../features/identity/identity.service.ts';
import type { TeamsStore } from '../features/teams/teams.store.ts';
import { INSTANCE_COOKIE, INSTANCE_SIGN_IN_PATH, type InstanceOrigins } from '../features/applications/instance-origins.ts';
import { safeEqual, sha256Hex } from '../security/crypto.ts';
import { CredentialRefusedError, ForbiddenError, NotFoundError, UnauthenticatedError } from './errors.ts';
import type { FlowgateRouteConfig, TeamSource } from './route-config.ts';

export const SESSION_COOKIE = 'fg_session';
export const CSRF_HEADER = 'x-csrf-token';

/** The session cookie: HTTP only, same-site lax, Secure when the platform is reached over https. Returns the CSRF token for it. */
export function setSessionCookie(reply: FastifyReply, token: string, secure: boolean): string {
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', secure });
  return csrfTokenFor(token);
}

/** The CSRF token is derived from the session token, so it needs no storage of its own. */
export function csrfTokenFor(sessionToken: string): string {
  return sha256Hex(`csrf:${sessionToken}`).slice(0, 43);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function assertCsrf(request: FastifyRequest, sessionToken: string | null): void {
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !sessionToken || !safeEqual(sent, csrfTokenFor(sessionToken))) {
    throw new ForbiddenError(`Missing or wrong ${CSRF_HEADER} header: reload the page and try again.`);
  }
}

/**
 * Whether the caller, past the route's own permission, also holds `permission` in the
 * request's team: for a route that lets some roles do more than others.
 */
export function requestAllows(request: FastifyRequest, permission: Permission): boolean {
  const auth = request.auth;
  return auth !== null && isAllowed({ platformRole: auth.user.platform_role, teamRole: request.teamRole }, permission) && tokenAllows(effectiveToken(auth), permission);
}

/**
 * An auditor's token is read-only whatever it was made as: one made read-write before its
 * owner became an auditor writes nothing now either.
 */
function effectiveToken(auth: NonNullable<FastifyRequest['auth']>): NonNullable<FastifyRequest['auth']>['token'] {
  return auth.token && readOnlyPlatformRole(auth.user.platform_role) ? { ...auth.token, access: 'read' } : auth.token;
}

/** Finds the team a resource belongs to, for routes addressed by the resource's id. */
export type TeamResolver = (id: string) => Promise<string | null>;

export interface AuthDeps {
  identity: IdentityService;
  teamsStore: TeamsStore;
  config: Pick<Config, 'metricsToken'>;
  /** By the route parameter that names a resource (instanceId, snapshotId, ...): the team that owns it. */
  teamResolvers: Record<Exclude<TeamSource, 'teamId'>, { what: string; resolve: TeamResolver }>;
  /** Agents authenticate with their own token, never as a person. */
  agentByToken: (raw: string) => Promise<InstancesTable | null>;
  /** Devices authenticate with the credential they got at registration; a revoked one finds nothing. */
  deviceByCredential: (raw: string) => Promise<DevicesTable | null>;
  scimProviderByToken: (raw: string) => Promise<IdentityProvidersTable | null>;
  /** Which host is an instance's own origin, and who is signed in there. */
  origins: Pick<InstanceOrigins, 'instanceOfHost' | 'isInstanceOrigin' | 'separate' | 'originOf' | 'authenticate' | 'refusalFromInstance'>;
  publicUrl: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What an instance's own origin serves, and what the platform's refuses on its account
 * (instance-origins.ts): on an instance's host, its editor, its endpoints and the sign-in
 * there, nothing else of the platform's (no API, no web UI, no other instance); on the
 * platform's host, no request a page of an instance's sent (its Origin), and the old paths
 * of editors and endpoints only as a redirect to their origin, never their content.
 * Returns true when it answered the request itself (a redirect).
 */
function gateByHost(request: FastifyRequest, reply: FastifyReply, origins: AuthDeps['origins'], publicUrl: string): boolean {
  const path = request.url.split('?')[0]!;
  const instanceId = origins.instanceOfHost(request.headers.host);
  if (instanceId !== null) {
    request.instanceHost = { instanceId, platformUrl: publicUrl };
    const own = `/instances/${instanceId}/`;
    // Instances' origins are one site (x.localhost, y.localhost): another instance's page
    // would have this origin's cookie sent along; it may link here, not send requests.
    const origin = request.headers.origin;
    if (origin !== undefined && origins.isInstanceOrigin(origin) && origins.instanceOfHost(URL.parse(origin)?.host) !== instanceId) {
      throw new ForbiddenError("Requests from another instance's pages do not reach this instance.");
    }
    if (path === INSTANCE_SIGN_IN_PATH || path.startsWith(`${own}editor/`) || path.startsWith(`${own}app/`)) return false;
    throw new NotFoundError(`${path.slice(0, 200)} on this instance's origin`);
  }
  if (!origins.separate) return false;
  // A same-site page (x.localhost beside localhost) gets the platform's SameSite cookie sent
  // along; CORS keeps it from reading the answer, and this keeps the request from acting.
  if (origins.isInstanceOrigin(request.headers.origin)) throw origins.refusalFromInstance(request.routeOptions.url ?? path.slice(0, 200), request.method);
  const moved = /^\/instances\/([^/]+)\/(?:editor|app)\//.exec(path);
  if (moved) {
    if (!UUID.test(moved[1]!)) throw new NotFoundError('Instance');
    // Bookmarks and links of before keep working; nothing of the instance is served here.
    void reply.redirect(`${origins.originOf(moved[1]!)}${request.url}`, 308);
    return true;
  }
  return false;
}

/** The route's path parameters against its params schema (every named one has one: see onRoute), as Fastify's validation would report them. */
function assertPathParameters(request: FastifyRequest): void {
  const validate = request.routeOptions.schema?.params ? request.getValidationFunction('params') : undefined;
  if (validate && !validate(request.params)) {
    throw Object.assign(new Error('invalid path parameter'), { statusCode: 400, validation: validate.errors ?? [], validationContext: 'params' });
  }
}

function contextOf(request: FastifyRequest): RequestContext {
  return {
    actor: { type: 'anonymous', userId: null, label: null },
    ip: request.ip,
    userAgent: (request.headers['user-agent'] ?? null)?.slice(0, 512) ?? null,
  };
}

/**
 * Authentication and the route-level authorisation check, in one hook that every
 * route passes through. The team check answers 404 for a team the caller is not in,
 * so the existence of other teams does not leak; a denied attempt is audited (each refusal
 * carries its event, which the error mapper records).
 */
export function registerAuth(app: FastifyInstance, deps: AuthDeps): void {
  const { identity, teamsStore, config, teamResolvers, agentByToken, deviceByCredential, scimProviderByToken, origins, publicUrl } = deps;

  /** The team the request is about, from the parameter its access names: :teamId, or the owner of the resource. */
  async function teamOfRequest(request: FastifyRequest, source: TeamSource): Promise<string> {
    const id = (request.params as Record<string, string>)[source]!;
    if (source === 'teamId') return id;
    const resolver = teamResolvers[source];
    const teamId = await resolver.resolve(id);
    if (teamId === null) throw new NotFoundError(resolver.what);
    return teamId;
  }

  app.decorateRequest('agent', null);
  app.decorateRequest('device', null);
  app.decorateRequest('scimProvider', null);
  app.decorateRequest('auth', null);
  app.decorateRequest('teamRole', null);
  app.decorateRequest('teamId', null);
  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.decorateRequest('instanceHost', null);

  // Checked when a route is registered, so a route that could not be authorised does not start.
  app.addHook('onRoute', (route) => {
    const access = (route.config as FlowgateRouteConfig | undefined)?.access;
    const url = route.url;
    const where = `route ${String(route.method)} ${url}`;
    // Fastify's own HEAD twins and the documentation assets are covered by their GET route.
    if (route.method === 'HEAD' || url.startsWith('/api/docs')) return;
    if (!access) throw new Error(`${where} declares no access: a permission (kind 'user'), or kind 'public', 'agent', 'device' or 'scim'`);
    const named = [...url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const declared = (route.schema?.params as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    const unchecked = named.filter((name) => !(name in declared));
    if (unchecked.length) throw new Error(`${where} declares no schema for its path parameter ${unchecked.join(', ')}: every path parameter is checked before any query`);
    if (access.kind !== 'user') return;
    if (!isPermission(access.permission)) throw new Error(`${where} names ${String(access.permission)}, which is not in the permission catalogue`);
    const teamScoped = PERMISSIONS[access.permission].scope === 'team';
    if (teamScoped && !access.team) throw new Error(`${where} needs ${access.permission} in a team but does not say which parameter names it (access.team)`);
    if (!teamScoped && access.team) throw new Error(`${where} names a team for ${access.permission}, which is not a team permission`);
    if (access.team && (!named.includes(access.team) || (access.team !== 'teamId' && !(access.team in teamResolvers)))) {
      throw new Error(`${where} finds its team in :${access.team}, which the route has not or nothing resolves`);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    request.ctx = contextOf(request);
    if (gateByHost(request, reply, origins, publicUrl)) return reply;
    const access = request.routeOptions.config?.access;
    if (!access) return; // 404 handler and documentation assets
    // Before anything reads the database with them: a NUL byte or 10 kB in an id is refused
    // here, as the route's own schema would refuse it, instead of failing a query.
    assertPathParameters(request);

    const authorization = request.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : null;

    if (access.kind === 'device') {
      const raw = bearer ?? '';
      const device = raw.startsWith('fgd_') ? await deviceByCredential(raw) : null;
      if (!device) {
        // A forged or revoked credential: on record, with a prefix only.
        throw new CredentialRefusedError('The device credential is unknown or was revoked.').audited({
          event: 'device.credential.rejected',
          details: { method: request.method, route: request.routeOptions.url, credentialPrefix: raw.slice(0, 8) },
        });
      }
      request.device = device;
      request.ctx = { ...request.ctx, actor: { type: 'system', userId: null, label: `device:${device.id}` } };
      return;
    }

    if (access.kind === 'scim') {
      const provider = bearer?.startsWith('fgs_') ? await scimProviderByToken(bearer) : null;
      if (!provider) {
        throw new CredentialRefusedError('The SCIM token is unknown or was revoked.').audited({
          event: 'auth.token.rejected',
          details: { kind: 'scim', route: request.routeOptions.url, tokenPrefix: (bearer ?? '').slice(0, 8) },
        });
      }
      request.scimProvider = provider;
      request.ctx = { ...request.ctx, actor: { type: 'system', userId: null, label: `scim:${provider.name}` } };
      return;
    }

    if (access.kind === 'agent') {
      const instance = bearer?.startsWith('fgi_') ? await agentByToken(bearer) : null;
      if (!instance) throw new CredentialRefusedError('The agent token is unknown or was revoked.');
      request.agent = instance;
      request.ctx = { ...request.ctx, actor: { type: 'system', userId: null, label: `agent:${instance.id}` } };
      return;
    }

    // A person, or anyone at a public route.
    const byEditorToken = access.kind === 'user' && access.csrfByBearer === true;
    let sessionToken: string | null = null;
    if (request.instanceHost) {
      // On an instance's origin only who signed in there (its own cookie) is a person: the
      // platform's session never arrives, and an Authorization header is the flow's business.
      const found = await origins.authenticate(request.cookies[INSTANCE_COOKIE], request.instanceHost.instanceId);
      if (found) {
        request.auth = { user: found.user, session: found.session, token: null };
        request.ctx = { ...request.ctx, actor: { type: 'user', userId: found.user.id, label: found.user.email } };
      }
    } else if (bearer !== null && !byEditorToken) {
      if (access.kind === 'user' && access.metricsToken && config.metricsToken && safeEqual(bearer, config.metricsToken)) {
        request.ctx = { ...request.ctx, actor: { type: 'token', userId: null, label: 'metrics token' } };
        return;
      }
      const found = await identity.authenticateToken(bearer);
      if (!found) {
        // Only a prefix is kept: enough to tell tokens apart, useless to an attacker reading the log.
        throw new UnauthenticatedError('The API token is unknown, expired or revoked.').audited({
          event: 'auth.token.rejected',
          details: { method: request.method, route: request.routeOptions.url, tokenPrefix: bearer.slice(0, 8) },
        });
      }
      request.auth = { user: found.user, session: null, token: found.token };
      request.ctx = { ...request.ctx, actor: { type: 'token', userId: found.user.id, label: found.user.email, tokenId: found.token.id } };
    } else {
      sessionToken = request.cookies[SESSION_COOKIE] ?? null;
      const found = sessionToken ? await identity.authenticateSession(sessionToken) : null;
      if (found) {
        request.auth = { user: found.user, session: found.session, token: null };
        request.ctx = { ...request.ctx, actor: { type: 'user', userId: found.user.id, label: found.user.email } };
      }
    }

    const auth = request.auth;
    if (access.kind === 'public') {
      // A public write that acts as the signed-in person (accepting an invitation) still needs the header.
      if (access.csrfWhenSignedIn && auth?.session?.stage === 'full' && !SAFE_METHODS.has(request.method)) assertCsrf(request, sessionToken);
      return;
    }
    if (!auth) {
      // The editors read their own token from Authorization and the person from the session cookie.
      if (byEditorToken && bearer !== null && looksLikeApiToken(bearer)) {
        throw new UnauthenticatedError('The Node-RED editor opens in a signed-in browser session; API tokens do not open it. Scripts change flows through the snapshot API.');
      }
      throw new UnauthenticatedError();
    }
    if (access.browserSession && auth.token) {
      throw new UnauthenticatedError("This signs a browser in on an instance's own origin: it takes a signed-in browser session, not an API token.");
    }
    if (auth.session && auth.session.stage !== 'full' && !access.partialSession?.includes(auth.session.stage)) {
      throw new UnauthenticatedError(auth.session.stage === 'mfa' ? 'Enter your MFA code to finish signing in.' : 'Set up MFA first: your platform or team requires it.');
    }
    // Cookies ride along on cross-site requests; the header cannot (SR 3.8 session integrity).
    if (auth.session && !SAFE_METHODS.has(request.method) && !byEditorToken) assertCsrf(request, sessionToken);

    const permission = access.permission;
    const definition = PERMISSIONS[permission];
    // A token scoped to teams acts inside those teams only.
    const tokenTeams = tokenTeamIds(auth.token);
    let teamId: string | null = null;
    if (definition.scope === 'team') {
      teamId = await teamOfRequest(request, access.team!);
      request.teamId = teamId;
      request.teamRole = await teamsStore.roleOf(teamId, auth.user.id);
      // A role says the team exists; a platform role that reaches every team (admin, compliance,
      // auditor) is told when it does not, and its permissions decide from there.
      const acrossTeams = seesEveryTeam(auth.user.platform_role);
      if (request.teamRole === null && acrossTeams && !(await teamsStore.teamById(teamId))) throw new NotFoundError('Team');
      const outOfTokenScope = tokenTeams !== null && !tokenTeams.includes(teamId);
      if ((request.teamRole === null && !acrossTeams) || outOfTokenScope) {
        throw new NotFoundError('Team').audited({
          event: 'auth.access.hidden',
          teamId,
          details: { method: request.method, route: request.routeOptions.url, permission, reason: outOfTokenScope ? 'token not scoped to the team' : 'not a member' },
        });
      }
    }
    // Even an admin's: the platform-wide permissions (the whole audit log, settings, identity
    // providers, users) are out of reach of a token scoped to teams, and so are changes to
    // the person's own account and new teams: neither is inside the teams it names.
    const platformOutOfTokenScope = tokenTeams !== null && (definition.scope === 'platform' || (definition.scope === 'self' && definition.access === 'write'));
    const allowed = !platformOutOfTokenScope && requestAllows(request, permission);
    if (!allowed) {
      // A platform admin outside the team, at a team's Node-RED editor.
      const outsiderAtMembersOnly = request.teamRole === null && MEMBERS_ONLY_PERMISSIONS.includes(permission);
      throw new ForbiddenError(
        platformOutOfTokenScope
          ? `This API token is scoped to teams; ${permission} is not about one of them and needs a token not scoped to teams.`
          : auth.token && SESSION_ONLY_PERMISSIONS.includes(permission)
            ? `${permission} is for a signed-in browser session; API tokens do not carry it.`
            : auth.token && !tokenAllows(effectiveToken(auth), permission)
              ? `This API token is read-only; ${permission} needs a read-write token.`
              : outsiderAtMembersOnly
                ? `Only the team's people open its Node-RED editors (${permission}): join the team first, which is recorded in the audit log.`
                : `Your role does not allow ${permission}.`,
      ).audited({
        event: 'auth.access.denied',
        teamId,
        details: {
          method: request.method,
          route: request.routeOptions.url,
          permission,
          role: request.teamRole ?? auth.user.platform_role,
          ...(platformOutOfTokenScope ? { reason: 'token scoped to teams' } : outsiderAtMembersOnly ? { reason: 'not a member' } : {}),
        },
      });
    }
  });
}

import type { Permission, TeamRole } from '@flowgate/core';
import type { ApiTokensTable, DevicesTable, IdentityProvidersTable, InstancesTable, SessionsTable, UsersTable } from '../db/schema.ts';
import type { RequestContext } from '../context.ts';
import type { InstanceHost } from '../features/applications/instance-origins.ts';

/** Where a team permission finds its team: the route's :teamId, or the resource the route names (auth.ts resolves it). */
export type TeamSource = 'teamId' | 'applicationId' | 'instanceId' | 'snapshotId' | 'siteId' | 'groupId' | 'deviceId' | 'rolloutId' | 'provisioningTokenId';

/** A person (a session or an API token) holding a permission of the catalogue in packages/core. */
export interface UserAccess {
  kind: 'user';
  permission: Permission;
  /** For a team permission, and only for one: the path parameter its team comes from. */
  team?: TeamSource;
  /** Session stages other than 'full' that may call this route (MFA at sign-in, forced enrolment). */
  partialSession?: ReadonlyArray<'mfa' | 'enrol'>;
  /** The Node-RED editor proxy: writes carry the editor's own token, which stands in for the CSRF header. */
  csrfByBearer?: true;
  /** A person in a browser session only: an API token is refused (401), though its permission would allow it (signing a browser in on an instance's origin). */
  browserSession?: true;
  /** /metrics also accepts FLOWGATE_METRICS_TOKEN as a bearer token, for Prometheus. */
  metricsToken?: true;
}

/**
 * Who may call a route: one descriptor in the route's definition, checked whole when the
 * route is registered (auth.ts, onRoute: a route that declares none, names an unknown
 * permission or cannot find its team does not start) and enforced in one place, the auth hook.
 */
export type RouteAccess =
  /** Anyone, signed in or not: opting out of authentication by name, visibly. A public write that acts as the signed-in person when there is one (accepting an invitation) sets csrfWhenSignedIn. */
  | { kind: 'public'; csrfWhenSignedIn?: true }
  /** An instance's agent with its instance token (fgi_...), never a person. */
  | { kind: 'agent' }
  /** A device's agent with its device credential (fgd_...), never a person. */
  | { kind: 'device' }
  /** An identity provider with its SCIM token (fgs_...), never a person. */
  | { kind: 'scim' }
  | UserAccess;

export interface FlowgateRouteConfig {
  access?: RouteAccess;
}

/** What a route's access shows in the OpenAPI document (x-permission) and in logs. */
export const accessLabel = (access: RouteAccess): string => (access.kind === 'user' ? access.permission : access.kind);

export interface AuthState {
  user: UsersTable;
  session: SessionsTable | null;
  token: ApiTokensTable | null;
}

declare module 'fastify' {
  interface FastifyContextConfig extends FlowgateRouteConfig {}
  interface FastifyRequest {
    auth: AuthState | null;
    /** The caller's role in the team the request is about, once authorised. */
    teamRole: TeamRole | null;
    /** The team the request is about (from :teamId or the resource the route names). */
    teamId: string | null;
    /** The instance whose agent is calling, on agent routes. */
    agent: InstancesTable | null;
    /** The device that is calling, on device routes. */
    device: DevicesTable | null;
    /** The identity provider whose SCIM token called a `scim` route. */
    scimProvider: IdentityProvidersTable | null;
    ctx: RequestContext;
    /** Set when the request came to an instance's own origin (instance-origins.ts): whose, and where the platform is. */
    instanceHost: InstanceHost | null;
  }
}

import type { Permission, TeamRole } from '@flowgate/core';
import type { ApiTokensTable, DevicesTable, IdentityProvidersTable, InstancesTable, SessionsTable, UsersTable } from '../db/schema.ts';
import type { RequestContext } from '../context.ts';

/**
 * Every route says who may call it, in its definition: `permission` names an entry of
 * the catalogue in packages/core, or `public` opts out by name, visibly. Registering a
 * route with neither fails at start (see auth.ts).
 */
export interface FlowgateRouteConfig {
  permission?: Permission;
  public?: true;
  /** Called by an agent with its instance token (fgi_...), not by a person. */
  agent?: true;
  /** Called by a device's agent with its device credential (fgd_...), not by a person. */
  device?: true;
  /** Called by an identity provider with its SCIM token (fgs_...), not by a person. */
  scim?: true;
  /** Session stages other than 'full' that may call this route (MFA at sign-in, forced enrolment). */
  partialSession?: ReadonlyArray<'mfa' | 'enrol'>;
  /** The Node-RED editor proxy: writes carry the editor's own token, which stands in for the CSRF header. */
  csrfByBearer?: true;
  /** A public write that acts as the signed-in person when there is one: CSRF applies then. */
  csrfWhenSignedIn?: true;
  /** /metrics also accepts FLOWGATE_METRICS_TOKEN as a bearer token, for Prometheus. */
  metricsToken?: true;
}

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
  }
}

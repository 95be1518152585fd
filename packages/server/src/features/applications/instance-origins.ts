import type { Config } from '../../config.ts';
import type { Clock, RequestContext } from '../../context.ts';
import type { SessionsTable, UsersTable } from '../../db/schema.ts';
import { ForbiddenError, UnauthenticatedError, ValidationError } from '../../http/errors.ts';
import { randomToken, sha256Hex } from '../../security/crypto.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { InstanceOriginsStore } from './instance-origins.store.ts';

/**
 * An origin of its own per instance (issue 19). A member may serve, from a flow or a node's
 * editor definition, a page whose script runs in the browser of whoever opens it: on the
 * platform's origin that script could call the platform's API as that person (an owner, a
 * platform admin). So each instance's editor and endpoints are served from
 * `<instance id>.<domain>`, where the platform's session cookie (host-only) never goes and
 * the platform's API is not served; the platform refuses requests whose Origin is such a
 * host. A person signs in there with a one-time code the platform mints for them
 * (mintCode), exchanged on the instance's origin for a cookie of that origin (exchange).
 */

/** The cookie a person holds on an instance's origin: that origin's own, never the platform's. */
export const INSTANCE_COOKIE = 'fg_instance';
/** Where an instance's origin takes the code: outside the paths Node-RED serves. */
export const INSTANCE_SIGN_IN_PATH = '/.flowgate/session';
/** A code travels in one redirect; a minute is plenty, and a code seen later (a log, a history) is dead. */
export const CODE_SECONDS = 60;

/** Instance ids are UUIDs: a host label that is not one is never an instance's, whatever the domain. */
const LABEL = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface InstanceHost {
  instanceId: string;
  /** The platform's own address, for links back to it and its sign-in. */
  platformUrl: string;
}

export function createInstanceOrigins(deps: {
  config: Pick<Config, 'instanceOrigins' | 'publicUrl'>;
  store: InstanceOriginsStore;
  identity: Pick<IdentityService, 'authenticateSessionById'>;
  clock: Clock;
}) {
  const { config, store, identity, clock } = deps;
  const { mode, scheme, domain, port } = config.instanceOrigins;
  const separate = mode === 'separate';
  // The port is left out of the match: behind a reverse proxy the Host it passes may carry
  // another port, or none, than the one people use.
  const hostPattern = new RegExp(`^${LABEL}\\.${escapeRegExp(domain)}\\.?(?::\\d{1,5})?$`, 'i');

  /** The instance whose origin `host` (a Host header, or an origin's host) is; null: the platform's (or any other). */
  function instanceOfHost(host: string | undefined): string | null {
    if (!separate || !host) return null;
    return hostPattern.exec(host)?.[1]?.toLowerCase() ?? null;
  }

  /** Whether an Origin header names an instance's origin: a page an instance served. */
  function isInstanceOrigin(origin: string | undefined): boolean {
    if (!separate || !origin) return false;
    const url = URL.parse(origin);
    return url !== null && instanceOfHost(url.host) !== null;
  }

  /** `scheme://<id>.<domain>[:port]`; in the shared mode, the platform's own. */
  function originOf(instanceId: string): string {
    return separate ? `${scheme}://${instanceId}.${domain}${port ? `:${port}` : ''}` : config.publicUrl;
  }

  /** Where a person goes after signing in there: only the instance's editor or endpoints (no open redirect). */
  function checkedNext(instanceId: string, next: string | undefined, fallback: 'editor' | 'app'): string {
    const chosen = next ?? `/instances/${instanceId}/${fallback}/`;
    const own = `/instances/${instanceId}/`;
    if (!chosen.startsWith(`${own}editor/`) && !chosen.startsWith(`${own}app/`)) {
      throw new ValidationError(`next must be a path under ${own}editor/ or ${own}app/`, [{ field: 'next', message: 'is not this instance’s page' }]);
    }
    return chosen;
  }

  return {
    separate,
    instanceOfHost,
    isInstanceOrigin,
    originOf,
    checkedNext,

    /**
     * A one-time code for this person, in this platform session, on this instance's origin,
     * and where to send the browser with it. The route has checked the person's permission.
     */
    async mintCode(instanceId: string, user: UsersTable, session: SessionsTable, next: string): Promise<string> {
      const code = randomToken(32);
      const now = clock.now();
      // Codes nobody used are dead after a minute; cleared here rather than by a job.
      await store.deleteExpiredCodes(now.toISOString());
      await store.insertCode({
        code_hash: sha256Hex(code),
        instance_id: instanceId,
        user_id: user.id,
        session_id: session.id,
        expires_at: new Date(now.getTime() + CODE_SECONDS * 1000).toISOString(),
      });
      return `${originOf(instanceId)}${INSTANCE_SIGN_IN_PATH}?code=${encodeURIComponent(code)}&next=${encodeURIComponent(next)}`;
    },

    /**
     * The code, on the instance's origin, for a cookie of that origin: used once (taken and
     * deleted in one statement), within its minute, on the instance it was minted for, while
     * its platform session lasts. A refused code is on record.
     */
    async exchange(instanceId: string, code: string, ctx: RequestContext): Promise<{ token: string; user: UsersTable }> {
      const taken = await store.takeCode(sha256Hex(code));
      const why = !taken ? 'unknown or used' : Date.parse(taken.expires_at) <= clock.now().getTime() ? 'expired' : taken.instance_id !== instanceId ? 'another instance' : null;
      const found = taken && why === null ? await identity.authenticateSessionById(taken.session_id) : null;
      if (!taken || why !== null || !found || found.session.stage !== 'full' || found.user.id !== taken.user_id) {
        throw new UnauthenticatedError('This sign-in link is used, expired or not for this instance: open the editor or the endpoint again from the platform.').audited(
          {
            event: 'auth.token.rejected',
            target: { type: 'instance', id: instanceId },
            details: { kind: 'instance origin code', reason: why ?? 'platform session ended', codePrefix: code.slice(0, 6) },
          },
          ctx,
        );
      }
      const token = randomToken(32);
      await store.insertSession({
        token_hash: sha256Hex(token),
        instance_id: instanceId,
        user_id: found.user.id,
        session_id: found.session.id,
        created_at: clock.now().toISOString(),
      });
      return { token, user: found.user };
    },

    /**
     * Who holds this cookie on this instance's origin: the person, while the platform session
     * it came from lasts (signed out there, timed out, ended by an admin: signed out here too).
     */
    async authenticate(token: string | undefined, instanceId: string, options: { touch?: boolean } = {}): Promise<{ user: UsersTable; session: SessionsTable } | null> {
      if (!token) return null;
      const row = await store.sessionByTokenHash(sha256Hex(token));
      if (!row || row.instance_id !== instanceId) return null;
      const found = await identity.authenticateSessionById(row.session_id, options);
      return found && found.user.id === row.user_id && found.session.stage === 'full' ? found : null;
    },

    /** The refusal of a request to the platform from a page an instance served. */
    refusalFromInstance(route: string, method: string): ForbiddenError {
      return new ForbiddenError("Requests from an instance's pages (its editor or what its flows serve) do not reach the platform: open the platform in a tab of its own.").audited(
        { event: 'auth.access.denied', details: { method, route, reason: 'from an instance origin' } },
      );
    },
  };
}

export type InstanceOrigins = ReturnType<typeof createInstanceOrigins>;

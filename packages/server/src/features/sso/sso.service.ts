import { randomUUID, X509Certificate } from 'node:crypto';
import * as oidc from 'openid-client';
import { isTeamRole, type TeamRole } from '@flowgate/core';
import type { AlertSink } from '../../alerts.ts';
import { actingAs, type Clock, type RequestContext } from '../../context.ts';
import type { IdentityProvidersTable, UsersTable } from '../../db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../http/errors.ts';
import { randomToken, sha256Hex, type SecretBox } from '../../security/crypto.ts';
import type { AuditLog, AuditedTransaction } from '../audit/audit.service.ts';
import type { IdentityService, LoginResult } from '../identity/identity.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';
import type { TeamsStore } from '../teams/teams.store.ts';
import type { SsoStore } from './sso.store.ts';

/**
 * Sign-in through a company's OpenID Connect provider: authorization code with PKCE,
 * state and nonce (openid-client), just-in-time accounts, and at every sign-in the
 * provider's groups mapped to team roles and to platform admin. A state is kept hashed,
 * bound to the browser by a cookie, and works once.
 */

export const SSO_REQUEST_MINUTES = 10;
/** A provider's signing certificate that expires within this many days raises the platform alert. */
export const CERTIFICATE_WARNING_DAYS = 30;

export type SigningCertificate = { kid: string | null; subject: string; expiresAt: string; daysLeft: number };
/** RFC 8176 methods that are a second factor (or a strong one): the provider checked MFA. */
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'sms', 'fpt', 'face', 'iris', 'pop']);
/** When several of a person's groups map to one team, the strongest role wins. */
const ROLE_RANK: Record<TeamRole, number> = { owner: 5, member: 4, operator: 3, auditor: 2, viewer: 1 };

export type Mapping = { group: string; teamId: string; role: TeamRole };

/** What an admin's test sign-in found in the ID token, and what a sign-in would make of it. */
export type TestReport = {
  email: string | null;
  name: string | null;
  subject: string;
  groupsClaim: string;
  groups: string[];
  groupCount: number;
  amr: string[];
  acr: string | null;
  mfaByProvider: boolean;
  platformAdmin: boolean;
  roles: Array<{ teamId: string; role: TeamRole }>;
  /** Why a real sign-in would be refused; empty: it would pass. */
  problems: string[];
};

/** The ID token's claims as a sign-in reads them, and everything in them a sign-in refuses. */
function readClaims(provider: IdentityProvidersTable, claims: oidc.IDToken) {
  const problems: Array<{ reason: string; message: string }> = [];
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
  if (!email) problems.push({ reason: 'no-email-claim', message: `${provider.name} sent no email claim: add the "email" scope, or map an email claim.` });
  if (email && claims.email_verified === false) problems.push({ reason: 'email-not-verified', message: `${provider.name} says ${email} is not verified.` });
  const domains = parseList(provider.email_domains);
  if (email && domains.length && !domains.includes(domainOf(email))) problems.push({ reason: 'email-domain', message: `${email} is not in the domains ${provider.name} signs in (${domains.join(', ')}).` });
  const rawGroups = claims[provider.groups_claim];
  const needsGroups = mappingsOf(provider).length > 0 || provider.admin_group !== null;
  if (needsGroups && !Array.isArray(rawGroups)) {
    problems.push({ reason: 'no-groups-claim', message: `${provider.name} sent no "${provider.groups_claim}" claim, which the role mappings need: configure the provider to send it in the ID token.` });
  }
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
  const mfaByIdp = amr.some((m) => MFA_AMR.has(m)) || (typeof claims.acr === 'string' && parseList(provider.mfa_acr_values).includes(claims.acr));
  const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 120) : null;
  return { email, name, groups, amr, mfaByIdp, problems };
}

export interface ProviderInput {
  name: string;
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  groupsClaim: string;
  emailDomains: string[];
  adminGroup: string | null;
  mappings: Mapping[];
  mfaAcrValues: string[];
  disableLocalPasswords: boolean;
  enabled: boolean;
}

export interface SsoDeps {
  store: SsoStore;
  identityStore: IdentityStore;
  identity: IdentityService;
  teamsStore: TeamsStore;
  auditLog: AuditLog;
  secrets: SecretBox;
  clock: Clock;
  /** The platform's public address: redirect URIs are made from it. */
  publicUrl: string;
  alerts: AlertSink;
}

/** A sign-in the provider or its answer refused; `reason` goes to the audit log, the message to the person. */
export class SsoRefusal extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();
const isLoopback = (url: URL) => url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

export function parseList(json: string): string[] {
  return JSON.parse(json) as string[];
}

export function mappingsOf(provider: IdentityProvidersTable): Mapping[] {
  return JSON.parse(provider.mappings) as Mapping[];
}

/** The enabled provider that turns local passwords off for this email's domain, if any (identity.service asks at sign-in). */
export async function localPasswordsOffFor(store: SsoStore, email: string): Promise<{ name: string } | null> {
  const domain = domainOf(email);
  const provider = (await store.providers()).find((p) => p.enabled === 1 && p.disable_local_passwords === 1 && parseList(p.email_domains).includes(domain));
  return provider ? { name: provider.name } : null;
}

export function createSsoService(deps: SsoDeps) {
  const { store, identityStore, identity, teamsStore, auditLog, secrets, clock } = deps;
  const iso = (offsetMs = 0) => new Date(clock.now().getTime() + offsetMs).toISOString();
  const configs = new Map<string, { key: string; config: Promise<oidc.Configuration> }>();

  const redirectUri = (providerId: string) => `${deps.publicUrl}/api/auth/sso/${providerId}/callback`;

  /** The provider's OpenID configuration (discovery), kept until the provider changes. */
  function configOf(provider: IdentityProvidersTable): Promise<oidc.Configuration> {
    const key = `${provider.updated_at}`;
    const cached = configs.get(provider.id);
    if (cached?.key === key) return cached.config;
    const issuer = new URL(provider.issuer_url);
    // client_secret_basic: the default of OpenID Connect, and of most providers.
    const config = oidc.discovery(issuer, provider.client_id, undefined, oidc.ClientSecretBasic(secrets.open(provider.client_secret_enc).toString('utf8')), {
      // Plain http only on loopback: a provider in a test, or beside the platform.
      ...(issuer.protocol === 'http:' && isLoopback(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
      timeout: 10,
    });
    configs.set(provider.id, { key, config });
    config.catch(() => configs.delete(provider.id));
    return config;
  }

  /**
   * The certificates in the provider's signing keys (x5c of its JWKS; Entra ID and AD FS
   * publish them, many providers publish bare keys, which do not expire).
   */
  async function signingCertificates(provider: IdentityProvidersTable): Promise<SigningCertificate[]> {
    const uri = (await configOf(provider)).serverMetadata().jwks_uri;
    if (!uri) return [];
    const jwks = (await (await fetch(uri, { signal: AbortSignal.timeout(10_000) })).json()) as { keys?: Array<{ kid?: string; x5c?: unknown }> };
    const found: SigningCertificate[] = [];
    for (const key of jwks.keys ?? []) {
      if (!Array.isArray(key.x5c) || typeof key.x5c[0] !== 'string') continue;
      const cert = new X509Certificate(Buffer.from(key.x5c[0], 'base64'));
      const expires = new Date(cert.validTo);
      found.push({ kid: key.kid ?? null, subject: cert.subject, expiresAt: expires.toISOString(), daysLeft: Math.floor((expires.getTime() - clock.now().getTime()) / 86_400_000) });
    }
    return found;
  }

  async function requireProvider(id: string): Promise<IdentityProvidersTable> {
    const provider = await store.providerById(id);
    if (!provider) throw new NotFoundError('Identity provider');
    return provider;
  }

  async function enabledProviders(): Promise<IdentityProvidersTable[]> {
    return (await store.providers()).filter((p) => p.enabled === 1);
  }

  async function checkInput(input: Omit<ProviderInput, 'clientSecret'>): Promise<void> {
    let issuer: URL;
    try {
      issuer = new URL(input.issuerUrl);
    } catch {
      throw new ValidationError(`"${input.issuerUrl}" is not a URL.`, [{ field: 'issuerUrl', message: 'not a URL' }]);
    }
    if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer))) {
      throw new ValidationError('The issuer URL must be https:// (http:// only on this machine\'s loopback).', [{ field: 'issuerUrl', message: 'must be https' }]);
    }
    for (const [i, m] of input.mappings.entries()) {
      if (!(await teamsStore.teamById(m.teamId))) throw new ValidationError(`Mapping ${i + 1} names a team that does not exist.`, [{ field: `mappings.${i}.teamId`, message: 'unknown team' }]);
      if (!isTeamRole(m.role)) throw new ValidationError(`Mapping ${i + 1}: "${m.role}" is not a team role.`, [{ field: `mappings.${i}.role`, message: 'unknown role' }]);
    }
  }

  function row(input: Omit<ProviderInput, 'clientSecret'>): Omit<IdentityProvidersTable, 'id' | 'created_at' | 'updated_at' | 'client_secret_enc' | 'scim_token_hash'> {
    return {
      kind: 'oidc',
      name: input.name.trim(),
      enabled: input.enabled ? 1 : 0,
      issuer_url: input.issuerUrl.replace(/\/+$/, ''),
      client_id: input.clientId,
      scopes: input.scopes,
      groups_claim: input.groupsClaim,
      email_domains: JSON.stringify([...new Set(input.emailDomains.map((d) => d.trim().toLowerCase().replace(/^@/, '')))]),
      mappings: JSON.stringify(input.mappings),
      mfa_acr_values: JSON.stringify(input.mfaAcrValues),
      admin_group: input.adminGroup,
      disable_local_passwords: input.disableLocalPasswords ? 1 : 0,
    };
  }

  /** The team roles a person's groups give: per team, the strongest. */
  function rolesFor(provider: IdentityProvidersTable, groups: string[]): Map<string, TeamRole> {
    const wanted = new Map<string, TeamRole>();
    for (const m of mappingsOf(provider)) {
      if (!groups.includes(m.group)) continue;
      const held = wanted.get(m.teamId);
      if (!held || ROLE_RANK[m.role] > ROLE_RANK[held]) wanted.set(m.teamId, m.role);
    }
    return wanted;
  }

  /** What the provider's sign-in does to the person's memberships; recorded as it goes. */
  async function applyMappings(tx: AuditedTransaction, provider: IdentityProvidersTable, user: UsersTable, wanted: Map<string, TeamRole>, as: RequestContext): Promise<void> {
    const current = await store.membershipsOf(user.id, tx.trx);
    for (const [teamId, role] of wanted) {
      const membership = current.find((m) => m.team_id === teamId);
      if (membership && membership.mapped_by === null) continue; // made by hand: left alone
      if (membership?.role === role) continue;
      if (membership) await store.setMapped(teamId, user.id, { role, mapped_by: provider.id }, tx.trx);
      else await teamsStore.insertMembership({ team_id: teamId, user_id: user.id, role, created_at: iso(), mapped_by: provider.id }, tx.trx);
      await tx.record({ event: 'member.mapped', target: { type: 'user', id: user.id }, teamId, details: { role, before: membership?.role ?? null, provider: provider.name } }, as);
    }
    for (const membership of current) {
      if (membership.mapped_by !== provider.id || wanted.has(membership.team_id)) continue;
      if (membership.role === 'owner' && (await teamsStore.countOwners(membership.team_id, tx.trx)) <= 1) {
        await tx.record({ event: 'member.unmapped', outcome: 'denied', target: { type: 'user', id: user.id }, teamId: membership.team_id, details: { reason: 'last-owner', provider: provider.name } }, as);
        continue;
      }
      await teamsStore.deleteMembership(membership.team_id, user.id, tx.trx);
      await tx.record({ event: 'member.unmapped', target: { type: 'user', id: user.id }, teamId: membership.team_id, details: { role: membership.role, provider: provider.name } }, as);
    }
  }

  /**
   * What a person's groups at the provider give, applied: platform admin by the admin group
   * (the local break-glass admin, one with a password, is never demoted), and the mapped
   * team roles. At each sign-in, and when SCIM changes a group. Returns the user as now.
   */
  async function applyGroups(tx: AuditedTransaction, provider: IdentityProvidersTable, user: UsersTable, groups: string[], as: RequestContext, wanted = rolesFor(provider, groups)): Promise<UsersTable> {
    if (provider.admin_group !== null) {
      const role = groups.includes(provider.admin_group) ? 'admin' : 'user';
      if (role !== user.platform_role && !(role === 'user' && user.password_hash)) {
        await identityStore.updateUser(user.id, { platform_role: role, updated_at: iso() }, tx.trx);
        await tx.record({ event: 'user.updated', target: { type: 'user', id: user.id }, details: { platformRole: { before: user.platform_role, after: role }, by: `sso:${provider.name}` } }, as);
        user = { ...user, platform_role: role };
      }
    }
    await applyMappings(tx, provider, user, wanted, as);
    return user;
  }

  async function refuse(provider: IdentityProvidersTable, ctx: RequestContext, reason: string, message: string, extra: Record<string, unknown> = {}): Promise<never> {
    await auditLog.record(ctx, { event: 'auth.sso.login.failed', outcome: 'denied', details: { provider: provider.name, reason, ...extra } });
    throw new SsoRefusal(reason, message);
  }

  return {
    redirectUri,
    applyGroups,

    list: () => store.providers(),
    get: requireProvider,

    async create(input: ProviderInput, ctx: RequestContext): Promise<IdentityProvidersTable> {
      await checkInput(input);
      const provider: IdentityProvidersTable = { id: randomUUID(), ...row(input), client_secret_enc: secrets.seal(input.clientSecret), scim_token_hash: null, created_at: iso(), updated_at: iso() };
      return auditLog.transaction(ctx, async (tx) => {
        if (await store.providerByName(provider.name, tx.trx)) throw new ConflictError(`An identity provider named "${provider.name}" exists already.`);
        await store.insertProvider(provider, tx.trx);
        await tx.record({ event: 'identity-provider.created', target: { type: 'identity-provider', id: provider.id }, details: { name: provider.name, issuer: provider.issuer_url, emailDomains: parseList(provider.email_domains) } });
        return provider;
      });
    },

    async update(id: string, input: Omit<ProviderInput, 'clientSecret'> & { clientSecret?: string | undefined }, ctx: RequestContext): Promise<IdentityProvidersTable> {
      const before = await requireProvider(id);
      await checkInput(input);
      const patch = { ...row(input), ...(input.clientSecret ? { client_secret_enc: secrets.seal(input.clientSecret) } : {}), updated_at: iso() };
      return auditLog.transaction(ctx, async (tx) => {
        const clash = await store.providerByName(patch.name, tx.trx);
        if (clash && clash.id !== id) throw new ConflictError(`An identity provider named "${patch.name}" exists already.`);
        await store.updateProvider(id, patch, tx.trx);
        await tx.record({ event: 'identity-provider.updated', target: { type: 'identity-provider', id }, details: { name: patch.name, secretChanged: Boolean(input.clientSecret), enabled: input.enabled } });
        return { ...before, ...patch };
      });
    },

    async remove(id: string, ctx: RequestContext): Promise<void> {
      const provider = await requireProvider(id);
      await auditLog.transaction(ctx, async (tx) => {
        await store.deleteProvider(id, tx.trx);
        await tx.record({ event: 'identity-provider.deleted', target: { type: 'identity-provider', id }, details: { name: provider.name } });
      });
      configs.delete(id);
    },

    /**
     * Raises the platform alert while an enabled provider's signing certificate expires
     * within CERTIFICATE_WARNING_DAYS (or has expired), and clears it otherwise. A provider
     * that cannot be asked now is left out: its next sign-in or test says why.
     */
    async checkCertificates(): Promise<string[]> {
      const warnings: string[] = [];
      for (const provider of await enabledProviders()) {
        const certificates = await signingCertificates(provider).catch(() => []);
        for (const c of certificates.filter((c) => c.daysLeft < CERTIFICATE_WARNING_DAYS)) {
          warnings.push(`${provider.name}'s signing certificate ${c.kid ?? c.subject} ${c.daysLeft < 0 ? 'expired' : 'expires'} on ${c.expiresAt.slice(0, 10)}${c.daysLeft >= 0 ? ` (in ${c.daysLeft} days)` : ''}: once it rolls over, check a sign-in.`);
        }
      }
      if (warnings.length) deps.alerts.raise('idp-certificate', warnings.join(' '));
      else deps.alerts.clear('idp-certificate');
      return warnings;
    },

    /** "Test sign-in": discovery, and what it says; the errors a person can act on. */
    async test(id: string): Promise<{ ok: true; issuer: string; authorizationEndpoint: string; clockSkewSeconds: number | null; certificates: SigningCertificate[] } | { ok: false; problem: string }> {
      const provider = await requireProvider(id);
      const wellKnown = `${provider.issuer_url}/.well-known/openid-configuration`;
      let response: Response;
      try {
        response = await fetch(wellKnown, { signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        return { ok: false, problem: `The identity provider is unreachable: ${wellKnown} did not answer (${(error as Error).message}).` };
      }
      if (!response.ok) return { ok: false, problem: `${wellKnown} answered ${response.status}: is the issuer URL right?` };
      const date = response.headers.get('date');
      const skew = date ? Math.round((clock.now().getTime() - new Date(date).getTime()) / 1000) : null;
      if (skew !== null && Math.abs(skew) > 120) return { ok: false, problem: `The clocks disagree by ${skew} s: this platform's and the identity provider's. Tokens will look expired or not yet valid; set both by NTP.` };
      configs.delete(id);
      try {
        const config = await configOf(provider);
        const metadata = config.serverMetadata();
        const certificates = await signingCertificates(provider).catch(() => []);
        return { ok: true, issuer: metadata.issuer, authorizationEndpoint: metadata.authorization_endpoint ?? '', clockSkewSeconds: skew, certificates };
      } catch (error) {
        return { ok: false, problem: `Discovery failed: ${(error as Error).message}. The issuer in the provider's metadata must be exactly the issuer URL.` };
      }
    },

    /** The enabled provider that signs in an email's domain, for the sign-in page. */
    async discover(email: string): Promise<{ id: string; name: string } | null> {
      const domain = domainOf(email.trim());
      const provider = (await enabledProviders()).find((p) => parseList(p.email_domains).includes(domain));
      return provider ? { id: provider.id, name: provider.name } : null;
    },

    /** The first leg: where to send the browser, and the state its cookie must carry back. */
    async start(providerId: string, returnTo: string, purpose: 'sign-in' | 'test' = 'sign-in'): Promise<{ url: string; state: string }> {
      const provider = await requireProvider(providerId);
      // A test sign-in works while the provider is off: it is how an admin checks it before turning it on.
      if (provider.enabled !== 1 && purpose === 'sign-in') throw new NotFoundError('Identity provider');
      const config = await configOf(provider).catch((error: unknown) => {
        throw new SsoRefusal('idp-unreachable', `${provider.name} could not be reached: ${(error as Error).message}`);
      });
      const verifier = oidc.randomPKCECodeVerifier();
      const state = randomToken();
      const nonce = oidc.randomNonce();
      await store.deleteExpiredRequests(iso());
      await store.insertRequest({ state_hash: sha256Hex(state), provider_id: provider.id, code_verifier_enc: secrets.seal(verifier), nonce, return_to: returnTo, expires_at: iso(SSO_REQUEST_MINUTES * 60_000), purpose });
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri(provider.id),
        scope: provider.scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.toString(), state };
    },

    /**
     * The second leg: the provider's answer at the callback URL. Checks the browser's state,
     * exchanges the code, validates the ID token, then finds or makes the account, applies
     * the mappings and opens the session, all in one audited transaction.
     */
    async finish(providerId: string, callbackUrl: URL, browserState: string | undefined, ctx: RequestContext): Promise<({ kind: 'signed-in'; returnTo: string } & LoginResult) | { kind: 'test'; report: TestReport }> {
      const provider = await requireProvider(providerId);
      const state = callbackUrl.searchParams.get('state') ?? '';
      const idpError = callbackUrl.searchParams.get('error');
      if (idpError) return refuse(provider, ctx, 'idp-error', `${provider.name} refused the sign-in: ${callbackUrl.searchParams.get('error_description') ?? idpError}`, { error: idpError });
      if (!state || !browserState || state !== browserState) return refuse(provider, ctx, 'state-mismatch', 'This sign-in was not started in this browser (state mismatch). Start again.');
      const request = await store.takeRequest(sha256Hex(state));
      if (!request || request.provider_id !== provider.id) return refuse(provider, ctx, 'state-unknown', 'This sign-in is unknown or was used already. Start again.');
      if (request.expires_at < iso()) return refuse(provider, ctx, 'state-expired', `This sign-in took longer than ${SSO_REQUEST_MINUTES} minutes. Start again.`);

      let claims: oidc.IDToken;
      try {
        const config = await configOf(provider);
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: secrets.open(request.code_verifier_enc).toString('utf8'),
          expectedState: state,
          expectedNonce: request.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims()!;
      } catch (error) {
        // openid-client wraps oauth4webapi's error, which says what failed (`unexpected JWT "nonce" claim value`) and names the claim.
        const inner = (error as Error).cause instanceof Error ? ((error as Error).cause as Error & { cause?: { claim?: unknown } }) : null;
        const claim = typeof inner?.cause?.claim === 'string' ? inner.cause.claim : null;
        const message = inner ? `${(error as Error).message} (${inner.message})` : (error as Error).message;
        const reason = claim === 'nonce' ? 'nonce-mismatch' : /fetch failed|ECONNREFUSED|timed? ?out/i.test(message) ? 'idp-unreachable' : 'token-invalid';
        return refuse(provider, ctx, reason, `${provider.name}'s answer was refused: ${message}`);
      }

      const read = readClaims(provider, claims);
      const { email, groups, amr, mfaByIdp } = read;
      if (request.purpose === 'test') {
        const report: TestReport = {
          email: email || null, name: read.name, subject: claims.sub, groupsClaim: provider.groups_claim, groups: groups.slice(0, 50), groupCount: groups.length,
          amr, acr: typeof claims.acr === 'string' ? claims.acr : null, mfaByProvider: mfaByIdp, platformAdmin: provider.admin_group !== null && groups.includes(provider.admin_group),
          roles: [...rolesFor(provider, groups)].map(([teamId, role]) => ({ teamId, role })), problems: read.problems.map((p) => p.message),
        };
        await auditLog.record(ctx, { event: 'identity-provider.tested', target: { type: 'identity-provider', id: provider.id }, details: { name: provider.name, problems: report.problems, groups: groups.length, email: report.email } });
        return { kind: 'test', report };
      }
      const problem = read.problems[0];
      if (problem) return refuse(provider, ctx, problem.reason, problem.message);

      const linked = await store.identity(provider.id, claims.sub);
      const existing = linked ? await identityStore.userById(linked.user_id) : await identityStore.userByEmail(email);
      if (existing && existing.status !== 'active') return refuse(provider, ctx, 'account-disabled', 'Your account is disabled on this platform.', { email });
      const name = read.name ?? email;
      const wanted = rolesFor(provider, groups);
      // Read before the transaction: on SQLite a query outside it would wait for it forever. A
      // team the mappings put the person in counts too, for someone new as for anyone.
      const byTeams = await Promise.all([...wanted.keys()].map(async (teamId) => (await teamsStore.teamById(teamId))?.require_mfa === 1));
      const mfaRequired = byTeams.includes(true) || (existing ? await identity.mfaRequiredFor(existing) : await identity.platformRequiresMfa());

      const result = await auditLog.transaction(ctx, async (tx) => {
        let user = existing;
        if (!user) {
          user = {
            id: randomUUID(), email, name, password_hash: null, platform_role: 'user', status: 'active', failed_logins: 0, locked_until: null,
            mfa_secret_enc: null, mfa_enrolled_at: null, mfa_last_step: null, created_at: iso(), updated_at: iso(),
          };
          await identityStore.insertUser(user, tx.trx);
          await tx.record({ event: 'user.created', target: { type: 'user', id: user.id }, details: { email, platformRole: 'user', source: `sso:${provider.name}` } }, actingAs(user, ctx));
        }
        const userCtx = actingAs(user, ctx);
        if (linked) await store.touchIdentity(provider.id, claims.sub, iso(), tx.trx);
        else await store.insertIdentity({ provider_id: provider.id, subject: claims.sub, user_id: user.id, created_at: iso(), last_login_at: iso() }, tx.trx);
        user = await applyGroups(tx, provider, user, groups, userCtx, wanted);
        const session = await identity.sessionAfterFirstFactor(tx, user, mfaRequired, mfaByIdp, ctx);
        await tx.record({ event: 'auth.sso.login.succeeded', target: { type: 'user', id: user.id }, details: { provider: provider.name, mfa: mfaByIdp ? 'by-provider' : session.status, amr, groups: groups.length } }, userCtx);
        return session;
      });
      return { kind: 'signed-in', ...result, returnTo: request.return_to };
    },
  };
}


export type SsoService = ReturnType<typeof createSsoService>;

import { randomUUID } from 'node:crypto';
import { isTeamRole, type TeamRole } from '@flowgate/core';
import type { AlertSink } from '../../alerts.ts';
import { actingAs, SYSTEM_CONTEXT, type Clock, type RequestContext } from '../../context.ts';
import type { IdentityProvidersTable, SsoRequestsTable, UsersTable } from '../../db/schema.ts';
import { ConflictError, NotFoundError, UnauthenticatedError, ValidationError } from '../../http/errors.ts';
import { randomToken, sha256Hex, type SecretBox } from '../../security/crypto.ts';
import type { AuditLog, AuditedTransaction } from '../audit/audit.service.ts';
import type { IdentityService, LoginResult } from '../identity/identity.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';
import type { TeamsStore } from '../teams/teams.store.ts';
import { ldap } from './ldap.ts';
import { createOidc } from './oidc.ts';
import { SsoRefusal, type ProviderCertificate, type ProviderCheck, type ProviderProfile } from './profile.ts';
import {
  checkLdap,
  checkWebUrl,
  ldapSettings,
  normaliseCertificate,
  oidcSettings,
  pemBundle,
  pemOf,
  samlSettings,
  type LdapSettings,
  type OidcSettings,
  type ProviderKind,
  type SamlSettings,
} from './provider-settings.ts';
import { fetchIdpMetadata, parseIdpMetadata, saml, samlCertificates, serviceProviderOf } from './saml.ts';
import type { SsoStore } from './sso.store.ts';

/**
 * Sign-in through a company's identity provider: OpenID Connect (oidc.ts), SAML 2.0 (saml.ts)
 * or an LDAP directory such as Active Directory (ldap.ts). Each protocol turns its answer into
 * a ProviderProfile; from there a sign-in is the same for all: just-in-time accounts, and at
 * every sign-in the provider's groups mapped to team roles and to platform admin, in one
 * audited transaction. A redirect sign-in's state is kept hashed, bound to the browser by a
 * cookie, and works once.
 */

export const SSO_REQUEST_MINUTES = 10;
/** A provider's signing certificate that expires within this many days raises the platform alert. */
export const CERTIFICATE_WARNING_DAYS = 30;
/** When several of a person's groups map to one team, the strongest role wins. */
const ROLE_RANK: Record<TeamRole, number> = { owner: 5, member: 4, operator: 3, auditor: 2, viewer: 1 };

export type Mapping = { group: string; teamId: string; role: TeamRole };

/** What an admin's test sign-in found, and what a real sign-in would make of it. */
export type TestReport = {
  email: string | null;
  name: string | null;
  subject: string;
  /** Where the groups come from: the OIDC claim, the SAML attribute, or the directory. */
  groupsFrom: string;
  groups: string[];
  groupCount: number;
  amr: string[];
  /** OIDC acr or SAML AuthnContextClassRef. */
  acr: string | null;
  mfaByProvider: boolean;
  platformAdmin: boolean;
  roles: Array<{ teamId: string; role: TeamRole }>;
  /** Why a real sign-in would be refused; empty: it would pass. */
  problems: string[];
};

export type OidcInput = { issuerUrl: string; clientId: string; clientSecret?: string | undefined; scopes: string; groupsClaim: string };
/** Either the IdP's metadata XML, or its entity ID, sign-in URL and certificates by hand. */
export type SamlInput = {
  metadataXml?: string | undefined;
  idpMetadataUrl?: string | undefined;
  idpEntityId?: string | undefined;
  ssoUrl?: string | undefined;
  certificates?: string[] | undefined;
  emailAttribute: string;
  nameAttribute: string;
  groupsAttribute: string;
};
export type LdapInput = Omit<LdapSettings, 'caCertificate'> & { caCertificate: string | null; bindPassword?: string | undefined };

export interface ProviderInput {
  kind: ProviderKind;
  name: string;
  emailDomains: string[];
  adminGroup: string | null;
  mappings: Mapping[];
  mfaAcrValues: string[];
  disableLocalPasswords: boolean;
  enabled: boolean;
  oidc?: OidcInput | undefined;
  saml?: SamlInput | undefined;
  ldap?: LdapInput | undefined;
}

export interface SsoDeps {
  store: SsoStore;
  identityStore: IdentityStore;
  identity: IdentityService;
  teamsStore: TeamsStore;
  auditLog: AuditLog;
  secrets: SecretBox;
  clock: Clock;
  /** The platform's public address: redirect URIs and SAML endpoints are made from it. */
  publicUrl: string;
  alerts: AlertSink;
}

export const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

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

const NO_EMAIL_HINT: Record<ProviderKind, string> = {
  oidc: 'add the "email" scope, and give the person an email address at the provider',
  saml: 'send the email attribute the provider settings name, or an emailAddress NameID',
  ldap: "the person's directory entry has no email attribute (the provider settings name it)",
};

/** Where a provider's groups come from, as the test report and its problems name it. */
function groupsFrom(provider: IdentityProvidersTable): string {
  if (provider.kind === 'oidc') return `the "${oidcSettings(provider).groupsClaim}" claim`;
  if (provider.kind === 'saml') return `the "${samlSettings(provider).groupsAttribute}" attribute`;
  return "the directory's groups";
}

/** Everything in a profile that a sign-in refuses, with the reason the audit log keeps. */
function problemsOf(provider: IdentityProvidersTable, profile: ProviderProfile): Array<{ reason: string; message: string }> {
  const problems: Array<{ reason: string; message: string }> = [];
  const { email } = profile;
  if (!email) problems.push({ reason: 'no-email-claim', message: `${provider.name} sent no email: ${NO_EMAIL_HINT[provider.kind]}.` });
  if (email && !profile.emailVerified) problems.push({ reason: 'email-not-verified', message: `${provider.name} says ${email} is not verified.` });
  const domains = parseList(provider.email_domains);
  if (email && domains.length && !domains.includes(domainOf(email)))
    problems.push({ reason: 'email-domain', message: `${email} is not in the domains ${provider.name} signs in (${domains.join(', ')}).` });
  const needsGroups = mappingsOf(provider).length > 0 || provider.admin_group !== null;
  if (needsGroups && profile.groups === null) {
    problems.push({
      reason: 'no-groups-claim',
      message: `${provider.name} sent no groups (${groupsFrom(provider)}), which the role mappings need: configure the provider to send them.`,
    });
  }
  return problems;
}

/** A message that names its provider once. */
const named = (provider: IdentityProvidersTable, message: string) => (message.startsWith(provider.name) ? message : `${provider.name}: ${message}`);

function invalid(field: string, message: string): never {
  throw new ValidationError(message, [{ field, message }]);
}

/** The kind's settings from the input, checked; and its secret, when one is given. An update that sends no SAML certificate keeps the stored ones. */
function settingsOf(input: ProviderInput, previous?: IdentityProvidersTable): { settings: OidcSettings | SamlSettings | LdapSettings; secret: string | undefined } {
  for (const other of ['oidc', 'saml', 'ldap'] as const) {
    if (other !== input.kind && input[other]) invalid(other, `A ${input.kind} provider takes no "${other}" settings.`);
  }
  if (input.kind === 'oidc') {
    const o = input.oidc ?? invalid('oidc', 'An OIDC provider needs its "oidc" settings: issuerUrl, clientId, clientSecret.');
    checkWebUrl(o.issuerUrl, 'oidc.issuerUrl', 'The issuer URL');
    // Kept as given: the issuer in the provider's metadata must match it exactly, a trailing slash too (Entra's v1 issuer has one).
    return { settings: { issuerUrl: o.issuerUrl.trim(), clientId: o.clientId, scopes: o.scopes, groupsClaim: o.groupsClaim }, secret: o.clientSecret };
  }
  if (input.kind === 'saml') {
    const s = input.saml ?? invalid('saml', 'A SAML provider needs its "saml" settings: the IdP\'s metadata XML, or its entity ID, sign-in URL and certificate.');
    if (s.idpMetadataUrl !== undefined) checkWebUrl(s.idpMetadataUrl, 'saml.idpMetadataUrl', 'The metadata URL');
    const idp =
      s.metadataXml !== undefined
        ? parseIdpMetadata(s.metadataXml)
        : {
            idpEntityId: s.idpEntityId ?? invalid('saml.idpEntityId', 'The IdP entity ID is needed (or its metadata XML).'),
            ssoUrl: s.ssoUrl ?? invalid('saml.ssoUrl', 'The IdP sign-in URL is needed (or its metadata XML).'),
            certificates: s.certificates?.length
              ? s.certificates.map((c, i) => pemOf(normaliseCertificate(c, `saml.certificates.${i}`)))
              : previous
                ? samlSettings(previous).certificates
                : invalid('saml.certificates', 'At least one IdP signing certificate is needed (or its metadata XML).'),
          };
    if (!idp.idpEntityId) invalid('saml.idpEntityId', 'The IdP entity ID is empty.');
    checkWebUrl(idp.ssoUrl, 'saml.ssoUrl', 'The IdP sign-in URL');
    return {
      settings: { ...idp, idpMetadataUrl: s.idpMetadataUrl ?? null, emailAttribute: s.emailAttribute, nameAttribute: s.nameAttribute, groupsAttribute: s.groupsAttribute },
      secret: undefined,
    };
  }
  const { bindPassword, ...l } = input.ldap ?? invalid('ldap', 'An LDAP provider needs its "ldap" settings: url, bindDn, bindPassword, userBase.');
  // The scheme in lower case: it decides TLS, and "LDAPS://" is the same URL.
  const settings: LdapSettings = {
    ...l,
    url: l.url.trim().replace(/^[a-z]+:/i, (scheme) => scheme.toLowerCase()),
    caCertificate: l.caCertificate === null ? null : pemBundle(l.caCertificate, 'ldap.caCertificate'),
  };
  checkLdap(settings);
  return { settings, secret: bindPassword };
}

const SECRET_NAME: Record<ProviderKind, string | null> = { oidc: 'oidc.clientSecret', saml: null, ldap: 'ldap.bindPassword' };
/** Directory refusals about the person, which all get one answer: they must not tell who has an account. */
const PERSONAL_REASONS = new Set(['unknown-account', 'wrong-password', 'ambiguous-account', 'account-disabled']);

export function createSsoService(deps: SsoDeps) {
  const { store, identityStore, identity, teamsStore, auditLog, secrets, clock } = deps;
  const iso = (offsetMs = 0) => new Date(clock.now().getTime() + offsetMs).toISOString();
  const oidc = createOidc({ secrets, publicUrl: deps.publicUrl });
  const serviceProvider = (providerId: string) => serviceProviderOf(deps.publicUrl, providerId);
  const secretOf = (provider: IdentityProvidersTable) => (provider.secret_enc === null ? '' : secrets.open(provider.secret_enc).toString('utf8'));

  async function requireProvider(id: string): Promise<IdentityProvidersTable> {
    const provider = await store.providerById(id);
    if (!provider) throw new NotFoundError('Identity provider');
    return provider;
  }

  async function enabledProviders(): Promise<IdentityProvidersTable[]> {
    return (await store.providers()).filter((p) => p.enabled === 1);
  }

  /** An email domain is signed in by one provider: else the sign-in page could send a person to one and their password to another. */
  async function checkDomains(input: ProviderInput, exceptId: string | null): Promise<void> {
    const wanted = new Set(input.emailDomains.map((d) => d.trim().toLowerCase().replace(/^@/, '')));
    for (const other of await store.providers()) {
      if (other.id === exceptId) continue;
      const shared = parseList(other.email_domains).filter((d) => wanted.has(d));
      if (shared.length) throw new ConflictError(`${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} signed in by ${other.name} already: a domain has one provider.`);
    }
  }

  /** A SAML provider given its metadata URL: the metadata is read from there, as if pasted. */
  async function withPublishedMetadata(input: ProviderInput): Promise<ProviderInput> {
    const s = input.saml;
    if (input.kind !== 'saml' || !s?.idpMetadataUrl || s.metadataXml !== undefined) return input;
    checkWebUrl(s.idpMetadataUrl, 'saml.idpMetadataUrl', 'The metadata URL');
    return { ...input, saml: { ...s, metadataXml: await fetchIdpMetadata(s.idpMetadataUrl) } };
  }

  /**
   * A SAML provider whose metadata comes from a URL takes the certificates published there
   * now (an IdP rolling its key publishes the next one beside the current): audited when they
   * changed. Returns the provider as it now is.
   */
  async function refreshPublishedCertificates(provider: IdentityProvidersTable): Promise<IdentityProvidersTable> {
    if (provider.kind !== 'saml') return provider;
    const settings = samlSettings(provider);
    if (!settings.idpMetadataUrl) return provider;
    const published = parseIdpMetadata(await fetchIdpMetadata(settings.idpMetadataUrl));
    if (published.certificates.join() === settings.certificates.join()) return provider;
    const patch = { settings: JSON.stringify({ ...settings, certificates: published.certificates }), updated_at: iso() };
    await auditLog.transaction(SYSTEM_CONTEXT, async (tx) => {
      await store.updateProvider(provider.id, patch, tx.trx);
      await tx.record({
        event: 'identity-provider.updated',
        target: { type: 'identity-provider', id: provider.id },
        details: { name: provider.name, kind: 'saml', certificates: { before: settings.certificates.length, after: published.certificates.length }, by: 'published metadata' },
      });
    });
    return { ...provider, ...patch };
  }

  async function checkMappings(mappings: Mapping[]): Promise<void> {
    for (const [i, m] of mappings.entries()) {
      if (!(await teamsStore.teamById(m.teamId))) invalid(`mappings.${i}.teamId`, `Mapping ${i + 1} names a team that does not exist.`);
      if (!isTeamRole(m.role)) invalid(`mappings.${i}.role`, `Mapping ${i + 1}: "${m.role}" is not a team role.`);
    }
  }

  function row(input: ProviderInput, settings: object): Omit<IdentityProvidersTable, 'id' | 'created_at' | 'updated_at' | 'secret_enc' | 'scim_token_hash'> {
    return {
      kind: input.kind,
      name: input.name.trim(),
      enabled: input.enabled ? 1 : 0,
      settings: JSON.stringify(settings),
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
        await tx.record(
          {
            event: 'member.unmapped',
            outcome: 'denied',
            target: { type: 'user', id: user.id },
            teamId: membership.team_id,
            details: { reason: 'last-owner', provider: provider.name },
          },
          as,
        );
        continue;
      }
      await teamsStore.deleteMembership(membership.team_id, user.id, tx.trx);
      await tx.record(
        { event: 'member.unmapped', target: { type: 'user', id: user.id }, teamId: membership.team_id, details: { role: membership.role, provider: provider.name } },
        as,
      );
    }
  }

  /**
   * What a person's groups at the provider give, applied: platform admin by the admin group
   * (the local break-glass admin, one with a password, is never demoted), and the mapped
   * team roles. At each sign-in, and when SCIM changes a group. Returns the user as now.
   */
  async function applyGroups(
    tx: AuditedTransaction,
    provider: IdentityProvidersTable,
    user: UsersTable,
    groups: string[],
    as: RequestContext,
    wanted = rolesFor(provider, groups),
  ): Promise<UsersTable> {
    if (provider.admin_group !== null) {
      const role = groups.includes(provider.admin_group) ? 'admin' : 'user';
      if (role !== user.platform_role && !(role === 'user' && user.password_hash)) {
        // The break-glass admin is one made admin here, with a password. Someone a group makes
        // admin loses any old local password: else it would outlive their group at the provider.
        const dropPassword = role === 'admin' && user.password_hash !== null;
        await identityStore.updateUser(user.id, { platform_role: role, ...(dropPassword ? { password_hash: null } : {}), updated_at: iso() }, tx.trx);
        await tx.record(
          {
            event: 'user.updated',
            target: { type: 'user', id: user.id },
            details: { platformRole: { before: user.platform_role, after: role }, by: `sso:${provider.name}`, ...(dropPassword ? { localPasswordRemoved: true } : {}) },
          },
          as,
        );
        user = { ...user, platform_role: role, ...(dropPassword ? { password_hash: null } : {}) };
      }
    }
    await applyMappings(tx, provider, user, wanted, as);
    return user;
  }

  async function refuse(provider: IdentityProvidersTable, ctx: RequestContext, reason: string, message: string, extra: Record<string, unknown> = {}): Promise<never> {
    await auditLog.record(ctx, { event: 'auth.sso.login.failed', outcome: 'denied', details: { provider: provider.name, reason, ...extra } });
    throw new SsoRefusal(reason, message);
  }

  /** A protocol's refusal, audited; anything else thrown as it was. */
  async function audited<T>(provider: IdentityProvidersTable, ctx: RequestContext, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof SsoRefusal) return refuse(provider, ctx, error.reason, error.message);
      throw error;
    }
  }

  /** The request a redirect sign-in's answer belongs to: this browser's, unused, in time. */
  async function takeRequest(provider: IdentityProvidersTable, state: string, browserState: string | undefined, ctx: RequestContext): Promise<SsoRequestsTable> {
    if (!state || !browserState || state !== browserState)
      return refuse(provider, ctx, 'state-mismatch', 'This sign-in was not started in this browser (state mismatch). Start again.');
    const request = await store.takeRequest(sha256Hex(state));
    if (!request || request.provider_id !== provider.id) return refuse(provider, ctx, 'state-unknown', 'This sign-in is unknown or was used already. Start again.');
    if (request.expires_at < iso()) return refuse(provider, ctx, 'state-expired', `This sign-in took longer than ${SSO_REQUEST_MINUTES} minutes. Start again.`);
    return request;
  }

  async function testReport(provider: IdentityProvidersTable, profile: ProviderProfile, ctx: RequestContext): Promise<TestReport> {
    const groups = profile.groups ?? [];
    const report: TestReport = {
      email: profile.email || null,
      name: profile.name,
      subject: profile.subject,
      groupsFrom: groupsFrom(provider),
      groups: groups.slice(0, 50),
      groupCount: groups.length,
      amr: profile.methods,
      acr: profile.context,
      mfaByProvider: profile.mfaByIdp,
      platformAdmin: provider.admin_group !== null && groups.includes(provider.admin_group),
      roles: [...rolesFor(provider, groups)].map(([teamId, role]) => ({ teamId, role })),
      problems: problemsOf(provider, profile).map((p) => p.message),
    };
    await auditLog.record(ctx, {
      event: 'identity-provider.tested',
      target: { type: 'identity-provider', id: provider.id },
      details: { name: provider.name, problems: report.problems, groups: groups.length, email: report.email },
    });
    return report;
  }

  /**
   * What every kind of sign-in ends in: the profile checked, the account found or made, the
   * mappings applied and the session opened (or the second factor asked for), all in one
   * audited transaction.
   */
  async function signInWith(provider: IdentityProvidersTable, profile: ProviderProfile, ctx: RequestContext): Promise<LoginResult> {
    const problem = problemsOf(provider, profile)[0];
    if (problem) return refuse(provider, ctx, problem.reason, problem.message);
    const { email, mfaByIdp } = profile;
    const groups = profile.groups ?? [];
    const linked = await store.identity(provider.id, profile.subject);
    const existing = linked ? await identityStore.userById(linked.user_id) : await identityStore.userByEmail(email);
    if (existing && existing.status !== 'active') return refuse(provider, ctx, 'account-disabled', 'Your account is disabled on this platform.', { email });
    const name = profile.name?.trim().slice(0, 120) || email;
    const wanted = rolesFor(provider, groups);
    // Read before the transaction: on SQLite a query outside it would wait for it forever. A
    // team the mappings put the person in counts too, for someone new as for anyone.
    const byTeams = await Promise.all([...wanted.keys()].map(async (teamId) => (await teamsStore.teamById(teamId))?.require_mfa === 1));
    const mfaRequired = byTeams.includes(true) || (existing ? await identity.mfaRequiredFor(existing) : await identity.platformRequiresMfa());

    return auditLog.transaction(ctx, async (tx) => {
      let user = existing;
      if (!user) {
        user = {
          id: randomUUID(),
          email,
          name,
          password_hash: null,
          platform_role: 'user',
          status: 'active',
          failed_logins: 0,
          locked_until: null,
          mfa_secret_enc: null,
          mfa_enrolled_at: null,
          mfa_last_step: null,
          created_at: iso(),
          updated_at: iso(),
        };
        await identityStore.insertUser(user, tx.trx);
        await tx.record(
          { event: 'user.created', target: { type: 'user', id: user.id }, details: { email, platformRole: 'user', source: `sso:${provider.name}` } },
          actingAs(user, ctx),
        );
      }
      const userCtx = actingAs(user, ctx);
      if (linked) await store.touchIdentity(provider.id, profile.subject, iso(), tx.trx);
      else await store.insertIdentity({ provider_id: provider.id, subject: profile.subject, user_id: user.id, created_at: iso(), last_login_at: iso() }, tx.trx);
      user = await applyGroups(tx, provider, user, groups, userCtx, wanted);
      const session = await identity.sessionAfterFirstFactor(tx, user, mfaRequired, mfaByIdp, ctx);
      // As a local sign-in: the count of failures ends with a whole sign-in, not with a first
      // factor that a local MFA code still follows (or once a lock has run out).
      if ((user.failed_logins > 0 && session.status !== 'mfa-required') || user.locked_until)
        await identityStore.updateUser(user.id, { failed_logins: 0, locked_until: null }, tx.trx);
      await tx.record(
        {
          event: 'auth.sso.login.succeeded',
          target: { type: 'user', id: user.id },
          details: {
            provider: provider.name,
            kind: provider.kind,
            mfa: mfaByIdp ? 'by-provider' : session.status,
            amr: profile.methods,
            acr: profile.context,
            groups: groups.length,
          },
        },
        userCtx,
      );
      return session;
    });
  }

  type RedirectResult = ({ kind: 'signed-in'; returnTo: string } & LoginResult) | { kind: 'test'; report: TestReport };

  /**
   * The provider's answer read into a profile, then the sign-in (or the test report). A test
   * sign-in the protocol refuses (a wrong certificate, an audience the IdP got wrong) reports
   * the refusal on the Platform page, where the admin who tried it is, not on the sign-in page.
   */
  async function finishRedirect(provider: IdentityProvidersTable, request: SsoRequestsTable, read: () => Promise<ProviderProfile>, ctx: RequestContext): Promise<RedirectResult> {
    let profile: ProviderProfile;
    try {
      profile = await audited(provider, ctx, read);
    } catch (error) {
      if (!(error instanceof SsoRefusal) || request.purpose !== 'test') throw error;
      const report: TestReport = {
        email: null,
        name: null,
        subject: '',
        groupsFrom: groupsFrom(provider),
        groups: [],
        groupCount: 0,
        amr: [],
        acr: null,
        mfaByProvider: false,
        platformAdmin: false,
        roles: [],
        problems: [error.message],
      };
      return { kind: 'test', report };
    }
    if (request.purpose === 'test') return { kind: 'test', report: await testReport(provider, profile, ctx) };
    if (provider.enabled !== 1) return refuse(provider, ctx, 'provider-disabled', `${provider.name} was turned off while this sign-in was under way.`);
    return { kind: 'signed-in', ...(await signInWith(provider, profile, ctx)), returnTo: request.return_to };
  }

  async function providerCertificates(provider: IdentityProvidersTable): Promise<ProviderCertificate[]> {
    if (provider.kind === 'oidc') return oidc.signingCertificates(provider, clock.now());
    if (provider.kind === 'saml') return samlCertificates(provider, clock.now());
    return ldap.certificates(ldapSettings(provider), secretOf(provider), clock.now());
  }

  return {
    applyGroups,
    redirectUri: oidc.redirectUri,
    serviceProvider,

    list: () => store.providers(),
    get: requireProvider,

    async create(input: ProviderInput, ctx: RequestContext): Promise<IdentityProvidersTable> {
      const { settings, secret } = settingsOf(await withPublishedMetadata(input));
      const secretName = SECRET_NAME[input.kind];
      if (secretName && !secret) invalid(secretName, `A new ${input.kind.toUpperCase()} provider needs ${secretName}.`);
      await checkMappings(input.mappings);
      await checkDomains(input, null);
      const provider: IdentityProvidersTable = {
        id: randomUUID(),
        ...row(input, settings),
        secret_enc: secret ? secrets.seal(secret) : null,
        scim_token_hash: null,
        created_at: iso(),
        updated_at: iso(),
      };
      return auditLog.transaction(ctx, async (tx) => {
        if (await store.providerByName(provider.name, tx.trx)) throw new ConflictError(`An identity provider named "${provider.name}" exists already.`);
        await store.insertProvider(provider, tx.trx);
        await tx.record({
          event: 'identity-provider.created',
          target: { type: 'identity-provider', id: provider.id },
          details: { name: provider.name, kind: provider.kind, emailDomains: parseList(provider.email_domains) },
        });
        return provider;
      });
    },

    async update(id: string, input: ProviderInput, ctx: RequestContext): Promise<IdentityProvidersTable> {
      const before = await requireProvider(id);
      if (input.kind !== before.kind) invalid('kind', `A provider's kind cannot change (it is ${before.kind}): add a new provider instead.`);
      const { settings, secret } = settingsOf(await withPublishedMetadata(input), before);
      await checkMappings(input.mappings);
      await checkDomains(input, id);
      const patch = { ...row(input, settings), ...(secret ? { secret_enc: secrets.seal(secret) } : {}), updated_at: iso() };
      return auditLog.transaction(ctx, async (tx) => {
        const clash = await store.providerByName(patch.name, tx.trx);
        if (clash && clash.id !== id) throw new ConflictError(`An identity provider named "${patch.name}" exists already.`);
        await store.updateProvider(id, patch, tx.trx);
        await tx.record({
          event: 'identity-provider.updated',
          target: { type: 'identity-provider', id },
          details: { name: patch.name, kind: before.kind, secretChanged: Boolean(secret), enabled: input.enabled },
        });
        return { ...before, ...patch };
      });
    },

    async remove(id: string, ctx: RequestContext): Promise<void> {
      const provider = await requireProvider(id);
      await auditLog.transaction(ctx, async (tx) => {
        await store.deleteProvider(id, tx.trx);
        await tx.record({ event: 'identity-provider.deleted', target: { type: 'identity-provider', id }, details: { name: provider.name } });
      });
      oidc.forget(id);
    },

    /**
     * Raises the platform alert while an enabled provider's certificate (an OIDC signing key's,
     * a SAML IdP's, a directory's TLS one) expires within CERTIFICATE_WARNING_DAYS or has
     * expired, and clears it otherwise. A provider that cannot be asked now is left out: its
     * next sign-in or test says why.
     */
    async checkCertificates(): Promise<string[]> {
      const warnings: string[] = [];
      for (const provider of await enabledProviders()) {
        // A certificate the provider's own connection refuses (a directory's that expired) is a warning too.
        const current = await refreshPublishedCertificates(provider).catch((error: unknown) => {
          warnings.push(`${provider.name}'s published metadata could not be read: ${(error as Error).message}`);
          return provider;
        });
        const certificates = await providerCertificates(current).catch((error: unknown) => {
          if (error instanceof SsoRefusal && error.reason === 'certificate-untrusted') warnings.push(`${provider.name}: ${error.message}`);
          return [];
        });
        for (const c of certificates.filter((c) => c.daysLeft < CERTIFICATE_WARNING_DAYS)) {
          warnings.push(
            `${provider.name}'s certificate ${c.kid ?? c.subject} ${c.daysLeft < 0 ? 'expired' : 'expires'} on ${c.expiresAt.slice(0, 10)}${c.daysLeft >= 0 ? ` (in ${c.daysLeft} days)` : ''}: once it rolls over, check a sign-in.`,
          );
        }
      }
      if (warnings.length) deps.alerts.raise('idp-certificate', warnings.join(' '));
      else deps.alerts.clear('idp-certificate');
      return warnings;
    },

    /** "Test": can the platform reach the provider as a sign-in would, and what is wrong if not. */
    async test(id: string): Promise<ProviderCheck> {
      const provider = await requireProvider(id);
      if (provider.kind === 'oidc') return oidc.check(provider, clock.now());
      if (provider.kind === 'saml') return saml.check(provider, clock.now());
      return ldap.check(ldapSettings(provider), secretOf(provider), clock.now());
    },

    /** The enabled provider that signs in an email's domain, for the sign-in page. */
    async discover(email: string): Promise<{ id: string; name: string; kind: ProviderKind } | null> {
      const domain = domainOf(email.trim());
      const provider = (await enabledProviders()).find((p) => parseList(p.email_domains).includes(domain));
      return provider ? { id: provider.id, name: provider.name, kind: provider.kind } : null;
    },

    /** The first leg of a redirect sign-in (OIDC, SAML): where to send the browser, and the state its cookie must carry back. */
    async start(providerId: string, returnTo: string, purpose: 'sign-in' | 'test', ctx: RequestContext): Promise<{ url: string; state: string }> {
      const provider = await requireProvider(providerId);
      // A test sign-in works while the provider is off: it is how an admin checks it before turning it on.
      if (provider.enabled !== 1 && purpose === 'sign-in') throw new NotFoundError('Identity provider');
      if (provider.kind === 'ldap') throw new SsoRefusal('not-a-redirect', `${provider.name} is a directory: sign in with your directory password on the sign-in page.`);
      const state = randomToken();
      await store.deleteExpiredRequests(iso());
      const request = { state_hash: sha256Hex(state), provider_id: provider.id, return_to: returnTo, expires_at: iso(SSO_REQUEST_MINUTES * 60_000), purpose };
      if (provider.kind === 'oidc') {
        const { url, verifier, nonce } = await audited(provider, ctx, () => oidc.start(provider, state));
        await store.insertRequest({ ...request, verifier_enc: secrets.seal(verifier), nonce });
        return { url, state };
      }
      // SAML carries the state as RelayState; the request's ID is what InResponseTo must name.
      const { url, requestId } = await saml.start(provider, serviceProvider(provider.id), state);
      await store.insertRequest({ ...request, verifier_enc: null, nonce: requestId });
      return { url, state };
    },

    /** OIDC's second leg: the provider's answer at the callback URL. */
    async finishOidc(providerId: string, callbackUrl: URL, browserState: string | undefined, ctx: RequestContext): Promise<RedirectResult> {
      const provider = await requireProvider(providerId);
      if (provider.kind !== 'oidc') throw new NotFoundError('OpenID Connect provider');
      const idpError = callbackUrl.searchParams.get('error');
      if (idpError)
        return refuse(provider, ctx, 'idp-error', `${provider.name} refused the sign-in: ${callbackUrl.searchParams.get('error_description') ?? idpError}`, { error: idpError });
      const state = callbackUrl.searchParams.get('state') ?? '';
      const request = await takeRequest(provider, state, browserState, ctx);
      return finishRedirect(
        provider,
        request,
        () => oidc.finish(provider, callbackUrl, { state, verifier: secrets.open(request.verifier_enc!).toString('utf8'), nonce: request.nonce }),
        ctx,
      );
    },

    /** SAML's second leg: the SAMLResponse and RelayState the browser posts to the ACS. */
    async finishSaml(
      providerId: string,
      form: { SAMLResponse: string; RelayState?: string | undefined },
      browserState: string | undefined,
      ctx: RequestContext,
    ): Promise<RedirectResult> {
      const provider = await requireProvider(providerId);
      if (provider.kind !== 'saml') throw new NotFoundError('SAML provider');
      const request = await takeRequest(provider, form.RelayState ?? '', browserState, ctx);
      return finishRedirect(provider, request, () => saml.finish(provider, serviceProvider(provider.id), request.nonce, form.SAMLResponse), ctx);
    },

    /** The SP metadata of a SAML provider, for the IdP's admin to import. */
    async samlMetadata(providerId: string): Promise<string> {
      const provider = await requireProvider(providerId);
      if (provider.kind !== 'saml') throw new NotFoundError('SAML provider');
      return saml.metadata(provider, serviceProvider(provider.id));
    },

    /**
     * The enabled directory that signs in this email's domain, if any: the sign-in form's
     * password then goes to it. A local platform admin with a password keeps it (break-glass).
     */
    async directoryFor(email: string): Promise<IdentityProvidersTable | null> {
      const domain = domainOf(email.trim());
      const provider = (await enabledProviders()).find((p) => p.kind === 'ldap' && parseList(p.email_domains).includes(domain));
      if (!provider) return null;
      const user = await identityStore.userByEmail(email.trim().toLowerCase());
      return user?.platform_role === 'admin' && user.password_hash ? null : provider;
    },

    /**
     * A sign-in with a directory password. Who is unknown and whose password is wrong get one
     * answer (SR 1.10); a wrong password counts towards the account's lockout as a local one
     * does, and a locked account is not tried at the directory (whose own lockout it would feed).
     */
    async directorySignIn(provider: IdentityProvidersTable, input: { email: string; password: string }, ctx: RequestContext): Promise<LoginResult> {
      const email = input.email.trim().toLowerCase();
      const account = await identityStore.userByEmail(email);
      const sameAnswer = new UnauthenticatedError('The email or password is wrong, or the account is locked or disabled.');
      if (account && identity.isLocked(account)) {
        throw sameAnswer.audited({ event: 'auth.sso.login.failed', target: { type: 'user', id: account.id }, details: { provider: provider.name, reason: 'locked', email } });
      }
      let profile: ProviderProfile;
      try {
        profile = await ldap.authenticate(ldapSettings(provider), secretOf(provider), email, input.password);
      } catch (error) {
        if (!(error instanceof SsoRefusal)) throw error;
        await auditLog.transaction(ctx, async (tx) => {
          if (account && error.reason === 'wrong-password') await identity.countWrongPassword(tx, account);
          await tx.record({
            event: 'auth.sso.login.failed',
            outcome: 'denied',
            target: account ? { type: 'user', id: account.id } : null,
            details: { provider: provider.name, reason: error.reason, email },
          });
        });
        if (PERSONAL_REASONS.has(error.reason)) throw sameAnswer;
        throw new UnauthenticatedError(named(provider, error.message));
      }
      try {
        return await signInWith(provider, profile, ctx);
      } catch (error) {
        if (error instanceof SsoRefusal && PERSONAL_REASONS.has(error.reason)) throw sameAnswer;
        if (error instanceof SsoRefusal) throw new UnauthenticatedError(named(provider, error.message));
        throw error;
      }
    },

    /** An admin's test of a directory sign-in with someone's name and password: what a sign-in would make of it. Signs nobody in. */
    async directoryTest(providerId: string, input: { username: string; password: string }, ctx: RequestContext): Promise<TestReport | { problem: string }> {
      const provider = await requireProvider(providerId);
      if (provider.kind !== 'ldap') throw new NotFoundError('LDAP provider');
      try {
        return await testReport(provider, await ldap.authenticate(ldapSettings(provider), secretOf(provider), input.username.trim(), input.password), ctx);
      } catch (error) {
        if (!(error instanceof SsoRefusal)) throw error;
        await auditLog.record(ctx, {
          event: 'identity-provider.tested',
          outcome: 'failure',
          target: { type: 'identity-provider', id: provider.id },
          details: { name: provider.name, problems: [error.reason] },
        });
        return { problem: error.message };
      }
    },
  };
}

export type SsoService = ReturnType<typeof createSsoService>;

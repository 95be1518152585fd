import { X509Certificate } from 'node:crypto';
import type { IdentityProvidersTable } from '../../db/schema.ts';
import { ValidationError } from '../../http/errors.ts';

/**
 * What each kind of identity provider keeps in identity_providers.settings (JSON, nothing
 * secret: the one secret a kind has is sealed in secret_enc), with the checks a setting must
 * pass before it is stored.
 */

export type ProviderKind = IdentityProvidersTable['kind'];

export type OidcSettings = { issuerUrl: string; clientId: string; scopes: string; groupsClaim: string };

export type SamlSettings = {
  /** The IdP's entity ID: the Issuer its assertions must carry. */
  idpEntityId: string;
  /** Where the browser takes the AuthnRequest (HTTP-Redirect binding). */
  ssoUrl: string;
  /** PEM certificates that may sign its assertions (more than one while it rolls a key over). */
  certificates: string[];
  /** Where the IdP publishes its metadata, when it was read from there: re-read at every certificate check, so a key rollover is followed. */
  idpMetadataUrl: string | null;
  /** The attribute carrying the email; when absent, an emailAddress NameID is used. */
  emailAttribute: string;
  nameAttribute: string;
  groupsAttribute: string;
};

export type LdapSettings = {
  /** ldaps://host:636, or ldap://host:389 with startTls (plain ldap:// only on loopback). */
  url: string;
  startTls: boolean;
  /** PEM of the CA that signed the directory's certificate, when it is not a public one. */
  caCertificate: string | null;
  /** The service account that searches for people and groups. */
  bindDn: string;
  userBase: string;
  /** `{username}` is what the person typed, escaped (RFC 4515). */
  userFilter: string;
  groupBase: string;
  /** `{dn}` is the person's (or, nested, a group's) DN, escaped. */
  groupFilter: string;
  groupNameAttribute: string;
  emailAttribute: string;
  nameAttribute: string;
  /** Follow groups that are members of groups (Active Directory's nesting). */
  nestedGroups: boolean;
};

export const LDAP_DEFAULTS = {
  caCertificate: null,
  // Active Directory's userPrincipalName is most often the email; OpenLDAP has mail.
  userFilter: '(|(mail={username})(userPrincipalName={username}))',
  groupFilter: '(|(member={dn})(uniqueMember={dn}))',
  groupNameAttribute: 'cn',
  emailAttribute: 'mail',
  nameAttribute: 'displayName',
  nestedGroups: true,
} satisfies Partial<LdapSettings>;

export const SAML_DEFAULTS = { emailAttribute: 'email', nameAttribute: 'name', groupsAttribute: 'groups' } satisfies Partial<SamlSettings>;

export const isLoopbackHost = (hostname: string) => hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';

export function oidcSettings(p: IdentityProvidersTable): OidcSettings {
  return JSON.parse(p.settings) as OidcSettings;
}
export function samlSettings(p: IdentityProvidersTable): SamlSettings {
  // A provider saved before idpMetadataUrl existed has none.
  const settings = JSON.parse(p.settings) as Omit<SamlSettings, 'idpMetadataUrl'> & { idpMetadataUrl?: string | null };
  return { ...settings, idpMetadataUrl: settings.idpMetadataUrl ?? null };
}
export function ldapSettings(p: IdentityProvidersTable): LdapSettings {
  return JSON.parse(p.settings) as LdapSettings;
}

function invalid(field: string, message: string): never {
  throw new ValidationError(message, [{ field, message }]);
}

/** An https URL, or http on this machine's loopback (a provider in a test, or beside the platform). */
export function checkWebUrl(value: string, field: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(field, `${what} "${value}" is not a URL.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    invalid(field, `${what} must be https:// (http:// only on this machine's loopback).`);
  }
  return url;
}

/** A PEM (or bare base64 DER) certificate, as PEM; refused with what is wrong with it. */
export function normaliseCertificate(value: string, field: string): X509Certificate {
  const body = value.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  try {
    return new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    return invalid(field, 'This is not an X.509 certificate (PEM, or its base64 body).');
  }
}

export function pemOf(cert: X509Certificate): string {
  return cert.toString().trim();
}

/** Every certificate of a pasted PEM bundle (a CA and its intermediates), each checked, as one PEM text. */
export function pemBundle(value: string, field: string): string {
  const blocks = value.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [value];
  return blocks.map((block, i) => pemOf(normaliseCertificate(block, blocks.length > 1 ? `${field}.${i}` : field))).join('\n');
}

export function checkLdap(s: LdapSettings): void {
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    return invalid('ldap.url', `"${s.url}" is not a URL.`);
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') invalid('ldap.url', 'The directory URL must be ldaps:// or ldap://.');
  if (url.protocol === 'ldaps:' && s.startTls) invalid('ldap.startTls', 'StartTLS is for ldap:// URLs; ldaps:// is TLS from the start.');
  if (url.protocol === 'ldap:' && !s.startTls && !isLoopbackHost(url.hostname)) {
    invalid('ldap.startTls', "Passwords would cross the network in clear: use ldaps://, or StartTLS (plain ldap:// only on this machine's loopback).");
  }
  if (!s.userFilter.includes('{username}')) invalid('ldap.userFilter', 'The user filter must contain {username}, where the sign-in name goes.');
  if (!s.groupFilter.includes('{dn}')) invalid('ldap.groupFilter', "The group filter must contain {dn}, where the member's DN goes.");
  for (const [field, filter] of [
    ['ldap.userFilter', s.userFilter],
    ['ldap.groupFilter', s.groupFilter],
  ] as const) {
    if (!filter.startsWith('(') || !filter.endsWith(')')) invalid(field, 'An LDAP filter is written in parentheses, e.g. (mail={username}).');
  }
}

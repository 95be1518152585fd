import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { Client, Filter, InvalidCredentialsError, type Entry } from 'ldapts';
import { describeCertificate, SsoRefusal, type ProviderCertificate, type ProviderCheck, type ProviderProfile } from './profile.ts';
import type { LdapSettings } from './provider-settings.ts';

/**
 * LDAP and Active Directory (ldapts): the service account binds and searches for the person
 * by what they typed (escaped: no filter injection), their groups are looked up (nested ones
 * followed, breadth first, cycles cut), and only then is their password tried with a bind of
 * their own. Over LDAPS or StartTLS, the directory's certificate checked against the CA given
 * (or the system's). Plain ldap:// is allowed only on loopback (provider-settings.ts).
 */

/** Nesting deeper than this is a loop the cycle check missed, or a directory to fix. */
const MAX_GROUP_DEPTH = 10;
const MAX_GROUPS = 1000;

type Connection = { client: Client; certificate: X509Certificate | null };

/** The errors a person or an admin can act on, from what ldapts or TLS threw. */
function refusalOf(error: unknown, settings: LdapSettings): SsoRefusal {
  if (error instanceof SsoRefusal) return error;
  const e = error as Error & { code?: string };
  const code = e.code ?? '';
  if (code === 'CERT_HAS_EXPIRED') return new SsoRefusal('certificate-untrusted', `The directory's TLS certificate has expired: renew it on the directory server.`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ERR_TLS/.test(code) || /certificate/i.test(e.message)) {
    return new SsoRefusal(
      'certificate-untrusted',
      `The directory's TLS certificate is not trusted (${code || e.message}): give the CA that signed it, or check the host name in the URL.`,
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET/.test(code) || /timeout|timed out/i.test(e.message)) {
    return new SsoRefusal('directory-unreachable', `The directory at ${settings.url} is unreachable (${code || e.message}).`);
  }
  return new SsoRefusal('directory-error', `The directory refused: ${e.message}`);
}

async function connect(settings: LdapSettings, bindPassword: string): Promise<Connection> {
  let certificate: X509Certificate | null = null;
  // An IPv6 address comes bracketed out of URL; TLS wants it bare.
  const host = new URL(settings.url).hostname.replace(/^\[|\]$/g, '');
  const tlsOptions: tls.ConnectionOptions = {
    ...(settings.caCertificate ? { ca: settings.caCertificate } : {}),
    // SNI takes a name, not an address.
    ...(isIP(host) ? {} : { servername: host }),
    minVersion: 'TLSv1.2',
    // Checked against the URL's host: ldapts's StartTLS gives Node no host, which would then check "localhost".
    // The certificate is kept for the expiry warning.
    checkServerIdentity: (_host, cert) => {
      certificate = new X509Certificate(cert.raw);
      return tls.checkServerIdentity(host, cert);
    },
  };
  // ldapts opens TLS at once whenever it is given TLS options: on ldap:// they go to startTLS only.
  const ldaps = settings.url.startsWith('ldaps:');
  const client = new Client({ url: settings.url, timeout: 10_000, connectTimeout: 5_000, ...(ldaps ? { tlsOptions } : {}), strictDN: false });
  try {
    if (settings.startTls) await client.startTLS(tlsOptions);
    await client.bind(settings.bindDn, bindPassword);
  } catch (error) {
    await client.unbind().catch(() => {});
    if (error instanceof InvalidCredentialsError) throw new SsoRefusal('service-bind-failed', 'The directory refused the service account: its DN or password is wrong.');
    throw refusalOf(error, settings);
  }
  return { client, certificate };
}

/** An attribute's first value, by name in any case (directories differ in how they spell it back). */
function first(entry: Entry, name: string): string | null {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key ? entry[key] : undefined;
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? null : v.toString();
}

// A replacer function: a replacement string would expand `$&` and the like that a person typed.
const fill = (template: string, key: string, value: string) => template.replaceAll(`{${key}}`, () => Filter.escape(value));

async function findPerson(client: Client, settings: LdapSettings, username: string): Promise<Entry | null> {
  const { searchEntries } = await client.search(settings.userBase, {
    scope: 'sub',
    filter: fill(settings.userFilter, 'username', username),
    attributes: [settings.emailAttribute, settings.nameAttribute],
    sizeLimit: 2,
  });
  if (searchEntries.length > 1) throw new SsoRefusal('ambiguous-account', `More than one directory entry matches ${username}: the user filter must find one person.`);
  return searchEntries[0] ?? null;
}

/** The names of the groups a DN is in, with the groups those groups are in when nesting is on. */
async function groupsOf(client: Client, settings: LdapSettings, dn: string): Promise<string[]> {
  const names = new Set<string>();
  const seen = new Set([dn.toLowerCase()]);
  let frontier = [dn];
  for (let depth = 0; frontier.length && depth < (settings.nestedGroups ? MAX_GROUP_DEPTH : 1); depth++) {
    const next: string[] = [];
    for (const member of frontier) {
      const { searchEntries } = await client.search(settings.groupBase, {
        scope: 'sub',
        filter: fill(settings.groupFilter, 'dn', member),
        attributes: [settings.groupNameAttribute],
        sizeLimit: MAX_GROUPS,
      });
      for (const group of searchEntries) {
        if (seen.has(group.dn.toLowerCase())) continue; // a group met before: a cycle, or two ways in
        seen.add(group.dn.toLowerCase());
        const name = first(group, settings.groupNameAttribute);
        if (name) names.add(name);
        next.push(group.dn);
      }
      if (names.size >= MAX_GROUPS) return [...names];
    }
    frontier = next;
  }
  return [...names];
}

export const ldap = {
  /** The directory's TLS certificate, for the expiry warning; [] over plain loopback LDAP. */
  async certificates(settings: LdapSettings, bindPassword: string, now: Date): Promise<ProviderCertificate[]> {
    const { client, certificate } = await connect(settings, bindPassword);
    await client.unbind().catch(() => {});
    return certificate ? [describeCertificate(certificate, now)] : [];
  },

  /** "Test": connect, TLS, the service bind, and both search bases exist. */
  async check(settings: LdapSettings, bindPassword: string, now: Date): Promise<ProviderCheck> {
    let connection: Connection;
    try {
      connection = await connect(settings, bindPassword);
    } catch (error) {
      return { ok: false, problem: (error as Error).message };
    }
    const { client, certificate } = connection;
    try {
      for (const [what, base] of [
        ['user', settings.userBase],
        ['group', settings.groupBase],
      ] as const) {
        try {
          await client.search(base, { scope: 'base', filter: '(objectClass=*)', attributes: ['dn'] });
        } catch (error) {
          return { ok: false, problem: `The ${what} search base ${base} cannot be read by the service account (${(error as Error).message}).` };
        }
      }
      const security = settings.url.startsWith('ldaps:') ? 'LDAPS' : settings.startTls ? 'StartTLS' : 'no TLS (loopback)';
      return {
        ok: true,
        endpoint: settings.url,
        clockSkewSeconds: null,
        certificates: certificate ? [describeCertificate(certificate, now)] : [],
        details: [`${security}`, `service account ${settings.bindDn} bound`, `user base ${settings.userBase}`],
      };
    } finally {
      await client.unbind().catch(() => {});
    }
  },

  /**
   * A person's directory sign-in: who they are, their groups, and their own bind. Refused with
   * `unknown-account` or `wrong-password` (which the person sees as one message), or with what
   * is wrong with the directory.
   */
  async authenticate(settings: LdapSettings, bindPassword: string, username: string, password: string): Promise<ProviderProfile> {
    // An empty password is an unauthenticated bind (RFC 4513 §5.1.2), which many directories let through.
    if (!password) throw new SsoRefusal('wrong-password', 'A password is needed.');
    const { client } = await connect(settings, bindPassword);
    try {
      const person = await findPerson(client, settings, username);
      if (!person) throw new SsoRefusal('unknown-account', `No directory entry matches ${username}.`);
      const groups = await groupsOf(client, settings, person.dn);
      try {
        await client.bind(person.dn, password);
      } catch (error) {
        if (error instanceof InvalidCredentialsError) throw new SsoRefusal('wrong-password', 'The directory refused the password.');
        throw error;
      }
      return {
        subject: person.dn,
        email: (first(person, settings.emailAttribute) ?? '').trim().toLowerCase(),
        emailVerified: true,
        name: first(person, settings.nameAttribute),
        groups,
        methods: [],
        context: null,
        mfaByIdp: false,
      };
    } catch (error) {
      throw refusalOf(error, settings);
    } finally {
      await client.unbind().catch(() => {});
    }
  },
};

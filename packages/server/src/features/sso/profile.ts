import type { X509Certificate } from 'node:crypto';

/** Who a provider says signed in, in the same shape for every kind of provider. */
export type ProviderProfile = {
  /** The provider's stable id of the person: OIDC sub, SAML NameID, LDAP DN. */
  subject: string;
  /** Lower-cased; empty when the provider sent none. */
  email: string;
  /** false: the provider says the address is not verified. */
  emailVerified: boolean;
  name: string | null;
  /** null: the provider sent no groups at all (which mappings need), not an empty list. */
  groups: string[] | null;
  /** How the person signed in: OIDC amr, or SAML's authnmethodsreferences attribute. */
  methods: string[];
  /** OIDC acr, or SAML AuthnContextClassRef. */
  context: string | null;
  /** The provider asserts a second factor (by amr, or by an acr / AuthnContext the admin listed). */
  mfaByIdp: boolean;
};

/** A sign-in the provider or its answer refused; `reason` goes to the audit log, the message to the person. */
export class SsoRefusal extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A certificate a provider signs with (or a directory serves), as the admin page and the expiry alert show it. */
export type ProviderCertificate = { kid: string | null; subject: string; expiresAt: string; daysLeft: number };

export function describeCertificate(cert: X509Certificate, now: Date, kid: string | null = null): ProviderCertificate {
  const expires = new Date(cert.validTo);
  return { kid, subject: cert.subject, expiresAt: expires.toISOString(), daysLeft: Math.floor((expires.getTime() - now.getTime()) / 86_400_000) };
}

/** What the "Test" button found, for any kind. */
export type ProviderCheck =
  { ok: true; endpoint: string; clockSkewSeconds: number | null; certificates: ProviderCertificate[]; details: string[] } | { ok: false; problem: string };

/** How far this machine's clock is from the one in an HTTP answer's Date header, in seconds. */
export function clockSkewOf(response: Response, now: Date): number | null {
  const date = response.headers.get('date');
  return date ? Math.round((now.getTime() - new Date(date).getTime()) / 1000) : null;
}

export const MAX_CLOCK_SKEW_SECONDS = 120;
export const skewProblem = (skew: number) =>
  `The clocks disagree by ${skew} s: this platform's and the identity provider's. Tokens and assertions will look expired or not yet valid; set both by NTP.`;

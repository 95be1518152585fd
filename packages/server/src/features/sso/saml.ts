import { randomBytes, X509Certificate } from 'node:crypto';
import { SAML, SamlStatusError, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import xpath from 'xpath';
import type { IdentityProvidersTable } from '../../db/schema.ts';
import { ValidationError } from '../../http/errors.ts';
import {
  clockSkewOf,
  describeCertificate,
  MAX_CLOCK_SKEW_SECONDS,
  skewProblem,
  SsoRefusal,
  type ProviderCertificate,
  type ProviderCheck,
  type ProviderProfile,
} from './profile.ts';
import { normaliseCertificate, pemOf, samlSettings, type SamlSettings } from './provider-settings.ts';

/**
 * SAML 2.0, the protocol half (@node-saml/node-saml): SP-initiated sign-in, the AuthnRequest
 * by HTTP-Redirect, the answer by HTTP-POST at the ACS. The assertion must be signed by one of
 * the IdP's certificates, name this platform as its audience, be in its time window and answer
 * the request this browser started (InResponseTo): node-saml checks each, and refuses a response
 * with more than one assertion (signature wrapping). An unsolicited (IdP-initiated) response
 * names no request, so it is refused too; a replayed one names a request already used.
 */

const EMAIL_NAMEID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const TRANSIENT_NAMEID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const AUTHN_METHODS_ATTRIBUTE = 'http://schemas.microsoft.com/claims/authnmethodsreferences';
/** The XML an admin may paste or a provider may post: metadata and responses are kilobytes. */
export const MAX_SAML_XML_BYTES = 256 * 1024;

export type ServiceProvider = { entityId: string; acsUrl: string; metadataUrl: string };

export function serviceProviderOf(publicUrl: string, providerId: string): ServiceProvider {
  const base = `${publicUrl}/api/auth/sso/${providerId}/saml`;
  // The entity ID is the metadata's address, as most IdPs expect it to be.
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, metadataUrl: `${base}/metadata` };
}

function samlOf(settings: SamlSettings, sp: ServiceProvider, requestId: string | null): SAML {
  return new SAML({
    entryPoint: settings.ssoUrl,
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    idpCert: settings.certificates,
    idpIssuer: settings.idpEntityId,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    // The request a response must answer is the one this browser's state names, kept by
    // sso.service in sso_requests: node-saml's own cache would be per process and in memory.
    cacheProvider: {
      saveAsync: async () => null,
      // node-saml reads the value as the time the request was made; sso_requests keeps the real expiry.
      getAsync: async (id) => (id === requestId ? new Date().toISOString() : null),
      removeAsync: async () => null,
    },
    generateUniqueId: () => requestId ?? `_${randomBytes(20).toString('hex')}`,
    acceptedClockSkewMs: MAX_CLOCK_SKEW_SECONDS * 1000,
    // Ask for no NameID format and no authentication context: the IdP's own policy (MFA,
    // Windows sign-in) decides, and the assertion says what it did.
    identifierFormat: null,
    disableRequestedAuthnContext: true,
  });
}

const parseXml = (xml: string, what: string) => {
  if (Buffer.byteLength(xml) > MAX_SAML_XML_BYTES)
    throw new ValidationError(`${what} is larger than ${MAX_SAML_XML_BYTES / 1024} KB.`, [{ field: 'saml.metadataXml', message: 'too large' }]);
  // xmldom 0.8 only warns of what is not well-formed (an unclosed element): a warning refuses it too.
  const errors: string[] = [];
  const collect = (m: string) => errors.push(m.replace(/^\[xmldom \w+\]\s*/, '').replace(/\n@#.*$/s, ''));
  const doc = new DOMParser({ errorHandler: { warning: collect, error: collect, fatalError: collect } }).parseFromString(xml, 'text/xml');
  if (errors.length || !doc.documentElement)
    throw new ValidationError(`${what} is not well-formed XML: ${errors[0] ?? 'no element'}.`, [{ field: 'saml.metadataXml', message: 'not XML' }]);
  return doc;
};

const text = (node: Node) => (node.textContent ?? '').trim();

/** The metadata an IdP publishes at a URL (https, or http on loopback), read as an admin's paste would be. */
export async function fetchIdpMetadata(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'follow' });
  } catch (error) {
    throw new ValidationError(`The metadata URL did not answer (${(error as Error).message}).`, [{ field: 'saml.idpMetadataUrl', message: 'unreachable' }]);
  }
  if (!response.ok) throw new ValidationError(`The metadata URL answered ${response.status}.`, [{ field: 'saml.idpMetadataUrl', message: `HTTP ${response.status}` }]);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_SAML_XML_BYTES)
    throw new ValidationError(`The metadata is larger than ${MAX_SAML_XML_BYTES / 1024} KB.`, [{ field: 'saml.idpMetadataUrl', message: 'too large' }]);
  return response.text();
}

/** An IdP's metadata (EntityDescriptor) read into settings: entity ID, Redirect sign-in URL, signing certificates. */
export function parseIdpMetadata(xml: string): Pick<SamlSettings, 'idpEntityId' | 'ssoUrl' | 'certificates'> {
  const doc = parseXml(xml, 'The metadata');
  const select = (expr: string, node: Node = doc) => xpath.select(expr, node) as Node[];
  const entity = select("//*[local-name()='EntityDescriptor'][*[local-name()='IDPSSODescriptor']]")[0] as Element | undefined;
  if (!entity)
    throw new ValidationError("The metadata holds no EntityDescriptor with an IDPSSODescriptor: is it an identity provider's?", [{ field: 'saml.metadataXml', message: 'no IdP' }]);
  const sso = select("*[local-name()='IDPSSODescriptor']/*[local-name()='SingleSignOnService'][@Binding='urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect']", entity)[0] as
    Element | undefined;
  if (!sso)
    throw new ValidationError('The metadata offers no HTTP-Redirect SingleSignOnService, which this platform sends its requests by.', [
      { field: 'saml.metadataXml', message: 'no Redirect binding' },
    ]);
  const certificates = select("*[local-name()='IDPSSODescriptor']/*[local-name()='KeyDescriptor'][not(@use) or @use='signing']//*[local-name()='X509Certificate']", entity).map(
    (n) => pemOf(normaliseCertificate(text(n), 'saml.metadataXml')),
  );
  if (!certificates.length) throw new ValidationError('The metadata holds no signing certificate.', [{ field: 'saml.metadataXml', message: 'no certificate' }]);
  return { idpEntityId: entity.getAttribute('entityID') ?? '', ssoUrl: sso.getAttribute('Location') ?? '', certificates: [...new Set(certificates)] };
}

function attribute(profile: Profile, name: string): string[] {
  const value = profile[name];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.filter((v): v is string => typeof v === 'string');
}

/**
 * What node-saml 5 leaves to its caller, read from the verified assertion: its Issuer and
 * its SubjectConfirmationData Recipient (which it does not check on a sign-in), and the
 * AuthnContextClassRef, how the IdP says the person signed in.
 */
function readAssertion(profile: Profile): { issuer: string | null; recipients: string[]; destination: string | null; context: string | null } {
  const doc = new DOMParser().parseFromString(profile.getAssertionXml?.() ?? '<none/>', 'text/xml');
  const nodes = (expr: string) => xpath.select(expr, doc) as Node[];
  const issuer = nodes("/*[local-name()='Assertion']/*[local-name()='Issuer']")[0];
  const context = nodes("/*[local-name()='Assertion']/*[local-name()='AuthnStatement']/*[local-name()='AuthnContext']/*[local-name()='AuthnContextClassRef']")[0];
  const recipients = nodes("/*[local-name()='Assertion']/*[local-name()='Subject']/*[local-name()='SubjectConfirmation']/*[local-name()='SubjectConfirmationData']/@Recipient").map(
    (a) => (a as Attr).value,
  );
  const response = new DOMParser().parseFromString(profile.getSamlResponseXml?.() ?? '<none/>', 'text/xml').documentElement;
  return { issuer: issuer ? text(issuer) : null, recipients, destination: response?.getAttribute('Destination') || null, context: context ? text(context) : null };
}

/** node-saml's error, as the reason the audit log keeps. */
function reasonOf(error: Error): string {
  const m = error.message;
  if (error instanceof SamlStatusError) return 'idp-error';
  if (/InResponseTo/i.test(m)) return 'request-unknown';
  if (/signature/i.test(m)) return 'signature-invalid';
  // A bearer assertion past its SubjectConfirmationData NotOnOrAfter fails as "no valid subject confirmation".
  if (/expired|not yet valid|NotBefore|NotOnOrAfter|subject confirmation/i.test(m)) return 'assertion-expired';
  if (/audience/i.test(m)) return 'audience-mismatch';
  if (/issuer/i.test(m)) return 'issuer-mismatch';
  return 'response-invalid';
}

export const samlCertificates = (provider: IdentityProvidersTable, now: Date): ProviderCertificate[] =>
  samlSettings(provider).certificates.map((pem) => describeCertificate(new X509Certificate(pem), now));

export const saml = {
  /** The SP metadata an IdP admin imports: entity ID, ACS (HTTP-POST), signed assertions wanted. */
  metadata(provider: IdentityProvidersTable, sp: ServiceProvider): string {
    return samlOf(samlSettings(provider), sp, null).generateServiceProviderMetadata(null, null);
  },

  /** "Test": the sign-in URL answers, the clocks agree, the certificates are in date. */
  async check(provider: IdentityProvidersTable, now: Date): Promise<ProviderCheck> {
    const settings = samlSettings(provider);
    const certificates = samlCertificates(provider, now);
    // While the IdP rolls its key over, one certificate in date is enough.
    const newest = [...certificates].sort((a, b) => b.expiresAt.localeCompare(a.expiresAt))[0]!;
    if (newest.daysLeft < 0) return { ok: false, problem: `The IdP certificate ${newest.subject} expired on ${newest.expiresAt.slice(0, 10)}: import the IdP's current metadata.` };
    let response: Response;
    try {
      response = await fetch(settings.ssoUrl, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
    } catch (error) {
      return { ok: false, problem: `The identity provider is unreachable: ${settings.ssoUrl} did not answer (${(error as Error).message}).` };
    }
    const skew = clockSkewOf(response, now);
    if (skew !== null && Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, problem: skewProblem(skew) };
    return {
      ok: true,
      endpoint: settings.ssoUrl,
      clockSkewSeconds: skew,
      certificates,
      details: [`IdP ${settings.idpEntityId}`, `sign-in at ${settings.ssoUrl} (it answered ${response.status})`],
    };
  },

  /** The first leg: the IdP's sign-in URL carrying the AuthnRequest, and the request's ID to expect back. */
  async start(provider: IdentityProvidersTable, sp: ServiceProvider, relayState: string): Promise<{ url: string; requestId: string }> {
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const url = await samlOf(samlSettings(provider), sp, requestId).getAuthorizeUrlAsync(relayState, undefined, {});
    return { url, requestId };
  },

  /** The second leg: the posted SAMLResponse, validated, read into a profile. */
  async finish(provider: IdentityProvidersTable, sp: ServiceProvider, requestId: string, samlResponse: string): Promise<ProviderProfile> {
    const settings = samlSettings(provider);
    if (samlResponse.length > (MAX_SAML_XML_BYTES * 4) / 3 + 4)
      throw new SsoRefusal('response-too-large', `${provider.name}'s answer is larger than ${MAX_SAML_XML_BYTES / 1024} KB.`);
    let profile: Profile | null;
    try {
      ({ profile } = await samlOf(settings, sp, requestId).validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (error) {
      throw new SsoRefusal(reasonOf(error as Error), `${provider.name}'s answer was refused: ${(error as Error).message}`);
    }
    if (!profile) throw new SsoRefusal('response-invalid', `${provider.name}'s answer signs nobody in.`);
    const fromAttribute = attribute(profile, settings.emailAttribute)[0];
    const email = fromAttribute ?? (profile.nameIDFormat === EMAIL_NAMEID ? profile.nameID : '');
    const assertion = readAssertion(profile);
    if (assertion.issuer !== settings.idpEntityId)
      throw new SsoRefusal('issuer-mismatch', `${provider.name}'s assertion was issued by "${assertion.issuer ?? 'nobody'}", not by ${settings.idpEntityId}.`);
    // The Web SSO profile says a bearer assertion names its Recipient, and a signed-in Response its Destination.
    if (!assertion.recipients.length || assertion.recipients.some((r) => r !== sp.acsUrl) || (assertion.destination !== null && assertion.destination !== sp.acsUrl)) {
      const to = [...new Set([...assertion.recipients, ...(assertion.destination ? [assertion.destination] : [])])];
      throw new SsoRefusal('recipient-mismatch', `${provider.name}'s assertion is meant for ${to.join(', ') || 'no one named'}, not for this platform (${sp.acsUrl}).`);
    }
    if (!profile.nameID) throw new SsoRefusal('no-subject', `${provider.name}'s assertion names no subject (NameID).`);
    const { context } = assertion;
    const groups = profile[settings.groupsAttribute] === undefined ? null : attribute(profile, settings.groupsAttribute);
    // Entra ID and AD FS say MFA in this attribute (…/claims/multipleauthn), not in the AuthnContext.
    const methods = attribute(profile, AUTHN_METHODS_ATTRIBUTE);
    const mfaValues = JSON.parse(provider.mfa_acr_values) as string[];
    return {
      // A transient NameID is new at every sign-in: the email is what stays.
      subject: profile.nameIDFormat === TRANSIENT_NAMEID ? `email:${email.trim().toLowerCase()}` : profile.nameID,
      email: email.trim().toLowerCase(),
      emailVerified: true,
      name: attribute(profile, settings.nameAttribute)[0] ?? null,
      groups,
      methods,
      context,
      mfaByIdp: (context !== null && mfaValues.includes(context)) || methods.some((m) => mfaValues.includes(m)),
    };
  },
};

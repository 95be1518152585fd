import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import samlify, { type IdentityProviderInstance } from 'samlify';

/**
 * A real SAML 2.0 identity provider for the tests (samlify's IdentityProvider, a separate
 * implementation from the node-saml the product uses as SP), on a free loopback port.
 * GET /sso takes the SP's AuthnRequest (HTTP-Redirect) and answers the HTTP-POST form
 * that signs the current user in, as AD FS, Entra ID or Keycloak do; `response()` builds
 * the same signed response, or a forged variant, for a test to post to the ACS itself.
 *
 * samlify only asks for a schema validator when it parses messages; this IdP never
 * parses one with samlify (it reads the AuthnRequest itself), so none is registered.
 */

export type SamlUser = { nameId: string; email: string; name: string; groups: string[]; authnContextClassRef?: string };

export type ResponseOptions = {
  inResponseTo: string;
  acsUrl: string;
  audience: string;
  /** Default: the user setUser chose. */
  user?: SamlUser;
  /** Default now+5min / now-1min: an expired assertion has notOnOrAfter in the past. */
  notOnOrAfter?: Date;
  notBefore?: Date;
  /** stranger: signed correctly, but by a key pair that is not the IdP's certificate. */
  signer?: 'idp' | 'stranger';
  /** Changes the email in the signed assertion after signing. */
  tamper?: boolean;
  /** XML signature wrapping: an unsigned assertion for evil@contoso.example where the SP reads it, the signed one moved into samlp:Extensions. */
  wrap?: boolean;
  /** The assertion carries no signature; the response is signed instead. */
  unsignedAssertion?: boolean;
};

export interface SamlIdp {
  entityId: string;
  /** HTTP-Redirect binding: receives the SP's AuthnRequest. */
  ssoUrl: string;
  metadataXml: string;
  /** PEM of the IdP signing certificate. */
  certificate: string;
  /** Who the next sign-in at /sso signs in. */
  setUser(user: SamlUser): void;
  /** A base64 SAMLResponse answering one AuthnRequest. */
  response(options: ResponseOptions): Promise<string>;
  stop(): Promise<void>;
}

// samlify defines its exports with getters, which Node's CommonJS import does not see by name.
const { Constants, IdentityProvider, SamlLib, ServiceProvider } = samlify;
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const EVIL_EMAIL = 'evil@contoso.example';

/** Who signs in until setUser says otherwise. */
export const defaultSamlUser: SamlUser = { nameId: 'ada@contoso.example', email: 'ada@contoso.example', name: 'Ada Lovelace', groups: ['engineers', 'operators'] };

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// samlify's attribute templates carry one value per attribute; groups is multi-valued, so
// the statement is written here, with samlify's {Tag} substitution for the scalar values
// (it XML-escapes them) and the group values escaped by hand.
const attribute = (name: string, values: string) => `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values}</saml:Attribute>`;
const responseTemplate = [
  `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">`,
  '<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>',
  `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:saml="${SAML}" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">`,
  '<saml:Issuer>{Issuer}</saml:Issuer>',
  `<saml:Subject><saml:NameID Format="${Constants.namespace.format.emailAddress}">{NameID}</saml:NameID>`,
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}" InResponseTo="{InResponseTo}"/></saml:SubjectConfirmation></saml:Subject>',
  '<saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>',
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{AssertionID}"><saml:AuthnContext><saml:AuthnContextClassRef>{AuthnContextClassRef}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>',
  '<saml:AttributeStatement>',
  attribute('email', '<saml:AttributeValue xsi:type="xs:string">{Email}</saml:AttributeValue>'),
  attribute('name', '<saml:AttributeValue xsi:type="xs:string">{Name}</saml:AttributeValue>'),
  attribute('groups', '[Groups]'),
  '</saml:AttributeStatement></saml:Assertion></samlp:Response>',
].join('');

/** A key and a self-signed certificate valid 365 days, made by openssl as an IdP admin would. */
function keyPair(cn: string): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-saml-idp-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '365', '-subj', `/CN=${cn}`],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const child = (parent: Element, ns: string, name: string) => parent.getElementsByTagNameNS(ns, name)[0]!;

function emailValue(assertion: Element): Element {
  const email = Array.from(assertion.getElementsByTagNameNS(SAML, 'Attribute')).find((a) => a.getAttribute('Name') === 'email')!;
  return child(email, SAML, 'AttributeValue');
}

/** The forged variants: changes made to the XML after samlify has signed it. */
function forge(xml: string, options: ResponseOptions): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const response = doc.documentElement!;
  const assertion = child(response, SAML, 'Assertion');
  if (options.tamper) emailValue(assertion).textContent = EVIL_EMAIL;
  if (options.wrap) {
    // The evil copy sits where an SP reads the assertion (/Response/Assertion); the signed
    // original goes into samlp:Extensions, whose content the SP ignores, so its signature
    // (exclusive c14n, own namespace declarations) still verifies where it now is.
    const evil = assertion.cloneNode(true) as Element;
    const signature = evil.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
    if (signature) evil.removeChild(signature);
    evil.setAttribute('ID', `_${randomUUID()}`);
    child(evil, SAML, 'NameID').textContent = EVIL_EMAIL;
    emailValue(evil).textContent = EVIL_EMAIL;
    const extensions = doc.createElementNS(SAMLP, 'samlp:Extensions');
    response.insertBefore(extensions, child(response, SAMLP, 'Status'));
    response.replaceChild(evil, assertion);
    extensions.appendChild(assertion);
  }
  return new XMLSerializer().serializeToString(doc);
}

export async function startSamlIdp(): Promise<SamlIdp> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entityId = `${base}/metadata`;
  const ssoUrl = `${base}/sso`;
  const idpKeys = keyPair('Plant SAML IdP signing');
  const strangerKeys = keyPair('Plant SAML IdP signing'); // same name, other key: only the key tells them apart
  // samlify warns on each of these that there is no SingleLogoutService: this IdP has none.
  const entity = (keys: { key: string; cert: string }) =>
    IdentityProvider({
      entityID: entityId,
      privateKey: keys.key,
      signingCert: keys.cert,
      requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      nameIDFormat: [Constants.namespace.format.emailAddress],
      // An empty attribute list: samlify warns of a template without one (the statement is in the template).
      loginResponseTemplate: { context: responseTemplate, attributes: [] },
      singleSignOnService: [
        { Binding: Constants.namespace.binding.redirect, Location: ssoUrl },
        { Binding: Constants.namespace.binding.post, Location: ssoUrl },
      ],
    });
  const idp = entity(idpKeys);
  const stranger = entity(strangerKeys);
  let currentUser = defaultSamlUser;

  async function response(options: ResponseOptions): Promise<string> {
    const user = options.user ?? currentUser;
    const now = new Date();
    // samlify signs what the SP's metadata asks for: the assertion, or else the whole response.
    const sp = ServiceProvider({
      entityID: options.audience,
      wantAssertionsSigned: !options.unsignedAssertion,
      assertionConsumerService: [{ Binding: Constants.namespace.binding.post, Location: options.acsUrl }],
    });
    const signer: IdentityProviderInstance = options.signer === 'stranger' ? stranger : idp;
    const id = `_${randomUUID()}`;
    const { context } = await signer.createLoginResponse(
      sp,
      { extract: { request: { id: options.inResponseTo } } },
      'post',
      {},
      {
        customTagReplacement: (template) => ({
          id,
          context: SamlLib.replaceTagsByValue(template, {
            ID: id,
            AssertionID: `_${randomUUID()}`,
            IssueInstant: now.toISOString(),
            Destination: options.acsUrl,
            InResponseTo: options.inResponseTo,
            Issuer: entityId,
            NameID: user.nameId,
            NotBefore: (options.notBefore ?? new Date(now.getTime() - 60_000)).toISOString(),
            NotOnOrAfter: (options.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000)).toISOString(),
            Audience: options.audience,
            AuthnContextClassRef: user.authnContextClassRef ?? Constants.namespace.authnContextClassRef.passwordProtectedTransport,
            Email: user.email,
            Name: user.name,
          }).replace('[Groups]', user.groups.map((g) => `<saml:AttributeValue xsi:type="xs:string">${escape(g)}</saml:AttributeValue>`).join('')),
        }),
      },
    );
    if (!options.tamper && !options.wrap) return context;
    return Buffer.from(forge(Buffer.from(context, 'base64').toString('utf8'), options)).toString('base64');
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      return void res.end(idp.getMetadata());
    }
    if (url.pathname !== '/sso' || !url.searchParams.get('SAMLRequest')) return void res.writeHead(404).end();
    void (async () => {
      // HTTP-Redirect binding: base64 of the raw-deflated AuthnRequest.
      const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      const request = new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
      const acsUrl = request.getAttribute('AssertionConsumerServiceURL');
      const issuer = request.getElementsByTagNameNS(SAML, 'Issuer')[0]?.textContent;
      const requestId = request.getAttribute('ID');
      // This IdP knows no SP metadata, so the request must say where to answer.
      if (!acsUrl || !issuer || !requestId) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('AuthnRequest without ID, Issuer or AssertionConsumerServiceURL');
      const samlResponse = await response({ inResponseTo: requestId, acsUrl, audience: issuer });
      const relayState = url.searchParams.get('RelayState');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>Plant IdP: signing in</title></head><body>
<form method="post" action="${escape(acsUrl)}">
<input type="hidden" name="SAMLResponse" value="${samlResponse}">
${relayState === null ? '' : `<input type="hidden" name="RelayState" value="${escape(relayState)}">`}
<button type="submit">Continue</button>
</form><script>document.forms[0].submit()</script></body></html>`);
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });

  return {
    entityId,
    ssoUrl,
    metadataXml: idp.getMetadata(),
    certificate: idpKeys.cert,
    setUser(user) {
      currentUser = user;
    },
    response,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

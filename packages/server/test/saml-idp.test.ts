import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SAML, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { defaultSamlUser, startSamlIdp, type ResponseOptions, type SamlIdp } from './saml-idp.ts';

// The fixture checked against node-saml itself, the SP library the product uses: what it
// signs is accepted, each forgery is refused, so a product test that sees a refusal knows
// it came from the product's checks and not from a broken IdP.

const sp = { issuer: 'http://127.0.0.1:1/sp', acs: 'http://127.0.0.1:1/acs' };
let idp: SamlIdp;
let saml: SAML;
// The request IDs node-saml issued: what makes validateInResponseTo 'always' pass.
const requests = new Map<string, string>();
const cacheProvider: CacheProvider = {
  async saveAsync(key, value) {
    requests.set(key, value);
    return { value, createdAt: Date.now() };
  },
  getAsync: async (key) => requests.get(key) ?? null,
  async removeAsync(key) {
    const value = key === null ? undefined : requests.get(key);
    if (key !== null) requests.delete(key);
    return value ?? null;
  },
};

before(async () => {
  idp = await startSamlIdp();
  saml = new SAML({
    entryPoint: idp.ssoUrl,
    issuer: sp.issuer,
    callbackUrl: sp.acs,
    audience: sp.issuer,
    idpCert: idp.certificate,
    idpIssuer: idp.entityId,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider,
    acceptedClockSkewMs: 0,
  });
});
after(() => idp.stop());

/** A fresh AuthnRequest ID: node-saml forgets one once a response for it was checked. */
async function requestId(): Promise<string> {
  requests.clear();
  await saml.getAuthorizeUrlAsync('', undefined, {});
  return [...requests.keys()][0]!;
}

const validate = (SAMLResponse: string) => saml.validatePostResponseAsync({ SAMLResponse });
const answer = async (options: Partial<ResponseOptions>) => idp.response({ inResponseTo: await requestId(), acsUrl: sp.acs, audience: sp.issuer, ...options });

test('a sign-in through /sso gives node-saml the user', async () => {
  const url = await saml.getAuthorizeUrlAsync('relay-123', undefined, {});
  const page = await (await fetch(url)).text();
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
  assert.match(page, new RegExp(`action="${sp.acs}"`));
  assert.equal(field('RelayState'), 'relay-123');
  const { profile } = await validate(field('SAMLResponse')!);
  assert.equal(profile?.nameID, 'ada@contoso.example');
  assert.equal(profile?.nameIDFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
  assert.equal(profile?.issuer, idp.entityId);
  assert.deepEqual(profile?.attributes, { email: 'ada@contoso.example', name: 'Ada Lovelace', groups: ['engineers', 'operators'] });
});

test('setUser chooses who signs in, response() answers like /sso', async () => {
  idp.setUser({ nameId: 'grace@contoso.example', email: 'grace@contoso.example', name: 'Grace Hopper', groups: ['auditors'] });
  const { profile } = await validate(await answer({}));
  assert.equal(profile?.nameID, 'grace@contoso.example');
  assert.equal(profile?.groups, 'auditors'); // node-saml gives a single value as a string
  assert.match(profile?.getAssertionXml?.() ?? '', /AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</);
  idp.setUser(defaultSamlUser);
});

test('the metadata names the entity, both SSO bindings and the signing certificate', () => {
  assert.match(idp.metadataXml, new RegExp(`entityID="${idp.entityId}"`));
  assert.match(idp.metadataXml, /Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="[^"]+\/sso"/);
  assert.match(idp.metadataXml, /Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="[^"]+\/sso"/);
  const der = idp.certificate.replace(/-----[^-]+-----|\s/g, '');
  assert.match(idp.metadataXml, new RegExp(`<KeyDescriptor use="signing">.*${der.slice(0, 40).replace(/[+/]/g, '\\$&')}`));
});

// Without these, "Invalid signature" below could come from a fixture that signs badly.
test('the forgeries are otherwise sound: the wrapped original verifies, the unsigned assertion is in a signed response', async () => {
  const wrapped = Buffer.from(await idp.response({ inResponseTo: '_x', acsUrl: sp.acs, audience: sp.issuer, wrap: true }), 'base64').toString('utf8');
  const extensions = new DOMParser().parseFromString(wrapped, 'text/xml').getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:protocol', 'Extensions')[0]!;
  const verifier = new SignedXml({ publicCert: idp.certificate });
  verifier.loadSignature(new XMLSerializer().serializeToString(extensions.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!));
  assert.ok(verifier.checkSignature(wrapped));

  const lenient = new SAML({ ...saml.options, wantAssertionsSigned: false, wantAuthnResponseSigned: true });
  const { profile } = await lenient.validatePostResponseAsync({ SAMLResponse: await answer({ unsignedAssertion: true }) });
  assert.equal(profile?.nameID, 'ada@contoso.example');
});

const refused: [string, Partial<ResponseOptions>, RegExp][] = [
  // The bearer confirmation expires with the conditions, and node-saml checks it first.
  ['an expired assertion', { notOnOrAfter: new Date(Date.now() - 1000) }, /No valid subject confirmation found/],
  ['an assertion not yet valid', { notBefore: new Date(Date.now() + 60_000) }, /not yet valid/],
  ['an assertion for another audience', { audience: 'http://127.0.0.1:1/other-sp' }, /audience mismatch/],
  ['an assertion signed by a stranger', { signer: 'stranger' }, /Invalid signature/],
  ['an assertion changed after signing', { tamper: true }, /Invalid signature/],
  ['a wrapped assertion (XSW)', { wrap: true }, /Invalid signature/],
  ['an unsigned assertion in a signed response', { unsignedAssertion: true }, /Invalid signature/],
];
for (const [name, options, message] of refused) {
  test(`node-saml refuses ${name}`, async () => {
    await assert.rejects(validate(await answer(options)), message);
  });
}

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { Browser } from '../../../test/browser.ts';
import { Client, DIALECTS, freePort, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';
import { startSamlIdp, type ResponseOptions, type SamlIdp } from '../../../test/saml-idp.ts';

/**
 * SAML 2.0 sign-in end to end against a real IdP (samlify, a separate implementation from
 * the node-saml the platform uses), on loopback: the AuthnRequest goes out by HTTP-Redirect,
 * the signed answer comes back to the ACS by HTTP-POST, through a small browser with a
 * cookie jar. Forged answers (another key, a changed assertion, signature wrapping, an
 * unsigned assertion, expired, for another audience or recipient, replayed, unsolicited)
 * are built by the same IdP and posted to the ACS as an attacker would.
 */

const MFA_CONTEXT = 'http://schemas.microsoft.com/claims/multipleauthn';

/** A certificate the IdP no longer signs with, made as an IdP admin would. */
function makeCertificate(cn: string, days: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-saml-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', String(days), '-subj', `/CN=${cn}`],
      { stdio: 'ignore' },
    );
    return fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const staleCertificate = makeCertificate('Last year signing', 10);

for (const dialect of DIALECTS) {
  describe(`SAML sign-in on ${dialect}`, () => {
    let t: TestApp;
    let base: string;
    let idp: SamlIdp;
    let admin: Client;
    let teamId: string;
    let providerId: string;
    let sp: { spEntityId: string; acsUrl: string; metadataUrl: string };
    const audit = async (event: string) => (await admin.get(`/api/audit?event=${event}`)).json().events as Array<{ details: string; outcome: string }>;

    /** The platform's start, the IdP's auto-posting form, the ACS. Returns where it landed. */
    async function signIn(browser: Browser, returnTo = '/teams'): Promise<{ url: string }> {
      const page = await browser.follow(`${base}/api/auth/sso/${providerId}/start?returnTo=${returnTo}`);
      assert.equal(page.response.status, 200, browser.trail.join('\n'));
      const html = await page.response.text();
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&#38;/g, '&') ?? '';
      const action = /action="([^"]+)"/.exec(html)![1]!;
      return browser.follow(action, { method: 'POST', form: { SAMLResponse: field('SAMLResponse'), RelayState: field('RelayState') } });
    }
    /** A sign-in started in a browser, stopped before the IdP: the request's ID and the state to answer with. */
    async function started(browser: Browser): Promise<{ requestId: string; state: string }> {
      const start = await browser.request(`${base}/api/auth/sso/${providerId}/start`);
      const location = new URL(start.headers.get('location')!);
      const request = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      return { requestId: /ID="([^"]+)"/.exec(request)![1]!, state: location.searchParams.get('RelayState')! };
    }
    const sessionOf = async (browser: Browser) => {
      const r = await fetch(`${base}/api/auth/session`, { headers: { cookie: `fg_session=${browser.cookie(base, 'fg_session')}` } });
      return r.json() as Promise<{ signedIn: boolean; stage?: string; user?: { email: string; name: string }; teams?: Array<{ id: string; role: string }> }>;
    };

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      idp = await startSamlIdp();
      t = await startTestApp(dialect, { FLOWGATE_PUBLIC_URL: base });
      await t.app.listen({ host: '127.0.0.1', port });
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Line 3' })).json().id;
    });
    after(async () => {
      await t?.close();
      await idp?.stop();
    });

    test('an admin imports the IdP metadata; bad XML and bad settings are refused and named; the SP metadata names the ACS', async () => {
      const body = {
        kind: 'saml',
        name: 'Contoso ADFS',
        emailDomains: ['contoso.example'],
        mfaAcrValues: [MFA_CONTEXT],
        mappings: [{ group: 'engineers', teamId, role: 'member' }],
        saml: { metadataXml: idp.metadataXml },
      };
      const refused = async (saml: Record<string, unknown>) => {
        const r = await admin.post('/api/platform/identity-providers', { ...body, saml });
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
        return r.json() as { detail: string; errors: Array<{ field: string }> };
      };
      assert.match((await refused({ metadataXml: '<EntityDescriptor><unclosed></EntityDescriptor>' })).detail, /not well-formed XML/);
      assert.match(
        (await refused({ metadataXml: '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>' })).detail,
        /no EntityDescriptor with an IDPSSODescriptor/,
      );
      assert.equal((await refused({ metadataXml: `<x>${'a'.repeat(300 * 1024)}</x>` })).errors[0]!.field, 'saml.metadataXml');
      assert.equal((await refused({ idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: ['x'.repeat(200)] })).errors[0]!.field, 'saml.certificates.0');
      assert.equal((await refused({ idpEntityId: idp.entityId, ssoUrl: 'http://adfs.contoso.example/adfs/ls', certificates: [idp.certificate] })).errors[0]!.field, 'saml.ssoUrl');
      assert.equal((await refused({ idpEntityId: idp.entityId })).errors[0]!.field, 'saml.ssoUrl');
      const mixed = await admin.post('/api/platform/identity-providers', { ...body, oidc: { issuerUrl: 'https://idp.contoso.example', clientId: 'x' } });
      assert.match(mixed.json().detail, /takes no "oidc" settings/);

      const created = await admin.post('/api/platform/identity-providers', body);
      assert.equal(created.statusCode, 201, created.body);
      providerId = created.json().id;
      const view = created.json().saml;
      assert.equal(view.idpEntityId, idp.entityId);
      assert.equal(view.ssoUrl, idp.ssoUrl);
      assert.ok(view.certificates[0].daysLeft >= 363, String(view.certificates[0].daysLeft));
      sp = view;
      assert.equal(sp.acsUrl, `${base}/api/auth/sso/${providerId}/saml/acs`);

      const metadata = await fetch(sp.metadataUrl);
      assert.equal(metadata.headers.get('content-type'), 'application/samlmetadata+xml');
      const xml = await metadata.text();
      assert.match(xml, new RegExp(`entityID="${sp.spEntityId}"`));
      assert.match(xml, new RegExp(`Location="${sp.acsUrl}"`));
      assert.match(xml, /WantAssertionsSigned="true"/);

      const tested = (await admin.post(`/api/platform/identity-providers/${providerId}/test`)).json();
      assert.equal(tested.ok, true, tested.problem);
      assert.equal(tested.certificates.length, 1);
      assert.deepEqual((await new Client(t).get('/api/auth/sso/discover?email=ada@contoso.example')).json(), { provider: { id: providerId, name: 'Contoso ADFS', kind: 'saml' } });
    });

    test('a provider added by its metadata URL follows a key rollover published there, audited', async () => {
      const unreachable = await admin.post('/api/platform/identity-providers', {
        kind: 'saml',
        name: 'Published ADFS',
        emailDomains: ['published.example'],
        saml: { idpMetadataUrl: `http://127.0.0.1:${await freePort()}/metadata` },
      });
      assert.equal(unreachable.statusCode, 400);
      assert.equal(unreachable.json().errors[0].field, 'saml.idpMetadataUrl');
      assert.equal(
        (
          await admin.post('/api/platform/identity-providers', {
            kind: 'saml',
            name: 'Published ADFS',
            emailDomains: ['published.example'],
            saml: { idpMetadataUrl: 'http://adfs.published.example/metadata' },
          })
        ).json().errors[0].field,
        'saml.idpMetadataUrl',
      );

      const created = await admin.post('/api/platform/identity-providers', {
        kind: 'saml',
        name: 'Published ADFS',
        emailDomains: ['published.example'],
        saml: { idpMetadataUrl: idp.entityId },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;
      assert.equal(created.json().saml.idpEntityId, idp.entityId);
      assert.equal(created.json().saml.idpMetadataUrl, idp.entityId);
      // As if the stored certificate were last year's: the next check takes what the IdP publishes now.
      const row = await t.db.database.db.selectFrom('identity_providers').select('settings').where('id', '=', id).executeTakeFirstOrThrow();
      const stale = { ...JSON.parse(row.settings), certificates: [staleCertificate] };
      await t.db.database.db
        .updateTable('identity_providers')
        .set({ settings: JSON.stringify(stale) })
        .where('id', '=', id)
        .execute();
      assert.deepEqual(await t.context.sso.checkCertificates(), []);
      const after = (await admin.get(`/api/platform/identity-providers/${id}`)).json();
      assert.equal(after.saml.certificates.length, 1);
      assert.ok(after.saml.certificates[0].daysLeft >= 363, 'the published certificate, not the stale one');
      const refreshed = (await audit('identity-provider.updated')).map((e) => JSON.parse(e.details)).find((d) => d.by === 'published metadata');
      assert.equal(refreshed?.name, 'Published ADFS');
      assert.equal((await admin.delete(`/api/platform/identity-providers/${id}`)).statusCode, 204);
    });

    test('an IdP certificate that expires within 30 days raises the platform alert', async () => {
      assert.deepEqual(await t.context.sso.checkCertificates(), [], 'a year left: nothing to warn of');
      const created = await admin.post('/api/platform/identity-providers', {
        kind: 'saml',
        name: 'Rolling ADFS',
        emailDomains: ['rolling.example'],
        saml: {
          idpEntityId: 'https://adfs.rolling.example/adfs/services/trust',
          ssoUrl: 'https://adfs.rolling.example/adfs/ls/',
          certificates: [makeCertificate('Rolling ADFS signing', 10)],
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const warnings = await t.context.sso.checkCertificates();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /Rolling ADFS's certificate CN=Rolling ADFS signing expires on \d{4}-\d{2}-\d{2} \(in (9|10) days\)/);
      assert.ok(((await admin.get('/api/platform/alerts')).json() as Array<{ kind: string }>).some((a) => a.kind === 'idp-certificate'));
      assert.equal((await admin.delete(`/api/platform/identity-providers/${created.json().id}`)).statusCode, 204);
      assert.deepEqual(await t.context.sso.checkCertificates(), []);
    });

    test('a person signs in through the IdP; the account is made with the mapped role; the AuthnContext the admin listed satisfies MFA', async () => {
      const ada = new Browser();
      const landed = await signIn(ada);
      assert.equal(landed.url, `${base}/teams`, ada.trail.join('\n'));
      const session = await sessionOf(ada);
      assert.equal(session.user?.name, 'Ada Lovelace');
      assert.deepEqual(
        session.teams?.map((m) => [m.id, m.role]),
        [[teamId, 'member']],
      );
      const event = JSON.parse((await audit('auth.sso.login.succeeded'))[0]!.details);
      assert.equal(event.kind, 'saml');
      assert.equal(event.acr, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');

      assert.equal((await admin.patch('/api/platform/settings', { requireMfa: true })).statusCode, 200);
      try {
        idp.setUser({ nameId: 'bea@contoso.example', email: 'bea@contoso.example', name: 'Bea', groups: ['operators'], authnContextClassRef: MFA_CONTEXT });
        const bea = new Browser();
        assert.equal((await signIn(bea)).url, `${base}/teams`, 'MFA done at the IdP');
        assert.equal(JSON.parse((await audit('auth.sso.login.succeeded'))[0]!.details).mfa, 'by-provider');
        idp.setUser({ nameId: 'cem@contoso.example', email: 'cem@contoso.example', name: 'Cem', groups: ['visitors'] });
        const cem = new Browser();
        assert.equal((await signIn(cem)).url, `${base}/sign-in`, 'password only at the IdP: the platform asks for its own TOTP');
        assert.equal((await sessionOf(cem)).stage, 'enrol');
      } finally {
        assert.equal((await admin.patch('/api/platform/settings', { requireMfa: false })).statusCode, 200);
      }
    });

    test('forged, wrapped, expired, misdirected, replayed and unsolicited answers are refused and audited; nobody is signed in or made', async () => {
      const users = async () => (await t.db.database.db.selectFrom('users').select('email').execute()).map((u) => u.email).sort();
      const before = await users();
      const reasons: string[] = [];
      /** A sign-in started in a browser, answered with what an attacker built (tampering and wrapping turn Mallory into evil@). */
      const attack = async (variant: Partial<ResponseOptions>, form?: (answer: string, state: string) => Record<string, string>) => {
        const browser = new Browser();
        const { requestId, state } = await started(browser);
        const answer = await idp.response({
          inResponseTo: requestId,
          acsUrl: sp.acsUrl,
          audience: sp.spEntityId,
          user: { nameId: 'mallory@contoso.example', email: 'mallory@contoso.example', name: 'Mallory', groups: ['engineers'] },
          ...variant,
        });
        const landed = await browser.follow(sp.acsUrl, { method: 'POST', form: form ? form(answer, state) : { SAMLResponse: answer, RelayState: state } });
        const url = new URL(landed.url);
        assert.equal(url.pathname, '/sign-in', browser.trail.join('\n'));
        assert.equal(browser.cookie(base, 'fg_session'), undefined);
        reasons.push(JSON.parse((await audit('auth.sso.login.failed'))[0]!.details).reason);
        return url.searchParams.get('ssoError') ?? '';
      };
      assert.match(await attack({ signer: 'stranger' }), /Invalid signature/);
      assert.match(await attack({ tamper: true }), /Invalid signature/);
      assert.match(await attack({ wrap: true }), /Invalid signature/);
      assert.match(await attack({ unsignedAssertion: true }), /Invalid signature/);
      assert.match(await attack({ notOnOrAfter: new Date(Date.now() - 10 * 60_000), notBefore: new Date(Date.now() - 20 * 60_000) }), /subject confirmation/);
      assert.match(await attack({ audience: 'https://someone-else.example/sp' }), /audience mismatch/);
      assert.match(await attack({ acsUrl: 'https://someone-else.example/acs' }), /meant for https:\/\/someone-else\.example\/acs/);
      assert.match(await attack({}, () => ({ SAMLResponse: Buffer.from('<samlp:Response><unclosed').toString('base64') })), /state mismatch/, 'no RelayState: unsolicited');
      assert.match(await attack({}, (_answer, state) => ({ SAMLResponse: Buffer.from('<samlp:Response><unclosed').toString('base64'), RelayState: state })), /refused/);
      assert.deepEqual(reasons, [
        'signature-invalid',
        'signature-invalid',
        'signature-invalid',
        'signature-invalid',
        'assertion-expired',
        'audience-mismatch',
        'recipient-mismatch',
        'state-mismatch',
        'response-invalid',
      ]);

      // node-saml leaves the assertion's Issuer to its caller: one from another IdP (same key, say a tenant of the same cloud) is refused.
      const view = (await admin.get(`/api/platform/identity-providers/${providerId}`)).json();
      const retarget = (idpEntityId: string) =>
        admin.put(`/api/platform/identity-providers/${providerId}`, {
          kind: 'saml',
          name: view.name,
          emailDomains: view.emailDomains,
          mfaAcrValues: view.mfaAcrValues,
          mappings: view.mappings,
          saml: { idpEntityId, ssoUrl: idp.ssoUrl, certificates: [idp.certificate] },
        });
      assert.equal((await retarget('https://sts.windows.net/another-tenant/')).statusCode, 200);
      assert.match(await attack({}), /issued by "http:\/\/127\.0\.0\.1:\d+\/metadata", not by https:\/\/sts\.windows\.net\/another-tenant\//);
      assert.equal(reasons.at(-1), 'issuer-mismatch');
      const restored = await admin.put(`/api/platform/identity-providers/${providerId}`, {
        kind: 'saml',
        name: view.name,
        emailDomains: view.emailDomains,
        mfaAcrValues: view.mfaAcrValues,
        mappings: view.mappings,
        saml: { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl },
      });
      assert.equal(restored.statusCode, 200, restored.body);
      assert.equal(restored.json().saml.certificates.length, 1, 'an update without certificates keeps the stored ones');

      // The admin's test sign-in, answered with a signature the configured certificate does not verify: the problem is said on the Platform page.
      const adminBrowser = new Browser();
      adminBrowser.setCookie(base, 'fg_session', admin.cookie!.split('=')[1]!);
      const testStart = new URL((await adminBrowser.request(`${base}/api/auth/sso/${providerId}/start?test=1`)).headers.get('location')!);
      const testRequestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(testStart.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8'))![1]!;
      const wronglySigned = await idp.response({ inResponseTo: testRequestId, acsUrl: sp.acsUrl, audience: sp.spEntityId, signer: 'stranger' });
      const reported = new URL(
        (await adminBrowser.follow(sp.acsUrl, { method: 'POST', form: { SAMLResponse: wronglySigned, RelayState: testStart.searchParams.get('RelayState')! } })).url,
      );
      assert.equal(reported.pathname, '/platform');
      const report = JSON.parse(Buffer.from(reported.searchParams.get('ssoTest')!, 'base64url').toString()) as { problems: string[] };
      assert.match(report.problems[0]!, /Invalid signature/);

      // A good answer, replayed: the request it answers was used by its first post.
      const browser = new Browser();
      const { requestId, state } = await started(browser);
      const answer = await idp.response({
        inResponseTo: requestId,
        acsUrl: sp.acsUrl,
        audience: sp.spEntityId,
        user: { nameId: 'dan@contoso.example', email: 'dan@contoso.example', name: 'Dan', groups: ['visitors'] },
      });
      assert.equal((await browser.follow(sp.acsUrl, { method: 'POST', form: { SAMLResponse: answer, RelayState: state } })).url, `${base}/`);
      browser.setCookie(base, 'fg_sso_state', state);
      const replayed = await browser.follow(sp.acsUrl, { method: 'POST', form: { SAMLResponse: answer, RelayState: state } });
      assert.match(new URL(replayed.url).searchParams.get('ssoError') ?? '', /unknown or was used already/);
      assert.deepEqual(await users(), [...before, 'dan@contoso.example'].sort(), 'only the honest sign-in made an account');

      // Huge and malformed bodies: a problem, not a crash.
      const huge = await fetch(sp.acsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `SAMLResponse=${'A'.repeat(600 * 1024)}` });
      assert.equal(huge.status, 413);
      assert.equal(huge.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(JSON.parse((await audit('auth.sso.login.failed'))[0]!.details).reason, 'response-too-large');
      const noResponse = await fetch(sp.acsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'RelayState=x' });
      assert.equal(noResponse.status, 400);
      assert.match(((await noResponse.json()) as { detail: string }).detail, /SAMLResponse/);
      assert.equal(JSON.parse((await audit('auth.sso.login.failed'))[0]!.details).reason, 'response-malformed');
    });
  });
}

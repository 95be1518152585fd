import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, DIALECTS, setupAdmin, startTestApp, type TestApp, freePort } from '../../../test/harness.ts';
import { Browser } from '../../../test/browser.ts';
import { startOidcProvider, type TestOidcProvider } from '../../../test/oidc-provider.ts';

/**
 * OIDC sign-in end to end against a real OpenID provider (oidc-provider, started here):
 * the platform listens on loopback, and a small browser (fetch, a cookie jar per host and
 * port, redirects followed by hand) goes from the platform's start URL through the
 * provider's sign-in form and back to the callback.
 */

for (const dialect of DIALECTS) {
  describe(`OIDC sign-in on ${dialect}`, () => {
    let t: TestApp;
    let base: string;
    let idp: TestOidcProvider;
    let admin: Client;
    let teamId: string;
    let otherTeamId: string;
    let providerId: string;

    /** A whole sign-in: the platform's start, the provider's form, the callback. Returns where it landed. */
    async function signIn(browser: Browser, login: string, password = 'idp password 1'): Promise<{ url: string; response: Response }> {
      const form = await browser.follow(`${base}/api/auth/sso/${providerId}/start?returnTo=/teams`);
      assert.equal(form.response.status, 200, browser.trail.join('\n'));
      const action = /action="([^"]+)"/.exec(await form.response.text())![1]!;
      return browser.follow(new URL(action, form.url).toString(), { method: 'POST', form: { login, password } });
    }
    const sessionOf = async (browser: Browser) => {
      const r = await fetch(`${base}/api/auth/session`, { headers: { cookie: `fg_session=${browser.cookie(base, 'fg_session')}` } });
      return r.json() as Promise<{ signedIn: boolean; stage?: string; user?: { email: string; platformRole: string }; teams?: Array<{ id: string; role: string }> }>;
    };
    const audit = async (event: string) => (await admin.get(`/api/audit?event=${event}`)).json().events as Array<{ details: string; actorLabel: string | null; outcome: string }>;

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      idp = await startOidcProvider({
        accounts: {
          erin: { password: 'idp password 1', email: 'erin@contoso.example', name: 'Erin Engineer', groups: ['line3-engineers'] },
          olga: { password: 'idp password 1', email: 'olga@contoso.example', name: 'Olga Ops', groups: ['flowgate-admins'], amr: ['pwd', 'mfa'] },
          nomail: { password: 'idp password 1', name: 'No Mail', groups: [] },
        },
      });
      t = await startTestApp(dialect, { FLOWGATE_PUBLIC_URL: base });
      await t.app.listen({ host: '127.0.0.1', port });
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Line 3' })).json().id;
      otherTeamId = (await admin.post('/api/teams', { name: 'Utilities' })).json().id;
    });
    after(async () => {
      await t?.close();
      await idp?.close();
    });

    test('an admin adds the provider; bad settings are refused and named; the test finds it; the secret is never shown', async () => {
      const body = {
        name: 'Contoso IdP',
        oidc: { issuerUrl: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, scopes: 'openid email profile groups' },
        emailDomains: ['contoso.example'],
        adminGroup: 'flowgate-admins',
        mappings: [
          { group: 'line3-engineers', teamId, role: 'member' },
          { group: 'utilities-readers', teamId: otherTeamId, role: 'viewer' },
        ],
        disableLocalPasswords: true,
      };
      const insecure = await admin.post('/api/platform/identity-providers', { ...body, oidc: { ...body.oidc, issuerUrl: 'http://idp.contoso.example' } });
      assert.equal(insecure.statusCode, 400);
      assert.match(insecure.json().detail, /must be https/);
      assert.equal(insecure.json().errors[0].field, 'oidc.issuerUrl');
      const noSecret = await admin.post('/api/platform/identity-providers', { ...body, oidc: { ...body.oidc, clientSecret: undefined } });
      assert.equal(noSecret.json().errors[0].field, 'oidc.clientSecret');
      const mixed = await admin.post('/api/platform/identity-providers', { ...body, saml: { ssoUrl: 'https://idp.contoso.example/sso' } });
      assert.equal(mixed.statusCode, 400);
      assert.match(mixed.json().detail, /takes no "saml" settings/);
      const unknownTeam = await admin.post('/api/platform/identity-providers', {
        ...body,
        mappings: [{ group: 'x', teamId: '00000000-0000-4000-8000-000000000000', role: 'member' }],
      });
      assert.equal(unknownTeam.statusCode, 400);
      assert.equal(unknownTeam.json().errors[0].field, 'mappings.0.teamId');
      assert.equal((await admin.post('/api/platform/identity-providers', { ...body, mappings: [{ group: 'x', teamId, role: 'king' }] })).statusCode, 400);

      const created = await admin.post('/api/platform/identity-providers', body);
      assert.equal(created.statusCode, 201, created.body);
      providerId = created.json().id;
      assert.equal(created.json().oidc.redirectUri, `${base}/api/auth/sso/${providerId}/callback`);
      assert.ok(!created.body.includes(idp.clientSecret), 'the secret is not shown back');
      // Registered at the identity provider, as an admin would.
      idp.allowRedirect(created.json().oidc.redirectUri);

      const tested = (await admin.post(`/api/platform/identity-providers/${providerId}/test`)).json();
      assert.equal(tested.ok, true, tested.problem);
      assert.ok(tested.details.includes(`issuer ${idp.issuer}`), tested.details.join('; '));
      const nobody = await admin.post('/api/platform/identity-providers', {
        ...body,
        name: 'Gone IdP',
        emailDomains: ['gone.example'],
        oidc: { ...body.oidc, issuerUrl: `http://127.0.0.1:${await freePort()}` },
        mappings: [],
      });
      assert.equal(nobody.statusCode, 201, nobody.body);
      const unreachable = (await admin.post(`/api/platform/identity-providers/${nobody.json().id}/test`)).json();
      assert.equal(unreachable.ok, false);
      assert.match(unreachable.problem, /unreachable/);
      assert.equal((await admin.delete(`/api/platform/identity-providers/${nobody.json().id}`)).statusCode, 204);

      const discovered = await new Client(t).get('/api/auth/sso/discover?email=Someone@Contoso.Example');
      assert.deepEqual(discovered.json(), { provider: { id: providerId, name: 'Contoso IdP', kind: 'oidc' } });
      assert.deepEqual((await new Client(t).get('/api/auth/sso/discover?email=someone@elsewhere.example')).json(), { provider: null });
    });

    test('a provider whose signing certificate expires within 30 days raises the platform alert, and the test says when', async () => {
      assert.deepEqual(await t.context.sso.checkCertificates(), [], 'bare keys: nothing to warn of');
      const rolling = await startOidcProvider({ accounts: {}, certificateDays: 10 });
      try {
        const created = await admin.post('/api/platform/identity-providers', {
          name: 'Rolling IdP',
          oidc: { issuerUrl: rolling.issuer, clientId: rolling.clientId, clientSecret: rolling.clientSecret },
          emailDomains: ['rolling.example'],
        });
        const tested = (await admin.post(`/api/platform/identity-providers/${created.json().id}/test`)).json();
        assert.equal(tested.certificates.length, 1);
        assert.ok(tested.certificates[0].daysLeft >= 9 && tested.certificates[0].daysLeft <= 10, String(tested.certificates[0].daysLeft));
        const warnings = await t.context.sso.checkCertificates();
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, /Rolling IdP's certificate .* expires on \d{4}-\d{2}-\d{2} \(in (9|10) days\)/);
        const alerts = (await admin.get('/api/platform/alerts')).json() as Array<{ kind: string }>;
        assert.ok(alerts.some((a) => a.kind === 'idp-certificate'));
        assert.equal((await admin.delete(`/api/platform/identity-providers/${created.json().id}`)).statusCode, 204);
        assert.deepEqual(await t.context.sso.checkCertificates(), []);
        assert.ok(!((await admin.get('/api/platform/alerts')).json() as Array<{ kind: string }>).some((a) => a.kind === 'idp-certificate'), 'cleared');
      } finally {
        await rolling.close();
      }
    });

    test("an admin's test sign-in reports what the provider sent and what a sign-in would do, and signs nobody in", async () => {
      assert.equal((await new Browser().request(`${base}/api/auth/sso/${providerId}/start?test=1`)).status, 403, 'not for anyone');
      const report = async (login: string) => {
        const browser = new Browser();
        browser.setCookie(base, 'fg_session', admin.cookie!.split('=')[1]!);
        const form = await browser.follow(`${base}/api/auth/sso/${providerId}/start?test=1`);
        const action = /action="([^"]+)"/.exec(await form.response.text())![1]!;
        const landed = await browser.follow(new URL(action, form.url).toString(), { method: 'POST', form: { login, password: 'idp password 1' } });
        const url = new URL(landed.url);
        assert.equal(url.pathname, '/platform', browser.trail.join('\n'));
        return JSON.parse(Buffer.from(url.searchParams.get('ssoTest')!, 'base64url').toString()) as {
          email: string | null;
          groups: string[];
          roles: Array<{ teamId: string; role: string }>;
          problems: string[];
        };
      };
      const nomail = await report('nomail');
      assert.equal(nomail.email, null);
      assert.ok(
        nomail.problems.some((p) => /sent no email: add the "email" scope/.test(p)),
        nomail.problems.join('; '),
      );
      const erin = await report('erin');
      assert.deepEqual(erin.problems, []);
      assert.deepEqual(erin.groups, ['line3-engineers']);
      assert.deepEqual(erin.roles, [{ teamId, role: 'member' }]);
      const users = (await admin.get('/api/platform/users')).json() as Array<{ email: string }>;
      assert.ok(!users.some((u) => u.email === 'erin@contoso.example'), 'a test makes no account');
      assert.equal((await audit('identity-provider.tested')).length, 2);
    });

    test('a first sign-in makes the account just in time and gives the mapped team role; a later one follows the groups', async () => {
      const browser = new Browser();
      const landed = await signIn(browser, 'erin');
      assert.equal(landed.url, `${base}/teams`, browser.trail.join('\n'));
      const session = await sessionOf(browser);
      assert.equal(session.signedIn, true);
      assert.equal(session.user?.email, 'erin@contoso.example');
      assert.equal(session.user?.platformRole, 'user');
      assert.deepEqual(
        session.teams?.map((m) => [m.id, m.role]),
        [[teamId, 'member']],
      );
      assert.equal(browser.cookie(base, 'fg_sso_state'), undefined, 'the state cookie is spent');
      const created = (await audit('user.created')).filter((e) => JSON.parse(e.details).email === 'erin@contoso.example');
      assert.equal(JSON.parse(created[0]!.details).source, 'sso:Contoso IdP');
      assert.equal((await audit('auth.sso.login.succeeded'))[0]!.actorLabel, 'erin@contoso.example');

      // A membership made by hand stays whatever the groups say.
      const erinId = (await admin.get('/api/platform/users')).json().find((u: { email: string }) => u.email === 'erin@contoso.example').id;
      const invited = await admin.post(`/api/teams/${otherTeamId}/invitations`, { email: 'erin@contoso.example', role: 'operator' });
      assert.equal(invited.statusCode, 201);
      const token = invited.json().link.split('/invite/')[1];
      const erin = new Client(t);
      erin.cookie = `fg_session=${browser.cookie(base, 'fg_session')}`;
      erin.csrf = (await erin.get('/api/auth/session')).json().csrfToken;
      assert.equal((await erin.post(`/api/invitations/${token}/accept`, {})).statusCode, 200);

      // Her groups change at the provider: the next sign-in moves her mapped role, and takes a role away that no group gives.
      idp.accounts.get('erin')!.groups = ['utilities-readers'];
      const again = new Browser();
      await signIn(again, 'erin');
      const teams = (await sessionOf(again)).teams!.map((m) => [m.id, m.role]).sort();
      assert.deepEqual(teams, [[otherTeamId, 'operator']].sort(), 'Line 3 membership gone; the invited one kept over the mapped viewer');
      const unmapped = (await admin.get(`/api/audit?event=member.unmapped`)).json().events as Array<{ targetId: string }>;
      assert.equal(unmapped[0]!.targetId, erinId);
    });

    test("the admin group makes a platform admin; the provider's MFA satisfies the MFA policy, and without it the platform asks for its own", async () => {
      assert.equal((await admin.patch('/api/platform/settings', { requireMfa: true })).statusCode, 200);
      const olga = new Browser();
      await signIn(olga, 'olga');
      const session = await sessionOf(olga);
      assert.equal(session.stage, 'full', 'amr says mfa: no second prompt');
      assert.equal(session.user?.platformRole, 'admin');
      const succeeded = (await audit('auth.sso.login.succeeded')).map((e) => JSON.parse(e.details) as { mfa: string });
      assert.equal(succeeded[0]!.mfa, 'by-provider');

      const erin = new Browser();
      const landed = await signIn(erin, 'erin');
      assert.equal(landed.url, `${base}/sign-in`, "sent to enrol in the platform's TOTP");
      assert.equal((await sessionOf(erin)).stage, 'enrol');
      assert.equal((await admin.patch('/api/platform/settings', { requireMfa: false })).statusCode, 200);
    });

    test("local passwords are off for the provider's domain, but a local platform admin keeps theirs", async () => {
      const refused = await new Client(t).post('/api/auth/login', { email: 'erin@contoso.example', password: 'whatever she types' });
      assert.equal(refused.statusCode, 401);
      assert.match(refused.json().detail, /Sign in with Contoso IdP/);
      const failed = (await audit('auth.login.failed')).map((e) => JSON.parse(e.details).reason);
      assert.equal(failed[0], 'sso-required');
      assert.equal((await new Client(t).post('/api/auth/login', { email: 'admin@plant.example', password: 'correct horse battery staple' })).statusCode, 200);
    });

    test('a callback this browser did not start, a replayed one, a wrong nonce, a missing email or a wrong password: refused, audited, no session', async () => {
      const reasons = async () => (await audit('auth.sso.login.failed')).map((e) => JSON.parse(e.details).reason as string);
      const refusedWith = (landed: { url: string }, pattern: RegExp) => {
        const url = new URL(landed.url);
        assert.equal(url.pathname, '/sign-in');
        assert.match(url.searchParams.get('ssoError') ?? '', pattern);
      };

      // Login CSRF: the provider's answer arrives in a browser whose state cookie is another's.
      const victim = new Browser();
      const form = await victim.follow(`${base}/api/auth/sso/${providerId}/start`);
      const action = /action="([^"]+)"/.exec(await form.response.text())![1]!;
      const toCallback = await victim.request(new URL(action, form.url).toString(), { method: 'POST', form: { login: 'erin', password: 'idp password 1' } });
      let next = new URL(toCallback.headers.get('location')!, form.url).toString();
      while (!next.startsWith(base)) next = new URL((await victim.request(next)).headers.get('location')!, next).toString();
      victim.setCookie(base, 'fg_sso_state', 'someone-elses-state');
      refusedWith(await victim.follow(next), /not started in this browser/);
      assert.equal(victim.cookie(base, 'fg_session'), undefined);

      // The same answer again, now with the right cookie: the state was not spent by the refusal... but once used, it is gone.
      const replay = new Browser();
      const first = await signIn(replay, 'erin');
      assert.equal(new URL(first.url).pathname, '/teams');
      const callbackUrl = replay.trail.map((l) => l.split(' ')[1]!).find((u) => u.includes('/callback?'))!;
      replay.setCookie(base, 'fg_sso_state', new URL(callbackUrl).searchParams.get('state')!);
      refusedWith(await replay.follow(callbackUrl), /unknown or was used already/);

      // A nonce that is not the one sent: the ID token is refused.
      const tampered = new Browser();
      const start = await tampered.request(`${base}/api/auth/sso/${providerId}/start`);
      await t.db.database.db.updateTable('sso_requests').set({ nonce: 'not-the-nonce-that-was-sent' }).execute();
      const idpForm = await tampered.follow(start.headers.get('location')!);
      const idpAction = /action="([^"]+)"/.exec(await idpForm.response.text())![1]!;
      refusedWith(await tampered.follow(new URL(idpAction, idpForm.url).toString(), { method: 'POST', form: { login: 'erin', password: 'idp password 1' } }), /nonce/i);

      // No email claim: nothing to name the account by.
      refusedWith(await signIn(new Browser(), 'nomail'), /sent no email/);

      // A wrong password never leaves the provider's page.
      const wrong = await signIn(new Browser(), 'erin', 'not her password');
      assert.match(await wrong.response.text(), /Wrong user name or password/);

      const seen = await reasons();
      for (const reason of ['state-mismatch', 'state-unknown', 'nonce-mismatch', 'no-email-claim']) assert.ok(seen.includes(reason), `${reason} audited: ${seen.join(', ')}`);
    });
  });
}

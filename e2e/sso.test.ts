/**
 * Signing in through the company's identity provider, in a real Chromium against the real
 * server and a real OpenID provider (oidc-provider, started here): a platform admin adds the
 * provider on the Platform page with a group mapping and tests it; an engineer of that
 * company types her email on the sign-in page, is offered the provider, signs in on the
 * provider's own page, and lands in the team her group maps to, with its role.
 *
 * FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startOidcProvider, type TestOidcProvider } from '../packages/server/test/oidc-provider.ts';
import { setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const TEAM = 'Line 3 Packaging';

let h: BrowserWalk;
let idp: TestOidcProvider;
let admin: Page;
let engineer: Page | null = null;

before(async () => {
  h = await startBrowserWalk('sso-');
  idp = await startOidcProvider({ accounts: { erin: { password: 'erin idp password', email: 'erin@contoso.example', name: 'Erin Engineer', groups: ['line3-engineers'] } } });
  admin = await h.newPage(['clipboard-read', 'clipboard-write']);
});
after(async () => {
  await h?.close();
  await idp?.close();
});
afterEach(async (t) => {
  // A failing step leaves a picture of where it stood.
  if ((t as unknown as { passed?: boolean }).passed === false) await h.shot(engineer ?? admin, 'last').catch(() => {});
});

test('an admin adds the company identity provider; an engineer signs in through it and lands in her mapped team', { timeout: 120_000 }, async () => {
  await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);

  // --- The provider, on the Platform page: its settings, one group mapping, a test.
  await admin.goto('/platform');
  await admin.getByRole('button', { name: 'Add a provider' }).click();
  const form = admin.getByRole('form', { name: 'Add a sign-in provider' });
  assert.ok(await form.getByRole('radio', { name: 'OpenID Connect' }).isChecked(), 'a new provider is OpenID Connect unless another kind is chosen');
  await form.getByLabel('Provider name').fill('Contoso IdP');
  await form.getByLabel('Issuer URL').fill(idp.issuer);
  await form.getByLabel('Client ID').fill(idp.clientId);
  await form.getByLabel('Client secret').fill(idp.clientSecret);
  await form.getByLabel('Scopes').fill('openid email profile groups');
  await form.getByLabel('Email domains').fill('contoso.example');
  await form.getByRole('button', { name: 'Add a mapping' }).click();
  await form.getByLabel('Group 1').fill('line3-engineers');
  await form.getByLabel('Team', { exact: true }).selectOption({ label: TEAM });
  await form.getByLabel('Role', { exact: true }).selectOption('member');
  await form.getByLabel(/Local passwords off/).check();
  await form.getByRole('button', { name: 'Add provider' }).click();
  const provider = admin.getByRole('listitem', { name: 'Provider Contoso IdP' });
  await provider.waitFor();
  const redirectUri = await provider.getByLabel('Redirect URI of Contoso IdP').inputValue();
  assert.match(redirectUri, new RegExp(`^${h.base}/api/auth/sso/[^/]+/callback$`));
  idp.allowRedirect(redirectUri); // registered at the provider, as its admin would
  await provider.getByRole('button', { name: 'Test connection' }).click();
  await provider.getByText(`It answers: issuer ${idp.issuer}`).waitFor();
  assert.equal(await admin.getByText(idp.clientSecret).count(), 0, 'the secret is not shown');
  // SCIM provisioning: a token shown once, with the base URL the provider's client calls.
  await provider.getByRole('button', { name: 'Turn on SCIM' }).click();
  assert.match(await provider.getByLabel('SCIM token of Contoso IdP').inputValue(), /^fgs_/);
  assert.equal(await provider.getByLabel('SCIM base URL of Contoso IdP').inputValue(), `${h.base}/scim/v2`);
  await provider.getByText('provisions people over SCIM').waitFor();
  await h.shot(admin, '01-provider-added');

  // --- A test sign-in: the admin goes through the provider once, as erin, and reads what a sign-in would do.
  await provider.getByRole('link', { name: 'Try a sign-in' }).click();
  await admin.getByRole('heading', { name: 'Plant identity provider' }).waitFor();
  await admin.getByLabel('User name').fill('erin');
  await admin.getByLabel('Password').fill('erin idp password');
  await admin.getByRole('button', { name: 'Sign in' }).click();
  const result = admin.getByRole('status', { name: 'Test sign-in result' });
  await result.getByText('a sign-in would pass').waitFor();
  await result.getByText(`${TEAM}: member`).waitFor();
  await h.shot(admin, '01b-test-sign-in');

  // --- The engineer: her email routes her to the provider; she signs in on its page.
  engineer = await h.newPage();
  await engineer.goto('/sign-in');
  await engineer.getByLabel('Email').fill('erin@contoso.example');
  const continueLink = engineer.getByRole('link', { name: 'Continue with Contoso IdP' });
  await continueLink.waitFor();
  await h.shot(engineer, '02-sign-in-routed');
  await continueLink.click();
  await engineer.getByRole('heading', { name: 'Plant identity provider' }).waitFor();
  assert.ok(engineer.url().startsWith(idp.issuer), "on the provider's own page");
  await engineer.getByLabel('User name').fill('erin');
  await engineer.getByLabel('Password').fill('erin idp password');
  await h.shot(engineer, '03-provider-page');
  await engineer.getByRole('button', { name: 'Sign in' }).click();

  // --- Back on the platform, signed in, in Line 3 Packaging as a member.
  await engineer.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
  await engineer.getByText('Erin Engineer').first().waitFor();
  const team = engineer.getByRole('listitem').filter({ hasText: TEAM });
  await team.getByText('member', { exact: true }).waitFor();
  await h.shot(engineer, '04-landed-with-role');

  // --- Her password does not work here: her domain signs in through the provider.
  const refused = await engineer.evaluate(async () =>
    (
      await fetch('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'erin@contoso.example', password: 'erin idp password' }),
      })
    ).json(),
  );
  assert.match((refused as { detail: string }).detail, /Sign in with Contoso IdP/);

  // --- The audit log says who signed in, through what, and what the mapping gave.
  await admin.goto('/audit');
  await admin.getByText('auth.sso.login.succeeded').first().waitFor();
  await admin.getByText('member.mapped').first().waitFor();
});

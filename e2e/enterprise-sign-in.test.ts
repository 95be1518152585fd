/**
 * SAML 2.0 and LDAP sign-in, in a real Chromium against the real server, a real SAML IdP
 * (samlify, started here) and a real directory (Debian's slapd, started here with its own
 * CA): a platform admin adds each provider on the Platform page, tests the connection and
 * tries a sign-in; then an engineer signs in through the IdP's page, and an operator with
 * her directory password on the ordinary sign-in form, and each lands in the team her
 * group maps to, with its role.
 *
 * FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startLdapServer, type LdapFixture } from '../packages/server/test/ldap-server.ts';
import { startSamlIdp, type SamlIdp } from '../packages/server/test/saml-idp.ts';
import { setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const TEAM = 'Line 3 Packaging';

let h: BrowserWalk;
let idp: SamlIdp;
let directory: LdapFixture;
let admin: Page;
let current: Page | null = null;

before(async () => {
  h = await startBrowserWalk('enterprise-');
  idp = await startSamlIdp();
  directory = await startLdapServer();
  admin = await h.newPage();
});
after(async () => {
  await h?.close();
  await idp?.stop();
  await directory?.stop();
});
afterEach(async (t) => {
  if ((t as unknown as { passed?: boolean }).passed === false) await h.shot(current ?? admin, 'last').catch(() => {});
});

/** The mapping every provider here gets: its group → the team, with a role. */
async function mapGroup(form: ReturnType<Page['getByRole']>, group: string, role: string) {
  await form.getByRole('button', { name: 'Add a mapping' }).click();
  await form.getByLabel('Group 1').fill(group);
  await form.getByLabel('Team', { exact: true }).selectOption({ label: TEAM });
  await form.getByLabel('Role', { exact: true }).selectOption(role);
}

test('an admin adds a SAML IdP from its metadata; an engineer signs in on the IdP and lands with her mapped role', { timeout: 120_000 }, async () => {
  await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);
  await admin.goto('/platform');
  await admin.getByRole('button', { name: 'Add a provider' }).click();
  const form = admin.getByRole('form', { name: 'Add a sign-in provider' });
  await form.getByRole('radio', { name: 'SAML 2.0' }).check();
  await form.getByLabel('Provider name').fill('Fabrikam ADFS');
  await form.getByLabel('Email domains').fill('fabrikam.example');
  await form.getByLabel('IdP metadata XML').fill(idp.metadataXml);
  assert.ok(await form.getByLabel('IdP entity ID').isDisabled(), 'the metadata gives the entity ID');
  await mapGroup(form, 'line3-engineers', 'member');
  await form.getByRole('button', { name: 'Add provider' }).click();

  const provider = admin.getByRole('listitem', { name: 'Provider Fabrikam ADFS' });
  await provider.waitFor();
  const acs = await provider.getByLabel('ACS URL of Fabrikam ADFS').inputValue();
  assert.match(acs, new RegExp(`^${h.base}/api/auth/sso/[^/]+/saml/acs$`));
  assert.match(await provider.getByLabel('SP entity ID of Fabrikam ADFS').inputValue(), /\/saml\/metadata$/);
  await provider.getByText(/IdP signing certificate .* expires on \d{4}-\d{2}-\d{2}/).waitFor();
  await provider.getByRole('button', { name: 'Test connection' }).click();
  await provider.getByRole('status', { name: 'Connection test of Fabrikam ADFS' }).getByText(`It answers: IdP ${idp.entityId}`).waitFor();
  await h.shot(admin, '01-saml-added');

  // The admin's try: through the IdP and back to the Platform page, nobody signed in.
  idp.setUser({ nameId: 'sam@fabrikam.example', email: 'sam@fabrikam.example', name: 'Sam Engineer', groups: ['line3-engineers'] });
  await provider.getByRole('link', { name: 'Try a sign-in' }).click();
  const report = admin.getByRole('status', { name: 'Test sign-in result' });
  await report.getByText('a sign-in would pass').waitFor();
  await report.getByText(`${TEAM}: member`).waitFor();
  await h.shot(admin, '02-saml-tried');

  current = await h.newPage();
  await current.goto('/sign-in');
  await current.getByLabel('Email').fill('sam@fabrikam.example');
  await current.getByRole('link', { name: 'Continue with Fabrikam ADFS' }).click();
  // The IdP answers with a form that posts itself to the ACS.
  await current.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
  await current.getByText('Sam Engineer').first().waitFor();
  await current.getByRole('listitem').filter({ hasText: TEAM }).getByText('member', { exact: true }).waitFor();
  await h.shot(current, '03-saml-landed');
});

test('an admin adds the directory with StartTLS and its CA; an operator signs in with her directory password and lands with her role', { timeout: 120_000 }, async () => {
  current = null;
  await admin.goto('/platform');
  await admin.getByRole('button', { name: 'Add a provider' }).click();
  const form = admin.getByRole('form', { name: 'Add a sign-in provider' });
  await form.getByRole('radio', { name: 'LDAP or Active Directory' }).check();
  await form.getByLabel('Provider name').fill('Contoso AD');
  await form.getByLabel('Email domains').fill('contoso.example');
  await form.getByLabel('Directory URL').fill(directory.url);
  assert.ok(await form.getByLabel('Use StartTLS').isChecked());
  await form.getByLabel('CA certificate').fill(directory.caCertificate);
  await form.getByLabel('Service account DN').fill(directory.bindDn);
  await form.getByLabel('Service account password').fill(directory.bindPassword);
  await form.getByLabel('User search base').fill(`ou=people,${directory.baseDn}`);
  await form.getByLabel('Group search base').fill(`ou=groups,${directory.baseDn}`);
  // bob is in all-staff; ada is in plant-engineers, which is in all-staff: nesting is walked.
  await mapGroup(form, 'all-staff', 'operator');
  await form.getByRole('button', { name: 'Add provider' }).click();

  const provider = admin.getByRole('listitem', { name: 'Provider Contoso AD' });
  await provider.waitFor();
  await provider.getByRole('button', { name: 'Test connection' }).click();
  const connection = provider.getByRole('status', { name: 'Connection test of Contoso AD' });
  await connection.getByText(/It answers: StartTLS/).waitFor();
  assert.equal(await admin.getByText(directory.bindPassword).count(), 0, 'the service password is not shown');

  await provider.getByRole('button', { name: 'Try a sign-in' }).click();
  const tryForm = provider.getByRole('form', { name: 'Try a sign-in through Contoso AD' });
  await tryForm.getByLabel('User name').fill(directory.users.ada.mail);
  await tryForm.getByLabel('Password', { exact: true }).fill('not her password');
  await tryForm.getByRole('button', { name: 'Check this sign-in' }).click();
  await tryForm
    .getByRole('alert')
    .getByText(/refused the password/)
    .waitFor();
  await tryForm.getByLabel('Password', { exact: true }).fill(directory.users.ada.password);
  await tryForm.getByRole('button', { name: 'Check this sign-in' }).click();
  const report = tryForm.getByRole('status', { name: 'Test sign-in result' });
  await report.getByText('a sign-in would pass').waitFor();
  await report.getByText(`${TEAM}: operator`).waitFor();
  await h.shot(admin, '04-ldap-tried');

  current = await h.newPage();
  await current.goto('/sign-in');
  await current.getByLabel('Email').fill(directory.users.ada.mail);
  await current.getByText('Sign in with your Contoso AD directory password.').waitFor();
  assert.equal(await current.getByRole('link', { name: /Continue with/ }).count(), 0, 'a directory takes the password here');
  await current.getByLabel('Password').fill('not her password');
  await current.getByRole('button', { name: 'Sign in' }).click();
  await current.getByText('The email or password is wrong, or the account is locked or disabled.').waitFor();
  await current.getByLabel('Password').fill(directory.users.ada.password);
  await current.getByRole('button', { name: 'Sign in' }).click();
  await current.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
  await current.getByText(directory.users.ada.displayName).first().waitFor();
  await current.getByRole('listitem').filter({ hasText: TEAM }).getByText('operator', { exact: true }).waitFor();
  await h.shot(current, '05-ldap-landed');

  await admin.goto('/audit');
  await admin.getByText('auth.sso.login.failed').first().waitFor();
  await admin.getByText('member.mapped').first().waitFor();
});

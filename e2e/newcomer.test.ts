/**
 * A newcomer's first hour, in a real Chromium against the real server (SQLite):
 * set the platform up (and find the spent setup link say so), create a team, invite a
 * viewer by link, let the viewer join (signed in by it) and find every change refused,
 * then read all of it in the audit log, verify the chain in the UI and with the CLI.
 *
 * Needs the built UI (npm run build:web) and Chromium at /usr/bin/chromium
 * (or FLOWGATE_CHROMIUM). FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { totpCode } from '../packages/server/src/security/totp.ts';
import type { TestApp } from '../packages/server/test/harness.ts';
import { ROOT, startBrowserWalk, STEP_TIMEOUT, type BrowserWalk } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const VIEWER = { email: 'vic@plant.example', name: 'Vic Viewer', password: 'orchard pebble winter sails' };
const TEAM = 'Line 3 Packaging';
const BANNER = 'Authorised use only. Activity on this system is recorded and reviewed.';

let h: BrowserWalk;
let t: TestApp;
let base: string;
const shot = (page: Page, name: string) => h.shot(page, name);
const newPage = (permissions?: string[]) => h.newPage(permissions);
/** Left by the first test for the second, which goes on with the same people and team. */
const walk: { admin?: Page; viewer?: Page; teamId?: string } = {};

/** A change the viewer tries straight through the API, with the page's own session and CSRF token. */
async function attempt(page: Page, method: string, url: string, body?: unknown) {
  return page.evaluate(
    async ({ method, url, body }) => {
      const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
      const response = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify(body ?? {}),
      });
      return { status: response.status, type: response.headers.get('content-type'), problem: (await response.json()) as { detail: string } };
    },
    { method, url, body },
  );
}

before(async () => {
  h = await startBrowserWalk('');
  ({ t, base } = h);
});

// Where each page stood when a test ended: the first thing to look at when one fails.
afterEach(async () => {
  if (walk.admin) await shot(walk.admin, 'last-admin').catch(() => {});
  if (walk.viewer) await shot(walk.viewer, 'last-viewer').catch(() => {});
});

after(async () => {
  await h?.close();
});

test('a newcomer sets up, invites a viewer who can change nothing, and the audit log tells it all', { timeout: 180_000 }, async () => {
  // --- The admin sets the platform up with the one-time link.
  const admin = await newPage(['clipboard-read', 'clipboard-write']);
  const setupToken = t.context.setup.token;
  assert.ok(setupToken, 'a fresh platform has a setup token');
  // Before setup, the sign-in page points at the first start.
  await admin.goto('/sign-in');
  await admin.getByRole('link', { name: 'First start?' }).waitFor();
  await admin.goto(`/setup?token=${setupToken}`);
  await admin.getByRole('heading', { name: 'Set up Flowgate' }).waitFor();
  await admin.getByLabel('Email', { exact: true }).fill(ADMIN.email);
  await admin.getByLabel('Name', { exact: true }).fill(ADMIN.name);
  await admin.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await admin.getByLabel('Repeat password').fill(ADMIN.password);
  await admin.getByText('This password meets the policy.').waitFor();
  await shot(admin, '01-setup');
  await admin.getByRole('button', { name: 'Create admin account' }).click();
  await admin.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
  await admin.getByRole('banner').getByText(ADMIN.name).waitFor();

  // --- The link is spent: opened again, it says so at once, and what to do instead.
  const stranger = await newPage();
  await stranger.goto(`/setup?token=${setupToken}`);
  await stranger.getByText('This setup link was used: Flowgate is set up.').waitFor();
  assert.equal(await stranger.getByRole('button', { name: 'Create admin account' }).count(), 0, 'no form to fill in for nothing');
  await stranger.locator('code', { hasText: 'flowgate admin create' }).waitFor();
  await shot(stranger, '01b-setup-used');
  // And the sign-in page no longer offers a first start.
  await stranger.getByRole('link', { name: 'Sign in' }).click();
  await stranger.getByRole('heading', { name: 'Sign in' }).waitFor();
  await stranger.getByText('Invited to a team?').waitFor();
  assert.equal(await stranger.getByRole('link', { name: 'First start?' }).count(), 0, 'no "First start?" once set up');
  await stranger.close();

  // --- The admin writes the login banner people see before signing in.
  await admin.getByRole('link', { name: 'Platform' }).click();
  await admin.getByRole('heading', { name: 'Users' }).waitFor();
  await admin.getByLabel('Login banner').fill(BANNER);
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await admin.getByText('Settings saved.').waitFor();
  await shot(admin, '02-platform');

  // --- The admin creates a team and invites a viewer; no mail server, so the link is shown.
  await admin.getByRole('link', { name: 'Teams' }).click();
  await admin.getByLabel('Team name').fill(TEAM);
  await admin.getByRole('button', { name: 'Create team' }).click();
  await admin.getByRole('heading', { name: TEAM, level: 1 }).waitFor();
  const teamId = new URL(admin.url()).pathname.split('/')[2]!;
  assert.match(teamId, /^[A-Za-z0-9_-]+$/);
  Object.assign(walk, { admin, teamId });

  await admin.getByLabel('Email address').fill(VIEWER.email);
  await admin.getByLabel('Role', { exact: true }).selectOption('viewer');
  await admin.getByRole('button', { name: 'Send invitation' }).click();
  const linkField = admin.getByLabel('Invitation link');
  await linkField.waitFor();
  const shownLink = await linkField.inputValue();
  assert.ok(shownLink.startsWith(`${base}/invite/`), `the invitation link points at this platform: ${shownLink}`);
  await admin.getByRole('button', { name: 'Copy invitation link' }).click();
  await admin.getByText('Copied to the clipboard.').waitFor();
  const copied = await admin.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shownLink);
  await admin.getByRole('rowheader', { name: VIEWER.email }).waitFor();
  await shot(admin, '03-team-invited');

  // --- The viewer, in a browser of their own, opens the link and creates an account.
  const viewer = await newPage();
  walk.viewer = viewer;
  await viewer.goto(copied);
  await viewer.getByText(`You are invited to ${TEAM} as viewer.`).waitFor();
  await viewer.getByLabel('Your name').fill(VIEWER.name);
  await viewer.getByLabel('Password', { exact: true }).fill(VIEWER.password);
  await viewer.getByLabel('Repeat password').fill(VIEWER.password);
  await shot(viewer, '04-invite');
  // The login banner is shown before the account is made, as before any sign-in.
  assert.equal((await viewer.getByRole('region', { name: 'Notice' }).textContent())?.trim(), BANNER);
  await viewer.getByRole('button', { name: 'Create account and join' }).click();

  // --- Making the account signed them in: they land on the team, with no second password entry.
  await viewer.getByRole('heading', { name: TEAM, level: 1 }).waitFor();
  await viewer.getByRole('banner').getByText(VIEWER.name).waitFor();
  await shot(viewer, '05-joined');

  // --- Every change is out of the viewer's reach in the UI...
  await viewer.getByText('you: viewer').waitFor();
  await viewer.getByText('you can see this team but not change it').waitFor();
  await viewer.getByRole('rowheader', { name: ADMIN.name }).waitFor();
  await viewer.getByText('No pending invitations.').waitFor();
  await shot(viewer, '06-team-as-viewer');
  for (const name of ['Send invitation', 'Rename team', 'Save MFA policy', 'Delete team', /^Remove /, /^Revoke /]) {
    assert.equal(await viewer.getByRole('button', { name }).count(), 0, `no "${String(name)}" button for a viewer`);
  }
  assert.equal(await viewer.getByRole('combobox', { name: /^Role of / }).count(), 0, 'roles are shown, not editable');
  assert.equal(await viewer.getByLabel('Team name').count(), 0, 'no rename field');
  assert.equal(await viewer.getByRole('link', { name: "Open the team's audit trail" }).count(), 0, 'a viewer does not read the audit trail');
  const nav = viewer.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Platform' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0);

  // ...and refused by the server when tried anyway, with the reason in problem+json.
  const adminId = await admin.evaluate(async () => ((await (await fetch('/api/auth/session')).json()) as { user: { id: string } }).user.id);
  const attempts: Array<[string, string, unknown, string]> = [
    ['PATCH', `/api/teams/${teamId}`, { name: 'Renamed by a viewer' }, 'team:update'],
    ['PATCH', `/api/teams/${teamId}`, { requireMfa: true }, 'team:update'],
    ['POST', `/api/teams/${teamId}/invitations`, { email: 'friend@plant.example', role: 'owner' }, 'members:write'],
    ['PATCH', `/api/teams/${teamId}/members/${adminId}`, { role: 'viewer' }, 'members:write'],
    ['DELETE', `/api/teams/${teamId}/members/${adminId}`, undefined, 'members:write'],
    ['DELETE', `/api/teams/${teamId}`, undefined, 'team:delete'],
    ['PATCH', '/api/platform/settings', { loginBanner: '' }, 'platform:settings:write'],
  ];
  for (const [method, url, body, permission] of attempts) {
    const answer = await attempt(viewer, method, url, body);
    assert.equal(answer.status, 403, `${method} ${url} is refused`);
    assert.match(answer.type ?? '', /application\/problem\+json/);
    assert.equal(answer.problem.detail, `Your role does not allow ${permission}.`);
  }
  // The platform page, opened directly, shows the server's own refusal.
  await viewer.goto('/platform');
  for (const section of ['Settings', 'Sign-in providers']) {
    await viewer.getByRole('region', { name: section }).getByRole('alert').filter({ hasText: 'Your role does not allow platform:settings:read.' }).waitFor();
  }
  await shot(viewer, '07-platform-refused');
  // Nothing changed.
  await viewer.goto(`/teams/${teamId}`);
  await viewer.getByRole('heading', { name: TEAM, level: 1 }).waitFor();
  await viewer.getByText('you: viewer').waitFor();

  // --- As the team's owner, the admin first reads the team's own trail...
  await admin.goto(`/teams/${teamId}`);
  await admin.getByRole('link', { name: "Open the team's audit trail" }).click();
  await admin.getByRole('heading', { name: `Audit trail of ${TEAM}` }).waitFor();
  await admin.getByRole('row').filter({ hasText: 'member.joined' }).first().waitFor();
  assert.equal(await admin.getByRole('row').filter({ hasText: 'platform.setup.completed' }).count(), 0, 'only this team');
  assert.equal(await admin.getByRole('button', { name: 'Verify chain' }).count(), 0, 'the whole chain is verified by platform admins');

  // --- ...then, as platform admin, the whole audit log.
  await admin.getByRole('link', { name: 'Audit log' }).click();
  await admin.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
  const rows = admin.getByRole('row');
  await rows.filter({ hasText: 'member.joined' }).first().waitFor();
  for (const event of ['platform.setup.completed', 'team.created', 'member.invited', 'member.joined', 'auth.access.denied']) {
    assert.ok((await rows.filter({ hasText: event }).count()) >= 1, `the log shows ${event}`);
  }
  assert.ok((await rows.filter({ hasText: 'member.joined' }).filter({ hasText: VIEWER.email }).count()) >= 1, 'the viewer joined, in their own name');
  const denied = rows.filter({ hasText: 'auth.access.denied' }).filter({ hasText: VIEWER.email });
  assert.ok((await denied.count()) >= attempts.length, 'every refused attempt is in the log');
  assert.ok((await denied.filter({ hasText: 'needs team:update (role viewer)' }).count()) >= 2, 'a refusal says what was needed');
  assert.match((await denied.first().locator('.outcome-denied').textContent()) ?? '', /denied/, 'a refusal is marked denied');
  await shot(admin, '08-audit');

  // Paging back in time, ten at a time.
  const seqs = async () => (await admin.locator('tbody tr td:first-child').allTextContents()).map(Number);
  await admin.getByLabel('Per page').selectOption('10');
  await admin.waitForFunction(() => document.querySelectorAll('tbody tr').length === 10, undefined, { timeout: STEP_TIMEOUT });
  const newest = await seqs();
  await admin.getByRole('button', { name: /Older/ }).click();
  await admin.getByText(`Events before #${newest.at(-1)}`).waitFor();
  await admin.waitForFunction((n) => Number(document.querySelector('tbody tr td')?.textContent) < n, newest.at(-1)!, { timeout: STEP_TIMEOUT });
  const older = await seqs();
  assert.ok(older.length > 0 && Math.max(...older) < Math.min(...newest), 'the older page holds older events');
  await admin.getByRole('button', { name: /Newer/ }).click();
  await admin.getByText('Newest events').waitFor();
  await admin.getByLabel('Per page').selectOption('50');

  // Only the refusals, through the outcome filter.
  await admin.getByLabel('Outcome').selectOption('denied');
  await admin.getByRole('button', { name: 'Apply filters' }).click();
  await admin.waitForURL(/outcome=denied/);
  await rows.filter({ hasText: 'member.joined' }).first().waitFor({ state: 'detached' });
  const deniedOnly = await admin.locator('tbody tr').count();
  assert.ok(deniedOnly >= attempts.length);
  assert.equal(
    await admin
      .locator('tbody tr')
      .filter({ has: admin.locator('.outcome-denied') })
      .count(),
    deniedOnly,
  );

  // Export what is shown as JSON Lines.
  const [download] = await Promise.all([admin.waitForEvent('download', { timeout: STEP_TIMEOUT }), admin.getByRole('link', { name: 'Export JSONL' }).click()]);
  const exported = fs
    .readFileSync((await download.path())!, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string; outcome: string });
  assert.ok(exported.length >= attempts.length);
  assert.ok(exported.every((e) => e.outcome === 'denied'));

  // The chain verifies from the UI...
  await admin.getByRole('button', { name: 'Verify chain' }).click();
  await admin.getByRole('status').filter({ hasText: 'Audit log intact.' }).waitFor();
  await shot(admin, '09-audit-verified');

  // ...and from the CLI, on the same database.
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'packages/server/bin/flowgate.js'), 'audit', 'verify'], {
    cwd: ROOT,
    env: { ...process.env, FLOWGATE_DATABASE_URL: t.db.url, FLOWGATE_DATA_DIR: t.db.dataDir },
    timeout: 60_000,
  }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
    assert.fail(`flowgate audit verify exited ${error.code}: ${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
  assert.match(stdout, /^audit log intact: \d+ events, \d+ signed checkpoints, head at \d+/m, stdout);
});

test('a team that requires MFA makes the viewer enrol at sign-in; then codes, tokens and sign out everywhere', { timeout: 120_000 }, async () => {
  const { admin, viewer, teamId } = walk;
  assert.ok(admin && viewer && teamId, 'runs after the newcomer walk');

  // --- The owner turns on the team's MFA policy.
  await admin.goto(`/teams/${teamId}`);
  await admin.getByLabel('Require MFA for every member of this team').check();
  await admin.getByRole('button', { name: 'Save MFA policy' }).click();
  await admin.getByText('Members must now use MFA.').waitFor();
  await admin.getByText('MFA required').waitFor();

  // --- The viewer's next sign-in stops at enrolment.
  await viewer.getByRole('button', { name: 'Sign out' }).click();
  await viewer.getByRole('heading', { name: 'Sign in' }).waitFor();
  await viewer.getByLabel('Email').fill(VIEWER.email);
  await viewer.getByLabel('Password').fill(VIEWER.password);
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await viewer.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
  await viewer.getByRole('button', { name: 'Set up MFA' }).click();
  const qr = viewer.getByRole('img', { name: 'QR code to add Flowgate to your authenticator app' });
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), 'the QR code renders under the CSP');
  await viewer.getByText('Cannot scan? Type the key instead').click();
  const secret = ((await viewer.getByTestId('totp-secret').textContent()) ?? '').trim();
  assert.match(secret, /^[A-Z2-7]+=*$/);
  await shot(viewer, '10-mfa-enrol');
  await viewer.getByLabel('Code from the app').fill(totpCode(secret, Date.now()));
  await viewer.getByRole('button', { name: 'Turn on MFA' }).click();
  const codes = viewer.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  await shot(viewer, '11-recovery-codes');
  await viewer.getByRole('button', { name: 'I have stored my codes, continue' }).click();
  await viewer.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
  await viewer.getByRole('link', { name: TEAM }).waitFor();

  // --- Next time, the code from the app (the next 30-second step: each code works once).
  await viewer.getByRole('button', { name: 'Sign out' }).click();
  await viewer.getByLabel('Email').fill(VIEWER.email);
  await viewer.getByLabel('Password').fill(VIEWER.password);
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await viewer.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  await viewer.getByLabel('Authentication code').fill('000000');
  await viewer.getByRole('button', { name: 'Verify' }).click();
  await viewer.getByRole('alert').filter({ hasText: 'The code is wrong or was used already.' }).waitFor();
  await viewer.getByLabel('Authentication code').fill(totpCode(secret, Date.now() + 30_000));
  await viewer.getByRole('button', { name: 'Verify' }).click();
  await viewer.getByRole('heading', { name: 'Teams', exact: true }).waitFor();

  // --- The account page: MFA is on and held by policy; a token is shown once, then revoked.
  await viewer.getByRole('link', { name: 'Account' }).click();
  await viewer.getByRole('heading', { name: 'Your account' }).waitFor();
  await viewer.getByText('cannot be turned off').waitFor();
  await viewer.getByLabel('Token name').fill('line-3 dashboard');
  await viewer.getByRole('button', { name: 'Create token' }).click();
  const tokenValue = await viewer.getByLabel('Token', { exact: true }).inputValue();
  assert.ok(tokenValue.length >= 20, 'the token is shown');
  const tokenReply = await fetch(`${base}/api/teams/${teamId}`, { headers: { authorization: `Bearer ${tokenValue}` } });
  assert.equal(tokenReply.status, 200, 'the token reads the team');
  await viewer.getByRole('rowheader', { name: 'line-3 dashboard' }).waitFor();
  await shot(viewer, '12-account');
  await viewer.getByRole('button', { name: 'I have stored it, hide it' }).click();
  assert.equal(await viewer.getByLabel('Token', { exact: true }).count(), 0, 'shown once only');
  await viewer.getByRole('button', { name: 'Revoke token line-3 dashboard' }).click();
  await viewer.getByRole('button', { name: 'Yes, revoke' }).click();
  await viewer.getByText('No active tokens.').waitFor();
  assert.equal((await fetch(`${base}/api/teams/${teamId}`, { headers: { authorization: `Bearer ${tokenValue}` } })).status, 401, 'a revoked token is refused');

  // --- Sign out everywhere ends this session too.
  await viewer.getByRole('button', { name: 'Sign out everywhere' }).click();
  await viewer.getByRole('button', { name: 'Yes, sign out everywhere' }).click();
  await viewer.getByRole('heading', { name: 'Sign in' }).waitFor();
  const session = await viewer.evaluate(async () => ((await (await fetch('/api/auth/session')).json()) as { signedIn: boolean }).signedIn);
  assert.equal(session, false);
});

test('a viewer who forgot the password and lost the authenticator gets back in: the admin issues a reset link and resets MFA', { timeout: 120_000 }, async () => {
  const { admin, viewer } = walk;
  assert.ok(admin && viewer, 'runs after the MFA walk');
  const NEW_PASSWORD = 'meadow copper harbour rings';

  // --- The admin, on the platform page: a one-time link to pass on (no mail server here), and MFA reset.
  await admin.goto('/platform');
  await admin.getByRole('button', { name: `Reset password of ${VIEWER.name}` }).click();
  const link = await admin.getByLabel('Password reset link').inputValue();
  assert.match(link, /\/reset-password\/[A-Za-z0-9_-]{20,}$/);
  await admin.getByRole('button', { name: `Reset MFA of ${VIEWER.name}` }).click();
  await admin
    .getByRole('group', { name: `Reset MFA of ${VIEWER.name}` })
    .getByRole('button', { name: 'Yes, reset mfa' })
    .click();
  await admin.getByRole('row').filter({ hasText: VIEWER.email }).getByRole('cell', { name: 'off' }).waitFor();
  await shot(admin, '13-password-reset-issued');

  // --- The viewer opens the link, sets a new password, and signs in with it; the team's
  // policy then asks for MFA enrolment again, since it was reset.
  await viewer.goto(link);
  await viewer.getByRole('heading', { name: 'Set a new password' }).waitFor();
  await viewer.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await viewer.getByLabel('Repeat new password').fill(NEW_PASSWORD);
  await viewer.getByRole('button', { name: 'Set password' }).click();
  await viewer.getByText('Your new password is set. Sign in with it.').waitFor();
  await viewer.getByLabel('Password').fill(VIEWER.password);
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await viewer.getByRole('alert').waitFor();
  await viewer.getByLabel('Password').fill(NEW_PASSWORD);
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await viewer.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
  await shot(viewer, '14-after-reset');

  // The link is spent.
  await viewer.goto(link);
  await viewer.getByRole('heading', { name: 'Set a new password' }).waitFor();
  await viewer.getByText(/Password reset link was not found/).waitFor();
});

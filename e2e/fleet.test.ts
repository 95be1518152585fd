/**
 * The fleet pages in a real Chromium against the real server (SQLite): an owner adds a
 * site and a device group, makes a provisioning token (shown once); a device registers
 * with it over the device protocol and is revoked from the page, cut off at once; a
 * second token keeps its site from being deleted until revoked; a viewer of the team sees
 * the fleet and no way to change it. The device here speaks the protocol with fetch; the
 * real agent's --provision is tested in packages/server/src/features/fleet/device-agent.test.ts.
 *
 * FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { invitePerson, setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const VIEWER = { email: 'vic@plant.example', name: 'Vic Viewer', password: 'orchard pebble winter sails' };
const TEAM = 'Line 3 Packaging';

let h: BrowserWalk;
const walk: { admin?: Page; viewer?: Page; teamId?: string } = {};

before(async () => {
  h = await startBrowserWalk('fleet-');
});
afterEach(async () => {
  if (walk.admin) await h.shot(walk.admin, 'last-admin').catch(() => {});
  if (walk.viewer) await h.shot(walk.viewer, 'last-viewer').catch(() => {});
});
after(async () => {
  await h?.close();
});

test('an owner sets up a site, a group and a token; a device registers with it and is cut off when revoked', { timeout: 120_000 }, async () => {
  const admin = await h.newPage(['clipboard-read', 'clipboard-write']);
  walk.admin = admin;
  walk.teamId = await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);

  // --- The fleet page, from the team page.
  await admin.getByRole('link', { name: /^Fleet/ }).click();
  await admin.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  await admin.getByText('No sites yet.').waitFor();
  await admin.getByText('Add a site first: every device belongs to one.').waitFor();

  // --- A site: a wrong time zone is refused with the server's reason, then a right one.
  await admin.getByLabel('Site name').fill('Plant Hamburg');
  await admin.getByLabel('Location').fill('Billbrook, hall 3');
  await admin.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await admin.getByRole('button', { name: 'Add site' }).click();
  await admin.getByRole('alert').filter({ hasText: 'is not a time zone' }).waitFor();
  await admin.getByLabel('Time zone').fill('Europe/Berlin');
  await admin.getByRole('button', { name: 'Add site' }).click();
  const siteRow = admin.getByRole('region', { name: 'Sites' }).getByRole('row').filter({ hasText: 'Plant Hamburg' });
  await siteRow.getByText('Europe/Berlin').waitFor();

  // --- A device group.
  await admin.getByLabel('Group name').fill('Line 3 edge');
  await admin.getByLabel('Group description').fill('Gateways next to the line 3 PLCs');
  await admin.getByRole('button', { name: 'Add group' }).click();
  await admin.getByRole('row').filter({ hasText: 'Line 3 edge' }).waitFor();
  await h.shot(admin, '01-site-and-group');

  // --- A provisioning token bound to both: shown once.
  await admin.getByLabel('Site for the device', { exact: true }).selectOption({ label: 'Plant Hamburg' });
  await admin.getByLabel('Device group', { exact: true }).selectOption({ label: 'Line 3 edge' });
  await admin.getByLabel('Token description').fill('Commissioning line 3');
  await admin.getByLabel('Expires after').selectOption({ label: '8 hours (a shift)' });
  await admin.getByRole('button', { name: 'Make token' }).click();
  await admin.getByRole('heading', { name: 'Give this token to the device' }).waitFor();
  const token = await admin.getByLabel('Token', { exact: true }).inputValue();
  assert.match(token, /^fgp_/);
  assert.equal(await admin.getByLabel('Command', { exact: true }).inputValue(), `npx flowgate-agent --platform ${h.base} --provision ${token}`);
  await admin.getByRole('button', { name: 'Copy token' }).click();
  await admin.getByText('Copied to the clipboard.').first().waitFor();
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), token);
  const tokenRow = admin.getByRole('row').filter({ hasText: 'Commissioning line 3' });
  await tokenRow.getByText('active', { exact: true }).waitFor();
  await tokenRow.getByText('one-time code', { exact: false }).waitFor();
  await h.shot(admin, '02-token-made');

  // Once: after "Done" and a reload the token is nowhere on the page.
  await admin.getByRole('button', { name: 'Done' }).click();
  await admin.reload();
  await tokenRow.waitFor();
  assert.equal(((await admin.content()).match(new RegExp(token, 'g')) ?? []).length, 0, 'the token is shown only once');

  // --- A device registers with it over the device protocol (as its agent would), and checks in.
  const registered = await fetch(`${h.base}/api/fleet/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, name: 'edge-gw-line3', agentVersion: '0.1.0', nodeRedVersion: '4.1.8' }),
  });
  assert.equal(registered.status, 201);
  const { credential } = (await registered.json()) as { credential: string };
  const checkIn = () => fetch(`${h.base}/api/fleet/v1/check-in`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` }, body: JSON.stringify({ agentVersion: '0.1.0' }) });
  assert.equal((await checkIn()).status, 200);
  await admin.getByRole('button', { name: 'Refresh' }).click();
  const deviceRow = admin.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: 'edge-gw-line3' });
  await deviceRow.getByText('registered', { exact: true }).waitFor();
  const deviceGroup = deviceRow.getByLabel('Group of edge-gw-line3');
  assert.equal(await deviceRow.getByLabel('Site of edge-gw-line3').locator('option:checked').textContent(), 'Plant Hamburg');
  assert.equal(await deviceGroup.locator('option:checked').textContent(), 'Line 3 edge');
  // Out of its group, from the page; the list says so after a refresh.
  await deviceGroup.selectOption({ label: 'None' });
  await admin.getByRole('button', { name: 'Refresh' }).click();
  await admin.waitForFunction(() => (document.querySelector('select[aria-label="Group of edge-gw-line3"]') as HTMLSelectElement | null)?.value === '');
  await tokenRow.getByText('used', { exact: true }).waitFor();
  await h.shot(admin, '02b-device-registered');

  // --- Revoked from the page, the device is cut off at once.
  await deviceRow.getByRole('button', { name: 'Revoke device edge-gw-line3' }).click();
  await deviceRow.getByRole('button', { name: 'Yes, revoke' }).click();
  await deviceRow.getByText('revoked', { exact: true }).waitFor();
  assert.equal((await checkIn()).status, 401, 'a revoked device is refused');

  // --- A second token, for many devices this time: while usable, it keeps its site from being deleted.
  await admin.getByLabel('Site for the device', { exact: true }).selectOption({ label: 'Plant Hamburg' });
  await admin.getByLabel('Token description').fill('Spare gateways');
  await admin.getByLabel('One-time code: spent by the first device that registers').uncheck();
  await admin.getByRole('button', { name: 'Make token' }).click();
  await admin.getByRole('button', { name: 'Done' }).click();
  const spareRow = admin.getByRole('row').filter({ hasText: 'Spare gateways' });
  await spareRow.getByText('active', { exact: true }).waitFor();
  await siteRow.getByRole('button', { name: 'Delete site Plant Hamburg' }).click();
  await siteRow.getByRole('button', { name: /^Yes/ }).click();
  await admin.getByRole('alert').filter({ hasText: 'revoke them first' }).waitFor();
  await spareRow.getByRole('button', { name: /^Revoke token/ }).click();
  await spareRow.getByRole('button', { name: 'Yes, revoke' }).click();
  await spareRow.getByText('revoked', { exact: true }).waitFor();
  assert.equal(await spareRow.getByRole('button', { name: /^Revoke/ }).count(), 0, 'a revoked token offers no revoke');
  await h.shot(admin, '03-token-revoked');

  // --- All of it is in the team's audit trail.
  await admin.goto(`/teams/${walk.teamId}/audit`);
  for (const event of ['site.created', 'device.group.created', 'provisioning.token.created', 'device.registered', 'device.updated', 'device.revoked', 'provisioning.token.revoked']) {
    await admin.getByText(event, { exact: true }).first().waitFor();
  }
  // A refused credential names no team (it proves none): it is in the platform's log.
  await admin.goto('/audit');
  await admin.getByText('device.credential.rejected', { exact: true }).first().waitFor();
});

test('a viewer sees the fleet and no way to change it', { timeout: 90_000 }, async () => {
  const { admin, teamId } = walk;
  assert.ok(admin && teamId, 'runs after the owner walk');
  const viewer = await invitePerson(h, admin, teamId, TEAM, VIEWER, 'viewer');
  walk.viewer = viewer;

  await viewer.goto(`/teams/${teamId}/fleet`);
  await viewer.getByRole('region', { name: 'Sites' }).getByRole('row').filter({ hasText: 'Plant Hamburg' }).waitFor();
  await viewer.getByRole('row').filter({ hasText: 'Spare gateways' }).getByText('revoked', { exact: true }).waitFor();
  await viewer.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: 'edge-gw-line3' }).getByText('revoked', { exact: true }).waitFor();
  for (const name of ['Add site', 'Add group', 'Make token', /^Delete/, /^Revoke/]) {
    assert.equal(await viewer.getByRole('button', { name }).count(), 0, `no "${String(name)}" for a viewer`);
  }
  assert.equal(await viewer.getByRole('combobox').count(), 0, 'no site or group to choose for a viewer');
  await h.shot(viewer, '04-fleet-as-viewer');
});

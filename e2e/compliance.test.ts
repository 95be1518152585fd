/**
 * The compliance pages in a real Chromium against the real server (SQLite): a platform admin
 * grants the compliance and auditor roles on the Users page; the compliance lead finds a device
 * in the unscoped remainder, creates a System under Consideration, scopes the device, adds two
 * zones with their SL-T vectors, puts the device in one, draws a conduit between them, and sees
 * Flowgate's own conduits derived and the diagram drawn; the auditor opens the same SuC and finds
 * no control that changes anything.
 *
 * FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { invitePerson, setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk, apiAs } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const LEAD = { email: 'carla@plant.example', name: 'Carla Compliance', password: 'granite meadow softly hums' };
const AUDITOR = { email: 'otto@plant.example', name: 'Otto Auditor', password: 'velvet harbour slowly turns' };
const TEAM = 'Line 3 Packaging';

let h: BrowserWalk;
const pages: Page[] = [];

before(async () => {
  h = await startBrowserWalk('compliance-');
});
afterEach(async () => {
  for (const [i, page] of pages.entries()) await h.shot(page, `last-${i}`).catch(() => {});
});
after(async () => {
  await h?.close();
});

test('a compliance lead scopes a line into zones and conduits; an auditor reads it and can change nothing', { timeout: 120_000 }, async () => {
  const admin = await h.newPage();
  pages.push(admin);
  const teamId = await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);

  // A device of the team, registered over the device protocol as its agent would.
  const site = await apiAs<{ id: string }>(admin, 'POST', `/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' });
  const { token } = await apiAs<{ token: string }>(admin, 'POST', `/api/teams/${teamId}/provisioning-tokens`, { siteId: site.id });
  const registered = await fetch(`${h.base}/api/fleet/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, name: 'press-1', agentVersion: '0.1.0' }),
  });
  assert.equal(registered.status, 201);

  // The two people join the platform through a team that is then deleted: in no team at all.
  const lobby = await apiAs<{ id: string }>(admin, 'POST', '/api/teams', { name: 'Lobby' });
  const lead = await invitePerson(h, admin, lobby.id, 'Lobby', LEAD, 'viewer');
  const auditor = await invitePerson(h, admin, lobby.id, 'Lobby', AUDITOR, 'viewer');
  pages.push(lead, auditor);
  await apiAs(admin, 'DELETE', `/api/teams/${lobby.id}`);

  // --- The admin grants the platform roles on the Users page.
  await admin.goto('/platform');
  await admin.getByLabel(`Platform role of ${LEAD.name}`).selectOption('compliance');
  await admin
    .getByRole('row', { name: new RegExp(LEAD.name) })
    .getByText('compliance', { exact: true })
    .first()
    .waitFor();
  await admin.getByLabel(`Platform role of ${AUDITOR.name}`).selectOption('auditor');
  await admin
    .getByRole('row', { name: new RegExp(AUDITOR.name) })
    .getByText('auditor', { exact: true })
    .first()
    .waitFor();
  await h.shot(admin, '01-roles-granted');

  // --- The compliance lead: the device is in no SuC yet.
  await lead.goto('/compliance');
  await lead.getByRole('heading', { name: 'Compliance', level: 1 }).waitFor();
  const unscoped = lead.getByRole('table', { name: 'Unscoped' });
  await unscoped.getByRole('row', { name: /press-1/ }).waitFor();
  await lead.getByLabel('Name', { exact: true }).fill('Line 3');
  await lead.getByLabel('Owner', { exact: true }).fill('Head of production, Hamburg');
  await lead.getByRole('button', { name: 'Create', exact: true }).click();
  await lead.getByRole('heading', { name: 'Line 3', level: 1 }).waitFor();
  await h.shot(lead, '02-suc-created');

  // Scope the device.
  await lead.getByText(/Add to the scope/).click();
  await lead.getByRole('button', { name: 'Add press-1 to the scope' }).click();
  await lead
    .getByRole('table', { name: 'In scope' })
    .getByRole('row', { name: /press-1/ })
    .waitFor();

  // Two zones, each with its SL-T vector.
  await lead.getByLabel('Zone name').fill('Cell');
  for (const [fr, level] of [
    ['FR1', '2'],
    ['FR4', '1'],
    ['FR7', '1'],
  ] as const) {
    await lead.getByLabel(new RegExp(`^SL-T ${fr} `)).selectOption(level);
  }
  await lead.getByRole('button', { name: 'Add zone' }).click();
  const zones = lead.getByRole('table', { name: 'Zones' });
  await zones.getByRole('row', { name: /Cell/ }).getByText('2,2,2,1,2,2,1').waitFor();
  await lead.getByLabel('Zone name').fill('Quality office');
  for (let fr = 1; fr <= 7; fr++) await lead.getByLabel(new RegExp(`^SL-T FR${fr} `)).selectOption('1');
  await lead.getByRole('button', { name: 'Add zone' }).click();
  await zones
    .getByRole('row', { name: /Quality office/ })
    .getByText('1,1,1,1,1,1,1')
    .waitFor();

  // The device goes into the cell.
  await lead.getByLabel('Zone of press-1').selectOption({ label: 'Cell' });
  await zones.getByRole('row', { name: /Cell/ }).getByText('press-1').waitFor();

  // A conduit between the zones.
  await lead.getByLabel('Conduit name').fill('Quality data');
  await lead.getByLabel('From', { exact: true }).selectOption({ label: 'Cell' });
  await lead.getByLabel('To', { exact: true }).selectOption({ label: 'Quality office' });
  await lead.getByLabel('Protocols').fill('OPC UA over TLS');
  await lead.getByLabel('Ports').fill('4840/tcp');
  await lead.getByLabel('Direction').selectOption('from-to');
  await lead.getByLabel('Initiated by').selectOption('to');
  await lead.getByRole('button', { name: 'Add conduit' }).click();
  const conduitRow = lead.getByRole('table', { name: 'Conduits' }).getByRole('row', { name: /Quality data/ });
  await conduitRow.getByText('Cell → Quality office').waitFor();
  await conduitRow.getByText('4840/tcp').waitFor();

  // Flowgate's own conduits, derived from the device in the cell: MQTT, HTTPS and the tunnel.
  const derived = lead.getByRole('table', { name: "Flowgate's own conduits" });
  await derived.getByRole('row', { name: /Browsers ↔ platform/ }).waitFor();
  for (const name of ['Cell: devices ↔ platform, MQTT', 'Cell: devices ↔ platform, HTTPS', 'Cell: devices ↔ platform, editor tunnel']) {
    await derived.getByRole('row', { name: new RegExp(name.replace(/[()]/g, '\\$&')) }).waitFor();
  }
  // The diagram is drawn (an image the browser decoded) and the history has the changes.
  const diagram = lead.getByRole('img', { name: /Zones and conduits of Line 3/ });
  await diagram.scrollIntoViewIfNeeded();
  await lead.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('img.suc-diagram');
    return img !== null && img.complete && img.naturalWidth > 0;
  });
  await lead.getByRole('table', { name: 'History' }).getByText('compliance.conduit.created').waitFor();
  await h.shot(lead, '03-suc-scoped');

  // --- The auditor opens the same SuC: everything shown, nothing to change it with.
  const sucUrl = new URL(lead.url()).pathname;
  await auditor.goto('/compliance');
  await auditor.getByRole('link', { name: 'Line 3' }).click();
  await auditor.getByRole('heading', { name: 'Line 3', level: 1 }).waitFor();
  assert.equal(new URL(auditor.url()).pathname, sucUrl);
  await auditor.getByRole('table', { name: 'Zones' }).getByRole('row', { name: /Cell/ }).getByText('2,2,2,1,2,2,1').waitFor();
  await auditor
    .getByRole('table', { name: 'Conduits' })
    .getByRole('row', { name: /Quality data/ })
    .waitFor();
  await auditor.getByRole('table', { name: 'History' }).getByText('compliance.zone.created').first().waitFor();
  const controls = await auditor.locator('main').locator('button, select, input, textarea').count();
  assert.equal(controls, 0, 'the auditor sees a control that would change something');
  await auditor.goto('/compliance');
  await auditor.getByRole('table', { name: 'Systems under Consideration' }).waitFor();
  assert.equal(await auditor.locator('main').locator('button, select, input, textarea').count(), 0);
  await h.shot(auditor, '04-auditor-reads');

  // Every team's audit trail is the auditor's to read, from the Teams page, without being in the team.
  await auditor.goto('/teams');
  await auditor.getByRole('link', { name: `Audit trail of ${TEAM}` }).click();
  await auditor.getByRole('row').filter({ hasText: 'device.registered' }).first().waitFor();
  await auditor.getByRole('heading', { name: `Audit trail of ${TEAM}`, level: 1 }).waitFor();
  await h.shot(auditor, '05-auditor-team-trail');
});

/**
 * Pages that fit: every page of the UI, with realistic data (a fleet of two dozen devices at
 * three sites, members and invitations, sessions from several browsers, tokens, an
 * application with an instance and snapshots, a rollout, a full audit log), opened in a real
 * Chromium at 1366×768 and 1920×1080. A page fails when the document is wider than the
 * window, when anything that scrolls sideways (a table's frame) holds content wider than
 * itself, or when boxes that sit side by side overlap or run into each other (the children
 * of a flex or grid row; a badge, button or field right after text on the same line).
 *
 * Needs the built UI (node scripts/build.mjs) and Chromium at /usr/bin/chromium (or
 * FLOWGATE_CHROMIUM). FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each page at each size.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { invitePerson, setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk, apiAs } from './browser-harness.ts';

const ADMIN = { email: 'ada.lovelace@plant-hamburg.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const VIEWER = { email: 'victor.viewer@plant-hamburg.example', name: 'Victor Viewer-Lindqvist', password: 'orchard pebble winter sails' };
const TEAM = 'Line 3 Packaging';
const VIEWPORTS = [
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
];
/** What people sign in with: the sessions page names each. */
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  'curl/8.5.0',
];

let h: BrowserWalk;
before(async () => {
  h = await startBrowserWalk('layout-');
});
after(async () => {
  await h?.close();
});

function flows(label: string, factor: number) {
  return [
    { id: 'tab1', type: 'tab', label },
    { id: 'in1', type: 'inject', z: 'tab1', name: 'Every second', repeat: '1', payload: '1', payloadType: 'num', wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 'tab1', name: 'Scale filler weight', func: `msg.payload = msg.payload * ${factor};\nreturn msg;`, outputs: 1, wires: [['dbg1']] },
    { id: 'dbg1', type: 'debug', z: 'tab1', name: 'Filler weight out', wires: [] },
  ];
}

/** Everything a team that has been at it for a while has, made through the API as its people would. */
async function seed(admin: Page, teamId: string) {
  const team = `/api/teams/${teamId}`;
  await apiAs(admin, 'POST', '/api/teams', { name: 'Plant Hamburg maintenance and facilities' });
  // People: a member with a session of their own, invitations still open.
  const viewer = await invitePerson(h, admin, teamId, TEAM, VIEWER, 'viewer');
  for (const [email, role] of [
    ['operator.night-shift@plant-hamburg.example', 'operator'],
    ['maria.schneider-oberhausen@plant-hamburg.example', 'member'],
    ['integrator@systems-partner.example', 'viewer'],
  ]) {
    await apiAs(admin, 'POST', `${team}/invitations`, { email, role });
  }
  // The viewer tries a change: refusals in the audit log.
  await viewer.evaluate(async (url) => {
    const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
    await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify({ name: 'Renamed' }) });
  }, team);
  await viewer.close();
  // Sessions from other browsers.
  for (const ua of USER_AGENTS) {
    const response = await fetch(`${h.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': ua },
      body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
    });
    assert.equal(response.status, 200, `sign-in as ${ua}`);
  }
  await apiAs(admin, 'POST', '/api/account/tokens', { name: 'Grafana dashboard (read only)', access: 'read', expiresInDays: 90, teamIds: [teamId] });
  await apiAs(admin, 'POST', '/api/account/tokens', { name: 'CI deploy pipeline', access: 'write', expiresInDays: 30 });

  // The fleet: three sites, two groups, tokens, two dozen devices.
  const sites: Array<{ id: string }> = [];
  for (const [name, location, timeZone] of [
    ['Plant Hamburg-Billbrook', 'Billbrook, hall 3, packaging lines 1 to 4', 'Europe/Berlin'],
    ['Plant Rotterdam Europoort', 'Europoort, building C', 'Europe/Amsterdam'],
    ['Plant Monterrey', 'Parque Industrial, nave 7', 'America/Monterrey'],
  ]) {
    sites.push(await apiAs(admin, 'POST', `${team}/sites`, { name, location, timeZone }));
  }
  const groups: Array<{ id: string }> = [];
  for (const [name, description] of [
    ['Line 3 edge gateways', 'Gateways next to the line 3 PLCs'],
    ['Cold store sensors', 'Temperature loggers in the cold stores'],
  ]) {
    groups.push(await apiAs(admin, 'POST', `${team}/device-groups`, { name, description }));
  }
  const tokens: Array<{ token: string }> = [];
  for (const [i, site] of sites.entries()) {
    tokens.push(
      await apiAs(admin, 'POST', `${team}/provisioning-tokens`, {
        siteId: site.id,
        groupId: groups[i % 2]!.id,
        description: `Commissioning ${['line 3', 'cold store', 'new hall'][i]} (spare gateways)`,
        singleUse: false,
        expiresInHours: 24 * 7,
      }),
    );
  }
  await apiAs(admin, 'POST', `${team}/provisioning-tokens`, { siteId: sites[0]!.id, description: 'One gateway for the filler', singleUse: true });
  const devices: string[] = [];
  for (let i = 0; i < 24; i++) {
    const response = await fetch(`${h.base}/api/fleet/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: tokens[i % 3]!.token,
        name: `edge-gw-${['hamburg', 'rotterdam', 'monterrey'][i % 3]}-line${(i % 4) + 1}-filler-${String(i).padStart(2, '0')}`,
        agentVersion: '0.1.0',
        nodeRedVersion: '4.1.8',
      }),
    });
    assert.equal(response.status, 201);
    const { credential, deviceId } = (await response.json()) as { credential: string; deviceId: string };
    devices.push(deviceId);
    if (i % 4 !== 3) {
      await fetch(`${h.base}/api/fleet/v1/check-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
        body: JSON.stringify({ agentVersion: '0.1.0' }),
      });
    }
  }
  await apiAs(admin, 'POST', `/api/devices/${devices[5]}/revoke`);
  await apiAs(admin, 'PUT', `${team}/fleet-settings`, { offlineAlertMinutes: 15, alertWebhookUrl: 'https://alerts.plant-hamburg.example/hooks/flowgate-offline' });

  // An application, an instance running the second of two snapshots (real Node-RED: the pages show what runs where).
  const application = await apiAs<{ id: string }>(admin, 'POST', `${team}/applications`, {
    name: 'Filler telemetry',
    description: 'Reads the filler weights on line 3 every second, scales them and sends them to the historian and the MES; alarms on drift beyond two grams.',
  });
  const [version] = await apiAs<string[]>(admin, 'GET', '/api/node-red-versions');
  const instance = await apiAs<{ id: string }>(admin, 'POST', `/api/applications/${application.id}/instances`, { name: 'production line 3', nodeRedVersion: version });
  const first = await apiAs<{ id: string }>(admin, 'POST', `/api/instances/${instance.id}/snapshots`, {
    name: 'Before the filler recalibration',
    description: 'As commissioned in November.',
    flows: flows('Filler line 3', 2),
  });
  const second = await apiAs<{ id: string }>(admin, 'POST', `/api/instances/${instance.id}/snapshots`, {
    name: 'After the filler recalibration (factor 3)',
    description: 'New scale factor from the calibration report of 4 December.',
    flows: flows('Filler line 3 (recalibrated)', 3),
  });
  await apiAs(admin, 'POST', `/api/instances/${instance.id}/deploy`, { snapshotId: second.id });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const state = await apiAs<{ status: string; runningSnapshotId: string | null }>(admin, 'GET', `/api/instances/${instance.id}`);
    if (state.status === 'running' && state.runningSnapshotId === second.id) break;
    assert.ok(Date.now() < deadline, `the instance runs the second snapshot (now ${state.status}, running ${state.runningSnapshotId})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const rollout = await apiAs<{ id: string }>(admin, 'POST', `/api/device-groups/${groups[0]!.id}/rollouts`, { snapshotId: second.id, batchSize: 2 });
  // A System under Consideration: the Hamburg line, its gateways in two zones, a conduit between them and one to the outside.
  const suc = await apiAs<{ id: string }>(admin, 'POST', '/api/compliance/sucs', {
    name: 'Hamburg line 1 filling and packaging',
    owner: 'Head of production, Plant Hamburg',
    boundary: 'The line 1 cell network up to the plant firewall FW-HH-01',
  });
  const inLine = devices.filter((_, i) => i % 3 === 0 && i !== 5).slice(0, 6);
  await apiAs(admin, 'PUT', `/api/compliance/sucs/${suc.id}/members`, {
    members: [{ kind: 'site', id: sites[0]!.id }, { kind: 'instance', id: instance.id }, ...inLine.map((id) => ({ kind: 'device', id }))],
  });
  const cell = await apiAs<{ id: string }>(admin, 'POST', `/api/compliance/sucs/${suc.id}/zones`, {
    name: 'Filler cell',
    slTarget: [2, 2, 2, 1, 2, 2, 1],
    members: inLine.slice(0, 4).map((id) => ({ kind: 'device', id })),
  });
  const office = await apiAs<{ id: string }>(admin, 'POST', `/api/compliance/sucs/${suc.id}/zones`, {
    name: 'Quality office',
    slTarget: [1, 1, 1, 1, 1, 1, 1],
    members: [{ kind: 'instance', id: instance.id }, ...inLine.slice(4).map((id) => ({ kind: 'device', id }))],
  });
  await apiAs(admin, 'POST', `/api/compliance/sucs/${suc.id}/conduits`, {
    name: 'Quality measurements',
    fromZoneId: cell.id,
    toZoneId: office.id,
    protocols: 'OPC UA over TLS (Basic256Sha256, SignAndEncrypt)',
    ports: '4840/tcp',
    direction: 'from-to',
    initiator: 'to',
    crossing: 'Fill weights and rejects, read only',
  });
  await apiAs(admin, 'POST', `/api/compliance/sucs/${suc.id}/conduits`, {
    name: 'ERP orders',
    fromZoneId: office.id,
    toZoneId: null,
    protocols: 'HTTPS',
    ports: '443/tcp',
    direction: 'both',
    initiator: 'from',
  });
  return { applicationId: application.id, instanceId: instance.id, first: first.id, second: second.id, deviceId: devices[0]!, rolloutId: rollout.id, sucId: suc.id };
}

interface Problem {
  kind: 'document' | 'scroll' | 'overlap' | 'touch';
  what: string;
}

/** Runs in the page: what does not fit. */
function findProblems(): Problem[] {
  const problems: Problem[] = [];
  const describe = (el: Element): string => {
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const name = el.getAttribute('aria-label') ?? (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
    const section = el.closest('section')?.querySelector('h2')?.textContent;
    return `${el.tagName.toLowerCase()}${cls}${name ? ` “${name}”` : ''}${section ? ` in “${section}”` : ''}`;
  };
  const visible = (el: Element) => {
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    return style.visibility !== 'hidden' && style.display !== 'none' && rect.width > 0 && rect.height > 0;
  };
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) problems.push({ kind: 'document', what: `the document is ${root.scrollWidth} px wide in a ${root.clientWidth} px window` });
  for (const el of Array.from(document.querySelectorAll('body *'))) {
    if (!visible(el) || el.matches('textarea, select, input, pre, .log-view')) continue;
    const style = getComputedStyle(el);
    if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
      problems.push({ kind: 'scroll', what: `${describe(el)}: content ${el.scrollWidth} px wide in ${el.clientWidth} px` });
    }
    // Side by side in a flex or grid container: no two boxes overlap.
    if (/flex|grid/.test(style.display)) {
      const children = Array.from(el.children).filter((c) => visible(c) && !/absolute|fixed/.test(getComputedStyle(c).position));
      for (let i = 0; i < children.length; i++) {
        for (let j = i + 1; j < children.length; j++) {
          const a = children[i]!.getBoundingClientRect();
          const b = children[j]!.getBoundingClientRect();
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const hgt = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && hgt > 1)
            problems.push({ kind: 'overlap', what: `${describe(children[i]!)} and ${describe(children[j]!)} overlap by ${Math.round(w)}×${Math.round(hgt)} px` });
        }
      }
    }
  }
  // A badge, button or field right after text or another such box on the same line keeps a gap.
  for (const el of Array.from(document.querySelectorAll('.badge, button, .button, select, input:not([type=hidden])'))) {
    if (!visible(el) || /flex|grid/.test(getComputedStyle(el.parentElement!).display)) continue;
    let prev = el.previousSibling;
    while (prev && prev.nodeType === Node.TEXT_NODE && !(prev.textContent ?? '').trim()) prev = prev.previousSibling;
    if (!prev) continue;
    let before: DOMRect | undefined;
    if (prev.nodeType === Node.TEXT_NODE) {
      const range = document.createRange();
      range.selectNodeContents(prev);
      const rects = range.getClientRects();
      before = rects[rects.length - 1];
    } else if (prev instanceof Element && visible(prev) && /^inline/.test(getComputedStyle(prev).display)) {
      // An inline box that wraps has a box per line: the last one is what comes before.
      const rects = prev.getClientRects();
      before = rects[rects.length - 1];
    }
    if (!before) continue;
    const box = el.getBoundingClientRect();
    const sameLine = Math.min(box.bottom, before.bottom) - Math.max(box.top, before.top) > Math.min(box.height, before.height) / 2;
    const gap = box.left - before.right;
    if (sameLine && gap < 2 && box.left >= before.left) {
      problems.push({ kind: 'touch', what: `${describe(el)} runs into the text before it (“${(prev.textContent ?? '').trim().slice(-20)}”, gap ${gap.toFixed(1)} px)` });
    }
  }
  return problems;
}

test('every page fits at 1366×768 and 1920×1080, with nothing overlapping', { timeout: 300_000 }, async (t) => {
  const admin = await h.newPage();
  const teamId = await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);
  const ids = await seed(admin, teamId);

  const pages: Array<{ path: string; ready: (page: Page) => Promise<void> }> = [
    { path: '/teams', ready: (p) => p.getByRole('link', { name: TEAM }).first().waitFor() },
    { path: `/teams/${teamId}`, ready: (p) => p.getByRole('rowheader', { name: /integrator@/ }).waitFor() },
    { path: `/teams/${teamId}/fleet`, ready: (p) => p.getByRole('link', { name: 'edge-gw-hamburg-line1-filler-00' }).first().waitFor() },
    { path: `/devices/${ids.deviceId}`, ready: (p) => p.getByRole('heading', { name: 'edge-gw-hamburg-line1-filler-00', level: 1 }).waitFor() },
    { path: `/rollouts/${ids.rolloutId}`, ready: (p) => p.getByRole('heading', { level: 1 }).waitFor() },
    { path: `/teams/${teamId}/audit`, ready: (p) => p.getByRole('row').filter({ hasText: 'device.registered' }).first().waitFor() },
    { path: '/audit', ready: (p) => p.getByRole('row').filter({ hasText: 'device.registered' }).first().waitFor() },
    {
      path: '/account',
      ready: (p) =>
        p
          .getByRole('rowheader', { name: /Firefox/ })
          .first()
          .waitFor(),
    },
    { path: '/platform', ready: (p) => p.getByRole('rowheader', { name: /Victor Viewer/ }).waitFor() },
    // The inventory: two dozen devices and the instance, across the team's sites.
    { path: '/inventory', ready: (p) => p.locator('tr[data-item="edge-gw-hamburg-line1-filler-00"]').waitFor() },
    { path: `/applications/${ids.applicationId}`, ready: (p) => p.getByRole('link', { name: 'production line 3' }).waitFor() },
    { path: `/instances/${ids.instanceId}`, ready: (p) => p.locator('tr[data-snapshot-id]').nth(1).waitFor() },
    { path: `/instances/${ids.instanceId}/diff?from=${ids.first}&to=${ids.second}`, ready: (p) => p.getByText('Scale filler weight').first().waitFor() },
    { path: `/snapshots/${ids.second}`, ready: (p) => p.getByRole('heading', { level: 1 }).waitFor() },
    { path: '/compliance', ready: (p) => p.getByRole('link', { name: 'Hamburg line 1 filling and packaging' }).waitFor() },
    { path: `/compliance/sucs/${ids.sucId}`, ready: (p) => p.getByRole('table', { name: 'History' }).waitFor() },
  ];

  const failures: string[] = [];
  // tsx keeps function names with a helper the page does not have: findProblems runs there.
  const KEEP_NAMES = 'globalThis.__name = (f) => f;';
  await admin.addInitScript(KEEP_NAMES);
  for (const viewport of VIEWPORTS) {
    await admin.setViewportSize(viewport);
    for (const { path, ready } of pages) {
      await admin.goto(path);
      await ready(admin);
      await admin.waitForLoadState('networkidle', { timeout: 2_000 }).catch(() => {});
      await h.shot(admin, `${viewport.width}${path.replace(/[^a-z0-9]+/gi, '-')}`);
      for (const problem of await admin.evaluate(findProblems)) failures.push(`${viewport.width}×${viewport.height} ${path}: ${problem.kind}: ${problem.what}`);
      // The figures the layout is judged by: how long the page is, how tall its table rows.
      const size = await admin.evaluate(() => {
        const rows = Array.from(document.querySelectorAll('tbody tr')).map((r) => r.getBoundingClientRect().height);
        return {
          height: document.documentElement.scrollHeight,
          rows: rows.length,
          tallest: Math.round(Math.max(0, ...rows)),
          mean: Math.round(rows.reduce((a, b) => a + b, 0) / (rows.length || 1)),
          // The devices table, the one that overflowed: its width in its frame's.
          devices: Array.from(document.querySelectorAll('.table-wrap'))
            .filter((w) => w.closest('section')?.querySelector('h2')?.textContent === 'Devices')
            .map((w) => `, devices table ${w.scrollWidth} px in ${w.clientWidth} px`)
            .join(''),
        };
      });
      t.diagnostic(
        `${viewport.width}×${viewport.height} ${path}: ${size.height} px long, ${size.rows} table rows (mean ${size.mean} px, tallest ${size.tallest} px)${size.devices}`,
      );
    }
  }
  // Signed out: the sign-in page.
  const visitor = await h.newPage();
  await visitor.addInitScript(KEEP_NAMES);
  for (const viewport of VIEWPORTS) {
    await visitor.setViewportSize(viewport);
    await visitor.goto('/sign-in');
    await visitor.getByRole('button', { name: 'Sign in' }).waitFor();
    for (const problem of await visitor.evaluate(findProblems)) failures.push(`${viewport.width}×${viewport.height} /sign-in: ${problem.kind}: ${problem.what}`);
  }
  assert.deepEqual(failures, [], `pages that do not fit:\n${failures.join('\n')}`);
});

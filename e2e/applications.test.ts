/**
 * A Node-RED application's life, in a real Chromium against the real server (SQLite) and
 * the real agent and Node-RED: an owner creates an application and an instance, waits
 * for it to run, builds a flow in the editor through the platform, changes it, reviews
 * the difference between the two automatic snapshots, rolls back, and reads back the
 * flows Node-RED runs. A viewer of the team then finds the editor read-only.
 *
 * Needs the built UI (npm run build:web) and Chromium at /usr/bin/chromium
 * (or FLOWGATE_CHROMIUM). FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { snapshotHash } from '@flowgate/core';
import { SYSTEM_CONTEXT } from '../packages/server/src/context.ts';
import { exportSeal } from '../packages/server/src/features/snapshots/snapshots.service.ts';
import { installNodeRedStandIn } from '../packages/server/test/harness.ts';
import { invitePerson, setUpPlatformWithTeam, startBrowserWalk, STEP_TIMEOUT, type BrowserWalk } from './browser-harness.ts';

/** Node-RED starting (or restarting into another snapshot) on a shared machine. */
const RUNTIME_TIMEOUT = 60_000;
/** The editor is a large single page: its first load takes a while. */
const EDITOR_TIMEOUT = 45_000;

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const VIEWER = { email: 'vic@plant.example', name: 'Vic Viewer', password: 'orchard pebble winter sails' };
const OPERATOR = { email: 'olga@plant.example', name: 'Olga Operator', password: 'copper kettle morning drift' };
const TEAM = 'Line 3 Packaging';
const APP = 'Filler telemetry';
const INSTANCE = 'production';

const SCALE_V1 = 'const factor = 2;\nmsg.payload = msg.payload * factor;\nreturn msg;';
const SCALE_V2 = 'const factor = 3;\nmsg.payload = msg.payload * factor;\nmsg.scaled = true;\nreturn msg;';

/** The first flow: a tab with inject → function → debug, ids chosen here so they can be found again. */
const FIRST_FLOW = [
  { id: 'fg-tab', type: 'tab', label: 'Line 3', disabled: false, info: '' },
  {
    id: 'fg-inject',
    type: 'inject',
    z: 'fg-tab',
    name: 'Tick',
    props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }],
    repeat: '',
    crontab: '',
    once: false,
    onceDelay: 0.1,
    topic: 'filler/first',
    payload: '1',
    payloadType: 'num',
    x: 140,
    y: 80,
    wires: [['fg-func']],
  },
  {
    id: 'fg-func',
    type: 'function',
    z: 'fg-tab',
    name: 'Scale',
    func: SCALE_V1,
    outputs: 1,
    timeout: 0,
    noerr: 0,
    initialize: '',
    finalize: '',
    libs: [],
    x: 320,
    y: 80,
    wires: [['fg-debug']],
  },
  {
    id: 'fg-debug',
    type: 'debug',
    z: 'fg-tab',
    name: 'Out',
    active: true,
    tosidebar: true,
    console: false,
    tostatus: false,
    complete: 'payload',
    targetType: 'msg',
    statusVal: '',
    statusType: 'auto',
    x: 500,
    y: 80,
    wires: [],
  },
];
/** Added by the second deploy, wired from Scale. */
const AUDIT_NODE = {
  id: 'fg-audit',
  type: 'debug',
  z: 'fg-tab',
  name: 'Audit',
  active: true,
  tosidebar: true,
  console: false,
  tostatus: false,
  complete: 'true',
  targetType: 'full',
  statusVal: '',
  statusType: 'auto',
  x: 500,
  y: 160,
  wires: [],
};

let h: BrowserWalk;
let base: string;
const shot = (page: Page, name: string) => h.shot(page, name);
const newPage = (permissions?: string[]) => h.newPage(permissions);
const walk: { admin?: Page; editor?: Page; viewer?: Page; instanceId?: string; teamId?: string } = {};

/** What the instance's agent wrote, for a failure message that says why Node-RED did not come up. */
async function instanceLogs(page: Page, instanceId: string): Promise<string> {
  const lines = await page.evaluate(async (id) => (await (await fetch(`/api/instances/${id}/logs`)).json()) as Array<{ level: string; msg: string }>, instanceId).catch(() => []);
  return lines
    .slice(-40)
    .map((l) => `${l.level} ${l.msg}`)
    .join('\n');
}

/** Waits until the instance page says running (it follows the state every 2 s by itself). */
async function waitRunning(page: Page, instanceId: string, what: string): Promise<void> {
  try {
    await page
      .getByTestId('instance-status')
      .filter({ hasText: /^running$/ })
      .waitFor({ timeout: RUNTIME_TIMEOUT });
  } catch (error) {
    const status = await page
      .getByTestId('instance-status')
      .textContent()
      .catch(() => '?');
    const detail = await page
      .getByTestId('status-detail')
      .textContent({ timeout: 500 })
      .catch(() => '');
    assert.fail(`${what}: the instance is ${status} after ${RUNTIME_TIMEOUT / 1000} s. ${detail}\n${await instanceLogs(page, instanceId)}\n${String(error)}`);
  }
}

/** What went wrong in an editor page (console errors, failed responses, navigations), for a failure that says why it did not load. */
const editorTrouble = new WeakMap<Page, string[]>();

function watchEditor(editor: Page): string[] {
  let trouble = editorTrouble.get(editor);
  if (trouble) return trouble;
  const lines: string[] = [];
  trouble = lines;
  editorTrouble.set(editor, lines);
  const note = (line: string) => {
    if (lines.length < 200) lines.push(line.slice(0, 300));
  };
  editor.on('console', (m) => {
    if (m.type() === 'error') note(`console: ${m.text()}`);
  });
  editor.on('pageerror', (e) => note(`page error: ${String(e)}`));
  editor.on('response', (r) => {
    if (r.status() >= 300 && r.url().includes('/editor/')) note(`${r.status()} ${r.request().method()} ${r.url().replace(/access_token=[^&]+/, 'access_token=…')}`);
  });
  editor.on('framenavigated', (f) => {
    if (f === editor.mainFrame()) note(`navigated to ${f.url().replace(/access_token=[^&]+/, 'access_token=…')}`);
  });
  return lines;
}

/** Opens the Node-RED editor through the platform and waits until it has loaded its flows. */
async function openEditor(editor: Page, instanceId: string): Promise<void> {
  const trouble = watchEditor(editor);
  trouble.length = 0;
  try {
    // As a person would: the editor opens once the instance page says it runs (after a deploy or a
    // rollback its Node-RED restarts, in its sandbox, and the editor answers 503 meanwhile).
    const deadline = Date.now() + EDITOR_TIMEOUT;
    while (((await (await editor.request.get(`${base}/api/instances/${instanceId}`)).json()) as { status: string }).status !== 'running') {
      if (Date.now() > deadline) throw new Error('the instance did not run');
      await new Promise((r) => setTimeout(r, 250));
    }
    // The platform's route checks the person and sends the browser to the instance's own origin with a one-time code.
    await editor.goto(`${base}/instances/${instanceId}/editor`, { timeout: EDITOR_TIMEOUT });
    await editor.locator('#red-ui-header-button-deploy').waitFor({ timeout: EDITOR_TIMEOUT });
    // Loaded: the node definitions are in (the palette has nodes) and the flows are (a tab exists).
    await editor.waitForFunction(
      () => {
        const red = (window as unknown as { RED?: { nodes?: { eachWorkspace?: (cb: () => void) => void; getType?: (type: string) => unknown } } }).RED;
        let tabs = 0;
        red?.nodes?.eachWorkspace?.(() => tabs++);
        return tabs > 0 && Boolean(red?.nodes?.getType?.('inject'));
      },
      undefined,
      { timeout: EDITOR_TIMEOUT },
    );
  } catch (error) {
    const seen = [...new Set(trouble)];
    assert.fail(
      `The Node-RED editor did not load through the platform.\n${seen.slice(0, 25).join('\n')}${seen.length > 25 ? `\n… ${seen.length - 25} more` : ''}\n${String(error)}`,
    );
  }
  // The "Welcome to Node-RED" tour, on a person's first visit: Escape ends it.
  const tour = editor.locator('.red-ui-tourGuide-shade');
  if (
    await tour.waitFor({ timeout: 3000 }).then(
      () => true,
      () => false,
    )
  ) {
    await editor.keyboard.press('Escape');
    await tour.waitFor({ state: 'detached' });
  }
}

/** Clicks Deploy in the editor and waits until Node-RED says the flows are deployed (nothing left dirty). */
async function deployInEditor(editor: Page): Promise<void> {
  await editor.locator('#red-ui-header-button-deploy:not(.disabled)').waitFor();
  await editor.locator('#red-ui-header-button-deploy').click();
  // A flow with unused config or invalid nodes asks first; ours has none, but confirm if asked.
  const confirm = editor.locator('#red-ui-notification-dialog-confirm-deploy, .red-ui-notification button.primary').first();
  await confirm.click({ timeout: 1500 }).catch(() => {});
  await editor.waitForFunction(() => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty(), undefined, { timeout: 20_000 });
}

/** The flows Node-RED runs, read through the platform's editor proxy with the editor's own token. */
async function runningFlows(editor: Page, instanceId: string): Promise<{ status: number; flows: Array<Record<string, unknown>> }> {
  return editor.evaluate(async (id) => {
    const red = (window as unknown as { RED: { settings: { get(key: string): { access_token: string } | null } } }).RED;
    const token = red.settings.get('auth-tokens')?.access_token;
    const response = await fetch(`/instances/${id}/editor/flows`, { headers: { Authorization: `Bearer ${token}`, 'Node-RED-API-Version': 'v1' } });
    return { status: response.status, flows: response.ok ? ((await response.json()) as Array<Record<string, unknown>>) : [] };
  }, instanceId);
}

before(async () => {
  h = await startBrowserWalk('apps-');
  ({ base } = h);
});

afterEach(async () => {
  if (walk.admin) await shot(walk.admin, 'last-admin').catch(() => {});
  if (walk.editor) await shot(walk.editor, 'last-editor').catch(() => {});
  if (walk.viewer) await shot(walk.viewer, 'last-viewer').catch(() => {});
  if (walk.admin && walk.instanceId) {
    const logs = await instanceLogs(walk.admin, walk.instanceId);
    if (process.env.FLOWGATE_E2E_LOGS) console.log(logs);
  }
});

after(async () => {
  await h?.close();
});

test('an owner builds a flow in the editor, reviews the change between two deploys and rolls back', { timeout: 420_000 }, async () => {
  // --- Set up the platform and a team.
  const admin = await newPage();
  walk.admin = admin;
  const teamId = await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);
  walk.teamId = teamId;

  // --- An application, from the team's Applications section.
  await admin.getByRole('heading', { name: 'Applications' }).waitFor();
  await admin.getByText('No applications yet.').waitFor();
  await admin.getByLabel('Application name').fill(APP);
  await admin.getByLabel('Description').fill('Fill levels and rejects of the line 3 filler.');
  await admin.getByRole('button', { name: 'Create application' }).click();
  await admin.getByRole('heading', { name: APP, level: 1 }).waitFor();
  await admin.getByText('No instances yet.').waitFor();

  // --- An instance of it: Node-RED starts through the platform's agent.
  // The versions arrive after the page: wait for one to be offered before reading the choice.
  await admin
    .getByLabel('Node-RED version')
    .locator('option', { hasText: /^\d+\.\d+\.\d+/ })
    .first()
    .waitFor({ state: 'attached' });
  const version = await admin.getByLabel('Node-RED version').inputValue();
  assert.match(version, /^\d+\.\d+\.\d+/, 'a Node-RED version is offered');
  await admin.getByLabel('Instance name').fill(INSTANCE);
  await admin.getByRole('button', { name: 'Create instance' }).click();
  await admin.getByRole('heading', { name: INSTANCE, level: 1 }).waitFor();
  const instanceId = new URL(admin.url()).pathname.split('/')[2]!;
  walk.instanceId = instanceId;
  await shot(admin, '01-instance-starting');
  await waitRunning(admin, instanceId, 'first start');
  await admin.getByText('No snapshots yet.').waitFor();
  // Node-RED's own output, live on the page.
  await admin
    .getByRole('log', { name: 'Instance logs' })
    .getByText(/Started flows/)
    .first()
    .waitFor({ timeout: 30_000 });
  await shot(admin, '02-instance-running');

  // The application page lists it, running.
  await admin.getByRole('link', { name: APP }).click();
  await admin.getByRole('row').filter({ hasText: INSTANCE }).filter({ hasText: 'running' }).waitFor();
  await shot(admin, '03-application');
  await admin.getByRole('link', { name: INSTANCE }).click();
  await admin.getByRole('heading', { name: INSTANCE, level: 1 }).waitFor();

  // --- The editor, through the platform: the "Open editor" link opens it in a tab of its own.
  const editorLink = admin.getByRole('link', { name: /^Open editor/ });
  assert.equal(await editorLink.getAttribute('href'), `/instances/${instanceId}/editor`);
  assert.equal(await editorLink.getAttribute('target'), '_blank');
  const editor = await admin.context().newPage();
  walk.editor = editor;
  editor.setDefaultTimeout(STEP_TIMEOUT);
  await openEditor(editor, instanceId);
  await shot(editor, '04-editor-empty');

  // --- The first flow: import an inject and a debug node on a tab of their own, deploy.
  await editor.evaluate((nodes) => {
    const red = (window as unknown as { RED: { view: { importNodes(nodes: unknown, options?: unknown): void }; workspaces: { show(id: string): void } } }).RED;
    red.view.importNodes(nodes, { generateIds: false });
    red.workspaces.show('fg-tab');
  }, FIRST_FLOW);
  await deployInEditor(editor);
  await shot(editor, '05-editor-first-flow');

  // The deploy comes back as an automatic snapshot, running.
  await admin.reload();
  const firstRow = admin.getByRole('row').filter({ hasText: 'Deployed from the editor' });
  await firstRow.first().waitFor({ timeout: 30_000 });
  assert.equal(await firstRow.count(), 1);
  await firstRow.getByText('running', { exact: true }).waitFor({ timeout: 30_000 });
  await firstRow.getByText('auto', { exact: true }).waitFor();
  await firstRow.getByRole('cell').getByText(`by ${ADMIN.email}`, { exact: true }).waitFor();
  const firstSnapshotId = (await firstRow.getAttribute('data-snapshot-id'))!;
  assert.ok(firstSnapshotId);
  await shot(admin, '06-first-snapshot');

  // What the snapshot holds, on a page of its own: its hash in full and its flow's nodes.
  await firstRow.getByRole('link', { name: 'Deployed from the editor' }).click();
  await admin.getByRole('heading', { level: 1, name: /Deployed from the editor/ }).waitFor();
  const detail = (await (await admin.request.get(`/api/snapshots/${firstSnapshotId}`)).json()) as { snapshot: { hash: string } };
  await admin.getByText(detail.snapshot.hash, { exact: true }).waitFor();
  const lineThree = admin.getByRole('table', { name: 'Nodes of Flow “Line 3”' });
  await lineThree.getByRole('row').filter({ hasText: 'Tick' }).filter({ hasText: 'inject' }).waitFor();
  await lineThree.getByRole('row').filter({ hasText: 'debug' }).first().waitFor();
  await admin.locator('dt:text-is("Runs now") + dd').getByText('running', { exact: true }).waitFor();
  await shot(admin, '06b-snapshot-page');
  await admin.getByRole('link', { name: 'Back to the instance' }).click();
  await firstRow.waitFor();

  // --- Change the flow: the inject's topic and payload, Scale's code, and a new debug node wired from Scale.
  await editor.evaluate(
    ({ added, code }) => {
      type Node = Record<string, unknown>;
      const red = (
        window as unknown as {
          RED: {
            nodes: { node(id: string): Node | null; addLink(link: { source: Node; sourcePort: number; target: Node }): void; dirty(value: boolean): void };
            view: { importNodes(nodes: unknown, options?: unknown): void; redraw(full?: boolean): void };
          };
        }
      ).RED;
      const inject = red.nodes.node('fg-inject')!;
      Object.assign(inject, { topic: 'filler/second', payload: '2', changed: true, dirty: true });
      const scale = red.nodes.node('fg-func')!;
      Object.assign(scale, { func: code, changed: true, dirty: true });
      red.view.importNodes([added], { generateIds: false });
      red.nodes.addLink({ source: scale, sourcePort: 0, target: red.nodes.node('fg-audit')! });
      red.nodes.dirty(true);
      red.view.redraw(true);
    },
    { added: AUDIT_NODE, code: SCALE_V2 },
  );
  await deployInEditor(editor);
  await shot(editor, '07-editor-second-flow');

  await admin.reload();
  const autoRows = admin.getByRole('row').filter({ hasText: 'Deployed from the editor' });
  await admin.waitForFunction(() => document.querySelectorAll('tr[data-snapshot-id]').length >= 2, undefined, { timeout: 30_000 });
  assert.equal(await autoRows.count(), 2);
  const secondRow = admin.locator(`tr[data-snapshot-id]:not([data-snapshot-id="${firstSnapshotId}"])`).first();
  await secondRow.getByText('running', { exact: true }).waitFor({ timeout: 30_000 });
  const secondSnapshotId = (await secondRow.getAttribute('data-snapshot-id'))!;
  // The older one is now offered as a rollback, the running one not at all.
  const oldRow = admin.locator(`tr[data-snapshot-id="${firstSnapshotId}"]`);
  await oldRow.getByRole('button', { name: /^Roll back to this/ }).waitFor();
  assert.equal(await secondRow.getByRole('button', { name: /^(Deploy|Roll back)/ }).count(), 0, 'the running snapshot is not deployed again');
  await shot(admin, '08-two-snapshots');

  // --- Compare the two: select both, then the review page.
  await oldRow.getByRole('checkbox').check();
  await secondRow.getByRole('checkbox').check();
  await admin.getByRole('button', { name: 'Compare selected' }).click();
  await admin.waitForURL(new RegExp(`/instances/${instanceId}/diff\\?from=${firstSnapshotId}&to=${secondSnapshotId}$`));
  await admin.getByRole('heading', { name: `Change review: ${INSTANCE}` }).waitFor();
  const summary = admin.getByRole('list', { name: 'Summary of changes' });
  await summary.getByText('added').waitFor();
  assert.match((await summary.textContent()) ?? '', /1 added.*0 removed.*2 changed.*0 moved.*1 rewired/s);
  // The changed properties, before and after.
  const propertyRow = (name: string) => admin.getByRole('row').filter({ has: admin.getByRole('rowheader', { name, exact: true }) });
  assert.match((await propertyRow('topic').textContent()) ?? '', /"filler\/first".*"filler\/second"/);
  assert.match((await propertyRow('payload').textContent()) ?? '', /"1".*"2"/);
  // The function's code as a line diff, under a hunk header.
  await admin.getByText('@@ -1,3 +1,4 @@').waitFor();
  await admin.locator('.diff-del').filter({ hasText: 'const factor = 2;' }).waitFor();
  await admin.locator('.diff-add').filter({ hasText: 'const factor = 3;' }).waitFor();
  await admin.locator('.diff-add').filter({ hasText: 'msg.scaled = true;' }).waitFor();
  // The new wire, named, and the added node, under their flow.
  await admin.getByRole('heading', { name: /Flow “Line 3”/ }).waitFor();
  await admin.locator('.wire-add').filter({ hasText: '+ Audit' }).waitFor();
  await admin.locator('.node-list-add').getByText('Audit', { exact: true }).waitFor();
  await shot(admin, '09-diff');
  await admin.emulateMedia({ media: 'print' });
  assert.equal(await admin.getByRole('button', { name: 'Print' }).isVisible(), false, 'buttons are not printed');
  assert.equal(await admin.getByRole('navigation', { name: 'Main' }).isVisible(), false, 'the nav is not printed');
  await shot(admin, '10-diff-print');
  await admin.emulateMedia({ media: 'screen' });

  // "Compare with running" from the instance page reads the same way round.
  await admin.getByRole('link', { name: 'Back to the instance' }).click();
  await oldRow.getByRole('link', { name: /^Compare .* with running$/ }).click();
  await admin.waitForURL(/to=running$/);
  await admin.getByText('After (running now)').waitFor();
  await admin.getByText(`running on ${INSTANCE}`, { exact: true }).waitFor();
  await admin.getByRole('rowheader', { name: 'topic', exact: true }).waitFor();
  await shot(admin, '10b-diff-with-running');
  // A snapshot against itself has no differences.
  await admin.goto(`/instances/${instanceId}/diff?from=${secondSnapshotId}&to=running`);
  await admin.getByText('No differences').waitFor();
  // From a snapshot's page, against any snapshot of the team chosen by application, instance and snapshot.
  await admin.goto(`/snapshots/${secondSnapshotId}`);
  const compare = admin.getByRole('region', { name: 'Compare with another snapshot' });
  await compare.getByLabel('Application').selectOption({ label: APP });
  await compare.getByLabel('Instance').selectOption({ label: INSTANCE });
  await compare.getByLabel('Snapshot').selectOption(firstSnapshotId);
  await compare.getByRole('button', { name: 'Compare' }).click();
  await admin.waitForURL(new RegExp(`/instances/${instanceId}/diff\\?from=${firstSnapshotId}&to=${secondSnapshotId}$`));
  await admin.getByRole('rowheader', { name: 'topic', exact: true }).waitFor();
  assert.equal(await admin.locator('dt:text-is("Instance") + dd').getByRole('link', { name: INSTANCE }).count(), 2, 'each side names its instance');
  // Node modules are part of the review: the same flows with a module from the palette
  // (imported, as a snapshot from another plant would come; the agent here installs none).
  const file = await h.t.context.snapshots.exportFile(secondSnapshotId, 'transport secret 2026', SYSTEM_CONTEXT);
  const withModule = { ...file.content, modules: [{ name: 'node-red-contrib-modbus', version: '5.43.0' }] };
  const imported = await h.t.context.snapshots.importFile(
    instanceId,
    { ...file, content: withModule, hash: snapshotHash(withModule), seal: exportSeal('transport secret 2026', snapshotHash(withModule)) },
    'transport secret 2026',
    SYSTEM_CONTEXT,
  );
  await admin.goto(`/instances/${instanceId}/diff?from=${secondSnapshotId}&to=${imported.id}`);
  const modulesReview = admin.getByRole('region', { name: 'Node modules' });
  await modulesReview.getByText('node-red-contrib-modbus').waitFor();
  await modulesReview.getByText('added').waitFor();

  // --- Roll back to the first flow.
  await admin.goto(`/instances/${instanceId}`);
  await oldRow.getByRole('button', { name: /^Roll back to this/ }).click();
  await oldRow.getByRole('button', { name: 'Yes, roll back' }).click();
  // "deploying" while the agent applies it; a quick machine may get there before the page looks.
  await oldRow
    .getByText(/^(deploying|running)$/)
    .first()
    .waitFor();
  await oldRow.getByText('running', { exact: true }).waitFor({ timeout: RUNTIME_TIMEOUT });
  assert.equal(await oldRow.getByRole('button', { name: /^Roll back/ }).count(), 0, 'the running snapshot is not offered again');
  await waitRunning(admin, instanceId, 'after the rollback');
  await shot(admin, '11-rolled-back');

  // --- Node-RED runs the first flow again: read it back through the editor proxy.
  await openEditor(editor, instanceId);
  const read = await runningFlows(editor, instanceId);
  assert.equal(read.status, 200, 'the editor reads the flows');
  const byId = new Map(read.flows.map((n) => [n.id as string, n]));
  assert.equal(byId.has('fg-audit'), false, 'the debug node added later is gone');
  assert.equal(byId.get('fg-func')?.func, SCALE_V1, "Scale's first code runs again");
  for (const node of FIRST_FLOW) {
    const running = byId.get(node.id);
    assert.ok(running, `${node.id} runs`);
    for (const key of ['type', 'name', 'label', 'topic', 'payload', 'payloadType', 'func', 'z', 'wires'] as const) {
      if (key in node) assert.deepEqual(running[key], (node as Record<string, unknown>)[key], `${node.id}.${key}`);
    }
  }
  await shot(editor, '12-editor-after-rollback');
});

test('a viewer sees the instance but cannot change it, and the editor is read-only', { timeout: 180_000 }, async () => {
  const { admin, instanceId, teamId } = walk;
  assert.ok(admin && instanceId && teamId, 'runs after the owner walk');

  // --- The owner invites a viewer; they join and sign in.
  const viewer = await invitePerson(h, admin, teamId, TEAM, VIEWER, 'viewer');
  walk.viewer = viewer;

  // --- The team lists the application; no way to create one.
  await viewer.getByRole('link', { name: APP }).click();
  await viewer.getByRole('heading', { name: APP, level: 1 }).waitFor();
  for (const name of ['Create instance', 'Save name and description', 'Delete application']) {
    assert.equal(await viewer.getByRole('button', { name }).count(), 0, `no "${name}" for a viewer`);
  }
  await viewer.getByRole('link', { name: INSTANCE }).click();
  await viewer.getByRole('heading', { name: INSTANCE, level: 1 }).waitFor();
  await waitRunning(viewer, instanceId, 'as the viewer sees it');
  await viewer.locator('tr[data-snapshot-id]').first().waitFor();
  await viewer.getByRole('link', { name: 'Open editor (read-only)' }).waitFor();
  for (const name of [
    'Start',
    'Stop',
    'Restart',
    'Take snapshot',
    'Import snapshot',
    'Save variables',
    'Add variable',
    'Delete instance',
    'Make endpoints public',
    /^Roll back/,
    /^Deploy/,
    /^Export/,
  ]) {
    assert.equal(await viewer.getByRole('button', { name }).count(), 0, `no "${String(name)}" button for a viewer`);
  }
  // Comparing is reading: it stays.
  assert.ok((await viewer.getByRole('link', { name: /^Compare .* with running$/ }).count()) >= 1);
  await shot(viewer, '13-instance-as-viewer');

  // --- The editor opens, read-only: Deploy is disabled, and a deploy through the API is refused.
  const editor = await viewer.context().newPage();
  editor.setDefaultTimeout(STEP_TIMEOUT);
  await openEditor(editor, instanceId);
  await editor.locator('#red-ui-header-button-deploy.disabled').waitFor();
  await shot(editor, '14-editor-read-only');
  const refused = await editor.evaluate(async (id) => {
    const red = (window as unknown as { RED: { settings: { get(key: string): { access_token: string } | null } } }).RED;
    const token = red.settings.get('auth-tokens')?.access_token;
    const headers = { Authorization: `Bearer ${token}`, 'Node-RED-API-Version': 'v1', 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' };
    const flows = await (await fetch(`/instances/${id}/editor/flows`, { headers })).json();
    const response = await fetch(`/instances/${id}/editor/flows`, { method: 'POST', headers, body: JSON.stringify(flows) });
    return response.status;
  }, instanceId);
  assert.ok(refused === 401 || refused === 403, `Node-RED refuses a viewer's deploy (answered ${refused})`);
  await editor.close();
});

test('the owner exports a snapshot and imports it again, sets environment variables and the team palette policy', { timeout: 180_000 }, async () => {
  const { admin, instanceId, teamId } = walk;
  assert.ok(admin && instanceId && teamId, 'runs after the owner walk');
  await admin.goto(`/instances/${instanceId}`);
  await admin.getByRole('heading', { name: INSTANCE, level: 1 }).waitFor();
  const rows = admin.locator('tr[data-snapshot-id]');
  await rows.first().waitFor();
  const before = await rows.count();

  // --- Export the running snapshot under a secret: the file downloads.
  const running = rows.filter({ has: admin.getByText('running', { exact: true }) });
  await running.getByRole('button', { name: /^Export / }).click();
  await admin.getByLabel('Export secret').fill('short');
  assert.equal(await admin.getByRole('button', { name: 'Download export' }).isDisabled(), true, 'a short secret is not accepted');
  const SECRET = 'forklift harbour 2031';
  await admin.getByLabel('Export secret').fill(SECRET);
  const [download] = await Promise.all([admin.waitForEvent('download', { timeout: STEP_TIMEOUT }), admin.getByRole('button', { name: 'Download export' }).click()]);
  assert.match(download.suggestedFilename(), /\.flowgate\.json$/);
  const file = (await download.path())!;
  const exported = JSON.parse(fs.readFileSync(file, 'utf8')) as { format: string; hash: string; content: { flows: Array<{ id: string }> } };
  assert.equal(exported.format, 'flowgate-snapshot');
  assert.ok(exported.content.flows.some((n) => n.id === 'fg-inject'));

  // --- The instance's SBOM downloads: a CycloneDX 1.6 document whose flows carry a snapshot's SHA-256 (the API test checks which).
  const [sbomDownload] = await Promise.all([admin.waitForEvent('download', { timeout: STEP_TIMEOUT }), admin.getByRole('link', { name: 'Download SBOM' }).click()]);
  assert.match(sbomDownload.suggestedFilename(), /^instance-.+\.cdx\.json$/);
  const sbom = JSON.parse(fs.readFileSync((await sbomDownload.path())!, 'utf8')) as {
    bomFormat: string;
    specVersion: string;
    components: Array<{ type: string; hashes?: Array<{ alg: string; content: string }> }>;
  };
  assert.equal(sbom.bomFormat, 'CycloneDX');
  assert.equal(sbom.specVersion, '1.6');
  assert.ok(
    sbom.components.some((c) => c.type === 'application' && c.hashes?.[0]?.alg === 'SHA-256' && /^[0-9a-f]{64}$/.test(c.hashes[0].content)),
    'the flows are a component with a SHA-256',
  );

  // --- Import it back: a wrong secret is refused with the server's reason, the right one works.
  await admin.getByLabel('Snapshot file').setInputFiles(file);
  await admin.getByLabel('Secret used at export').fill('not the right secret');
  await admin.getByRole('button', { name: 'Import snapshot' }).click();
  // The flows hold no credentials, and the file is refused all the same: its seal is made with the secret.
  await admin.getByRole('alert').filter({ hasText: 'The secret is not the one this file was exported under' }).waitFor();
  assert.equal(await rows.count(), before, 'nothing imported');
  await admin.getByLabel('Secret used at export').fill(SECRET);
  await admin.getByRole('button', { name: 'Import snapshot' }).click();
  await admin.getByText(/^Imported “.+”\. Deploy it to run it\.$/).waitFor();
  await rows.nth(before).waitFor();
  assert.equal(await rows.count(), before + 1);
  await rows.first().getByText('import', { exact: true }).waitFor();
  await shot(admin, '15-imported');

  // --- A snapshot of flows from a file (a Node-RED this instance replaces): not Node-RED JSON is refused, named.
  const flowsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-e2e-flows-'));
  const badFlows = path.join(flowsDir, 'not-flows.json');
  fs.writeFileSync(badFlows, JSON.stringify([{ id: 'x1', type: 'inject', z: 'missing-tab', wires: 'nope' }]));
  const goodFlows = path.join(flowsDir, 'flows.json');
  fs.writeFileSync(goodFlows, JSON.stringify(FIRST_FLOW));
  const takeForm = admin.getByRole('form', { name: 'Take a snapshot' });
  await takeForm.getByLabel('A flows file', { exact: true }).check();
  await takeForm.getByLabel('Flows file', { exact: true }).setInputFiles(badFlows);
  await takeForm.getByLabel('Snapshot name').fill('Line 3 from the old PC');
  await takeForm.getByRole('button', { name: 'Take snapshot' }).click();
  await takeForm.getByRole('alert').filter({ hasText: 'These are not valid Node-RED flows' }).waitFor();
  assert.equal(await rows.count(), before + 1, 'nothing kept');
  await takeForm.getByLabel('Flows file', { exact: true }).setInputFiles(goodFlows);
  await takeForm.getByRole('button', { name: 'Take snapshot' }).click();
  await rows.filter({ hasText: 'Line 3 from the old PC' }).getByText('manual', { exact: true }).waitFor();
  assert.equal(await rows.count(), before + 2);
  fs.rmSync(flowsDir, { recursive: true, force: true });

  // --- Environment variables: a plain one and a secret one; the secret is never shown again.
  await admin.getByRole('button', { name: 'Add variable' }).click();
  await admin.getByLabel('Name of variable 1', { exact: true }).fill('LINE');
  await admin.getByLabel('Value of LINE', { exact: true }).fill('3');
  await admin.getByRole('button', { name: 'Add variable' }).click();
  await admin.getByLabel('Name of variable 2', { exact: true }).fill('API_KEY');
  await admin.getByLabel('API_KEY is secret', { exact: true }).check();
  await admin.getByLabel('Value of API_KEY', { exact: true }).fill('s3cret-value');
  await admin.getByRole('button', { name: 'Save variables' }).click();
  await admin.getByText('Saved. Node-RED restarts with the new values.').waitFor();
  await admin.reload();
  await admin.getByText('••• set').waitFor();
  assert.equal(await admin.getByLabel('Value of LINE', { exact: true }).inputValue(), '3');
  assert.equal(await admin.getByLabel('Value of API_KEY', { exact: true }).count(), 0, 'a stored secret has no field until replaced');
  const env = await admin.evaluate(async (id) => (await (await fetch(`/api/instances/${id}/env`)).json()) as Array<{ name: string; value: string | null }>, instanceId);
  assert.deepEqual(env.find((e) => e.name === 'API_KEY')?.value, null, 'the secret is not read back');
  // Changing the plain one keeps the secret as it is (sent without a value).
  await admin.getByLabel('Value of LINE', { exact: true }).fill('4');
  await admin.getByRole('button', { name: 'Save variables' }).click();
  await admin.getByText('Saved. Node-RED restarts with the new values.').waitFor();
  await admin.getByText('••• set').waitFor();
  await waitRunning(admin, instanceId, 'after the environment changed');
  await shot(admin, '16-environment');

  // --- Another Node-RED version, installed beside the platform's own: the instance moves to it.
  const ownVersion = (await admin.getByTestId('node-red-version').textContent())!;
  const otherVersion = `${ownVersion}-plant.1`;
  installNodeRedStandIn(h.t.config.nodeRedDir, otherVersion);
  await admin.reload();
  const versionSection = admin.getByRole('region', { name: 'Node-RED version' });
  await versionSection.getByLabel('Move to').selectOption({ label: `Node-RED ${otherVersion}` });
  await versionSection.getByRole('button', { name: 'Change version' }).click();
  await versionSection.getByRole('button', { name: 'Yes, restart on it' }).click();
  await versionSection.getByTestId('node-red-version').filter({ hasText: otherVersion }).waitFor();
  await admin.locator('.head-badges').getByText(`Node-RED ${otherVersion}`).waitFor();
  await waitRunning(admin, instanceId, 'on the other Node-RED version');
  await shot(admin, '16b-node-red-version');
  // A snapshot made now records the other version and the variables: the change review says so beside the flows.
  const { snapshots } = h.t.context;
  const runningId = (await h.t.context.applicationsStore.instanceById(instanceId))!.running_snapshot_id!;
  const runningFlows = snapshots.contentOf(await snapshots.requireSnapshot(runningId)).flows;
  const onOther = await snapshots.create(instanceId, { name: 'on the other version', description: '', flows: runningFlows }, SYSTEM_CONTEXT);
  await admin.goto(`/instances/${instanceId}/diff?from=${runningId}&to=${onOther.id}`);
  const runtime = admin.getByRole('region', { name: 'Runtime and environment' });
  await runtime.getByText(`Node-RED version: ${ownVersion} → ${otherVersion}`).waitFor();
  await runtime.getByRole('listitem').filter({ hasText: 'API_KEY' }).getByText('secret (value not in snapshots)').waitFor();
  assert.ok(!(await admin.content()).includes('s3cret-value'), 'no secret value on the page');
  await admin.getByText('No differences: both snapshots hold the same flows.').waitFor();
  await shot(admin, '16c-runtime-in-review');
  await admin.goto(`/instances/${instanceId}`);

  // --- Resources: what the instance may use and uses, drawn; what holds it apart; the owner gives it more memory.
  const resources = admin.getByRole('region', { name: 'Resources and isolation' });
  await resources.getByTestId('isolation').getByText('sandbox: bubblewrap').waitFor();
  await resources.getByRole('img', { name: /^Memory: .*512 MiB/ }).waitFor();
  await resources.getByText('What this isolation does not give').click();
  await resources.getByText(/share the machine's network/).waitFor();
  await resources.getByLabel('Memory (MiB)').fill('768');
  await resources.getByRole('button', { name: 'Save and restart' }).click();
  await resources.getByRole('img', { name: /^Memory: .*768 MiB/ }).waitFor();
  await waitRunning(admin, instanceId, 'after its memory limit changed');
  await shot(admin, '16d-resources');
  await admin.goto('/platform');
  await admin.getByRole('region', { name: 'Hosted instance isolation' }).getByText('sandbox: bubblewrap').waitFor();
  await admin.goto(`/instances/${instanceId}`);

  // --- The team's application settings: palette lists and retention.
  await admin.goto(`/teams/${teamId}`);
  await admin.getByRole('link', { name: APP }).waitFor();
  await admin.getByLabel('Palette deny list').fill('node-red-contrib-evil*\n@sketchy/*');
  await admin.getByLabel('Automatic snapshots kept per instance').fill('20');
  await admin.getByRole('button', { name: 'Save application settings' }).click();
  await admin.getByText(/^Application settings saved\./).waitFor();
  await admin.reload();
  await admin.getByLabel('Palette deny list').waitFor();
  assert.equal(await admin.getByLabel('Palette deny list').inputValue(), 'node-red-contrib-evil*\n@sketchy/*');
  assert.equal(await admin.getByLabel('Automatic snapshots kept per instance').inputValue(), '20');
  // A pattern that is not an npm name is refused with the server's reason.
  await admin.getByLabel('Palette allow list').fill('Not A Package!');
  await admin.getByRole('button', { name: 'Save application settings' }).click();
  await admin.getByRole('alert').waitFor();
  await shot(admin, '17-team-applications');
});

test(
  'an engineer drags an inject and a debug node from the palette, wires and deploys them; the message shows in the debug sidebar and the deploy is a snapshot',
  { timeout: 180_000 },
  async () => {
    const admin = walk.admin!;
    const instanceId = walk.instanceId!;
    const editor = await admin.context().newPage();
    editor.setDefaultTimeout(STEP_TIMEOUT);
    walk.editor = editor;
    await openEditor(editor, instanceId);
    const count = (what: 'eachWorkspace' | 'eachNode' | 'eachLink') =>
      editor.evaluate((each) => {
        let n = 0;
        (window as unknown as { RED: { nodes: Record<string, (cb: () => void) => void> } }).RED.nodes[each]!(() => n++);
        return n;
      }, what);
    const tabsBefore = await count('eachWorkspace');

    // A flow of its own: the "+" beside the tabs.
    await editor.locator('#red-ui-workspace div.red-ui-tab-button.red-ui-tabs-add > a').click();
    await editor.waitForFunction((n) => {
      let tabs = 0;
      (window as unknown as { RED: { nodes: { eachWorkspace(cb: () => void): void } } }).RED.nodes.eachWorkspace(() => tabs++);
      return tabs === n;
    }, tabsBefore + 1);

    // Dragged from the palette onto the canvas, as a person does: mouse down, move, release.
    const chart = (await editor.locator('#red-ui-workspace-chart').boundingBox())!;
    const centre = (box: { x: number; y: number; width: number; height: number }) => ({ x: box.x + box.width / 2, y: box.y + box.height / 2 });
    for (const [type, x] of [
      ['inject', 200],
      ['debug', 460],
    ] as const) {
      const paletteNode = editor.locator(`#red-ui-palette-container-common .red-ui-palette-node[data-palette-type="${type}"]`);
      await paletteNode.scrollIntoViewIfNeeded();
      const from = centre((await paletteNode.boundingBox())!);
      await editor.mouse.move(from.x, from.y);
      await editor.mouse.down();
      await editor.mouse.move(from.x + 40, from.y + 10, { steps: 5 });
      await editor.mouse.move(chart.x + x, chart.y + 160, { steps: 10 });
      await editor.mouse.up();
    }
    // Wired: from the inject's output port to the debug's input port (the only ports on this flow).
    const output = centre((await editor.locator('.red-ui-flow-port-output .red-ui-flow-port').first().boundingBox())!);
    const input = centre((await editor.locator('.red-ui-flow-port-input .red-ui-flow-port').first().boundingBox())!);
    const linksBefore = await count('eachLink');
    await editor.mouse.move(output.x, output.y);
    await editor.mouse.down();
    await editor.mouse.move(input.x, input.y, { steps: 10 });
    await editor.mouse.up();
    assert.equal(await count('eachLink'), linksBefore + 1, 'the wire is drawn');
    const ids = await editor.evaluate(() => {
      const red = (window as unknown as { RED: { workspaces: { active(): string }; nodes: { eachNode(cb: (n: { id: string; type: string; z: string }) => void): void } } }).RED;
      const found: Record<string, string> = {};
      red.nodes.eachNode((n) => {
        if (n.z === red.workspaces.active()) found[n.type] = n.id;
      });
      return found;
    });
    assert.ok(ids.inject && ids.debug, `an inject and a debug on the new flow: ${JSON.stringify(ids)}`);
    await shot(editor, '18-dragged-and-wired');
    await deployInEditor(editor);

    // Running: the inject's button sends a message, and the debug sidebar shows it (over the editor's WebSocket, through the platform).
    await editor.locator('#red-ui-tab-debug-link-button').click();
    await editor.locator(`[id="${ids.inject}"] .red-ui-flow-node-button`).click();
    await editor.locator('.red-ui-debug-msg').filter({ hasText: 'msg.payload : number' }).first().waitFor({ timeout: 20_000 });
    await shot(editor, '19-debug-message');

    // The deploy is kept as an automatic snapshot by the engineer, holding the two nodes wired.
    await admin.goto(`/instances/${instanceId}`);
    const newest = admin.locator('tr[data-snapshot-id]').first();
    await newest.getByText('running', { exact: true }).waitFor({ timeout: 30_000 });
    await newest.getByText('auto', { exact: true }).waitFor();
    const held = (await (await admin.request.get(`/api/snapshots/${(await newest.getAttribute('data-snapshot-id'))!}`)).json()) as {
      flows: Array<{ id: string; wires?: string[][] }>;
    };
    assert.deepEqual(held.flows.find((n) => n.id === ids.inject)?.wires, [[ids.debug]]);
    await editor.close();
    walk.editor = undefined;
  },
);

test('an operator rolls back to a snapshot that ran here, and is offered nothing that never ran', { timeout: 180_000 }, async () => {
  const { admin, instanceId, teamId } = walk;
  assert.ok(admin && instanceId && teamId, 'runs after the owner walk');
  const operator = await invitePerson(h, admin, teamId, TEAM, OPERATOR, 'operator');
  await operator.goto(`/instances/${instanceId}`);
  await operator.getByRole('heading', { name: INSTANCE, level: 1 }).waitFor();
  const rows = operator.locator('tr[data-snapshot-id]');
  await rows.first().waitFor();
  // The imported snapshot and the one taken from a flows file never ran here: no button on them, and no Deploy anywhere.
  for (const kind of ['import', 'manual']) {
    const row = rows.filter({ has: operator.getByText(kind, { exact: true }) }).first();
    await row.waitFor();
    assert.equal(await row.getByRole('button', { name: /^(Deploy|Roll back)/ }).count(), 0, `nothing to deploy on the ${kind} snapshot`);
    assert.equal(await row.getByText(/^ran here/).count(), 0);
  }
  assert.equal(await operator.getByRole('button', { name: /^Deploy/ }).count(), 0, 'an operator deploys nothing new');
  // The first editor deploy ran here: it says so, and is offered as a roll back.
  const ran = rows.filter({ has: operator.getByText(/^ran here, last from/) }).last();
  const ranId = (await ran.getAttribute('data-snapshot-id'))!;
  await shot(operator, '20-instance-as-operator');
  await ran.getByRole('button', { name: /^Roll back to this/ }).click();
  await ran.getByRole('button', { name: 'Yes, roll back' }).click();
  await operator.locator(`tr[data-snapshot-id="${ranId}"]`).getByText('running', { exact: true }).waitFor({ timeout: RUNTIME_TIMEOUT });
  await waitRunning(operator, instanceId, "after the operator's roll back");
  // Stopped, the snapshot is the one that ran last, not "running"; started again, it runs.
  await operator.getByRole('button', { name: 'Stop', exact: true }).click();
  await operator.getByRole('button', { name: 'Yes, stop' }).click();
  await operator
    .getByTestId('instance-status')
    .filter({ hasText: /^stopped$/ })
    .waitFor({ timeout: RUNTIME_TIMEOUT });
  await operator.locator(`tr[data-snapshot-id="${ranId}"]`).getByText('last run (stopped)', { exact: true }).waitFor();
  await shot(operator, '20b-stopped');
  await operator.getByRole('button', { name: 'Start', exact: true }).click();
  await waitRunning(operator, instanceId, 'started again by the operator');
  await operator.locator(`tr[data-snapshot-id="${ranId}"]`).getByText('running', { exact: true }).waitFor();
  // The snapshot's own page says when it ran here.
  await operator.goto(`/snapshots/${ranId}`);
  await operator.getByText('Ran on the instance').waitFor();
  await operator.getByText(/^first /).waitFor();

  // Signed out (a session that timed out while the editor's tab stayed open), the editor's
  // address leads to the sign-in page and, signed in again, back to the editor: on the
  // instance's origin, by the platform's route that signs the person in there.
  const editorUrl = `/instances/${instanceId}/editor/`;
  await operator.evaluate(async () => {
    const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
    await fetch('/api/auth/logout', { method: 'POST', headers: { 'x-csrf-token': session.csrfToken } });
  });
  await operator.goto(editorUrl);
  await operator.waitForURL((url) => url.pathname === '/sign-in' && url.searchParams.get('next') === `/instances/${instanceId}/editor`);
  await operator.getByLabel('Email').fill(OPERATOR.email);
  await operator.getByLabel('Password').fill(OPERATOR.password);
  await operator.getByRole('button', { name: 'Sign in' }).click();
  await operator.waitForURL((url) => url.host === `${instanceId}.localhost:${new URL(base).port}` && url.pathname === editorUrl, { timeout: EDITOR_TIMEOUT });
  // An operator's editor is read only.
  await operator.locator('#red-ui-header-button-deploy.disabled').waitFor({ timeout: EDITOR_TIMEOUT });
  await shot(operator, '21-editor-after-sign-in');
});

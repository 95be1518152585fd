/**
 * The fleet pages in a real Chromium against the real server (SQLite): an owner adds a
 * site and a device group, makes a provisioning token (shown once); a device registers
 * with it over the device protocol and is revoked from the page, cut off at once; a
 * second token keeps its site from being deleted until revoked; a viewer of the team sees
 * the fleet and no way to change it. The device here speaks the protocol with fetch; the
 * real agent's --provision is tested in packages/server/src/features/fleet/device-agent.test.ts.
 *
 * The last walk runs the real agent with real Node-RED: provisioned from the fleet page,
 * its target set on its page, a rollout to its group drawn to 100 %, the group's own
 * target set from the fleet page (v1 for all its devices at once, then v2 again), and the platform
 * stopped and started while the device keeps serving its flows, and then its Node-RED
 * editor opened from its page, read only, through the tunnel the device opens.
 *
 * FLOWGATE_E2E_SHOTS=<dir> saves a screenshot of each step.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { AGENT_BIN } from '../packages/server/src/package-paths.ts';
import { freePort } from '../packages/server/test/harness.ts';
import { invitePerson, setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk, apiAs } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const VIEWER = { email: 'vic@plant.example', name: 'Vic Viewer', password: 'orchard pebble winter sails' };
const MEMBER = { email: 'mo@plant.example', name: 'Mo Member', password: 'copper kettle winter harbour' };
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
const agents: ChildProcess[] = [];
after(async () => {
  for (const agent of agents) if (agent.exitCode === null) agent.kill('SIGKILL');
  await h?.close();
});

/** A flow that answers GET /hello on the device with `text`. */
function helloFlows(text: string) {
  return [
    { id: 't1', type: 'tab', label: 'Line' },
    { id: 'in1', type: 'http in', z: 't1', url: '/hello', method: 'get', wires: [['tpl1']] },
    { id: 'tpl1', type: 'template', z: 't1', field: 'payload', format: 'text', syntax: 'plain', template: text, output: 'str', wires: [['out1']] },
    { id: 'out1', type: 'http response', z: 't1', wires: [] },
  ];
}

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
  // The token goes in on standard input (printf is the shell's own): no command line holds it, where ps shows it to everyone.
  assert.equal(await admin.getByLabel('Command', { exact: true }).inputValue(), `printf %s '${token}' | npx flowgate-agent --platform ${h.base} --token-file -`);
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
  const checkIn = () =>
    fetch(`${h.base}/api/fleet/v1/check-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
      body: JSON.stringify({ agentVersion: '0.1.0' }),
    });
  assert.equal((await checkIn()).status, 200);
  await admin.getByRole('button', { name: 'Refresh' }).click();
  const deviceRow = admin.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: 'edge-gw-line3' });
  // It checked in without running Node-RED (no state reported): its state is unknown.
  await deviceRow.locator('[data-status="unknown"]').waitFor();
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

  // --- Offline alerts: the owner sets a threshold; a bad webhook is refused with why.
  await admin.getByLabel('Alert after (minutes offline)').fill('5');
  await admin.getByLabel('Webhook URL').fill('https://user:secret@alerts.plant.example/hook');
  await admin.getByRole('button', { name: 'Save alert settings' }).click();
  await admin.getByRole('alert').filter({ hasText: 'no user name or password' }).waitFor();
  await admin.getByLabel('Webhook URL').fill('');
  await admin.getByRole('button', { name: 'Save alert settings' }).click();
  await admin.getByText('A device offline for 5 minute(s) raises an alert.').waitFor();

  // --- All of it is in the team's audit trail.
  await admin.goto(`/teams/${walk.teamId}/audit`);
  for (const event of [
    'fleet.settings.updated',
    'site.created',
    'device.group.created',
    'provisioning.token.created',
    'device.registered',
    'device.updated',
    'device.revoked',
    'provisioning.token.revoked',
  ]) {
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
  // The list filters by name, and says so when nothing matches.
  await viewer.getByLabel('Name contains').fill('no-such-gateway');
  await viewer.getByText('No device matches these filters.').waitFor();
  await viewer.getByLabel('Name contains').fill('edge-gw');
  await viewer.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: 'edge-gw-line3' }).waitFor();
  for (const name of ['Add site', 'Add group', 'Make token', 'Save alert settings', 'Start rollout', /^Delete/, /^Revoke/]) {
    assert.equal(await viewer.getByRole('button', { name }).count(), 0, `no "${String(name)}" for a viewer`);
  }
  // The only choices a viewer has are the list's filters: no site or group to set on a device.
  assert.equal(await viewer.getByRole('region', { name: 'Devices' }).getByRole('table').getByRole('combobox').count(), 0, 'no site or group to choose for a viewer');
  assert.equal(await viewer.getByRole('search', { name: 'Filter devices' }).getByRole('combobox').count(), 3);
  await h.shot(viewer, '04-fleet-as-viewer');
});

test('two editor deploys of the same name are told apart in the snapshot picker by author, time and where they run', { timeout: 90_000 }, async () => {
  const { admin, teamId } = walk;
  assert.ok(admin && teamId, 'runs after the owner walk');
  const member = await invitePerson(h, admin, teamId, TEAM, MEMBER, 'member');
  const application = await apiAs<{ id: string }>(admin, 'POST', `/api/teams/${teamId}/applications`, { name: 'Press line' });
  const [nodeRedVersion] = await apiAs<string[]>(admin, 'GET', '/api/node-red-versions');
  const instance = await apiAs<{ id: string }>(admin, 'POST', `/api/applications/${application.id}/instances`, { name: 'press-dev', nodeRedVersion });
  // The name every deploy from the editor gets, once by the owner and once by a member, seconds apart.
  const DEFAULT_NAME = 'Deployed from the editor';
  const ada = await apiAs<{ id: string; hash: string }>(admin, 'POST', `/api/instances/${instance.id}/snapshots`, { name: DEFAULT_NAME, flows: helloFlows('from Ada') });
  const mo = await apiAs<{ id: string; hash: string }>(member, 'POST', `/api/instances/${instance.id}/snapshots`, { name: DEFAULT_NAME, flows: helloFlows('from Mo') });
  // A release named afterwards, of the same flows as Ada's deploy.
  const release = await apiAs<{ id: string; hash: string }>(admin, 'POST', `/api/instances/${instance.id}/snapshots`, { name: 'Press release 1', flows: helloFlows('from Ada') });
  assert.equal(release.hash, ada.hash);
  assert.notEqual(mo.hash, ada.hash);
  // Ada's deploy runs on the instance: deployed, and run by its hosted agent's Node-RED.
  await apiAs(admin, 'POST', `/api/instances/${instance.id}/deploy`, { snapshotId: ada.id });
  for (let tries = 0; ; tries++) {
    const now = await apiAs<{ status: string; runningSnapshotId: string | null }>(admin, 'GET', `/api/instances/${instance.id}`);
    if (now.status === 'running' && now.runningSnapshotId === ada.id) break;
    assert.ok(tries < 90, `the instance runs Ada's snapshot within 90 s (${now.status}, ${now.runningSnapshotId})`);
    await new Promise((r) => setTimeout(r, 1000));
  }

  await admin.goto(`/teams/${teamId}/fleet`);
  const form = admin.getByRole('form', { name: 'Start a rollout' });
  await form.getByLabel('Application', { exact: true }).selectOption({ label: 'Press line' });
  await form.getByLabel('Instance', { exact: true }).selectOption({ label: 'press-dev' });
  const picker = form.getByLabel('Snapshot', { exact: true });
  await admin.waitForFunction(() => document.querySelectorAll('#rollout-snapshot option').length === 4);
  const options = (await picker.locator('option').allTextContents()).slice(1);
  const optionOf = (id: string) => picker.locator(`option[value="${id}"]`).textContent();
  const [adaLabel, moLabel, releaseLabel] = [await optionOf(ada.id), await optionOf(mo.id), await optionOf(release.id)];
  assert.equal(new Set(options).size, 3, `every option reads differently: ${options.join(' | ')}`);
  assert.match(adaLabel ?? '', new RegExp(`^${DEFAULT_NAME} · by ${ADMIN.email} · .+ · runs on press-dev · ${ada.hash.slice(0, 8)}$`));
  assert.match(moLabel ?? '', new RegExp(`^${DEFAULT_NAME} · by ${MEMBER.email} · .+ · ${mo.hash.slice(0, 8)}$`));
  assert.doesNotMatch(moLabel ?? '', /runs on/, "Mo's deploy runs nowhere");
  assert.match(releaseLabel ?? '', /^Press release 1 · .+ · runs on press-dev · /, 'a named copy of what runs says that it runs');
  await h.shot(admin, '04b-snapshot-picker');

  // On the instance's own list too, the named copy shows that it runs.
  await admin.goto(`/instances/${instance.id}`);
  await admin.locator(`tr[data-snapshot-id="${release.id}"]`).getByText('running (same flows)').waitFor();
  await member.close();
  // Its Node-RED is not needed any more: the next walk has the machine to itself.
  await apiAs(admin, 'POST', `/api/instances/${instance.id}/stop`, {});
});

test(
  'a real device agent runs the target set on its page; a rollout to its group is drawn as it goes; its editor opens after a platform restart',
  { timeout: 240_000 },
  async (t) => {
    const { admin, teamId } = walk;
    let walked = false;
    assert.ok(admin && teamId, 'runs after the owner walk');
    // What the device is to run: two snapshots of an application's instance, made through the API.
    const application = await apiAs<{ id: string }>(admin, 'POST', `/api/teams/${teamId}/applications`, { name: 'Line gateway' });
    const [nodeRedVersion] = await apiAs<string[]>(admin, 'GET', '/api/node-red-versions');
    const instance = await apiAs<{ id: string }>(admin, 'POST', `/api/applications/${application.id}/instances`, { name: 'dev', nodeRedVersion });
    await apiAs(admin, 'POST', `/api/instances/${instance.id}/snapshots`, { name: 'hello v1', flows: helloFlows('hello v1 from the device') });
    await apiAs(admin, 'POST', `/api/instances/${instance.id}/snapshots`, { name: 'hello v2', flows: helloFlows('hello v2 from the device') });

    // --- A token from the fleet page, and the real agent with it: it registers and starts Node-RED.
    await admin.goto(`/teams/${teamId}/fleet`);
    await admin.getByLabel('Site for the device', { exact: true }).selectOption({ label: 'Plant Hamburg' });
    await admin.getByLabel('Device group', { exact: true }).selectOption({ label: 'Line 3 edge' });
    await admin.getByLabel('Token description').fill('Filler gateway');
    await admin.getByRole('button', { name: 'Make token' }).click();
    const token = await admin.getByLabel('Token', { exact: true }).inputValue();
    await admin.getByRole('button', { name: 'Done' }).click();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-e2e-device-'));
    const port = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOWGATE_')));
    const agent = spawn(
      process.execPath,
      [AGENT_BIN, '--platform', h.base, '--token-file', '-', '--dir', dir, '--name', 'filler-gw-1', '--node-red-port', String(port), '--check-in-seconds', '2'],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    agent.stdin.end(token);
    agents.push(agent);
    // The agent's own account of what it did, printed if this walk fails: CI keeps nothing else of it.
    const agentOutput: string[] = [];
    for (const stream of [agent.stdout, agent.stderr]) stream.on('data', (chunk: Buffer) => agentOutput.push(chunk.toString('utf8')));
    t.after(() => {
      if (!walked) console.error(`--- the device agent's output ---\n${agentOutput.join('').slice(-20_000)}`);
    });
    const hello = async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/hello`, { signal: AbortSignal.timeout(2000) })).text();
      } catch {
        return null;
      }
    };

    // --- Its page: it runs the empty flow, then the target an owner sets from the page.
    const deviceLink = admin.getByRole('link', { name: 'filler-gw-1' });
    for (let tries = 0; (await deviceLink.count()) === 0; tries++) {
      assert.ok(tries < 30, 'the device registers within 30 s');
      await new Promise((r) => setTimeout(r, 1000));
      await admin.getByRole('button', { name: 'Refresh' }).click();
    }
    await deviceLink.click();
    await admin.getByRole('heading', { name: 'filler-gw-1', level: 1 }).waitFor();
    await admin.locator('.page-head [data-status="running"]').waitFor({ timeout: 60_000 });
    await admin.getByLabel('Application', { exact: true }).selectOption({ label: 'Line gateway' });
    await admin.getByLabel('Instance', { exact: true }).selectOption({ label: 'dev' });
    // Newest first: v2, then v1.
    await admin.getByLabel('Snapshot', { exact: true }).selectOption({ index: 2 });
    await admin.getByRole('button', { name: 'Set target' }).click();
    await admin.getByTestId('device-target').getByText('hello v1').waitFor();
    await admin.getByTestId('device-running').getByText('hello v1').waitFor({ timeout: 60_000 });
    await admin.locator('.page-head [data-status="running"]').waitFor({ timeout: 30_000 });
    assert.equal(await hello(), 'hello v1 from the device', 'the flows run on the device');
    await admin.getByText(/^Load$/).waitFor();
    await admin.locator('[data-connection="online"]').waitFor();
    await h.shot(admin, '05-device-running');

    // --- A rollout of v2 to its group, from the fleet page: the page draws it to 100 %.
    await admin.goto(`/teams/${teamId}/fleet`);
    const form = admin.getByRole('form', { name: 'Start a rollout' });
    await form.getByLabel('Group to roll out to').selectOption({ label: 'Line 3 edge' });
    await form.getByLabel('Application', { exact: true }).selectOption({ label: 'Line gateway' });
    await form.getByLabel('Instance', { exact: true }).selectOption({ label: 'dev' });
    await form.getByLabel('Snapshot', { exact: true }).selectOption({ index: 1 });
    await form.getByLabel('Devices per wave (%)').fill('100');
    await form.getByLabel('Healthy after (s)').fill('2');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    await admin.getByRole('heading', { name: 'Rollout to Line 3 edge', level: 1 }).waitFor();
    // The snapshot by its name, not only its hash.
    await admin.getByTestId('rollout-snapshot').getByText('hello v2').waitFor();
    await admin.getByTestId('rollout-state').getByText('completed').waitFor({ timeout: 90_000 });
    assert.equal(await admin.getByTestId('rollout-percent').textContent(), '100 %');
    await admin.getByRole('img', { name: 'Plant Hamburg: 1 healthy' }).waitFor();
    await admin.getByRole('row').filter({ hasText: 'filler-gw-1' }).getByText('healthy').waitFor();
    assert.equal(await hello(), 'hello v2 from the device');
    await h.shot(admin, '06-rollout-completed');

    // --- The group's own target, from the fleet page: every device of it at once, no waves.
    // The completed rollout made v2 the group's; set v1, see the device run it, then v2 again.
    const helloBecomes = async (text: string) => {
      for (let tries = 0; (await hello()) !== text; tries++) {
        assert.ok(tries < 60, `the device serves "${text}" within 60 s`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    await admin.goto(`/teams/${teamId}/fleet`);
    const groupRuns = admin.getByTestId('group-target-Line 3 edge');
    await groupRuns.getByText('hello v2').waitFor();
    const groupForm = admin.getByRole('form', { name: "Set a group's target" });
    for (const [index, name] of [
      [2, 'hello v1'],
      [1, 'hello v2'],
    ] as const) {
      await groupForm.getByLabel('Group', { exact: true }).selectOption({ label: 'Line 3 edge' });
      await groupForm.getByLabel('Application', { exact: true }).selectOption({ label: 'Line gateway' });
      await groupForm.getByLabel('Instance', { exact: true }).selectOption({ label: 'dev' });
      await groupForm.getByLabel('Snapshot', { exact: true }).selectOption({ index });
      await groupForm.getByRole('button', { name: 'Set target for all its devices' }).click();
      await groupRuns.getByText(name).waitFor();
      await helloBecomes(`${name} from the device`);
    }
    await h.shot(admin, '06b-group-target');

    // --- The platform stops and starts again: the device keeps running its flows meanwhile,
    // comes back online by itself, and its page shows it running what it should.
    await h.restartPlatform(async () => {
      assert.equal(await hello(), 'hello v2 from the device', 'the flows run while the platform is down');
    });
    assert.equal(await hello(), 'hello v2 from the device');
    await admin.goto(`/teams/${teamId}/fleet`);
    await admin.getByRole('link', { name: 'filler-gw-1' }).click();
    await admin.locator('[data-connection="online"]').waitFor({ timeout: 60_000 });
    await admin.getByTestId('device-running').getByText('hello v2').waitFor();
    await admin.locator('.page-head [data-status="running"]').waitFor();
    await h.shot(admin, '07-after-platform-restart');

    // --- Its editor, from its page: through the tunnel the device opens, read only, showing what it runs.
    const [editor] = await Promise.all([admin.context().waitForEvent('page'), admin.getByRole('link', { name: /^Open editor \(read-only\)/ }).click()]);
    await editor
      .locator('#red-ui-header-button-deploy')
      .waitFor({ timeout: 90_000 })
      .catch(async (error: Error) => {
        throw new Error(
          `${error.message}\nThe editor's page at ${editor.url()} shows: ${(
            await editor
              .locator('body')
              .textContent()
              .catch(() => null)
          )?.slice(0, 2000)}`,
        );
      });
    await editor.waitForFunction(() => Boolean((window as unknown as { RED?: { nodes?: { node?: (id: string) => unknown } } }).RED?.nodes?.node?.('tpl1')), undefined, {
      timeout: 60_000,
    });
    assert.equal(
      await editor.evaluate(() => (window as unknown as { RED: { nodes: { node(id: string): { template: string } } } }).RED.nodes.node('tpl1').template),
      'hello v2 from the device',
      'the editor shows the flows the device runs',
    );
    await editor.locator('#red-ui-header-button-deploy.disabled').waitFor();
    assert.match(editor.url(), new RegExp(`/devices/[^/]+/editor/`));
    await h.shot(editor, '08-device-editor');
    await editor.close();
    walked = true;

    // Its directory goes once the agent (and its Node-RED) have stopped writing to it.
    const exited = agent.exitCode !== null ? Promise.resolve() : new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  },
);

/**
 * The automatic inventory in Chromium: a hosted instance runs line 3's flows (a plant MQTT
 * broker, the press PLC over Modbus/TCP); the compliance lead (a platform admin today) finds
 * it on the Inventory page with what its agent reported, opens it, and confirms the Modbus
 * conduit nobody typed.
 *
 * Needs the built UI (node scripts/build.mjs) and Chromium at /usr/bin/chromium (or FLOWGATE_CHROMIUM).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { installNodeModuleStandIn, LINE3_FLOWS, until } from '../packages/server/test/harness.ts';
import { setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk, api } from './browser-harness.ts';

const ADMIN = { email: 'clara.compliance@plant-hamburg.example', name: 'Clara Compliance', password: 'violet harbour gently turns' };

let h: BrowserWalk;
before(async () => {
  h = await startBrowserWalk('inventory-');
});
after(async () => {
  await h?.close();
});

test('a hosted instance running line 3 appears in the inventory with its facts, and its Modbus conduit is confirmed', { timeout: 180_000 }, async () => {
  const page = await h.newPage();
  const teamId = await setUpPlatformWithTeam(h, page, ADMIN, 'Pressing');
  const app = await api(page, 'POST', `/api/teams/${teamId}/applications`, { name: 'Line 3' });
  const [version] = (await api(page, 'GET', '/api/node-red-versions')).json as unknown as string[];
  const instance = await api(page, 'POST', `/api/applications/${String(app.json.id)}/instances`, { name: 'line3-press', nodeRedVersion: version });
  const instanceId = String(instance.json.id);
  await until('running', async () => (await api(page, 'GET', `/api/instances/${instanceId}`)).json.status === 'running');
  // node-red-contrib-modbus, as npm would leave it in the instance's user directory.
  installNodeModuleStandIn(path.join(h.t.context.config.dataDir, 'instances', instanceId, 'userdir'), 'node-red-contrib-modbus', '5.43.0', ['modbus-client', 'modbus-read']);
  const snapshot = await api(page, 'POST', `/api/instances/${instanceId}/snapshots`, { name: 'line 3', flows: LINE3_FLOWS });
  assert.equal((await api(page, 'POST', `/api/instances/${instanceId}/deploy`, { snapshotId: snapshot.json.id })).status, 202);
  await until('line 3 runs with its facts reported', async () => {
    const found = (await api(page, 'GET', '/api/compliance/inventory')).json.items as Array<{ id: string; runningSnapshotId: string | null; modules: Array<{ name: string }> }>;
    const item = found.find((i) => i.id === instanceId);
    return item !== undefined && item.runningSnapshotId === snapshot.json.id && item.modules.some((m) => m.name === 'node-red-contrib-modbus');
  });

  await page.getByRole('link', { name: 'Inventory' }).click();
  await page.getByRole('heading', { name: 'Inventory', level: 1 }).waitFor();
  const row = page.locator('tr[data-item="line3-press"]');
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /Pressing/);
  assert.ok(text.includes(process.version), `Node.js ${process.version} as its agent reports it: ${text}`);
  assert.match(text, /online/);
  assert.ok(text.includes(String(snapshot.json.hash).slice(0, 12)), 'the snapshot it runs, by hash');
  await h.shot(page, 'list');

  await row.getByRole('button', { name: 'line3-press' }).click();
  await page.getByRole('heading', { name: 'What line3-press runs' }).waitFor();
  const modbus = page.locator('tr[data-conduit="Modbus/TCP 10.0.3.5:502"]');
  await modbus.waitFor();
  assert.match(await modbus.innerText(), /10\.0\.3\.5:502[\s\S]*Press PLC/);
  await page.locator('tr[data-conduit="MQTT 127.0.0.1:1884"]').waitFor();
  assert.match(await page.getByText('node-red-contrib-modbus@5.43.0').innerText(), /node-red-contrib-modbus@5\.43\.0/);
  await modbus.getByRole('button', { name: 'Confirm' }).click();
  await modbus.getByText('confirmed').waitFor();
  await h.shot(page, 'confirmed');
});

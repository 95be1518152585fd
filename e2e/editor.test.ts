/**
 * The Node-RED editor as a person first meets it, in a real Chromium through the platform,
 * with the real agent and Node-RED: no welcome tour over the canvas, no request the
 * editor's Content-Security-Policy blocks (the public palette catalogue was one at every
 * open), and one named audit event for the whole editor session.
 *
 * Needs the built UI (npm run build:web) and Chromium at /usr/bin/chromium (or FLOWGATE_CHROMIUM).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { until } from '../packages/server/test/harness.ts';
import { setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk, api } from './browser-harness.ts';

const EDITOR_TIMEOUT = 45_000;
const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };

let h: BrowserWalk;

before(async () => {
  h = await startBrowserWalk('editor-');
});
after(async () => {
  await h?.close();
});

test('the editor opens with no tour over the canvas, no blocked request, and one audit event for the session', { timeout: 240_000 }, async () => {
  const admin = await h.newPage();
  const teamId = await setUpPlatformWithTeam(h, admin, ADMIN, 'Line 4 Bottling');
  const appId = (await api<{ id: string }>(admin, 'POST', `/api/teams/${teamId}/applications`, { name: 'Capper' })).json.id;
  const [version] = (await api<string[]>(admin, 'GET', '/api/node-red-versions')).json;
  const instanceId = (await api<{ id: string }>(admin, 'POST', `/api/applications/${appId}/instances`, { name: 'production', nodeRedVersion: version })).json.id;
  await until('the instance running', async () => (await api<{ status: string }>(admin, 'GET', `/api/instances/${instanceId}`)).json.status === 'running');
  const since = (await api<{ events: Array<{ seq: number }> }>(admin, 'GET', '/api/audit?limit=1')).json.events[0]!.seq;

  const editor = await admin.context().newPage();
  const consoleErrors: string[] = [];
  const violations: string[] = [];
  const offOrigin: string[] = [];
  editor.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  // The editor is on the instance's own origin; the platform's only in the redirects that sign the person in there.
  const instanceOrigin = `http://${instanceId}.localhost:${new URL(h.base).port}`;
  editor.on('request', (r) => {
    if (!r.url().startsWith(instanceOrigin) && !r.url().startsWith(h.base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) offOrigin.push(r.url());
  });
  // Chromium reports a blocked request as a console error and as this event.
  await editor.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  editor.on('console', (m) => {
    if (/CSP violation|Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  const catalogue = editor.waitForResponse((r) => r.url().includes('/flowgate-palette-catalogue.json'), { timeout: EDITOR_TIMEOUT });

  await editor.goto(`/instances/${instanceId}/editor`, { timeout: EDITOR_TIMEOUT });
  assert.ok(editor.url().startsWith(`${instanceOrigin}/instances/${instanceId}/editor/`), editor.url());
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
  // The palette asks the catalogue it is given, on this origin, and gets it.
  const answered = await catalogue;
  assert.equal(answered.status(), 200);
  assert.deepEqual(((await answered.json()) as { modules: unknown[] }).modules, []);

  // The tour, when there was one, came a moment after the workspace: give it that moment.
  await editor.waitForTimeout(3000);
  assert.equal(await editor.locator('.red-ui-tourGuide-shade, .red-ui-tourGuide-popover').count(), 0, 'no welcome tour');
  await h.shot(editor, '01-editor-first-open');
  assert.deepEqual(violations, [], 'nothing blocked by the Content-Security-Policy');
  assert.deepEqual(offOrigin, [], 'the editor asks nothing of another site');
  assert.deepEqual(consoleErrors, [], 'no error in the console');

  // The session ends; then a change from the editor's token, so that whatever the session
  // caused is on record by the time the change is (Node-RED's events arrive in order).
  const token = await editor.evaluate(
    () => (window as unknown as { RED: { settings: { get(key: string): { access_token: string } } } }).RED.settings.get('auth-tokens').access_token,
  );
  await editor.close();
  // From a page of the instance's origin, where the editor's token and its sign-in are.
  const there = await admin.context().newPage();
  await there.goto(`${instanceOrigin}/instances/${instanceId}/app/`);
  const deployed = await there.evaluate(
    async ({ instanceId, token }) =>
      (
        await fetch(`/instances/${instanceId}/editor/flows`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'node-red-api-version': 'v1', 'node-red-deployment-type': 'full' },
          body: JSON.stringify([{ id: 'fg-tab', type: 'tab', label: 'After the session' }]),
        })
      ).status,
    { instanceId, token },
  );
  assert.equal(deployed, 204);
  type Event = { seq: number; event: string; targetId: string | null; details: string };
  const events = await until('the deploy on record', async () => {
    const page = (await api<{ events: Event[] }>(admin, 'GET', '/api/audit?limit=200')).json.events.filter((e) => e.seq > since && e.targetId === instanceId);
    return page.some((e) => e.event === 'editor.flows.deployed') ? page : null;
  });
  const names = events.map((e) => e.event).reverse();
  assert.equal(names.filter((n) => n === 'instance.editor.opened').length, 1, `one editor session on record: ${names.join(', ')}`);
  assert.deepEqual(
    events.filter((e) => e.event === 'editor.other' || String((JSON.parse(e.details) as { nodeRedEvent?: string }).nodeRedEvent ?? '').startsWith('comms.')),
    [],
    `no unnamed event, nothing of the editor's WebSocket: ${names.join(', ')}`,
  );
});

/**
 * Issue 19, item 6: a page a member serves from a flow must not act on the platform as
 * whoever opens it. In a real Chromium, with the real agent and Node-RED: a member deploys
 * an HTTP-in endpoint serving a page whose script tries to read the signed-in visitor's data
 * from the platform's API and to create a team as them; the team's owner (also the
 * platform's admin) opens it. With each instance on an origin of its own (the default) both
 * attempts fail and nothing changes; with FLOWGATE_INSTANCE_ORIGINS=shared (the old layout,
 * insecure) the same page succeeds at both, which is what shows the test can fail.
 *
 * The platform is reached as http://localhost:PORT and the instance as
 * http://<id>.localhost:PORT, siblings as `flowgate.example.com` and `<id>.apps.example.com`
 * are in production, where they are one site and the platform's SameSite cookie goes along
 * with the page's requests. Here the page's own policy (connect-src 'self') stops its fetches
 * before they leave the browser; the platform's refusal of an instance's Origin, the layer
 * behind it, is tested at the server (instance-origins.test.ts).
 *
 * Needs the built UI (npm run build:web) and Chromium at /usr/bin/chromium (or FLOWGATE_CHROMIUM).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../packages/server/test/harness.ts';
import { invitePerson, setUpPlatformWithTeam, startBrowserWalk, type BrowserWalk, api } from './browser-harness.ts';

const ADMIN = { email: 'ada@plant.example', name: 'Ada Admin', password: 'amber lantern quietly folds' };
const MEMBER = { email: 'mal@plant.example', name: 'Mal Member', password: 'gentle river quartz lantern 42' };
const TEAM = 'Line 4 Bottling';
const PLANTED = 'Planted by a flow';

/**
 * What the member's page does in its visitor's browser: read the visitor's session and teams,
 * then create a team with the CSRF token the session answer carries, by the page's own
 * origin's paths (on the shared origin, the platform's) and by the platform's address. Each
 * attempt's outcome lands in window.attempts. Its form, posted to the platform once those are
 * done, is a navigation, which the page's Content-Security-Policy does not stop (it has no
 * form-action): the one request of the page's that reaches the platform. It carries `Origin:
 * null` (the page's referrer policy, which a page may choose, nulls it) and no CSRF header,
 * and is refused.
 */
function attackPage(platform: string): string {
  return `<!doctype html><html><head><title>Line 4 report</title></head><body>
<h1>Line 4 report</h1>
<form id="planted" method="post" enctype="text/plain" action="${platform}/api/teams"><input name='{"name":"${PLANTED} (form)","x":"' value='"}'></form>
<script>
(async () => {
  const attempts = {};
  const attempt = async (name, run) => {
    try { attempts[name] = await run(); } catch (error) { attempts[name] = 'failed: ' + error.message; }
  };
  for (const [name, base] of [['here', ''], ['platform', ${JSON.stringify(platform)}]]) {
    await attempt(name + ' read', async () => {
      const session = await fetch(base + '/api/auth/session', { credentials: 'include' });
      const teams = await fetch(base + '/api/teams', { credentials: 'include' });
      return session.status + ' ' + (await session.text()).slice(0, 300) + ' | ' + teams.status + ' ' + (await teams.text()).slice(0, 300);
    });
    await attempt(name + ' write', async () => {
      const session = await (await fetch(base + '/api/auth/session', { credentials: 'include' })).json();
      const created = await fetch(base + '/api/teams', {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({ name: ${JSON.stringify(PLANTED)} }),
      });
      return created.status + ' ' + (await created.text()).slice(0, 200);
    });
  }
  window.attempts = attempts;
})();
</script></body></html>`;
}

/** The member's flow: GET /report answers with the page. */
function attackFlow(platform: string): unknown[] {
  return [
    { id: 'tabR', type: 'tab', label: 'Report' },
    { id: 'inR', type: 'http in', z: 'tabR', name: '', url: '/report', method: 'get', upload: false, swaggerDoc: '', wires: [['tplR']] },
    {
      id: 'tplR',
      type: 'template',
      z: 'tabR',
      name: '',
      field: 'payload',
      fieldType: 'msg',
      format: 'html',
      syntax: 'plain',
      template: attackPage(platform),
      output: 'str',
      wires: [['resR']],
    },
    { id: 'resR', type: 'http response', z: 'tabR', name: '', statusCode: '', headers: { 'content-type': 'text/html; charset=utf-8' }, wires: [] },
  ];
}

interface Outcome {
  attempts: Record<string, string>;
  /** The teams the owner is in, read on the platform by the owner afterwards. */
  teams: string[];
  pageUrl: string;
}

/** One platform (separate or shared origins): the member deploys the page, the owner opens it. */
async function walk(h: BrowserWalk): Promise<Outcome> {
  const admin = await h.newPage();
  const teamId = await setUpPlatformWithTeam(h, admin, ADMIN, TEAM);
  const member = await invitePerson(h, admin, teamId, TEAM, MEMBER, 'member');
  // The member's own doing, with their own session: an application, an instance, the flow.
  const appId = (await api<{ id: string }>(member, 'POST', `/api/teams/${teamId}/applications`, { name: 'Reports' })).json.id;
  const [version] = (await api<string[]>(member, 'GET', '/api/node-red-versions')).json;
  const instance = (await api<{ id: string; endpointUrl: string }>(member, 'POST', `/api/applications/${appId}/instances`, { name: 'reports', nodeRedVersion: version })).json;
  const snapshot = await api<{ id: string }>(member, 'POST', `/api/instances/${instance.id}/snapshots`, { name: 'report page', flows: attackFlow(h.base) });
  assert.equal(snapshot.status, 201);
  assert.equal((await api(member, 'POST', `/api/instances/${instance.id}/deploy`, { snapshotId: snapshot.json.id })).status, 202);
  await until(
    'the report page running',
    async () => {
      const i = (await api<{ status: string; runningSnapshotId: string | null }>(member, 'GET', `/api/instances/${instance.id}`)).json;
      return i.status === 'running' && i.runningSnapshotId === snapshot.json.id;
    },
    { timeoutMs: 120_000 },
  );

  // The owner, signed in on the platform, opens the link the member sent: the endpoint's address as the instance page shows it.
  const visit = await admin.context().newPage();
  await visit.goto(`${instance.endpointUrl}report`, { timeout: 30_000 });
  await visit.waitForFunction(() => (window as unknown as { attempts?: unknown }).attempts !== undefined, undefined, { timeout: 30_000 });
  const attempts = await visit.evaluate(() => (window as unknown as { attempts: Record<string, string> }).attempts);
  const pageUrl = visit.url();
  await h.shot(visit, 'report-page');
  const [formAnswer] = await Promise.all([
    visit.waitForResponse((r) => r.url() === `${h.base}/api/teams` && r.request().method() === 'POST'),
    visit.evaluate(() => (document.getElementById('planted') as HTMLFormElement).submit()),
  ]);
  attempts['platform form'] = String(formAnswer.status());

  const teams = (await api<Array<{ name: string }>>(admin, 'GET', '/api/teams')).json.map((team) => team.name);
  return { attempts, teams, pageUrl };
}

test("each instance on an origin of its own: a member's page cannot read or change the platform as the owner who opens it", { timeout: 300_000 }, async () => {
  const h = await startBrowserWalk('instance-origin-', { publicHost: 'localhost' });
  try {
    const outcome = await walk(h);
    const port = new URL(h.base).port;
    assert.match(outcome.pageUrl, new RegExp(`^http://[0-9a-f-]{36}\\.localhost:${port}/instances/[0-9a-f-]{36}/app/report$`), "the page is on the instance's own origin");
    const { attempts } = outcome;
    // Its own origin serves no platform API; the platform's address is out of the page's reach.
    assert.match(attempts['here read']!, /^404 .*\| 404 /, JSON.stringify(attempts));
    assert.doesNotMatch(JSON.stringify(attempts), /ada@plant\.example|Line 4 Bottling/, "nothing of the owner's reached the page");
    assert.match(attempts['platform read']!, /^failed/, JSON.stringify(attempts));
    assert.doesNotMatch(attempts['here write']!, /^201/, JSON.stringify(attempts));
    assert.match(attempts['platform write']!, /^failed/, JSON.stringify(attempts));
    // Nothing changed on the platform: the owner's teams are what they were.
    assert.deepEqual(outcome.teams, [TEAM]);
    // The form went out (a navigation, which the page's policy does not stop) and was refused.
    assert.match(attempts['platform form']!, /^40[13]$/, JSON.stringify(attempts));
  } finally {
    await h.close();
  }
});

test('with the separation turned off (FLOWGATE_INSTANCE_ORIGINS=shared), the same page reads and changes the platform as the owner', { timeout: 300_000 }, async () => {
  const h = await startBrowserWalk('instance-origin-shared-', { publicHost: 'localhost', env: { FLOWGATE_INSTANCE_ORIGINS: 'shared' } });
  try {
    const outcome = await walk(h);
    assert.ok(outcome.pageUrl.startsWith(`${h.base}/instances/`), "the page is on the platform's origin");
    assert.match(outcome.attempts['here read']!, /^200 .*ada@plant\.example.*\| 200 .*Line 4 Bottling/, JSON.stringify(outcome.attempts));
    assert.match(outcome.attempts['here write']!, /^201/, JSON.stringify(outcome.attempts));
    assert.ok(outcome.teams.includes(PLANTED), `the page created a team as the owner: ${outcome.teams.join(', ')}`);
  } finally {
    await h.close();
  }
});

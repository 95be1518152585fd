import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import {
  isPermission,
  PERMISSIONS,
  PLATFORM_ROLE_PERMISSIONS,
  seesEveryTeam,
  TEAM_ROLE_PERMISSIONS,
  TEAM_ROLES,
  type Permission,
  type PermissionDefinition,
  type PlatformRole,
  type TeamRole,
} from '@flowgate/core';
import { isExempt, registeredRoutes, routeKey, type DeclaredRoute } from './routes.ts';
import { addMember, ADMIN, Client, DIALECTS, MEMBER_PASSWORD, reportAsAgent, setupAdmin, startTestApp, type TestApp } from './harness.ts';

/**
 * The role matrix: every registered route, called by every kind of caller, checked
 * against the permission catalogue in packages/core. The route list is the one
 * route-declarations.test.ts checks: Fastify's `onRoute` hook, attached through the
 * `fastify.initialization` diagnostics channel when buildApp creates the instance.
 */

/** Well-formed ids and tokens that name nothing. */
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const UNKNOWN_INVITATION_TOKEN = 'unknown-invitation-token-0000000000000000';

interface Caller {
  name: string;
  client: Client;
  /** null for anonymous. */
  platformRole: PlatformRole | null;
  /** Role in the matrix team. */
  teamRole: TeamRole | null;
  readOnlyToken: boolean;
  /** The audit actor the server records for this caller. */
  actor: { type: string; id: string } | null;
  login: { email: string; password: string } | null;
}

/** proxied: Node-RED behind the route is not running (or not reachable) in this test, so 503 counts as let through. */
type Expected = 'public' | 'public-proxied' | 401 | 403 | 404 | 'allowed' | 'allowed-proxied';

/** Proxies to a Node-RED: a hosted instance's, or a device's over its tunnel (not connected in this test: 503). */
const isProxy = (route: DeclaredRoute) => route.url.startsWith('/instances/') || route.url.startsWith('/devices/');

/** Served on the instance's own origin (instance-origins.ts), to whoever signed in there: asked there, not on the platform's host. */
const onInstanceOrigin = (route: DeclaredRoute) => /^\/instances\/:instanceId\/(?:editor|app)\/\*$/.test(route.url) || route.url === '/.flowgate/session';

/** What the catalogue says the caller should get, written from the tables, not from isAllowed. */
function expectedFor(route: DeclaredRoute, caller: Caller): Expected {
  // Agent routes take an agent token: every person, signed in or not, is unauthenticated there.
  if (route.config.agent) return 401;
  // Device routes take a device credential, SCIM routes an identity provider's SCIM token: the same for every person.
  if (route.config.device || route.config.scim) return 401;
  if (route.config.public) return isProxy(route) ? 'public-proxied' : 'public';
  if (caller.platformRole === null) return 401;
  // The Node-RED editor is for people in a browser session; an API token does not open it,
  // nor signs a browser in on an instance's origin.
  if ((route.config.csrfByBearer || route.config.browserSession) && caller.readOnlyToken) return 401;
  // Someone the platform gives no code for the instance (not of its team, not an admin) is
  // never signed in on its origin: nobody there.
  if (onInstanceOrigin(route) && caller.teamRole === null && caller.platformRole !== 'admin') return 401;
  const permission = route.config.permission as Permission;
  const { scope, access } = PERMISSIONS[permission];
  const sessionOnly = (PERMISSIONS[permission] as PermissionDefinition).sessionOnly === true;
  // Admins, compliance leads and auditors reach every team; anyone else outside it is told it does not exist.
  if (scope === 'team' && caller.teamRole === null && !seesEveryTeam(caller.platformRole)) return 404;
  const byPlatform = PLATFORM_ROLE_PERMISSIONS[caller.platformRole].includes(permission);
  const byTeam = scope === 'team' && caller.teamRole !== null && TEAM_ROLE_PERMISSIONS[caller.teamRole].includes(permission);
  if (!byPlatform && !byTeam) return 403;
  if (caller.readOnlyToken && (access !== 'read' || sessionOnly)) return 403;
  return isProxy(route) ? 'allowed-proxied' : 'allowed';
}

function matches(expected: Expected, status: number): boolean {
  if (expected === 'public') return status < 500;
  if (expected === 'public-proxied') return status < 500 || status === 503;
  if (expected === 'allowed') return status !== 401 && status !== 403 && status < 500;
  if (expected === 'allowed-proxied') return status !== 401 && status !== 403 && (status < 500 || status === 503);
  return status === expected;
}

/** Callers expected to be refused go first, so a destructive call that succeeds does not change their answer. */
const ORDER: Record<string, number> = { '401': 0, '404': 1, '403': 2, public: 3, 'public-proxied': 3, allowed: 4, 'allowed-proxied': 4 };

/** Destructive routes run last, in this order, each followed by a repair of what it broke. */
const DESTRUCTIVE = [
  'DELETE /api/compliance/conduits/:conduitId',
  'DELETE /api/compliance/zones/:zoneId',
  'DELETE /api/compliance/sucs/:sucId',
  'POST /api/teams/:teamId/leave',
  'POST /api/auth/logout',
  'POST /api/account/sessions/revoke-all',
  'DELETE /api/instances/:instanceId',
  'DELETE /api/applications/:applicationId',
  'DELETE /api/teams/:teamId',
];

interface Fixture {
  teamId: string;
  applicationId: string;
  instanceId: string;
  snapshotId: string;
  /** Ran on the instance before snapshotId was deployed: deploying it is a roll back. */
  olderSnapshotId: string;
  siteId: string;
  groupId: string;
  provisioningTokenId: string;
  deviceId: string;
  rolloutId: string;
  sucId: string;
  zoneId: string;
  conduitId: string;
  userIds: Record<string, string>;
}

interface Probe {
  params?: Record<string, string>;
  body?: unknown;
  query?: string;
}

/** The minimal request for each route; anything not listed gets unknown ids and an empty body. */
const PROBES: Record<string, (f: Fixture, caller: Caller) => Probe> = {
  'POST /api/setup': () => ({ body: { token: 'not-the-setup-token', ...ADMIN } }),
  'POST /api/auth/login': () => ({ body: { email: 'nobody@plant.example', password: 'not the password of anyone' } }),
  'POST /api/auth/mfa': () => ({ body: { code: '000000' } }),
  // The right current password and a refused new one: passes the permission, changes nothing.
  'PUT /api/account/password': (_f, c) => ({ body: { currentPassword: c.login?.password ?? 'unknown password', newPassword: 'password1234' } }),
  'POST /api/account/mfa/confirm': () => ({ body: { code: 'not-a-code' } }),
  'DELETE /api/account/mfa': () => ({ body: { password: 'not enrolled anyway' } }),
  'POST /api/account/tokens': () => ({ body: { name: 'matrix probe', access: 'read', expiresInDays: 1 } }),
  'POST /api/teams': () => ({ body: { name: 'Matrix probe' } }),
  'PATCH /api/teams/:teamId': () => ({ body: { name: 'Matrix' } }),
  'PATCH /api/teams/:teamId/members/:userId': (f) => ({ params: { userId: f.userIds.viewer! }, body: { role: 'viewer' } }),
  'POST /api/teams/:teamId/invitations': () => ({ body: { email: 'invitee@plant.example', role: 'viewer' } }),
  'PATCH /api/platform/settings': () => ({ body: { requireMfa: false } }),
  'PATCH /api/platform/users/:userId': (f) => ({ params: { userId: f.userIds.outsider! }, body: { unlock: true } }),
  'GET /api/audit/export': () => ({ query: 'format=jsonl' }),
  'GET /api/teams/:teamId/audit/export': () => ({ query: 'format=csv' }),
  'POST /api/teams/:teamId/applications': () => ({ body: { name: 'Matrix probe app' } }),
  'PATCH /api/applications/:applicationId': () => ({ body: { description: 'probed' } }),
  // An unknown version: passes the permission, creates nothing.
  'POST /api/applications/:applicationId/instances': () => ({ body: { name: 'probe', nodeRedVersion: '0.0.0' } }),
  'PATCH /api/instances/:instanceId': () => ({ body: { endpointAccess: 'login' } }),
  // A version not offered: refused after the permission check, so nothing restarts.
  'PUT /api/instances/:instanceId/node-red-version': () => ({ body: { nodeRedVersion: '0.0.0' } }),
  'PUT /api/instances/:instanceId/env': () => ({ body: { env: [{ name: 'LINE', value: '1', secret: false }] } }),
  'POST /api/instances/:instanceId/snapshots': () => ({ body: { name: 'probe', flows: [] } }),
  'GET /api/instances/:instanceId/diff': (f) => ({ query: `from=${f.snapshotId}&to=${f.snapshotId}` }),
  'POST /api/instances/:instanceId/deploy': (f) => ({ body: { snapshotId: f.olderSnapshotId } }),
  'POST /api/snapshots/:snapshotId/export': () => ({ body: { secret: 'a long export secret' } }),
  'POST /api/instances/:instanceId/snapshots/import': () => ({ body: { secret: 'a long export secret', file: { format: 'nope' } } }),
  'PUT /api/teams/:teamId/application-settings': () => ({ body: { paletteAllow: [], paletteDeny: [], autoSnapshotRetention: 50 } }),
  'POST /api/teams/:teamId/sites': (_f, caller) => ({ body: { name: `Probe plant ${caller.name}`, timeZone: 'UTC' } }),
  'PATCH /api/sites/:siteId': () => ({ body: { location: 'probed' } }),
  'POST /api/teams/:teamId/device-groups': (_f, caller) => ({ body: { name: `Probe group ${caller.name}` } }),
  'PATCH /api/device-groups/:groupId': () => ({ body: { description: 'probed' } }),
  'POST /api/teams/:teamId/provisioning-tokens': (f) => ({ body: { siteId: f.siteId } }),
  'PATCH /api/devices/:deviceId': () => ({ body: { name: 'matrix-gateway' } }),
  'POST /api/fleet/v1/register': () => ({ body: { token: 'fgp_not-a-token', name: 'probe', agentVersion: '0.1.0' } }),
  'POST /api/fleet/v1/check-in': () => ({ body: { agentVersion: '0.1.0' } }),
  // The device's group has a rollout that has not ended: both pass the permission and answer 409.
  'PUT /api/devices/:deviceId/target': (f) => ({ body: { snapshotId: f.snapshotId } }),
  'POST /api/device-groups/:groupId/rollouts': (f) => ({ body: { snapshotId: f.snapshotId } }),
  'POST /api/compliance/sucs': (_f, caller) => ({ body: { name: `Probe SuC ${caller.name}` } }),
  'PATCH /api/compliance/sucs/:sucId': () => ({ body: { description: 'probed' } }),
  'PUT /api/compliance/sucs/:sucId/members': (f) => ({ body: { members: [{ kind: 'team', id: f.teamId }] } }),
  'POST /api/compliance/sucs/:sucId/zones': (_f, caller) => ({ body: { name: `Probe zone ${caller.name}`, slTarget: [1, 1, 1, 1, 1, 1, 1] } }),
  'PATCH /api/compliance/zones/:zoneId': () => ({ body: { description: 'probed' } }),
  'POST /api/compliance/sucs/:sucId/conduits': (f) => ({ body: { name: 'probe', fromZoneId: f.zoneId, toZoneId: null, direction: 'both', initiator: 'from' } }),
  'PATCH /api/compliance/conduits/:conduitId': () => ({ body: { ports: '443/tcp' } }),
};

function urlFor(route: DeclaredRoute, f: Fixture, probe: Probe): string {
  const params: Record<string, string> = {
    teamId: f.teamId,
    applicationId: f.applicationId,
    instanceId: f.instanceId,
    snapshotId: f.snapshotId,
    siteId: f.siteId,
    groupId: f.groupId,
    provisioningTokenId: f.provisioningTokenId,
    deviceId: f.deviceId,
    rolloutId: f.rolloutId,
    sucId: f.sucId,
    zoneId: f.zoneId,
    conduitId: f.conduitId,
    token: UNKNOWN_INVITATION_TOKEN,
    ...probe.params,
  };
  const url = route.url.replace(/:(\w+)/g, (_m, name: string) => params[name] ?? UNKNOWN_ID).replace(/\*$/, 'matrix-probe');
  return probe.query ? `${url}?${probe.query}` : url;
}

async function send(caller: Caller, route: DeclaredRoute, f: Fixture, url: string, body: unknown): Promise<LightMyRequestResponse> {
  const m = route.method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  const client = onInstanceOrigin(route) ? await onItsOrigin(caller, f) : caller.client;
  return client.request(m, url, m === 'GET' ? undefined : (body ?? (m === 'DELETE' ? undefined : {})));
}

/**
 * The caller on the instance's own origin: signed in there as a browser is, through the
 * platform's code, when the platform gives them one; an API token as it is; otherwise nobody.
 * Anew for every request: a probe before may have ended the session it came from.
 */
async function onItsOrigin(caller: Caller, f: Fixture): Promise<Client> {
  // Only who may read the instance asks for a code: another's asking is a refusal on record
  // (a compliance lead or auditor, who reads every team but not its applications).
  const mayAsk = caller.teamRole !== null || (caller.platformRole !== null && PLATFORM_ROLE_PERMISSIONS[caller.platformRole].includes('applications:read'));
  const signedIn = caller.login && mayAsk ? await caller.client.onInstance(f.instanceId).catch(() => null) : null;
  if (signedIn) return signedIn;
  const there = new Client(caller.client.built);
  there.host = `${f.instanceId}.localhost:3000`;
  there.bearer = caller.client.bearer;
  return there;
}

async function signIn(caller: Caller): Promise<void> {
  const r = await caller.client.post('/api/auth/login', caller.login);
  assert.equal(r.statusCode, 200, `${caller.name} could not sign in again: ${r.body}`);
}

interface Cell {
  route: DeclaredRoute;
  caller: Caller;
  method: string;
  status: number;
  expected: Expected;
  /** Answered as another team's resource is: 404 "Team was not found." */
  hidden?: boolean;
}

function renderMatrix(rows: DeclaredRoute[], callers: Caller[], cells: Cell[]): string {
  const label = (r: DeclaredRoute) => `${routeKey(r)}  [${r.config.public ? 'public' : r.config.permission}]`;
  const width = Math.max(...rows.map((r) => label(r).length));
  const cols = callers.map((c) => Math.max(c.name.length, 4));
  const header = `${'route  [permission]'.padEnd(width)} | ${callers.map((c, i) => c.name.padEnd(cols[i]!)).join(' | ')}`;
  const lines = [header, '-'.repeat(header.length)];
  for (const r of rows) {
    const cellsOf = callers.map((c, i) => {
      const cell = cells.find((x) => x.route === r && x.caller === c && x.method === r.method);
      const text = cell ? `${cell.status}${matches(cell.expected, cell.status) ? '' : '✗'}` : '';
      return text.padEnd(cols[i]!);
    });
    lines.push(`${label(r).padEnd(width)} | ${cellsOf.join(' | ')}`);
  }
  lines.push('(✗ = differs from the catalogue; allowed = anything but 401/403/5xx; 404 = team of which the caller is no member)');
  return lines.join('\n');
}

for (const dialect of DIALECTS) {
  describe(`role matrix on ${dialect}`, () => {
    let t: TestApp;
    let webDir: string;
    let routes: DeclaredRoute[];
    let callers: Caller[];
    let fixture: Fixture;
    const cells: Cell[] = [];

    before(async () => {
      webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-web-'));
      fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Flowgate</title>');
      t = await startTestApp(dialect, { FLOWGATE_WEB_DIR: webDir });
      routes = registeredRoutes(t.app).filter((r) => !isExempt(r));

      const admin = await setupAdmin(t);
      // The matrix team is owned by a platform user; the admin creates it, hands it over and leaves.
      const teamId = (await admin.post('/api/teams', { name: 'Matrix' })).json().id as string;
      const owner = await addMember(t, admin, teamId, 'owner@plant.example', 'owner');
      assert.equal((await admin.post(`/api/teams/${teamId}/leave`)).statusCode, 204);
      const members: Partial<Record<TeamRole, Client>> = { owner };
      for (const role of TEAM_ROLES.filter((r) => r !== 'owner')) members[role] = await addMember(t, owner, teamId, `${role}@plant.example`, role);
      // The outsider joins through a team that is then deleted: an account in no team.
      const lobbyId = (await admin.post('/api/teams', { name: 'Lobby' })).json().id as string;
      const outsider = await addMember(t, admin, lobbyId, 'outsider@plant.example', 'viewer');
      // The compliance lead and the auditor too: platform roles, in no team, reaching every team.
      const complianceLead = await addMember(t, admin, lobbyId, 'compliance@plant.example', 'viewer');
      const platformAuditor = await addMember(t, admin, lobbyId, 'platform-auditor@plant.example', 'viewer');
      assert.equal((await admin.delete(`/api/teams/${lobbyId}`)).statusCode, 204);
      const created = await owner.post('/api/account/tokens', { name: 'read-only', access: 'read', expiresInDays: 30 });
      assert.equal(created.statusCode, 201, created.body);
      const tokenClient = new Client(t);
      tokenClient.bearer = created.json().token as string;

      const users = (await admin.get('/api/platform/users')).json() as Array<{ id: string; email: string }>;
      const idOf = (email: string) => users.find((u) => u.email === email)!.id;
      const userIds: Record<string, string> = { admin: idOf(ADMIN.email), outsider: idOf('outsider@plant.example') };
      for (const [email, platformRole] of [
        ['compliance@plant.example', 'compliance'],
        ['platform-auditor@plant.example', 'auditor'],
      ] as const) {
        const granted = await admin.patch(`/api/platform/users/${idOf(email)}`, { platformRole });
        assert.equal(granted.statusCode, 200, granted.body);
      }
      // The auditor's API token, asked for read-write: refused; a read one acts read only.
      assert.equal((await platformAuditor.post('/api/account/tokens', { name: 'rw', access: 'write', expiresInDays: 30 })).statusCode, 400);
      const auditorToken = new Client(t);
      auditorToken.bearer = (await platformAuditor.post('/api/account/tokens', { name: 'evidence', access: 'read', expiresInDays: 30 })).json().token as string;
      for (const role of TEAM_ROLES) userIds[role] = idOf(`${role}@plant.example`);
      // An application with an instance and a snapshot in the matrix team. The test does not
      // listen on a port, so no agent is started: the proxy routes answer 503.
      const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Matrix app' })).json().id as string;
      const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0];
      const instance = await owner.post(`/api/applications/${applicationId}/instances`, { name: 'matrix', nodeRedVersion });
      assert.equal(instance.statusCode, 201, instance.body);
      const instanceId = instance.json().id as string;
      // Two snapshots, the older one run on the instance, the newer deployed: the probe deploys
      // the older one, a roll back, which an operator may too.
      const older = await owner.post(`/api/instances/${instanceId}/snapshots`, { name: 'matrix before', flows: [{ id: 't0', type: 'tab', label: 'Flow 0' }] });
      assert.equal(older.statusCode, 201, older.body);
      assert.equal((await owner.post(`/api/instances/${instanceId}/deploy`, { snapshotId: older.json().id })).statusCode, 202);
      await reportAsAgent(t, instanceId, 'running', older.json().id as string);
      const snapshot = await owner.post(`/api/instances/${instanceId}/snapshots`, { name: 'matrix', flows: [{ id: 't1', type: 'tab', label: 'Flow 1' }] });
      assert.equal(snapshot.statusCode, 201, snapshot.body);
      const deployed = await owner.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshot.json().id });
      assert.equal(deployed.statusCode, 202, deployed.body);
      // A site and a group, and a token that names both: deleting either answers 409 while it is usable.
      const siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Matrix plant', timeZone: 'UTC' })).json().id as string;
      const groupId = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'Matrix group' })).json().id as string;
      const provisioned = await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, groupId });
      assert.equal(provisioned.statusCode, 201, provisioned.body);
      const registered = await new Client(t).post('/api/fleet/v1/register', { token: provisioned.json().token, name: 'matrix-gateway', agentVersion: '0.1.0' });
      assert.equal(registered.statusCode, 201, registered.body);
      const rollout = await owner.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: snapshot.json().id });
      assert.equal(rollout.statusCode, 201, rollout.body);
      // A SuC with a zone and a conduit to the outside.
      const suc = await admin.post('/api/compliance/sucs', { name: 'Matrix line' });
      assert.equal(suc.statusCode, 201, suc.body);
      const zone = await admin.post(`/api/compliance/sucs/${suc.json().id}/zones`, { name: 'Cell', slTarget: [2, 2, 2, 1, 2, 2, 1] });
      assert.equal(zone.statusCode, 201, zone.body);
      const conduit = await admin.post(`/api/compliance/sucs/${suc.json().id}/conduits`, {
        name: 'Uplink',
        fromZoneId: zone.json().id,
        toZoneId: null,
        direction: 'both',
        initiator: 'from',
      });
      assert.equal(conduit.statusCode, 201, conduit.body);
      fixture = {
        teamId,
        applicationId,
        instanceId,
        snapshotId: snapshot.json().id as string,
        olderSnapshotId: older.json().id as string,
        siteId,
        groupId,
        provisioningTokenId: provisioned.json().provisioningToken.id as string,
        deviceId: registered.json().deviceId as string,
        rolloutId: rollout.json().id as string,
        sucId: suc.json().id as string,
        zoneId: zone.json().id as string,
        conduitId: conduit.json().id as string,
        userIds,
      };

      const person = (name: string, email: string, client: Client, teamRole: TeamRole | null, platformRole: PlatformRole = 'user'): Caller => ({
        name,
        client,
        platformRole,
        teamRole,
        readOnlyToken: false,
        actor: { type: 'user', id: idOf(email) },
        login: { email, password: email === ADMIN.email ? ADMIN.password : MEMBER_PASSWORD },
      });
      callers = [
        { name: 'anon', client: new Client(t), platformRole: null, teamRole: null, readOnlyToken: false, actor: null, login: null },
        person('admin', ADMIN.email, admin, null, 'admin'),
        ...TEAM_ROLES.map((role) => person(role, `${role}@plant.example`, members[role]!, role)),
        person('outsider', 'outsider@plant.example', outsider, null),
        person('compliance', 'compliance@plant.example', complianceLead, null, 'compliance'),
        person('p-auditor', 'platform-auditor@plant.example', platformAuditor, null, 'auditor'),
        {
          name: 'p-aud-token',
          client: auditorToken,
          platformRole: 'auditor',
          teamRole: null,
          readOnlyToken: true,
          actor: { type: 'token', id: idOf('platform-auditor@plant.example') },
          login: null,
        },
        { name: 'ro-token', client: tokenClient, platformRole: 'user', teamRole: 'owner', readOnlyToken: true, actor: { type: 'token', id: userIds.owner! }, login: null },
      ];
    });
    after(async () => {
      await t.close();
      fs.rmSync(webDir, { recursive: true, force: true });
    });

    test('every route answers every caller as the permission catalogue says', async () => {
      assert.ok(routes.length > 30, `only ${routes.length} routes collected`);
      for (const r of routes)
        assert.ok(
          r.config.public || r.config.agent || r.config.device || r.config.scim || (r.config.permission && isPermission(r.config.permission)),
          `${routeKey(r)} has no declaration`,
        );
      const rank = (r: DeclaredRoute) => {
        const i = DESTRUCTIVE.indexOf(routeKey(r));
        return i === -1 ? -1 : i;
      };
      const ordered = [...routes].sort((a, b) => rank(a) - rank(b));
      const removed = new Set<string>();

      for (const route of ordered) {
        const byExpectation = [...callers].sort((a, b) => ORDER[String(expectedFor(route, a))]! - ORDER[String(expectedFor(route, b))]!);
        for (const caller of byExpectation) {
          const probe = PROBES[routeKey(route)]?.(fixture, caller) ?? {};
          const response = await send(caller, route, fixture, urlFor(route, fixture, probe), probe.body);
          // The answer that hides another team's resource: an allowed caller must never get it
          // (unless an earlier caller's destructive call really removed it).
          const hidden =
            !removed.has(routeKey(route)) &&
            response.statusCode === 404 &&
            /^Team was not found/.test(String(String(response.headers['content-type'] ?? '').includes('json') ? response.json().detail : ''));
          if (response.statusCode < 300 && DESTRUCTIVE.includes(routeKey(route))) removed.add(routeKey(route));
          cells.push({ route, caller, method: route.method, status: response.statusCode, expected: expectedFor(route, caller), hidden });
          await repair(route, caller, response.statusCode);
        }
      }

      console.log(`\nRole matrix on ${dialect}:\n${renderMatrix(ordered, callers, cells)}\n`);
      const wrong = cells
        .filter((c) => !matches(c.expected, c.status) || (String(c.expected).startsWith('allowed') && c.hidden))
        .map((c) => `${routeKey(c.route)} as ${c.caller.name}: got ${c.status}${c.hidden ? ' (the other-team answer)' : ''}, expected ${c.expected}`);
      assert.deepEqual(wrong, [], `answers that differ from the catalogue:\n${wrong.join('\n')}`);
    });

    /** Undoes what a successful destructive call broke, so the next checks see the same fixture. */
    async function repair(route: DeclaredRoute, caller: Caller, status: number): Promise<void> {
      if (status >= 300) return;
      const k = routeKey(route);
      if ((k === 'POST /api/auth/logout' || k === 'POST /api/account/sessions/revoke-all') && caller.login) await signIn(caller);
      if (k === 'POST /api/instances/:instanceId/deploy') {
        // Rolled back: the newer snapshot deployed again, so that the next caller's deploy is a roll back too.
        const owner = callers.find((c) => c.name === 'owner')!;
        const again = await owner.client.post(`/api/instances/${fixture.instanceId}/deploy`, { snapshotId: fixture.snapshotId });
        assert.equal(again.statusCode, 202, again.body);
      }
      if (k === 'POST /api/teams/:teamId/leave' && caller.teamRole && caller.login) {
        const owner = callers.find((c) => c.name === 'owner')!;
        const invited = await owner.client.post(`/api/teams/${fixture.teamId}/invitations`, { email: caller.login.email, role: caller.teamRole });
        assert.equal(invited.statusCode, 201, invited.body);
        const token = (invited.json().link as string).split('/invite/')[1];
        const accepted = await caller.client.post(`/api/invitations/${token}/accept`, {});
        assert.equal(accepted.statusCode, 200, `${caller.name} could not rejoin: ${accepted.body}`);
      }
    }

    test('HEAD twins of GET routes are guarded like their GET route', async () => {
      const probes = callers.filter((c) => c.name === 'anon' || c.name === 'outsider');
      const wrong: string[] = [];
      for (const route of routes.filter((r) => r.method === 'GET' && !r.config.public)) {
        for (const caller of probes) {
          const probe = PROBES[routeKey(route)]?.(fixture, caller) ?? {};
          const client = onInstanceOrigin(route) ? await onItsOrigin(caller, fixture) : caller.client;
          const headers: Record<string, string> = { 'user-agent': 'flowgate-test', ...(client.host ? { host: client.host } : {}) };
          if (client.cookie) headers.cookie = client.cookie;
          const response = await t.app.inject({ method: 'HEAD', url: urlFor(route, fixture, probe), headers });
          // Only callers who hold no permission on these routes are probed, so the deleted team changes nothing.
          const want = expectedFor(route, caller);
          cells.push({ route, caller, method: 'HEAD', status: response.statusCode, expected: want });
          if (!matches(want, response.statusCode)) wrong.push(`HEAD ${route.url} as ${caller.name}: got ${response.statusCode}, expected ${want}`);
        }
      }
      assert.deepEqual(wrong, []);
    });

    test('every 403 wrote an auth.access.denied audit event, and no other answer did', async () => {
      const admin = callers.find((c) => c.name === 'admin')!;
      const events: Array<{ actorType: string; actorId: string | null; details: string; outcome: string }> = [];
      let before: number | null = null;
      do {
        const page = await admin.client.get(`/api/audit?event=auth.access.denied&limit=1000${before ? `&before=${before}` : ''}`);
        assert.equal(page.statusCode, 200, page.body);
        const body = page.json() as { events: typeof events; nextBefore: number | null };
        events.push(...body.events);
        before = body.nextBefore;
      } while (before !== null);

      const tally = (map: Map<string, number>, k: string) => map.set(k, (map.get(k) ?? 0) + 1);
      const expected = new Map<string, number>();
      for (const c of cells) {
        if (c.status === 403 && !c.route.config.public && c.caller.actor) tally(expected, `${c.caller.actor.type}:${c.caller.actor.id} ${c.method} ${c.route.url}`);
      }
      const recorded = new Map<string, number>();
      for (const e of events) {
        assert.equal(e.outcome, 'denied');
        const details = JSON.parse(e.details) as { method: string; route: string; permission: string };
        assert.ok(isPermission(details.permission), `denied event names ${details.permission}`);
        tally(recorded, `${e.actorType}:${e.actorId} ${details.method} ${details.route}`);
      }
      assert.ok(expected.size > 20, `only ${expected.size} kinds of 403 seen`);
      const sortMap = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
      assert.deepEqual(sortMap(recorded), sortMap(expected));
    });
  });
}

import { Type } from '@sinclair/typebox';
import { AGENT_STATES } from '@flowgate/protocol';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { DeviceGroupsTable, DevicesTable, ProvisioningTokensTable, SitesTable } from '../../db/schema.ts';
import { Id, Name, NoContent, Nullable, PAGE_SIZE, PageQuery, SearchText, TeamParams } from '../../http/schemas.ts';
import type { FastifyRequest } from 'fastify';
import { holdsOf, type Holds } from '../../http/holds.ts';
import type { Presence } from './device-broker.ts';
import { deviceActions, type DeviceActions } from './devices.policy.ts';
import { tokenState } from './fleet.service.ts';
import { provisioningTokenActions } from './provisioning-tokens.policy.ts';

const SiteParams = Type.Object({ siteId: Id });
export const GroupParams = Type.Object({ groupId: Id });
const TokenParams = Type.Object({ provisioningTokenId: Id });
const Location = Type.String({ maxLength: 200 });
// IANA names are at most a few dozen characters (America/Argentina/ComodRivadavia); checked against Intl in the service.
const TimeZone = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+\\-/]+$' });
const Description = Type.String({ maxLength: 2000 });

const SiteView = Type.Object({
  id: Type.String(),
  teamId: Type.String(),
  name: Type.String(),
  location: Type.String(),
  timeZone: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const GroupView = Type.Object({
  id: Type.String(),
  teamId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  /** What its devices run when no rollout holds it, and what a device joining it gets. */
  targetSnapshotId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const TokenView = Type.Object({
  id: Type.String(),
  teamId: Type.String(),
  siteId: Type.String(),
  groupId: Nullable(Type.String()),
  applicationId: Nullable(Type.String()),
  description: Type.String(),
  singleUse: Type.Boolean(),
  uses: Type.Integer(),
  state: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('used')]),
  expiresAt: Type.String(),
  revokedAt: Nullable(Type.String()),
  createdAt: Type.String(),
  /** What the caller may do to it (provisioning-tokens.policy.ts). */
  allowed: Type.Object({ revoke: Type.Boolean() }),
});

export const DeviceParams = Type.Object({ deviceId: Id });
const DEVICE_STATES = ['unknown', 'updating', ...AGENT_STATES] as const;
export const DeviceView = Type.Object({
  id: Type.String(),
  teamId: Type.String(),
  siteId: Type.String(),
  groupId: Nullable(Type.String()),
  applicationId: Nullable(Type.String()),
  name: Type.String(),
  agentVersion: Type.String(),
  nodeRedVersion: Nullable(Type.String()),
  lastSeenAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
  createdAt: Type.String(),
  targetSnapshotId: Nullable(Type.String()),
  runningSnapshotId: Nullable(Type.String()),
  state: Type.Union(
    DEVICE_STATES.map((state) => Type.Literal(state)),
    { description: "What the device's agent last reported; 'updating' from a new target until it answers; 'unknown' before its first report" },
  ),
  statusDetail: Nullable(Type.String()),
  cpuPercent: Type.Union([Type.Number(), Type.Null()]),
  memoryMb: Type.Union([Type.Number(), Type.Null()]),
  connection: Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('unknown')], {
    description: 'What its MQTT connection says; unknown: it has not connected since the platform started',
  }),
  connectionSince: Nullable(Type.String()),
  editorPath: Type.String({ description: 'Its Node-RED editor through the platform, read only, over the tunnel the device opens (while it is connected)' }),
  /** What the caller may do to it now (devices.policy.ts): the fleet pages' controls come from this. */
  allowed: Type.Object({ edit: Type.Boolean(), setTarget: Type.Boolean(), revoke: Type.Boolean(), openEditor: Type.Boolean() }),
});

function presentDevice(d: DevicesTable, presence: Presence | undefined, allowed: DeviceActions) {
  return {
    id: d.id,
    teamId: d.team_id,
    siteId: d.site_id,
    groupId: d.group_id,
    applicationId: d.application_id,
    name: d.name,
    agentVersion: d.agent_version,
    nodeRedVersion: d.node_red_version,
    lastSeenAt: d.last_seen_at,
    revokedAt: d.revoked_at,
    createdAt: d.created_at,
    targetSnapshotId: d.target_snapshot_id,
    runningSnapshotId: d.running_snapshot_id,
    state: d.state,
    statusDetail: d.status_detail,
    cpuPercent: d.cpu_percent,
    memoryMb: d.memory_mb,
    connection: presence ? (presence.online ? ('online' as const) : ('offline' as const)) : ('unknown' as const),
    connectionSince: presence?.since ?? null,
    editorPath: `/devices/${d.id}/editor/`,
    allowed,
  };
}

/** Devices as the API answers them: with their connection, and what the caller may do to each (whether a rollout holds it is asked once for all). */
export function devicePresenter(c: Pick<AppContext, 'broker' | 'deployments'>) {
  return async (request: FastifyRequest, devices: DevicesTable[]) => {
    const held = await c.deployments.inActiveRollouts(devices.map((d) => d.id));
    const holds = holdsOf(request);
    return devices.map((d) => presentDevice(d, c.broker.presence(d.id), deviceActions(holds, { revoked: d.revoked_at !== null, inRollout: held.has(d.id) })));
  };
}

function presentSite(s: SitesTable) {
  return { id: s.id, teamId: s.team_id, name: s.name, location: s.location, timeZone: s.time_zone, createdAt: s.created_at, updatedAt: s.updated_at };
}
export function presentGroup(g: DeviceGroupsTable) {
  return { id: g.id, teamId: g.team_id, name: g.name, description: g.description, targetSnapshotId: g.target_snapshot_id, createdAt: g.created_at, updatedAt: g.updated_at };
}
function presentToken(t: ProvisioningTokensTable, now: string, holds: Holds) {
  const state = tokenState(t, now);
  return {
    id: t.id,
    teamId: t.team_id,
    siteId: t.site_id,
    groupId: t.group_id,
    applicationId: t.application_id,
    description: t.description,
    singleUse: Boolean(t.single_use),
    uses: t.uses,
    state,
    expiresAt: t.expires_at,
    revokedAt: t.revoked_at,
    createdAt: t.created_at,
    allowed: provisioningTokenActions(holds, { state }),
  };
}

export function fleetRoutes(app: TypedApp, c: Pick<AppContext, 'broker' | 'clock' | 'deployments' | 'fleet' | 'offlineAlerts' | 'teams' | 'tunnels'>): void {
  const { fleet, teams, clock } = c;
  const now = () => clock.now().toISOString();
  const presentDevices = devicePresenter(c);

  // --- Sites
  app.get(
    '/api/teams/:teamId/sites',
    { config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } }, schema: { tags: ['fleet'], params: TeamParams, response: { 200: Type.Array(SiteView) } } },
    async (request) => (await fleet.sitesOfTeam(request.params.teamId)).map(presentSite),
  );
  app.post(
    '/api/teams/:teamId/sites',
    {
      config: { access: { kind: 'user', permission: 'fleet:write', team: 'teamId' } },
      schema: {
        tags: ['fleet'],
        params: TeamParams,
        body: Type.Object({ name: Name, location: Type.Optional(Location), timeZone: TimeZone }, { additionalProperties: false }),
        response: { 201: SiteView },
      },
    },
    async (request, reply) => {
      await teams.requireTeam(request.params.teamId);
      const { name, location, timeZone } = request.body;
      return reply.code(201).send(presentSite(await fleet.createSite(request.params.teamId, { name, location: location ?? '', timeZone }, request.ctx)));
    },
  );
  app.patch(
    '/api/sites/:siteId',
    {
      config: { access: { kind: 'user', permission: 'fleet:write', team: 'siteId' } },
      schema: {
        tags: ['fleet'],
        params: SiteParams,
        body: Type.Object({ name: Type.Optional(Name), location: Type.Optional(Location), timeZone: Type.Optional(TimeZone) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: SiteView },
      },
    },
    async (request) => presentSite(await fleet.updateSite(request.params.siteId, request.body, request.ctx)),
  );
  app.delete(
    '/api/sites/:siteId',
    { config: { access: { kind: 'user', permission: 'fleet:write', team: 'siteId' } }, schema: { tags: ['fleet'], params: SiteParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await fleet.deleteSite(request.params.siteId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  // --- Device groups
  app.get(
    '/api/teams/:teamId/device-groups',
    { config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } }, schema: { tags: ['fleet'], params: TeamParams, response: { 200: Type.Array(GroupView) } } },
    async (request) => (await fleet.groupsOfTeam(request.params.teamId)).map(presentGroup),
  );
  app.post(
    '/api/teams/:teamId/device-groups',
    {
      config: { access: { kind: 'user', permission: 'fleet:write', team: 'teamId' } },
      schema: {
        tags: ['fleet'],
        params: TeamParams,
        body: Type.Object({ name: Name, description: Type.Optional(Description) }, { additionalProperties: false }),
        response: { 201: GroupView },
      },
    },
    async (request, reply) => {
      await teams.requireTeam(request.params.teamId);
      return reply
        .code(201)
        .send(presentGroup(await fleet.createGroup(request.params.teamId, { name: request.body.name, description: request.body.description ?? '' }, request.ctx)));
    },
  );
  app.patch(
    '/api/device-groups/:groupId',
    {
      config: { access: { kind: 'user', permission: 'fleet:write', team: 'groupId' } },
      schema: {
        tags: ['fleet'],
        params: GroupParams,
        body: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: GroupView },
      },
    },
    async (request) => presentGroup(await fleet.updateGroup(request.params.groupId, request.body, request.ctx)),
  );
  app.delete(
    '/api/device-groups/:groupId',
    { config: { access: { kind: 'user', permission: 'fleet:write', team: 'groupId' } }, schema: { tags: ['fleet'], params: GroupParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await fleet.deleteGroup(request.params.groupId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  // --- Provisioning tokens
  app.get(
    '/api/teams/:teamId/provisioning-tokens',
    { config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } }, schema: { tags: ['fleet'], params: TeamParams, response: { 200: Type.Array(TokenView) } } },
    async (request) => (await fleet.tokensOfTeam(request.params.teamId)).map((t) => presentToken(t, now(), holdsOf(request))),
  );
  app.post(
    '/api/teams/:teamId/provisioning-tokens',
    {
      config: { access: { kind: 'user', permission: 'fleet:provision', team: 'teamId' } },
      schema: {
        tags: ['fleet'],
        params: TeamParams,
        body: Type.Object(
          {
            siteId: Id,
            groupId: Type.Optional(Id),
            applicationId: Type.Optional(Id),
            description: Type.Optional(Description),
            // An hour to thirty days: a token is for a commissioning job, not for keeps.
            expiresInHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720 })),
            singleUse: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String({ description: 'Shown once: give it to the device (flowgate-agent --provision)' }), provisioningToken: TokenView }) },
      },
    },
    async (request, reply) => {
      await teams.requireTeam(request.params.teamId);
      const { row, token } = await fleet.createToken(request.params.teamId, request.body, request.ctx);
      return reply.code(201).send({ token, provisioningToken: presentToken(row, now(), holdsOf(request)) });
    },
  );
  // --- Offline alerts
  const FleetSettingsView = Type.Object({
    offlineAlertMinutes: Type.Union([Type.Integer(), Type.Null()], { description: 'Minutes offline before a device raises an alert; null: no alerts' }),
    alertWebhookUrl: Nullable(Type.String()),
  });
  app.get(
    '/api/teams/:teamId/fleet-settings',
    { config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } }, schema: { tags: ['fleet'], params: TeamParams, response: { 200: FleetSettingsView } } },
    async (request) => c.offlineAlerts.settings(request.params.teamId),
  );
  app.put(
    '/api/teams/:teamId/fleet-settings',
    {
      config: { access: { kind: 'user', permission: 'fleet:provision', team: 'teamId' } },
      schema: {
        tags: ['fleet'],
        params: TeamParams,
        body: Type.Object(
          {
            offlineAlertMinutes: Type.Union([Type.Integer({ minimum: 1, maximum: 10_080 }), Type.Null()]),
            alertWebhookUrl: Type.Union([Type.String({ minLength: 1, maxLength: 2000 }), Type.Null()]),
          },
          { additionalProperties: false },
        ),
        response: { 200: FleetSettingsView },
      },
    },
    async (request) => {
      await teams.requireTeam(request.params.teamId);
      return c.offlineAlerts.updateSettings(request.params.teamId, request.body, request.ctx);
    },
  );
  app.get(
    '/api/teams/:teamId/offline-alerts',
    {
      config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } },
      schema: {
        tags: ['fleet'],
        params: TeamParams,
        response: { 200: Type.Array(Type.Object({ deviceId: Type.String(), name: Type.String(), siteId: Type.String(), offlineSince: Type.String(), alertedAt: Type.String() })) },
      },
    },
    async (request) => c.offlineAlerts.active(request.params.teamId),
  );

  // --- Devices
  app.get(
    '/api/teams/:teamId/devices',
    {
      config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } },
      schema: {
        tags: ['fleet'],
        description: "A page of the team's devices by name; the x-total-count header says how many match the filters in all.",
        params: TeamParams,
        querystring: Type.Object(
          {
            siteId: Type.Optional(Id),
            groupId: Type.Optional(Id),
            state: Type.Optional(Type.Union(DEVICE_STATES.map((s) => Type.Literal(s)))),
            q: Type.Optional(Type.String({ ...SearchText, description: 'A part of the name' })),
            revoked: Type.Optional(Type.Boolean({ description: 'false: leave revoked devices out' })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(DeviceView) },
      },
    },
    async (request, reply) => {
      const { limit, offset, ...filter } = request.query;
      const page = await fleet.devicesPage(request.params.teamId, filter, limit ?? PAGE_SIZE, offset ?? 0);
      void reply.header('x-total-count', String(page.total));
      return presentDevices(request, page.devices);
    },
  );
  app.patch(
    '/api/devices/:deviceId',
    {
      config: { access: { kind: 'user', permission: 'fleet:write', team: 'deviceId' } },
      schema: {
        tags: ['fleet'],
        params: DeviceParams,
        body: Type.Object(
          { name: Type.Optional(Name), siteId: Type.Optional(Id), groupId: Type.Optional(Type.Union([Id, Type.Null()])) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: DeviceView },
      },
    },
    async (request) => {
      const device = await fleet.updateDevice(request.params.deviceId, request.body, request.ctx);
      return (await presentDevices(request, [device]))[0];
    },
  );
  app.post(
    '/api/devices/:deviceId/revoke',
    { config: { access: { kind: 'user', permission: 'fleet:provision', team: 'deviceId' } }, schema: { tags: ['fleet'], params: DeviceParams, response: { 200: DeviceView } } },
    async (request) => {
      const device = await fleet.revokeDevice(request.params.deviceId, request.ctx);
      // Its long poll answers now, refused, and its MQTT connection and editor tunnel are cut: it learns at once.
      c.deployments.wake(device.id);
      c.broker.disconnect(device.id);
      c.tunnels.disconnect(device.id);
      return (await presentDevices(request, [device]))[0];
    },
  );

  app.post(
    '/api/provisioning-tokens/:provisioningTokenId/revoke',
    {
      config: { access: { kind: 'user', permission: 'fleet:provision', team: 'provisioningTokenId' } },
      schema: { tags: ['fleet'], params: TokenParams, response: { 200: TokenView } },
    },
    async (request) => presentToken(await fleet.revokeToken(request.params.provisioningTokenId, request.ctx), now(), holdsOf(request)),
  );
}

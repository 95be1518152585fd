import { Type } from '@sinclair/typebox';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { RolloutsTable } from '../../db/schema.ts';
import { EpochMillis, Id, PAGE_SIZE, PageQuery, TeamParams } from '../../http/schemas.ts';
import { holdsOf, type Holds } from '../../http/holds.ts';
import { rolloutActions } from './rollouts.policy.ts';
import { devicePresenter, DeviceParams, DeviceView, GroupParams, GroupView, presentGroup } from './fleet.routes.ts';

const RolloutParams = Type.Object({ rolloutId: Id });
const RolloutDeviceStates = ['pending', 'updating', 'verifying', 'healthy', 'failed', 'skipped'] as const;
const RolloutDeviceState = Type.Union(RolloutDeviceStates.map((s) => Type.Literal(s)));
const NullableString = Type.Union([Type.String(), Type.Null()]);

const RolloutView = Type.Object({
  id: Type.String(),
  teamId: Type.String(),
  groupId: Type.String(),
  snapshotId: Type.String(),
  snapshotHash: Type.String(),
  state: Type.Union(['running', 'paused', 'halted', 'aborted', 'completed'].map((s) => Type.Literal(s))),
  waveSize: Type.Integer(),
  maxFailures: Type.Integer(),
  healthSeconds: Type.Integer(),
  waveTimeoutSeconds: Type.Integer(),
  currentWave: Type.Integer(),
  waveCount: Type.Integer(),
  detail: NullableString,
  createdBy: NullableString,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: NullableString,
  /** What the caller may do to it now (rollouts.policy.ts): the rollout page's buttons come from this. */
  allowed: Type.Object({ pause: Type.Boolean(), resume: Type.Boolean(), abort: Type.Boolean() }),
});

function presentRollout(r: RolloutsTable, holds: Holds) {
  return {
    id: r.id,
    teamId: r.team_id,
    groupId: r.group_id,
    snapshotId: r.snapshot_id,
    snapshotHash: r.snapshot_hash,
    state: r.state,
    waveSize: r.wave_size,
    maxFailures: r.max_failures,
    healthSeconds: r.health_seconds,
    waveTimeoutSeconds: r.wave_timeout_seconds,
    currentWave: r.current_wave,
    waveCount: r.wave_count,
    detail: r.detail,
    createdBy: r.created_by_label,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    allowed: rolloutActions(holds, r),
  };
}

/** Targets and rollouts: what people do to put a snapshot on devices. */
export function deploymentsRoutes(app: TypedApp, c: Pick<AppContext, 'broker' | 'deployments' | 'fleet'>): void {
  const { fleet, deployments } = c;
  const presentDevices = devicePresenter(c);

  app.get(
    '/api/devices/:deviceId',
    { config: { access: { kind: 'user', permission: 'fleet:read', team: 'deviceId' } }, schema: { tags: ['fleet'], params: DeviceParams, response: { 200: DeviceView } } },
    async (request) => (await presentDevices(request, [await fleet.device(request.params.deviceId)]))[0],
  );
  app.get(
    '/api/devices/:deviceId/logs',
    {
      config: { access: { kind: 'user', permission: 'fleet:read', team: 'deviceId' } },
      schema: {
        tags: ['fleet'],
        params: DeviceParams,
        querystring: Type.Object({ after: Type.Optional(EpochMillis) }, { additionalProperties: false }),
        response: { 200: Type.Array(Type.Object({ ts: Type.Number(), level: Type.String(), msg: Type.String() })) },
      },
    },
    async (request) => {
      await fleet.device(request.params.deviceId);
      return deployments.recentLogs(request.params.deviceId, request.query.after);
    },
  );
  app.put(
    '/api/devices/:deviceId/target',
    {
      config: { access: { kind: 'user', permission: 'fleet:deploy', team: 'deviceId' } },
      schema: {
        tags: ['fleet'],
        description: "Sets the snapshot the device should run (null: the empty flow). Refused while the device's group has a rollout that has not ended.",
        params: DeviceParams,
        body: Type.Object({ snapshotId: Type.Union([Id, Type.Null()]) }, { additionalProperties: false }),
        response: { 200: DeviceView },
      },
    },
    async (request) => (await presentDevices(request, [await deployments.setTarget(request.params.deviceId, request.body.snapshotId, request.ctx)]))[0],
  );

  app.put(
    '/api/device-groups/:groupId/target',
    {
      config: { access: { kind: 'user', permission: 'fleet:deploy', team: 'groupId' } },
      schema: {
        tags: ['fleet'],
        description:
          'Sets the snapshot every device of the group should run (null: the empty flow), all at once, without waves; a device joining the group later gets it too. Refused while the group has a rollout that has not ended.',
        params: GroupParams,
        body: Type.Object({ snapshotId: Type.Union([Id, Type.Null()]) }, { additionalProperties: false }),
        response: { 200: GroupView },
      },
    },
    async (request) => presentGroup(await deployments.setGroupTarget(request.params.groupId, request.body.snapshotId, request.ctx)),
  );

  app.get(
    '/api/teams/:teamId/rollouts',
    { config: { access: { kind: 'user', permission: 'fleet:read', team: 'teamId' } }, schema: { tags: ['fleet'], params: TeamParams, response: { 200: Type.Array(RolloutView) } } },
    async (request) => (await deployments.rolloutsOfTeam(request.params.teamId)).map((r) => presentRollout(r, holdsOf(request))),
  );
  app.post(
    '/api/device-groups/:groupId/rollouts',
    {
      config: { access: { kind: 'user', permission: 'fleet:deploy', team: 'groupId' } },
      schema: {
        tags: ['fleet'],
        params: GroupParams,
        body: Type.Object(
          {
            snapshotId: Id,
            batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Devices per wave' })),
            batchPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "Per cent of the group's devices per wave (default 10)" })),
            maxFailures: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'The rollout halts when more devices than this have failed (default 0)' })),
            healthSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'How long a device must run the snapshot to count as healthy (default 30)' })),
            waveTimeoutSeconds: Type.Optional(
              Type.Integer({ minimum: 10, maximum: 86_400, description: 'A device not healthy this long after its wave started has failed (default 600)' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: RolloutView },
      },
    },
    async (request, reply) => reply.code(201).send(presentRollout(await deployments.startRollout(request.params.groupId, request.body, request.ctx), holdsOf(request))),
  );
  app.get(
    '/api/rollouts/:rolloutId',
    {
      config: { access: { kind: 'user', permission: 'fleet:read', team: 'rolloutId' } },
      schema: {
        tags: ['fleet'],
        params: RolloutParams,
        response: { 200: Type.Object({ rollout: RolloutView, progress: Type.Array(Type.Object({ siteId: Type.String(), state: RolloutDeviceState, devices: Type.Integer() })) }) },
      },
    },
    async (request) => {
      const rollout = await deployments.rolloutById(request.params.rolloutId);
      const progress = await deployments.progress(rollout.id);
      return { rollout: presentRollout(rollout, holdsOf(request)), progress: progress.map((p) => ({ siteId: p.site_id, state: p.state, devices: Number(p.n) })) };
    },
  );
  app.get(
    '/api/rollouts/:rolloutId/devices',
    {
      config: { access: { kind: 'user', permission: 'fleet:read', team: 'rolloutId' } },
      schema: {
        tags: ['fleet'],
        params: RolloutParams,
        querystring: Type.Object({ state: Type.Optional(RolloutDeviceState), ...PageQuery }, { additionalProperties: false }),
        response: {
          200: Type.Array(
            Type.Object({
              deviceId: Type.String(),
              name: Type.String(),
              siteId: Type.String(),
              wave: Type.Integer(),
              state: RolloutDeviceState,
              detail: NullableString,
              startedAt: NullableString,
              finishedAt: NullableString,
            }),
          ),
        },
      },
    },
    async (request) => {
      await deployments.rolloutById(request.params.rolloutId);
      const rows = await deployments.rolloutDevices(request.params.rolloutId, request.query.state, request.query.limit ?? PAGE_SIZE, request.query.offset ?? 0);
      return rows.map((r) => ({
        deviceId: r.device_id,
        name: r.name,
        siteId: r.site_id,
        wave: r.wave,
        state: r.state,
        detail: r.detail,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
      }));
    },
  );
  for (const action of ['pause', 'resume', 'abort'] as const) {
    app.post(
      `/api/rollouts/:rolloutId/${action}`,
      { config: { access: { kind: 'user', permission: 'fleet:deploy', team: 'rolloutId' } }, schema: { tags: ['fleet'], params: RolloutParams, response: { 200: RolloutView } } },
      async (request) => presentRollout(await deployments[action](request.params.rolloutId, request.ctx), holdsOf(request)),
    );
  }
}

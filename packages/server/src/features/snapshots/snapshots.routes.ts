import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyRequest } from 'fastify';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { SnapshotsTable } from '../../db/schema.ts';
import { InstanceParams } from '../applications/applications.routes.ts';
import { validationErrorOf } from '../../http/problem.ts';
import { Id, Name, Sha256Hex } from '../../http/schemas.ts';
import { EnvDiffView, FlowDiffView, ModulesDiffView, SettingChangeView } from './diff.schemas.ts';
import type { SnapshotFile } from './snapshots.service.ts';
import { snapshotActions } from './snapshots.policy.ts';
import { holdsOf, type Holds } from '../../http/holds.ts';
import type { Runs, RunsNow, SnapshotSummary } from './snapshots.store.ts';

const SnapshotParams = Type.Object({ snapshotId: Id });
const SnapshotView = Type.Object({
  id: Type.String(),
  instanceId: Type.String(),
  hash: Type.String(),
  name: Type.String(),
  description: Type.String(),
  kind: Type.Union([Type.Literal('manual'), Type.Literal('auto'), Type.Literal('import')]),
  nodeCount: Type.Integer(),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});
/** What the caller may do with it (snapshots.policy.ts): the web UI's buttons come from this, not from rules of its own. */
const SnapshotAllowed = Type.Object({ deploy: Type.Boolean(), export: Type.Boolean() });
/**
 * A snapshot as listed or shown alone: with when it ran on its instance, first and last time
 * (null if it never did), and the caller's allowed actions on it.
 */
const SnapshotWithRuns = Type.Composite([
  SnapshotView,
  Type.Object({
    firstRanAt: Type.Union([Type.String(), Type.Null()]),
    lastRanAt: Type.Union([Type.String(), Type.Null()]),
    /** Where it runs now, by its hash (so a snapshot named after an editor deploy runs where the deploy does): its instance, while running, and how many of the team's devices. */
    runsNow: Type.Object({ instance: Type.Boolean(), devices: Type.Integer({ minimum: 0 }) }),
    allowed: SnapshotAllowed,
  }),
]);
// The export secret protects credentials in a file that leaves the platform.
const Secret = Type.String({ minLength: 12, maxLength: 256 });
const Flows = Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 50_000 });
/** Flows as stored: every node has its id and type (validateFlows checked them before they were kept). */
const StoredFlows = Type.Array(Type.Object({ id: Type.String(), type: Type.String() }, { additionalProperties: true }));

/** One side of a change review: the snapshot, the instance it was taken on (which may be another of the team's), and whether that instance runs it now. */
const DiffSide = Type.Composite([SnapshotView, Type.Object({ instanceName: Type.String(), runningThere: Type.Boolean() })]);
const DiffView = Type.Object({ from: DiffSide, to: DiffSide, diff: FlowDiffView, modules: ModulesDiffView, settings: Type.Array(SettingChangeView), env: EnvDiffView });

/** A snapshot as a file that leaves the platform (export) and comes back (import), sealed with a secret. */
const SnapshotFileSchema = Type.Object({
  format: Type.Literal('flowgate-snapshot'),
  // Version 1 files had no seal; they cannot be checked against the secret, and are refused.
  version: Type.Literal(2),
  name: Name,
  description: Type.String({ maxLength: 2000 }),
  createdAt: Type.String({ maxLength: 40 }),
  hash: Sha256Hex,
  seal: Sha256Hex,
  content: Type.Object({
    flows: Flows,
    credentials: Type.Union([Type.String({ maxLength: 10_000_000 }), Type.Null()]),
    settings: Type.Object({}, { additionalProperties: true }),
    env: Type.Array(Type.Object({ name: Type.String({ maxLength: 128 }), value: Type.Union([Type.String({ maxLength: 16_384 }), Type.Null()]), secret: Type.Boolean() }), {
      maxItems: 200,
    }),
    // Checked by the service (validateModules), which audits a refusal; bounds as the agent's route.
    modules: Type.Array(Type.Object({ name: Type.String({ maxLength: 300 }), version: Type.String({ maxLength: 300 }) }), { maxItems: 2_000 }),
  }),
});

function present(s: SnapshotSummary | SnapshotsTable) {
  return {
    id: s.id,
    instanceId: s.instance_id,
    hash: s.hash,
    name: s.name,
    description: s.description,
    kind: s.kind,
    nodeCount: s.node_count,
    createdBy: s.created_by_label,
    createdAt: s.created_at,
  };
}

function presentWithRuns(s: SnapshotSummary & Runs & RunsNow, holds: Holds) {
  return {
    ...present(s),
    firstRanAt: s.first_ran_at,
    lastRanAt: s.last_ran_at,
    runsNow: s.runs_now,
    allowed: snapshotActions(holds, { ranHere: s.first_ran_at !== null }),
  };
}

/** The caller's permissions in the request's team, as the policy asks for them. */
export function snapshotsRoutes(app: TypedApp, c: Pick<AppContext, 'applications' | 'snapshots'>): void {
  const { snapshots, applications } = c;

  /**
   * Flows or a file the schema refuses are an attempt on the instance's snapshots all the
   * same: recorded as the service records its own refusals, then answered 400 as any.
   */
  function refuseInvalidBody(request: FastifyRequest & { params: { instanceId: string } }, event: 'snapshot.created' | 'snapshot.import.failed'): never {
    const error = request.validationError!;
    throw validationErrorOf(error as FastifyError).audited({
      event,
      outcome: 'failure',
      target: { type: 'instance', id: request.params.instanceId },
      teamId: request.teamId,
      details: { reason: `invalid request: ${error.message}`.slice(0, 500) },
    });
  }

  app.get(
    '/api/instances/:instanceId/snapshots',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: { tags: ['snapshots'], params: InstanceParams, response: { 200: Type.Array(SnapshotWithRuns) } },
    },
    async (request) => {
      await applications.requireInstance(request.params.instanceId);
      const holds = holdsOf(request);
      return (await snapshots.list(request.params.instanceId)).map((s) => presentWithRuns(s, holds));
    },
  );

  app.post(
    '/api/instances/:instanceId/snapshots',
    {
      config: { access: { kind: 'user', permission: 'snapshots:write', team: 'instanceId' } },
      // Flows of thousands of nodes are bigger than the default body limit.
      bodyLimit: 32 * 1024 * 1024,
      attachValidation: true,
      schema: {
        tags: ['snapshots'],
        params: InstanceParams,
        body: Type.Object({ name: Name, description: Type.Optional(Type.String({ maxLength: 2000 })), flows: Type.Optional(Flows) }, { additionalProperties: false }),
        response: { 201: SnapshotView },
      },
    },
    async (request, reply) => {
      if (request.validationError) refuseInvalidBody(request, 'snapshot.created');
      const { name, description, flows } = request.body;
      const created = await snapshots.create(request.params.instanceId, { name, description: description ?? '', ...(flows ? { flows } : {}) }, request.ctx);
      return reply.code(201).send(present(created));
    },
  );

  app.get(
    '/api/snapshots/:snapshotId',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'snapshotId' } },
      schema: {
        tags: ['snapshots'],
        params: SnapshotParams,
        response: {
          200: Type.Object({
            snapshot: SnapshotWithRuns,
            flows: StoredFlows,
            env: Type.Array(Type.Object({ name: Type.String(), value: Type.Union([Type.String(), Type.Null()]), secret: Type.Boolean() })),
            modules: Type.Array(Type.Object({ name: Type.String(), version: Type.String() })),
            settings: Type.Object({ nodeRedVersion: Type.Optional(Type.String()) }),
            hasCredentials: Type.Boolean(),
          }),
        },
      },
    },
    async (request) => {
      const { snapshot, content } = await snapshots.show(request.params.snapshotId);
      return {
        snapshot: presentWithRuns(snapshot, holdsOf(request)),
        flows: content.flows,
        env: content.env,
        modules: content.modules,
        settings: content.settings,
        hasCredentials: content.credentials !== null,
      };
    },
  );

  app.get(
    '/api/instances/:instanceId/diff',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: {
        tags: ['snapshots'],
        params: InstanceParams,
        querystring: Type.Object({ from: Id, to: Type.Union([Id, Type.Literal('running')]) }, { additionalProperties: false }),
        response: { 200: DiffView },
      },
    },
    async (request) => {
      const { from, to, fromInstance, toInstance, diff, modules, settings, env } = await snapshots.diff(request.params.instanceId, request.query.from, request.query.to);
      // Each side names its own instance and whether that instance runs it now: the two may differ (staging against production).
      const side = (s: SnapshotsTable, i: { name: string; status: string; running_snapshot_id: string | null }) => ({
        ...present(s),
        instanceName: i.name,
        // A stopped or crashed instance still names the snapshot it ran last: that is not running.
        runningThere: i.status === 'running' && i.running_snapshot_id === s.id,
      });
      return { from: side(from, fromInstance), to: side(to, toInstance), diff, modules, settings, env };
    },
  );

  app.post(
    '/api/instances/:instanceId/deploy',
    {
      config: { access: { kind: 'user', permission: 'instances:operate', team: 'instanceId' } },
      schema: {
        tags: ['snapshots'],
        params: InstanceParams,
        body: Type.Object({ snapshotId: Id }, { additionalProperties: false }),
        response: { 202: Type.Object({ targetSnapshotId: Type.String() }) },
      },
    },
    async (request, reply) => {
      await snapshots.deploy(request.params.instanceId, request.body.snapshotId, request.ctx, holdsOf(request));
      return reply.code(202).send({ targetSnapshotId: request.body.snapshotId });
    },
  );

  app.post(
    '/api/snapshots/:snapshotId/export',
    {
      config: { access: { kind: 'user', permission: 'snapshots:write', team: 'snapshotId' } },
      schema: { tags: ['snapshots'], params: SnapshotParams, body: Type.Object({ secret: Secret }, { additionalProperties: false }), response: { 200: SnapshotFileSchema } },
    },
    async (request, reply) => {
      const file = await snapshots.exportFile(request.params.snapshotId, request.body.secret, request.ctx);
      const safeName = file.name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60) || 'snapshot';
      return reply.header('content-disposition', `attachment; filename="${safeName}.flowgate.json"`).send(file);
    },
  );

  app.post(
    '/api/instances/:instanceId/snapshots/import',
    {
      config: { access: { kind: 'user', permission: 'snapshots:write', team: 'instanceId' } },
      bodyLimit: 32 * 1024 * 1024,
      attachValidation: true,
      schema: {
        tags: ['snapshots'],
        params: InstanceParams,
        body: Type.Object(
          {
            secret: Secret,
            file: SnapshotFileSchema,
          },
          { additionalProperties: false },
        ),
        response: { 201: SnapshotView },
      },
    },
    async (request, reply) => {
      if (request.validationError) refuseInvalidBody(request, 'snapshot.import.failed');
      const created = await snapshots.importFile(request.params.instanceId, request.body.file as SnapshotFile, request.body.secret, request.ctx);
      return reply.code(201).send(present(created));
    },
  );
}

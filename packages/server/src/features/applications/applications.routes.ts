import { Type } from '@sinclair/typebox';
import { ENV_NAME_PATTERN } from '@flowgate/core';
import { AgentStateSchema } from '@flowgate/protocol';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { ApplicationsTable, InstancesTable } from '../../db/schema.ts';
import { EpochMillis, Id, Name, NoContent, TeamParams } from '../../http/schemas.ts';

const ApplicationParams = Type.Object({ applicationId: Id });
export const InstanceParams = Type.Object({ instanceId: Id });
const Description = Type.String({ maxLength: 2000 });
const ApplicationView = Type.Object({
  id: Type.String(),
  teamId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const InstanceView = Type.Object({
  id: Type.String(),
  applicationId: Type.String(),
  teamId: Type.String(),
  name: Type.String(),
  nodeRedVersion: Type.String(),
  desiredState: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
  status: AgentStateSchema,
  statusDetail: Type.Union([Type.String(), Type.Null()]),
  targetSnapshotId: Type.Union([Type.String(), Type.Null()]),
  runningSnapshotId: Type.Union([Type.String(), Type.Null()]),
  endpointAccess: Type.Union([Type.Literal('login'), Type.Literal('public')]),
  editorPath: Type.String({
    description: "The platform's route that opens the editor: it checks the person's permission, then sends the browser to the instance's own origin with a one-time code",
  }),
  endpointPath: Type.String({ description: 'Where the flows serve, under endpointUrl' }),
  endpointUrl: Type.String({ description: "The flows' endpoints on the instance's own origin (FLOWGATE_INSTANCE_DOMAIN)" }),
  createdAt: Type.String(),
});
// Environment variable names as Node-RED and shells accept them.
const EnvName = Type.String({ minLength: 1, maxLength: 128, pattern: ENV_NAME_PATTERN });
const EnvVar = Type.Object({ name: EnvName, value: Type.Optional(Type.String({ maxLength: 16_384 })), secret: Type.Boolean() }, { additionalProperties: false });
// The names are checked by the service (team-settings.service.ts), not the schema: a refused list is audited.
const PaletteList = Type.Array(Type.String({ maxLength: 214 }), { maxItems: 500 });
const TeamSettingsView = Type.Object({ paletteAllow: Type.Array(Type.String()), paletteDeny: Type.Array(Type.String()), autoSnapshotRetention: Type.Integer() });

export function presentApplication(a: ApplicationsTable) {
  return { id: a.id, teamId: a.team_id, name: a.name, description: a.description, createdAt: a.created_at, updatedAt: a.updated_at };
}

/** `originOf`: the instance's own origin, where its endpoints answer (instance-origins.ts). */
export function presentInstanceWith(i: InstancesTable, originOf: (instanceId: string) => string) {
  return {
    id: i.id,
    applicationId: i.application_id,
    teamId: i.team_id,
    name: i.name,
    nodeRedVersion: i.node_red_version,
    desiredState: i.desired_state,
    status: i.status,
    statusDetail: i.status_detail,
    targetSnapshotId: i.target_snapshot_id,
    runningSnapshotId: i.running_snapshot_id,
    endpointAccess: i.endpoint_access,
    editorPath: `/instances/${i.id}/editor`,
    endpointPath: `/instances/${i.id}/app/`,
    endpointUrl: `${originOf(i.id)}/instances/${i.id}/app/`,
    createdAt: i.created_at,
  };
}

export function applicationsRoutes(app: TypedApp, c: Pick<AppContext, 'applications' | 'instanceOrigins' | 'runtime' | 'teams' | 'teamSettings'>): void {
  const { applications, runtime } = c;
  const presentInstance = (i: InstancesTable) => presentInstanceWith(i, c.instanceOrigins.originOf);

  app.get(
    '/api/node-red-versions',
    { config: { access: { kind: 'user', permission: 'teams:list' } }, schema: { tags: ['applications'], response: { 200: Type.Array(Type.String()) } } },
    async () => applications.versions(),
  );

  app.get(
    '/api/teams/:teamId/applications',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'teamId' } },
      schema: { tags: ['applications'], params: TeamParams, response: { 200: Type.Array(ApplicationView) } },
    },
    async (request) => (await applications.applicationsOfTeam(request.params.teamId)).map(presentApplication),
  );

  app.post(
    '/api/teams/:teamId/applications',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'teamId' } },
      schema: {
        tags: ['applications'],
        params: TeamParams,
        body: Type.Object({ name: Name, description: Type.Optional(Description) }, { additionalProperties: false }),
        response: { 201: ApplicationView },
      },
    },
    async (request, reply) => {
      await c.teams.requireTeam(request.params.teamId);
      const created = await applications.createApplication(request.params.teamId, { name: request.body.name, description: request.body.description ?? '' }, request.ctx);
      return reply.code(201).send(presentApplication(created));
    },
  );

  app.get(
    '/api/applications/:applicationId',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'applicationId' } },
      schema: { tags: ['applications'], params: ApplicationParams, response: { 200: Type.Object({ application: ApplicationView, instances: Type.Array(InstanceView) }) } },
    },
    async (request) => {
      const application = await applications.requireApplication(request.params.applicationId);
      return { application: presentApplication(application), instances: (await applications.instancesOfApplication(application.id)).map(presentInstance) };
    },
  );

  app.patch(
    '/api/applications/:applicationId',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'applicationId' } },
      schema: {
        tags: ['applications'],
        params: ApplicationParams,
        body: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: ApplicationView },
      },
    },
    async (request) => presentApplication(await applications.updateApplication(request.params.applicationId, request.body, request.ctx)),
  );

  app.delete(
    '/api/applications/:applicationId',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'applicationId' } },
      schema: { tags: ['applications'], params: ApplicationParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await applications.deleteApplication(request.params.applicationId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/applications/:applicationId/instances',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'applicationId' } },
      schema: {
        tags: ['instances'],
        params: ApplicationParams,
        body: Type.Object({ name: Name, nodeRedVersion: Type.String({ maxLength: 32 }) }, { additionalProperties: false }),
        response: { 201: InstanceView },
      },
    },
    async (request, reply) => reply.code(201).send(presentInstance(await applications.createInstance(request.params.applicationId, request.body, request.ctx))),
  );

  app.get(
    '/api/instances/:instanceId',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: { tags: ['instances'], params: InstanceParams, response: { 200: InstanceView } },
    },
    async (request) => presentInstance(await applications.requireInstance(request.params.instanceId)),
  );

  app.delete(
    '/api/instances/:instanceId',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'instanceId' } },
      schema: { tags: ['instances'], params: InstanceParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await applications.deleteInstance(request.params.instanceId, request.ctx);
      return reply.code(204).send(null);
    },
  );

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/api/instances/:instanceId/${action}`,
      {
        config: { access: { kind: 'user', permission: 'instances:operate', team: 'instanceId' } },
        schema: { tags: ['instances'], params: InstanceParams, response: { 202: InstanceView } },
      },
      async (request, reply) => {
        const id = request.params.instanceId;
        if (action === 'restart') await applications.restart(id, request.ctx);
        else await applications.setDesiredState(id, action === 'start' ? 'running' : 'stopped', request.ctx);
        return reply.code(202).send(presentInstance(await applications.requireInstance(id)));
      },
    );
  }

  app.patch(
    '/api/instances/:instanceId',
    {
      config: { access: { kind: 'user', permission: 'instances:endpoints', team: 'instanceId' } },
      schema: {
        tags: ['instances'],
        params: InstanceParams,
        body: Type.Object({ endpointAccess: Type.Union([Type.Literal('login'), Type.Literal('public')]) }, { additionalProperties: false }),
        response: { 200: InstanceView },
      },
    },
    async (request) => {
      await applications.setEndpointAccess(request.params.instanceId, request.body.endpointAccess, request.ctx);
      return presentInstance(await applications.requireInstance(request.params.instanceId));
    },
  );

  app.put(
    '/api/instances/:instanceId/node-red-version',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'instanceId' } },
      schema: {
        tags: ['instances'],
        params: InstanceParams,
        body: Type.Object({ nodeRedVersion: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false }),
        response: { 200: InstanceView },
      },
    },
    async (request) => {
      await applications.setNodeRedVersion(request.params.instanceId, request.body.nodeRedVersion, request.ctx);
      return presentInstance(await applications.requireInstance(request.params.instanceId));
    },
  );

  app.get(
    '/api/instances/:instanceId/env',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: {
        tags: ['instances'],
        params: InstanceParams,
        response: { 200: Type.Array(Type.Object({ name: Type.String(), value: Type.Union([Type.String(), Type.Null()]), secret: Type.Boolean() })) },
      },
    },
    async (request) => {
      await applications.requireInstance(request.params.instanceId);
      return applications.env(request.params.instanceId);
    },
  );

  app.put(
    '/api/instances/:instanceId/env',
    {
      config: { access: { kind: 'user', permission: 'applications:write', team: 'instanceId' } },
      schema: {
        tags: ['instances'],
        params: InstanceParams,
        body: Type.Object({ env: Type.Array(EnvVar, { maxItems: 200 }) }, { additionalProperties: false }),
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await applications.setEnv(request.params.instanceId, request.body.env, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/instances/:instanceId/logs',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: {
        tags: ['instances'],
        params: InstanceParams,
        querystring: Type.Object({ after: Type.Optional(EpochMillis) }, { additionalProperties: false }),
        response: { 200: Type.Array(Type.Object({ ts: Type.Number(), level: Type.String(), msg: Type.String() })) },
      },
    },
    async (request) => {
      await applications.requireInstance(request.params.instanceId);
      return runtime.recentLogs(request.params.instanceId, request.query.after);
    },
  );

  app.get(
    '/api/teams/:teamId/application-settings',
    { config: { access: { kind: 'user', permission: 'team:read', team: 'teamId' } }, schema: { tags: ['applications'], params: TeamParams, response: { 200: TeamSettingsView } } },
    async (request) => c.teamSettings.get(request.params.teamId),
  );

  app.put(
    '/api/teams/:teamId/application-settings',
    {
      config: { access: { kind: 'user', permission: 'team:update', team: 'teamId' } },
      schema: {
        tags: ['applications'],
        params: TeamParams,
        body: Type.Object(
          { paletteAllow: PaletteList, paletteDeny: PaletteList, autoSnapshotRetention: Type.Integer({ minimum: 1, maximum: 10_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: TeamSettingsView },
      },
    },
    async (request) => c.teamSettings.update(request.params.teamId, request.body, request.ctx),
  );
}

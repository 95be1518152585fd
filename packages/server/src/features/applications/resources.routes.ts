import { Type } from '@sinclair/typebox';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { InstanceParams } from './applications.routes.ts';
import { isolationReport } from './isolation.ts';

const Nullable = <T extends ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const Range = Type.Object({ default: Type.Integer(), min: Type.Integer(), max: Type.Integer() });
const Limits = Type.Object({ memoryMb: Type.Integer(), cpuPercent: Type.Integer(), diskMb: Type.Integer() });

const IsolationView = Type.Object({
  driver: Type.Union([Type.Literal('process'), Type.Literal('kubernetes')]),
  sandbox: Type.Object({ kind: Type.Union([Type.Literal('bubblewrap'), Type.Literal('none')]), unavailable: Type.Union([Type.String(), Type.Null()]) }),
  userPerInstance: Type.Boolean(),
  controlGroups: Type.Object({
    layout: Type.Union([Type.Literal('v1'), Type.Literal('v2'), Type.Null()]),
    memory: Type.Boolean(),
    processes: Type.Boolean(),
    cpu: Type.Boolean(),
    unavailable: Type.Union([Type.String(), Type.Null()]),
  }),
  limits: Type.Object({ openFilesPerProcess: Type.Integer(), processes: Type.Integer() }),
  notProvided: Type.Array(Type.String()),
});

const ResourcesView = Type.Object({
  limits: Limits,
  custom: Type.Object({ memoryMb: Type.Boolean(), cpuPercent: Type.Boolean(), diskMb: Type.Boolean() }),
  ranges: Type.Object({ memoryMb: Range, cpuPercent: Range, diskMb: Range }),
  usage: Type.Union([
    Type.Object({
      memoryBytes: Nullable(Type.Integer()),
      oomKills: Nullable(Type.Integer()),
      diskBytes: Nullable(Type.Integer()),
      measuredAt: Type.Integer({ description: 'epoch milliseconds' }),
    }),
    Type.Null(),
  ]),
  warnings: Type.Array(Type.String()),
  isolation: IsolationView,
});

// Bounds of the type only: the platform's own range (config) is checked by the service, which names it.
const Amount = (description: string) => Nullable(Type.Integer({ minimum: 1, maximum: 1_048_576, description }));
const ResourcesInput = Type.Object(
  {
    memoryMb: Amount('MiB; null: the platform default'),
    cpuPercent: Amount('percent of one core; null: the platform default'),
    diskMb: Amount('MiB; null: the platform default'),
  },
  { additionalProperties: false },
);

/** What hosted instances may use and use (SR 7.2), and what holds them apart (SR 5.4). */
export function resourcesRoutes(app: TypedApp, c: AppContext): void {
  const isolation = () =>
    isolationReport({ driver: c.runtime.driver.kind, sandbox: c.sandbox, cgroups: c.cgroups, limits: c.config.instanceLimits, runsAsRoot: process.getuid?.() === 0 });
  const view = async (instanceId: string) => ({ ...c.resources.report(await c.applications.requireInstance(instanceId)), isolation: isolation() });

  app.get(
    '/api/platform/isolation',
    // Evidence for SR 5.4: admins, compliance leads and auditors read it.
    { config: { access: { kind: 'user', permission: 'compliance:read' } }, schema: { tags: ['platform'], response: { 200: IsolationView } } },
    async () => isolation(),
  );

  app.get(
    '/api/instances/:instanceId/resources',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: { tags: ['instances'], params: InstanceParams, response: { 200: ResourcesView } },
    },
    async (request) => view(request.params.instanceId),
  );

  app.put(
    '/api/instances/:instanceId/resources',
    {
      config: { access: { kind: 'user', permission: 'instances:resources', team: 'instanceId' } },
      schema: { tags: ['instances'], params: InstanceParams, body: ResourcesInput, response: { 200: ResourcesView } },
    },
    async (request) => {
      await c.applications.setResources(request.params.instanceId, request.body, request.ctx);
      c.resources.forget(request.params.instanceId);
      return view(request.params.instanceId);
    },
  );
}

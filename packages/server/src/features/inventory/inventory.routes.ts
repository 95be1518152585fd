import { Type } from '@sinclair/typebox';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { Id, PAGE_SIZE, PageQuery } from '../../http/schemas.ts';

/**
 * The automatic inventory (SR 7.8), for the compliance lead: every hosted instance and
 * device across all teams (compliance:read, a platform permission), and what each runs.
 */

const Kind = Type.Union([Type.Literal('instance'), Type.Literal('device')]);
const Str = Type.String();
const NullableStr = Type.Union([Type.String(), Type.Null()]);

const ItemView = Type.Object({
  kind: Kind,
  id: Str,
  name: Str,
  teamId: Str,
  teamName: Str,
  siteId: NullableStr,
  siteName: NullableStr,
  zones: Type.Array(Type.Object({ sucId: Str, sucName: Str, zoneId: Str, zoneName: Str }), {
    description: 'The zones it is placed in, one per System under Consideration it is in',
  }),
  applicationName: NullableStr,
  agentVersion: NullableStr,
  nodeRedVersion: NullableStr,
  nodeVersion: Type.Union([Type.String(), Type.Null()], { description: 'Node.js, as the agent reports it; null before an agent that reports facts has' }),
  os: Type.Union([Type.Object({ type: Str, release: Str, arch: Str }), Type.Null()]),
  modules: Type.Array(Type.Object({ name: Str, version: Str })),
  factsReportedAt: NullableStr,
  lastSeenAt: NullableStr,
  online: Type.Boolean({ description: 'Its agent reported within the last 150 s (and, for an instance, it is not stopped)' }),
  state: Str,
  runningSnapshotId: NullableStr,
  runningHash: Type.Union([Type.String(), Type.Null()], { description: 'SHA-256 of the snapshot it runs' }),
});

const ListQuery = Type.Object(
  {
    teamId: Type.Optional(Id),
    siteId: Type.Optional(Id),
    kind: Type.Optional(Kind),
    online: Type.Optional(Type.Boolean()),
    zoneId: Type.Optional(Id),
    ...PageQuery,
  },
  { additionalProperties: false },
);

const ListReply = Type.Object({
  items: Type.Array(ItemView),
  total: Type.Integer(),
  summary: Type.Object({
    instances: Type.Integer(),
    devices: Type.Integer(),
    online: Type.Integer(),
    offline: Type.Integer(),
    teams: Type.Array(Type.Object({ teamId: Str, teamName: Str, count: Type.Integer() })),
  }),
});

const Connection = Type.Object({
  configNodeId: Str,
  nodeType: Str,
  name: NullableStr,
  protocol: Str,
  host: NullableStr,
  port: Type.Union([Type.Integer(), Type.Null()]),
  source: Type.Union([Type.Literal('literal'), Type.Literal('env'), Type.Literal('msg'), Type.Literal('context')]),
  env: Type.Array(Str),
  tls: Type.Union([Type.Boolean(), Type.Null()]),
  usedBy: Type.Integer(),
  tabId: NullableStr,
});
const Decision = Type.Union([Type.Literal('confirmed'), Type.Literal('dismissed')]);

const DetailReply = Type.Object({
  item: ItemView,
  analysis: Type.Union([
    Type.Object({
      tabs: Type.Array(Type.Object({ id: Str, label: Str, disabled: Type.Boolean(), nodes: Type.Integer() })),
      httpEndpoints: Type.Array(Type.Object({ nodeId: Str, tabId: NullableStr, method: Str, url: Str, name: NullableStr })),
      dashboards: Type.Array(
        Type.Object({
          id: Str,
          package: Str,
          kind: Type.Union([Type.Literal('page'), Type.Literal('group')]),
          name: Str,
          page: NullableStr,
          path: NullableStr,
          widgets: Type.Integer(),
        }),
      ),
      connections: Type.Array(Connection),
    }),
    Type.Null(),
  ]),
  analysisProblem: Type.Union([Type.String(), Type.Null()], { description: 'Why there is no analysis: no snapshot runs, or it cannot be read' }),
  suggestions: Type.Array(
    Type.Composite([
      Connection,
      Type.Object({
        key: Type.Union([Type.String(), Type.Null()], { description: 'Protocol, host and port; null: the address is not literal' }),
        decision: Type.Union([Decision, Type.Null()]),
      }),
    ]),
    { description: 'Suggested conduits: the connections of what it runs, with the compliance lead’s word on each' },
  ),
});

const DecisionBody = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 400, pattern: '^[^\\u0000-\\u001F\\u007F]*$' }),
    decision: Type.Union([Decision, Type.Null()]),
  },
  { additionalProperties: false },
);

const ConduitsQuery = Type.Object({ teamId: Type.Optional(Id), ...PageQuery }, { additionalProperties: false });
const ConduitsReply = Type.Object({
  conduits: Type.Array(
    Type.Object({
      kind: Kind,
      itemId: Str,
      itemName: Str,
      teamId: Str,
      teamName: Str,
      siteName: NullableStr,
      key: Type.String({ description: 'Protocol, host and port: what a decision is stored by' }),
      protocol: Str,
      host: Str,
      port: Type.Union([Type.Integer(), Type.Null()]),
      tls: Type.Union([Type.Boolean(), Type.Null()]),
      nodeType: Str,
      configNodeId: Str,
      name: NullableStr,
      decision: Type.Union([Decision, Type.Null()]),
    }),
  ),
  total: Type.Integer(),
});

export function inventoryRoutes(app: TypedApp, c: Pick<AppContext, 'inventory'>): void {
  const { inventory } = c;

  app.get(
    '/api/compliance/inventory',
    {
      config: { access: { kind: 'user', permission: 'compliance:read' } },
      schema: { tags: ['compliance'], querystring: ListQuery, response: { 200: ListReply } },
    },
    async (request) => inventory.list({ ...request.query, limit: request.query.limit ?? PAGE_SIZE, offset: request.query.offset ?? 0 }),
  );

  app.get(
    '/api/compliance/inventory/conduits',
    {
      config: { access: { kind: 'user', permission: 'compliance:read' } },
      schema: { tags: ['compliance'], querystring: ConduitsQuery, response: { 200: ConduitsReply } },
    },
    async (request) => inventory.conduits({ teamId: request.query.teamId, limit: request.query.limit ?? PAGE_SIZE, offset: request.query.offset ?? 0 }, request.ctx),
  );

  for (const kind of ['instance', 'device'] as const) {
    const param = kind === 'instance' ? 'instanceId' : 'deviceId';
    const Params = Type.Object({ [param]: Id });
    app.get(
      `/api/compliance/inventory/${kind}s/:${param}`,
      {
        config: { access: { kind: 'user', permission: 'compliance:read' } },
        schema: { tags: ['compliance'], params: Params, response: { 200: DetailReply } },
      },
      async (request) => inventory.detail(kind, (request.params as Record<string, string>)[param]!, request.ctx),
    );
    app.put(
      `/api/compliance/inventory/${kind}s/:${param}/conduits`,
      {
        config: { access: { kind: 'user', permission: 'compliance:write' } },
        schema: { tags: ['compliance'], params: Params, body: DecisionBody, response: { 200: DetailReply } },
      },
      async (request) => {
        const id = (request.params as Record<string, string>)[param]!;
        await inventory.decide(kind, id, request.body.key, request.body.decision, request.ctx);
        return inventory.detail(kind, id, request.ctx);
      },
    );
  }
}

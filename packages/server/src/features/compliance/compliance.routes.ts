import { Type } from '@sinclair/typebox';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { ConduitsTable, SucsTable, ZonesTable } from '../../db/schema.ts';
import { NoContent } from '../../http/schemas.ts';
import {
  ConduitBody,
  ConduitParams,
  ConduitPatch,
  ConduitView,
  HistoryPage,
  HistoryQuery,
  MembersBody,
  ScopeEntry,
  SucBody,
  SucDetail,
  SucListItem,
  SucParams,
  SucPatch,
  SucView,
  ZoneBody,
  ZoneParams,
  ZonePatch,
  ZoneView,
} from './compliance.schemas.ts';
import { slVectorOf, type SlVector } from './compliance.service.ts';
import type { ScopeThing } from './compliance.store.ts';

const presentSuc = (s: SucsTable) => ({
  id: s.id,
  name: s.name,
  description: s.description,
  owner: s.owner,
  boundary: s.boundary,
  createdAt: s.created_at,
  updatedAt: s.updated_at,
});
const presentZone = (z: ZonesTable, members: ScopeThing[]) => ({
  id: z.id,
  sucId: z.suc_id,
  name: z.name,
  description: z.description,
  slTarget: slVectorOf(z),
  members,
  createdAt: z.created_at,
  updatedAt: z.updated_at,
});
const presentConduit = (c: ConduitsTable) => ({
  id: c.id,
  sucId: c.suc_id,
  name: c.name,
  fromZoneId: c.from_zone_id,
  toZoneId: c.to_zone_id,
  protocols: c.protocols,
  ports: c.ports,
  direction: c.direction,
  initiator: c.initiator,
  crossing: c.crossing,
  createdAt: c.created_at,
  updatedAt: c.updated_at,
});

const TAGS = ['compliance'];
const read = { access: { kind: 'user', permission: 'compliance:read' } } as const;
const write = { access: { kind: 'user', permission: 'compliance:write' } } as const;

/** Systems under Consideration, zones and conduits (IEC 62443-3-2): platform records, read by compliance:read, kept by compliance:write. */
export function complianceRoutes(app: TypedApp, { compliance }: Pick<AppContext, 'compliance'>): void {
  app.get('/api/compliance/sucs', { config: read, schema: { tags: TAGS, response: { 200: Type.Array(SucListItem) } } }, async () =>
    (await compliance.list()).map(({ suc, ...counts }) => ({ ...presentSuc(suc), ...counts })),
  );

  app.get(
    '/api/compliance/scope',
    {
      config: read,
      schema: {
        tags: TAGS,
        description: 'Everything that may be scoped (teams, sites, applications, instances, devices), each with the SuCs it is in: none is the unscoped remainder',
        response: { 200: Type.Array(ScopeEntry) },
      },
    },
    async () => compliance.scope(),
  );

  app.post('/api/compliance/sucs', { config: write, schema: { tags: TAGS, body: SucBody, response: { 201: SucView } } }, async (request, reply) => {
    const { name, description = '', owner = '', boundary = '' } = request.body;
    return reply.code(201).send(presentSuc(await compliance.create({ name, description, owner, boundary }, request.ctx)));
  });

  app.get('/api/compliance/sucs/:sucId', { config: read, schema: { tags: TAGS, params: SucParams, response: { 200: SucDetail } } }, async (request) => {
    const v = await compliance.view(request.params.sucId);
    return {
      ...presentSuc(v.suc),
      members: v.members,
      zones: v.zones.map(({ zone, members }) => presentZone(zone, members)),
      conduits: v.conduits.map(presentConduit),
      derivedConduits: v.derived,
    };
  });

  app.patch('/api/compliance/sucs/:sucId', { config: write, schema: { tags: TAGS, params: SucParams, body: SucPatch, response: { 200: SucView } } }, async (request) =>
    presentSuc(await compliance.update(request.params.sucId, request.body, request.ctx)),
  );

  app.delete('/api/compliance/sucs/:sucId', { config: write, schema: { tags: TAGS, params: SucParams, response: { 204: NoContent } } }, async (request, reply) => {
    await compliance.remove(request.params.sucId, request.ctx);
    return reply.code(204).send(null);
  });

  app.put(
    '/api/compliance/sucs/:sucId/members',
    { config: write, schema: { tags: TAGS, description: 'Sets everything inside the SuC (the whole list)', params: SucParams, body: MembersBody, response: { 204: NoContent } } },
    async (request, reply) => {
      await compliance.setMembers(request.params.sucId, request.body.members, request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/compliance/sucs/:sucId/history',
    { config: read, schema: { tags: TAGS, params: SucParams, querystring: HistoryQuery, response: { 200: HistoryPage } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const events = await compliance.history(request.params.sucId, request.query.before ?? null, limit);
      return { events, nextBefore: events.length === limit ? events[events.length - 1]!.seq : null };
    },
  );

  app.get(
    '/api/compliance/sucs/:sucId/diagram.svg',
    { config: read, schema: { tags: TAGS, description: 'The zones-and-conduits diagram, SVG, printable', params: SucParams, produces: ['image/svg+xml'] } },
    async (request, reply) =>
      reply
        .type('image/svg+xml; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(await compliance.diagram(request.params.sucId)),
  );

  app.post(
    '/api/compliance/sucs/:sucId/zones',
    { config: write, schema: { tags: TAGS, params: SucParams, body: ZoneBody, response: { 201: ZoneView } } },
    async (request, reply) => {
      const { name, description = '', slTarget, members = [] } = request.body;
      const zone = await compliance.createZone(request.params.sucId, { name, description, slTarget: slTarget as SlVector, members }, request.ctx);
      return reply.code(201).send(presentZone(zone, []));
    },
  );

  app.patch('/api/compliance/zones/:zoneId', { config: write, schema: { tags: TAGS, params: ZoneParams, body: ZonePatch, response: { 200: ZoneView } } }, async (request) => {
    const { slTarget, ...rest } = request.body;
    return presentZone(await compliance.updateZone(request.params.zoneId, { ...rest, ...(slTarget ? { slTarget: slTarget as SlVector } : {}) }, request.ctx), []);
  });

  app.delete('/api/compliance/zones/:zoneId', { config: write, schema: { tags: TAGS, params: ZoneParams, response: { 204: NoContent } } }, async (request, reply) => {
    await compliance.removeZone(request.params.zoneId, request.ctx);
    return reply.code(204).send(null);
  });

  app.post(
    '/api/compliance/sucs/:sucId/conduits',
    { config: write, schema: { tags: TAGS, params: SucParams, body: ConduitBody, response: { 201: ConduitView } } },
    async (request, reply) => {
      const { protocols = '', ports = '', crossing = '', ...rest } = request.body;
      return reply.code(201).send(presentConduit(await compliance.createConduit(request.params.sucId, { ...rest, protocols, ports, crossing }, request.ctx)));
    },
  );

  app.patch(
    '/api/compliance/conduits/:conduitId',
    { config: write, schema: { tags: TAGS, params: ConduitParams, body: ConduitPatch, response: { 200: ConduitView } } },
    async (request) => presentConduit(await compliance.updateConduit(request.params.conduitId, request.body, request.ctx)),
  );

  app.delete('/api/compliance/conduits/:conduitId', { config: write, schema: { tags: TAGS, params: ConduitParams, response: { 204: NoContent } } }, async (request, reply) => {
    await compliance.removeConduit(request.params.conduitId, request.ctx);
    return reply.code(204).send(null);
  });
}

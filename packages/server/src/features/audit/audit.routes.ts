import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { AuditRow } from '@flowgate/core';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { RequestContext } from '../../context.ts';
import { Id, TeamParams } from '../../http/schemas.ts';
import { csvHeader, csvLine, jsonLine } from './audit.format.ts';
import type { AuditFilter } from './audit.store.ts';
import { verifyAuditLog } from './audit.verify.ts';

const FilterQuery = {
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  actorId: Type.Optional(Id),
  event: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z0-9.*-]+$' })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failure')])),
};
const PageQuery = Type.Object(
  { ...FilterQuery, teamId: Type.Optional(Id), before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);
const TeamPageQuery = Type.Object(
  { ...FilterQuery, before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);
const ExportQuery = Type.Object({ ...FilterQuery, teamId: Type.Optional(Id), format: Type.Union([Type.Literal('jsonl'), Type.Literal('csv')]) }, { additionalProperties: false });
const TeamExportQuery = Type.Object({ ...FilterQuery, format: Type.Union([Type.Literal('jsonl'), Type.Literal('csv')]) }, { additionalProperties: false });

const EventView = Type.Object({
  seq: Type.Integer(),
  occurredAt: Type.String(),
  actorType: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorLabel: Type.Union([Type.String(), Type.Null()]),
  event: Type.String(),
  outcome: Type.String(),
  targetType: Type.Union([Type.String(), Type.Null()]),
  targetId: Type.Union([Type.String(), Type.Null()]),
  teamId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  details: Type.String(),
  prevHash: Type.String(),
  hash: Type.String(),
});
const PageReply = Type.Object({ events: Type.Array(EventView), nextBefore: Type.Union([Type.Integer(), Type.Null()]) });

const json = JSON.stringify;
// occurredAt (an ISO time), prevHash and hash (hex) are written by the platform and need no
// escaping: they are quoted as they are.

/**
 * A page as PageReply's JSON text, written straight from the rows: the same bytes the
 * schema's serializer gives (its properties, in its order), without an object per event
 * first. A page is up to 1,000 events, some 600 KiB.
 */
export function pageJson(rows: readonly AuditRow[], nextBefore: number | null): string {
  let text = '{"events":[';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    text +=
      (i === 0 ? '{"seq":' : ',{"seq":') + r[0] +
      ',"occurredAt":"' + r[2] + '"' +
      ',"actorType":' + json(r[3]) +
      ',"actorId":' + json(r[4]) +
      ',"actorLabel":' + json(r[5]) +
      ',"event":' + json(r[6]) +
      ',"outcome":' + json(r[7]) +
      ',"targetType":' + json(r[8]) +
      ',"targetId":' + json(r[9]) +
      ',"teamId":' + json(r[10]) +
      ',"ip":' + json(r[11]) +
      ',"userAgent":' + json(r[12]) +
      ',"details":' + json(r[13]) +
      ',"prevHash":"' + r[1] + '"' +
      ',"hash":"' + r[14] + '"' +
      '}';
  }
  return text + '],"nextBefore":' + nextBefore + '}';
}

export function auditRoutes(app: TypedApp, c: AppContext): void {
  const { auditStore, auditLog, database } = c;

  /**
   * Sends a page as JSON text written here (Fastify passes a string through without
   * serialising it again); the response schema stays, for the OpenAPI document.
   */
  async function page(reply: FastifyReply, filter: AuditFilter, before: number | undefined, limit: number | undefined): Promise<FastifyReply> {
    const size = limit ?? 100;
    const rows = await auditStore.pageRows(filter, before ?? null, size);
    const nextBefore = rows.length === size ? rows[rows.length - 1]![0] : null;
    // As bytes, encoded once: a string would be measured (Buffer.byteLength) and then encoded again to be written.
    return reply.type('application/json; charset=utf-8').send(Buffer.from(pageJson(rows, nextBefore)));
  }

  /** Streams every matching event, oldest first, without holding them in memory. */
  async function exportTo(reply: FastifyReply, filter: AuditFilter, format: 'jsonl' | 'csv', ctx: RequestContext) {
    await auditLog.record(ctx, { event: 'audit.exported', teamId: filter.teamId ?? null, details: { format, filter } });
    async function* lines() {
      if (format === 'csv') yield csvHeader();
      for await (const batch of auditStore.iterate(filter)) {
        yield batch.map(format === 'csv' ? csvLine : jsonLine).join('');
      }
    }
    const stamp = c.clock.now().toISOString().replaceAll(':', '-');
    return reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="flowgate-audit-${stamp}.${format}"`)
      .send(Readable.from(lines()));
  }

  app.get('/api/audit', { config: { permission: 'platform:audit:read' }, schema: { tags: ['audit'], querystring: PageQuery, response: { 200: PageReply } } }, async (request, reply) => {
    const { before, limit, ...filter } = request.query;
    return page(reply, filter, before, limit);
  });

  app.get('/api/audit/export', { config: { permission: 'platform:audit:read' }, schema: { tags: ['audit'], querystring: ExportQuery } }, async (request, reply) => {
    const { format, ...filter } = request.query;
    return exportTo(reply, filter, format, request.ctx);
  });

  app.get(
    '/api/audit/verify',
    {
      config: { permission: 'platform:audit:read' },
      schema: {
        tags: ['audit'],
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            events: Type.Integer(),
            checkpoints: Type.Integer(),
            headSeq: Type.Integer(),
            problem: Type.Union([Type.Object({ seq: Type.Integer(), reason: Type.String() }), Type.Null()]),
          }),
        },
      },
    },
    () => verifyAuditLog(database, auditStore),
  );

  app.get(
    '/api/audit/forwarding',
    {
      config: { permission: 'platform:audit:read' },
      schema: {
        tags: ['audit'],
        response: {
          200: Type.Object({
            configured: Type.Boolean(),
            target: Type.Union([Type.String(), Type.Null()]),
            status: Type.Union([
              Type.Object({
                lastForwardedSeq: Type.Integer(),
                confirmedSeq: Type.Integer(),
                connected: Type.Boolean(),
                lastError: Type.Union([Type.String(), Type.Null()]),
                backlog: Type.Integer(),
                failingSince: Type.Union([Type.String(), Type.Null()]),
              }),
              Type.Null(),
            ]),
          }),
        },
      },
    },
    async () => {
      const target = c.config.audit.syslog;
      return {
        configured: target !== null,
        target: target ? `${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}` : null,
        status: c.forwarder?.status() ?? null,
      };
    },
  );

  app.get(
    '/api/teams/:teamId/audit',
    { config: { permission: 'audit:read' }, schema: { tags: ['audit'], params: TeamParams, querystring: TeamPageQuery, response: { 200: PageReply } } },
    async (request, reply) => {
      const { before, limit, ...filter } = request.query;
      return page(reply, { ...filter, teamId: request.params.teamId }, before, limit);
    },
  );

  app.get(
    '/api/teams/:teamId/audit/export',
    { config: { permission: 'audit:read' }, schema: { tags: ['audit'], params: TeamParams, querystring: TeamExportQuery } },
    async (request, reply) => {
      const { format, ...filter } = request.query;
      return exportTo(reply, { ...filter, teamId: request.params.teamId }, format, request.ctx);
    },
  );
}

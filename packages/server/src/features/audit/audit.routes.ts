import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { AuditRow } from '@flowgate/core';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { RequestContext } from '../../context.ts';
import { ValidationError } from '../../http/errors.ts';
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
  {
    ...FilterQuery,
    teamId: Type.Optional(Id),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
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

/** RFC 3339 date-time, as the schema's `date-time` format accepts it (a zone is required). */
const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[t\s](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:z|([+-])(\d\d)(?::?(\d\d))?)$/i;

/**
 * A `from` or `to` value as the stored form of occurred_at (`Date#toISOString()`: UTC,
 * milliseconds), so the text comparison in the store compares instants: an offset is
 * applied, and a value given to the second compares with the events inside that second.
 * Digits past the millisecond round up, as no stored time lies between two milliseconds.
 */
export function normaliseTime(field: 'from' | 'to', value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = RFC3339.exec(value);
  const invalid = (message: string) => new ValidationError(`${field}: ${message}`, [{ field, message }]);
  if (!m) throw invalid('must be an RFC 3339 date-time with a time zone, such as 2026-01-01T10:00:00Z');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? '';
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) throw invalid('is not a date of the calendar');
  if (hour > 23 || minute > 59 || second > 60 || Number(m[9] ?? 0) > 23 || Number(m[10] ?? 0) > 59) throw invalid('is not a time of day');
  const extraMs = /[1-9]/.test(fraction.slice(3)) ? 1 : 0;
  const offsetMinutes = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) : 0;
  date.setUTCHours(hour, minute - offsetMinutes, second, Number(fraction.slice(0, 3).padEnd(3, '0')) + extraMs);
  const iso = date.toISOString();
  // Outside years 0000-9999 the ISO form carries a sign and six digits, which do not compare as text.
  if (!/^\d{4}-/.test(iso)) throw invalid('is outside the years 0000 to 9999 in UTC');
  return iso;
}

/** The filter with its times in the stored form (see normaliseTime). */
function normaliseFilter<F extends AuditFilter>(filter: F): F {
  return { ...filter, from: normaliseTime('from', filter.from), to: normaliseTime('to', filter.to) };
}

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
      (i === 0 ? '{"seq":' : ',{"seq":') +
      r[0] +
      ',"occurredAt":"' +
      r[2] +
      '"' +
      ',"actorType":' +
      json(r[3]) +
      ',"actorId":' +
      json(r[4]) +
      ',"actorLabel":' +
      json(r[5]) +
      ',"event":' +
      json(r[6]) +
      ',"outcome":' +
      json(r[7]) +
      ',"targetType":' +
      json(r[8]) +
      ',"targetId":' +
      json(r[9]) +
      ',"teamId":' +
      json(r[10]) +
      ',"ip":' +
      json(r[11]) +
      ',"userAgent":' +
      json(r[12]) +
      ',"details":' +
      json(r[13]) +
      ',"prevHash":"' +
      r[1] +
      '"' +
      ',"hash":"' +
      r[14] +
      '"' +
      '}';
  }
  return text + '],"nextBefore":' + nextBefore + '}';
}

export function auditRoutes(app: TypedApp, c: Pick<AppContext, 'auditLog' | 'auditStore' | 'checkpointTrust' | 'clock' | 'config' | 'database' | 'forwarder'>): void {
  const { auditStore, auditLog, database } = c;

  /**
   * Sends a page as JSON text written here (Fastify passes a string through without
   * serialising it again); the response schema stays, for the OpenAPI document.
   */
  async function page(reply: FastifyReply, filter: AuditFilter, before: number | undefined, limit: number | undefined): Promise<FastifyReply> {
    const size = limit ?? 100;
    const rows = await auditStore.pageRows(normaliseFilter(filter), before ?? null, size);
    const nextBefore = rows.length === size ? rows[rows.length - 1]![0] : null;
    // As bytes, encoded once: a string would be measured (Buffer.byteLength) and then encoded again to be written.
    return reply.type('application/json; charset=utf-8').send(Buffer.from(pageJson(rows, nextBefore)));
  }

  /** Streams every matching event, oldest first, without holding them in memory. */
  async function exportTo(reply: FastifyReply, given: AuditFilter, format: 'jsonl' | 'csv', ctx: RequestContext) {
    // Checked before the export is recorded: a refused filter exports nothing.
    const filter = normaliseFilter(given);
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

  app.get(
    '/api/audit',
    { config: { access: { kind: 'user', permission: 'platform:audit:read' } }, schema: { tags: ['audit'], querystring: PageQuery, response: { 200: PageReply } } },
    async (request, reply) => {
      const { before, limit, ...filter } = request.query;
      return page(reply, filter, before, limit);
    },
  );

  app.get(
    '/api/audit/export',
    { config: { access: { kind: 'user', permission: 'platform:audit:read' } }, schema: { tags: ['audit'], querystring: ExportQuery } },
    async (request, reply) => {
      const { format, ...filter } = request.query;
      return exportTo(reply, filter, format, request.ctx);
    },
  );

  app.get(
    '/api/audit/verify',
    {
      config: { access: { kind: 'user', permission: 'platform:audit:read' } },
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
    () => verifyAuditLog(database, auditStore, undefined, { trust: c.checkpointTrust }),
  );

  app.get(
    '/api/audit/forwarding',
    {
      config: { access: { kind: 'user', permission: 'platform:audit:read' } },
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
    {
      config: { access: { kind: 'user', permission: 'audit:read', team: 'teamId' } },
      schema: { tags: ['audit'], params: TeamParams, querystring: TeamPageQuery, response: { 200: PageReply } },
    },
    async (request, reply) => {
      const { before, limit, ...filter } = request.query;
      return page(reply, { ...filter, teamId: request.params.teamId }, before, limit);
    },
  );

  app.get(
    '/api/teams/:teamId/audit/export',
    { config: { access: { kind: 'user', permission: 'audit:read', team: 'teamId' } }, schema: { tags: ['audit'], params: TeamParams, querystring: TeamExportQuery } },
    async (request, reply) => {
      const { format, ...filter } = request.query;
      return exportTo(reply, { ...filter, teamId: request.params.teamId }, format, request.ctx);
    },
  );
}

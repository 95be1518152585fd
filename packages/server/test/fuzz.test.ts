import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { PERMISSIONS, isPermission } from '@flowgate/core';
import { sha256Hex } from '../src/security/crypto.ts';
import { addMember, Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from './harness.ts';
import { isExempt, registeredRoutes } from './routes.ts';

/**
 * Every operation of the OpenAPI document, called with hostile and careless input by a
 * caller who may use it: a new route is covered the day it lands, with nobody remembering
 * to. Every answer is a 4xx (never a 5xx) in problem+json, or SCIM's own error on SCIM
 * routes; a refused request leaves no trace but its audit event. On both dialects: the
 * same request can be a 400 on SQLite and a 500 on PostgreSQL (a NUL byte).
 */

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
};
type Parameter = { in: 'path' | 'query' | 'header' | 'cookie'; name: string; required?: boolean; schema: JsonSchema };
type Operation = { 'x-permission'?: string; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } };
type OpenApi = { paths: Record<string, Record<string, Operation>> };
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const TEN_KB = 'x'.repeat(10_240);
const BEYOND_2_63 = '99999999999999999999999';
/** Text that is not an id, for each path parameter: each must be refused, never reach a query that fails. */
const BAD_PATH_IDS = [UNKNOWN_ID, '..%2F..%2Fetc%2Fpasswd', '..', 'abc%00def', '%E2%80%AE%00', 'a%20b', TEN_KB];

/** A request a caller sends, and whether it must be refused (4xx) or only must not break the server. */
interface Case {
  method: Method;
  url: string;
  payload?: string;
  contentType?: string;
  mustRefuse: boolean;
  what: string;
}

const ajv = new Ajv({ strict: false, allErrors: false });
(addFormats as unknown as (a: Ajv) => Ajv)(ajv);
const compiled = new WeakMap<object, ValidateFunction>();
const accepts = (schema: JsonSchema, value: unknown) => {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  return validate(value);
};

const TEXT_CANDIDATES = [
  'fuzz',
  'Fuzz line 1',
  'FUZZ_VAR',
  'fuzz-1',
  'a',
  '1.0.0',
  'Europe/Berlin',
  'https://fuzz.example/',
  'fuzz@plant.example',
  'abcdefghijklmnopqrstuvwxyz0123456789',
];

/** A value the schema accepts, as small as it allows: only required properties. */
function sample(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return sample(options.find((o) => o.type !== 'null') ?? options[0]!);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string': {
      if (schema.format === 'date-time') return new Date().toISOString();
      const fits = TEXT_CANDIDATES.find((c) => accepts(schema, c));
      return fits ?? 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}));
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((name) => [name, sample(schema.properties?.[name] ?? {})]));
    case 'null':
      return null;
    default:
      return 'fuzz';
  }
}

/** A value of the wrong type for the schema: the first of several that it refuses. */
function wrongType(schema: JsonSchema): unknown {
  return [12345, 'not-what-you-want', true, { fuzz: 1 }, [1, 2], null, -1.5].find((v) => !accepts(schema, v));
}

const stringTypes = (s: JsonSchema): boolean => s.type === 'string' || (Array.isArray(s.type) && s.type.includes('string')) || (s.anyOf ?? s.oneOf ?? []).some(stringTypes);
const numberOf = (s: JsonSchema): JsonSchema | null => (s.type === 'integer' || s.type === 'number' ? s : ((s.anyOf ?? s.oneOf ?? []).map(numberOf).find(Boolean) ?? null));

/** The requests fuzzing one operation: each path id replaced, each query parameter and body field bent. */
function casesFor(method: Method, path: string, operation: Operation, validIds: Record<string, string>, bodyLimit: number): Case[] {
  const params = operation.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name);
  const fill = (values: Record<string, string>) => path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? UNKNOWN_ID);
  const validUrl = fill(validIds);
  const cases: Case[] = [];
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  const validBody = bodySchema ? JSON.stringify(sample(bodySchema)) : undefined;
  const withBody = (c: Omit<Case, 'payload' | 'contentType'>): Case => (validBody === undefined ? c : { ...c, payload: validBody, contentType: 'application/json' });

  for (const name of pathParams) {
    for (const bad of [...BAD_PATH_IDS, ...(validIds[`other:${name}`] ? [validIds[`other:${name}`]!] : [])]) {
      cases.push(withBody({ method, url: fill({ ...validIds, [name]: bad }), mustRefuse: true, what: `path ${name}=${bad.slice(0, 40)}` }));
    }
  }

  for (const p of params.filter((q) => q.in === 'query')) {
    const q = (value: string, mustRefuse: boolean, what: string) =>
      cases.push(withBody({ method, url: `${validUrl}?${encodeURIComponent(p.name)}=${encodeURIComponent(value)}`, mustRefuse, what: `query ${p.name} ${what}` }));
    const number = numberOf(p.schema);
    if (number) {
      q('abc', true, 'not a number');
      q(BEYOND_2_63, true, 'beyond 2^63');
      q(`-${BEYOND_2_63}`, true, 'below -2^63');
      if (number.maximum !== undefined) q(String(number.maximum + 1), true, 'past its maximum');
      if (number.minimum !== undefined) q(String(number.minimum - 1), true, 'past its minimum');
      if (number.minimum !== undefined) q(String(number.minimum), false, 'at its minimum');
      // A long poll's longest wait holds the answer back for that long: its minimum is enough.
      if (number.maximum !== undefined && p.name !== 'wait') q(String(number.maximum), false, 'at its maximum');
    } else if (p.schema.type === 'boolean') {
      q('maybe', true, 'not a boolean');
    } else {
      if ((p.schema.maxLength ?? Infinity) < TEN_KB.length) q(TEN_KB, true, '10 kB');
      q('../../etc/passwd', false, 'path traversal');
      q('abc\u0000def', false, 'NUL byte');
      q(UNKNOWN_ID, false, 'an unknown id');
    }
  }

  if (method !== 'GET') {
    cases.push({ method, url: validUrl, payload: '{"name": ', contentType: 'application/json', mustRefuse: true, what: 'malformed JSON' });
    cases.push({ method, url: validUrl, payload: `{"fuzz":"${'a'.repeat(bodyLimit)}"}`, contentType: 'application/json', mustRefuse: true, what: 'a body over the limit' });
  }
  if (bodySchema) {
    const base = sample(bodySchema) as Record<string, unknown>;
    const body = (value: unknown, what: string) => cases.push({ method, url: validUrl, payload: JSON.stringify(value), contentType: 'application/json', mustRefuse: true, what });
    cases.push({ method, url: validUrl, payload: '', contentType: 'application/json', mustRefuse: true, what: 'an empty body' });
    cases.push({ method, url: validUrl, mustRefuse: true, what: 'no body at all' });
    if (bodySchema.type === 'object') {
      body([base], 'an array for the body');
      body('a string for the body', 'a string for the body');
      for (const [name, field] of Object.entries(bodySchema.properties ?? {})) {
        const wrong = wrongType(field);
        if (wrong !== undefined) body({ ...base, [name]: wrong }, `body ${name} of the wrong type (${JSON.stringify(wrong)})`);
        if (stringTypes(field) && !accepts(field, TEN_KB)) body({ ...base, [name]: TEN_KB }, `body ${name} 10 kB long`);
        const number = numberOf(field);
        if (number?.maximum !== undefined) body({ ...base, [name]: number.maximum + 1 }, `body ${name} past its maximum`);
        if (number?.minimum !== undefined) body({ ...base, [name]: number.minimum - 1 }, `body ${name} past its minimum`);
        if (number) body({ ...base, [name]: 2 ** 64 }, `body ${name} beyond 2^63`);
      }
    }
  }
  return cases;
}

const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** What is wrong with an answer, or null. */
function fault(c: Case, r: LightMyRequestResponse, scim: boolean): string | null {
  if (r.statusCode >= 500) return `answered ${r.statusCode}: ${r.body.slice(0, 300)}`;
  if (c.mustRefuse && (r.statusCode < 400 || r.statusCode >= 500)) return `accepted (${r.statusCode}) what it must refuse: ${r.body.slice(0, 200)}`;
  if (r.statusCode < 400) return null;
  const type = String(r.headers['content-type'] ?? '');
  if (scim) {
    if (!type.startsWith('application/scim+json')) return `a SCIM error as ${type}: ${r.body.slice(0, 200)}`;
    const error = r.json() as { schemas?: string[]; status?: unknown; detail?: unknown };
    if (!error.schemas?.includes(SCIM_ERROR) || error.status !== String(r.statusCode) || typeof error.detail !== 'string') return `not a SCIM error: ${r.body.slice(0, 200)}`;
    return null;
  }
  if (!type.startsWith('application/problem+json')) return `a ${r.statusCode} as ${type}, not problem+json: ${r.body.slice(0, 200)}`;
  const problem = r.json() as { status?: unknown; title?: unknown; detail?: unknown };
  if (problem.status !== r.statusCode || typeof problem.title !== 'string' || typeof problem.detail !== 'string')
    return `a problem without status, title or detail: ${r.body.slice(0, 200)}`;
  return null;
}

for (const dialect of DIALECTS) {
  describe(`every operation fuzzed (${dialect})`, () => {
    let t: TestApp;
    let doc: OpenApi;
    const callers: Record<'anonymous' | 'admin' | 'owner' | 'scim' | 'device' | 'agent', Client> = {} as never;
    const ids: Record<string, string> = {};

    before(async () => {
      t = await startTestApp(dialect);
      doc = t.app.swagger() as unknown as OpenApi;
      callers.anonymous = new Client(t);
      const admin = (callers.admin = await setupAdmin(t));
      // Team A: the caller's own, with one of everything. Team B: another team, not the caller's.
      const teamWithEverything = async (name: string) => {
        const teamId = (await admin.post('/api/teams', { name })).json().id as string;
        const applicationId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Gateway' })).json().id as string;
        const nodeRedVersion = ((await admin.get('/api/node-red-versions')).json() as string[])[0];
        const instanceId = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'dev', nodeRedVersion })).json().id as string;
        const snapshotId = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'v1', flows: [{ id: 't1', type: 'tab', label: 'v1' }] })).json().id as string;
        const siteId = (await admin.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json().id as string;
        const groupId = (await admin.post(`/api/teams/${teamId}/device-groups`, { name: 'Fillers' })).json().id as string;
        const provisioning = (await admin.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, groupId })).json() as { id: string; token: string };
        const device = (await new Client(t).post('/api/fleet/v1/register', { token: provisioning.token, name: `${name}-gw`, agentVersion: '0.1.0' })).json() as {
          deviceId: string;
          credential: string;
        };
        const rollout = await admin.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId });
        assert.equal(rollout.statusCode, 201, rollout.body);
        return {
          teamId,
          applicationId,
          instanceId,
          snapshotId,
          siteId,
          groupId,
          provisioningTokenId: provisioning.id,
          deviceId: device.deviceId,
          rolloutId: rollout.json().id as string,
          credential: device.credential,
        };
      };
      const mine = await teamWithEverything('Packaging');
      const other = await teamWithEverything('Bottling');
      const owner = (callers.owner = await addMember(t, admin, mine.teamId, 'olivia@plant.example', 'owner'));
      const invitation = (await owner.post(`/api/teams/${mine.teamId}/invitations`, { email: 'ivan@plant.example', role: 'viewer' })).json() as { id: string };
      const me = (await owner.get('/api/account')).json() as { id: string };
      const token = (await owner.post('/api/account/tokens', { name: 'ci', access: 'read', expiresInDays: 30 })).json().record as { id: string };
      const sessions = (await owner.get('/api/account/sessions')).json() as Array<{ id: string }>;
      const provider = await admin.post('/api/platform/identity-providers', {
        name: 'Contoso Entra',
        oidc: { issuerUrl: 'https://login.contoso.example/v2.0', clientId: 'flowgate', clientSecret: 'secret' },
        emailDomains: ['contoso.example'],
      });
      assert.equal(provider.statusCode, 201, provider.body);
      const providerId = provider.json().id as string;
      callers.scim = new Client(t);
      callers.scim.bearer = (await admin.post(`/api/platform/identity-providers/${providerId}/scim-token`)).json().token;
      const scimUser = await callers.scim.request('POST', '/scim/v2/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'sam@contoso.example',
        name: { givenName: 'Sam', familyName: 'Scim' },
        emails: [{ value: 'sam@contoso.example', primary: true }],
        active: true,
      });
      assert.equal(scimUser.statusCode, 201, scimUser.body);
      callers.device = new Client(t);
      callers.device.bearer = mine.credential;
      // An agent's token, as a spawn gives one (no agent runs: the app listens on no port).
      const agentToken = `fgi_fuzz_${randomBytes(16).toString('hex')}`;
      await t.db.database.db
        .updateTable('instances')
        .set({ agent_token_hash: sha256Hex(agentToken) })
        .where('id', '=', mine.instanceId)
        .execute();
      callers.agent = new Client(t);
      callers.agent.bearer = agentToken;

      Object.assign(ids, mine, { userId: me.id, invitationId: invitation.id, tokenId: token.id, sessionId: sessions[0]!.id, providerId, id: scimUser.json().id as string });
      for (const [name, value] of Object.entries(other)) ids[`other:${name}`] = value;
      for (const [name, value] of Object.entries(ids)) assert.match(String(value), /^[\w-]+$/, `the fixture's ${name}`);
    });
    after(() => t.close());

    /** Rows in every table the platform writes, but the audit log's own (refusals are audited). */
    async function rowCounts(): Promise<Record<string, number>> {
      const db = t.db.database.db;
      const tables =
        dialect === 'sqlite'
          ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)).rows.map((r) => r.name)
          : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = ${t.db.schema}`.execute(db)).rows.map((r) => r.name);
      const counted = tables.filter((name) => !name.startsWith('audit_') && !name.startsWith('kysely_'));
      const row = (
        await sql<Record<string, number | string>>`select ${sql.join(counted.map((name) => sql`(select count(*) from ${sql.table(name)}) as ${sql.ref(name)}`))}`.execute(db)
      ).rows[0]!;
      return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
    }
    const lastSeq = async () =>
      Number(
        (
          await t.db.database.db
            .selectFrom('audit_events')
            .select((eb) => eb.fn.max('seq').as('seq'))
            .executeTakeFirstOrThrow()
        ).seq ?? 0,
      );

    function callerFor(permission: string | undefined): Client {
      if (permission === 'public' || permission === undefined) return callers.anonymous;
      if (permission === 'scim' || permission === 'device' || permission === 'agent') return callers[permission];
      if (isPermission(permission) && PERMISSIONS[permission].scope === 'platform') return callers.admin;
      return callers.owner;
    }

    async function send(client: Client, c: Case): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { 'user-agent': 'flowgate-fuzz' };
      if (client.cookie) headers.cookie = client.cookie;
      if (client.csrf && c.method !== 'GET') headers['x-csrf-token'] = client.csrf;
      if (client.bearer) headers.authorization = `Bearer ${client.bearer}`;
      if (c.contentType) headers['content-type'] = c.contentType;
      return t.app.inject({ method: c.method, url: c.url, headers, ...(c.payload === undefined ? {} : { payload: c.payload }) });
    }

    async function fuzz(method: Method, path: string, operation: Operation, failures: string[], refusalRequired = true): Promise<number> {
      const client = callerFor(operation['x-permission']);
      const scim = path.startsWith('/scim/');
      // Another team's ids are refused to a team's owner; a platform permission (the compliance
      // inventory) reaches every team's, so for it they are valid ids, not bad input.
      const permission = operation['x-permission'];
      const platformWide = permission !== undefined && isPermission(permission) && PERMISSIONS[permission].scope === 'platform';
      const idsHere = platformWide ? Object.fromEntries(Object.entries(ids).filter(([name]) => !name.startsWith('other:'))) : ids;
      const cases = casesFor(method, path, operation, idsHere, t.config.bodyLimitBytes).map((c) => ({ ...c, mustRefuse: c.mustRefuse && refusalRequired }));
      for (const c of cases) {
        const counts = await rowCounts();
        const seq = await lastSeq();
        const r = await send(client, c);
        const wrong = fault(c, r, scim);
        if (wrong) failures.push(`${method} ${path} [${c.what}] ${c.method} ${c.url.slice(0, 160)}: ${wrong}`);
        if (r.statusCode >= 400) {
          assert.deepEqual(await rowCounts(), counts, `${method} ${path} [${c.what}] was refused (${r.statusCode}) but wrote to the database`);
          const successes = await t.db.database.db.selectFrom('audit_events').select(['event', 'outcome']).where('seq', '>', seq).where('outcome', '=', 'success').execute();
          assert.deepEqual(successes, [], `${method} ${path} [${c.what}] was refused (${r.statusCode}) but audited a success`);
        }
      }
      return cases.length;
    }

    test('every request schema bounds its strings, arrays and numbers', () => {
      const unbounded: string[] = [];
      const walk = (where: string, s: JsonSchema | undefined) => {
        if (!s) return;
        if (s.type === 'string' && s.maxLength === undefined && s.enum === undefined && s.const === undefined && s.format !== 'date-time')
          unbounded.push(`${where}: a string without maxLength`);
        if ((s.type === 'integer' || s.type === 'number') && s.const === undefined && s.enum === undefined && (s.maximum === undefined || s.minimum === undefined))
          unbounded.push(`${where}: a number without minimum and maximum`);
        if (s.type === 'array' && s.maxItems === undefined) unbounded.push(`${where}: an array without maxItems`);
        for (const [name, p] of Object.entries(s.properties ?? {})) walk(`${where}.${name}`, p);
        walk(`${where}[]`, s.items);
        for (const o of s.anyOf ?? s.oneOf ?? []) walk(where, o);
      };
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          for (const p of op.parameters ?? []) walk(`${method.toUpperCase()} ${path} ${p.in} ${p.name}`, p.schema);
          walk(`${method.toUpperCase()} ${path} body`, op.requestBody?.content['application/json']?.schema);
        }
      }
      assert.deepEqual(unbounded, []);
    });

    test('every operation of the OpenAPI document answers bad input with a 4xx problem, and writes nothing but its audit event', { timeout: 600_000 }, async (ctx) => {
      const failures: string[] = [];
      let requests = 0;
      let operations = 0;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(ops)) {
          operations++;
          requests += await fuzz(method.toUpperCase() as Method, path, operation, failures);
        }
      }
      ctx.diagnostic(`${operations} operations, ${requests} requests`);
      assert.ok(operations >= 140, `the document lists ${operations} operations`);
      assert.deepEqual(failures, [], `${failures.length} answers were wrong:\n${failures.slice(0, 60).join('\n')}`);
    });

    test("the routes left out of the document (the editors, the flows' endpoints) never fail on bad ids", async () => {
      const failures: string[] = [];
      const hidden = registeredRoutes(t.app).filter((r) => !isExempt(r) && r.method === 'GET' && /:\w+/.test(r.url) && !doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]);
      assert.ok(hidden.length >= 3, hidden.map((r) => r.url).join(', '));
      for (const route of hidden) {
        const path = route.url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '');
        const parameters = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ in: 'path' as const, name: m[1]!, schema: {} }));
        const permission = route.config.public ? 'public' : route.config.permission;
        // Outside /api/, a path the router cannot match to the route (`..`, an id past 100
        // characters) is the web UI's page, which shows its own "not found": never a 5xx is what holds.
        await fuzz('GET', path, { 'x-permission': permission, parameters }, failures, false);
      }
      assert.deepEqual(failures, [], failures.join('\n'));
    });
  });
}

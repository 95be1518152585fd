import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isPermission, PERMISSIONS, type Permission } from '@flowgate/core';
import { registerAuth } from '../src/http/auth.ts';
import { startTestApp, type TestApp } from './harness.ts';
import { isExempt, registeredRoutes, routeKey, type DeclaredRoute } from './routes.ts';

/**
 * Every route says who may call it (CONTRIBUTING.md, "Routes"). The routes are collected from
 * Fastify's own `onRoute` hook, attached through the documented `fastify.initialization`
 * diagnostics channel the moment buildApp creates the instance, so the list holds every
 * route (hidden ones too) with the config it was registered with, and src/ is untouched.
 */

const key = routeKey;

/**
 * The routes anyone may call without signing in. Adding one to the server makes this
 * test fail until it is added here too: a public route is a reviewed decision.
 */
const PUBLIC_ROUTES = [
  'GET /*',
  'GET /api/auth/config',
  'GET /api/auth/session',
  'GET /api/health',
  'GET /api/invitations/:token',
  'GET /api/openapi.json',
  'POST /api/auth/login',
  'POST /api/invitations/:token/accept',
  'POST /api/setup',
  // A forgotten password: the one-time link a platform admin issued is the credential.
  'GET /api/password-resets/:token',
  'POST /api/password-resets/:token',
  // A device registers with the provisioning token in the body: that token is the credential.
  'POST /api/fleet/v1/register',
  // SSO sign-in: which provider signs in a domain (by the domain alone), and its two legs; the
  // provider's answer, the state cookie and the one-time state are what the callback checks.
  'GET /api/auth/sso/discover',
  'GET /api/auth/sso/:providerId/start',
  'GET /api/auth/sso/:providerId/callback',
  // SAML: the SP metadata an IdP imports, and the ACS its answer is posted to (the signed assertion and the state are checked).
  'GET /api/auth/sso/:providerId/saml/metadata',
  'POST /api/auth/sso/:providerId/saml/acs',
  // The flows' own endpoints: the instance's owner chooses sign-in or public; the handler enforces it.
  ...['DELETE', 'GET', 'OPTIONS', 'PATCH', 'POST', 'PUT'].map((m) => `${m} /instances/:instanceId/app/*`),
  // On an instance's own origin: the one-time code the platform minted is what it checks.
  'GET /.flowgate/session',
];

/** Agent protocol routes: called with an instance's agent token, never by a person. */
const AGENT_ROUTES = [
  'GET /api/agent/v1/desired',
  'GET /api/agent/v1/snapshots/:snapshotId',
  'POST /api/agent/v1/audit',
  'POST /api/agent/v1/logs',
  'POST /api/agent/v1/snapshots',
  'POST /api/agent/v1/status',
];

/** Device protocol routes: called with a device's own credential, never by a person. */
const DEVICE_ROUTES = [
  'POST /api/fleet/v1/check-in',
  'GET /api/fleet/v1/desired',
  'GET /api/fleet/v1/snapshots/:snapshotId',
  'POST /api/fleet/v1/logs',
  'POST /api/fleet/v1/audit',
];

describe('route declarations', () => {
  let t: TestApp;
  let routes: DeclaredRoute[];
  let webDir: string;

  before(async () => {
    // A web UI of one file, so the catch-all route is registered whether or not packages/web was built.
    webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-web-'));
    fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Flowgate</title>');
    t = await startTestApp('sqlite', { FLOWGATE_WEB_DIR: webDir });
    routes = registeredRoutes(t.app);
  });
  after(async () => {
    await t.close();
    fs.rmSync(webDir, { recursive: true, force: true });
  });

  test('the route list was collected from the app', () => {
    assert.ok(routes.length > 30, `expected the whole route table, got ${routes.length} routes`);
    for (const expected of ['GET /api/health', 'GET /metrics', 'DELETE /api/teams/:teamId', 'GET /*']) {
      assert.ok(
        routes.some((r) => key(r) === expected),
        `${expected} missing from the collected routes`,
      );
    }
    // Cross-check against Fastify's printed router: the same paths, nothing registered around the hook.
    const printed = t.app.printRoutes({ commonPrefix: false });
    for (const r of routes) assert.ok(t.app.hasRoute({ method: r.method as 'GET', url: r.url }), `${key(r)} is not in the router:\n${printed}`);
  });

  test('every route declares a permission from the catalogue, public: true, agent: true, device: true or scim: true, only one', () => {
    const undeclared = routes
      .filter((r) => !isExempt(r) && !r.config.permission && r.config.public !== true && r.config.agent !== true && r.config.device !== true && r.config.scim !== true)
      .map(key);
    assert.deepEqual(undeclared, [], `routes without a permission, public: true, agent: true, device: true or scim: true:\n${undeclared.join('\n')}`);
    const both = routes.filter((r) => [r.config.permission, r.config.public, r.config.agent, r.config.device, r.config.scim].filter(Boolean).length > 1).map(key);
    assert.deepEqual(both, [], `routes that are public and name a permission:\n${both.join('\n')}`);
    const unknown = routes.filter((r) => r.config.permission && !isPermission(r.config.permission)).map((r) => `${key(r)} → ${r.config.permission}`);
    assert.deepEqual(unknown, [], `permissions not in PERMISSIONS:\n${unknown.join('\n')}`);
  });

  test('a team permission names the path parameter its team comes from, and only a team permission does', () => {
    const wrong = routes
      .filter((r) => r.access?.kind === 'user')
      .filter((r) => {
        const teamScoped = PERMISSIONS[r.config.permission as Permission].scope === 'team';
        return teamScoped !== (r.config.team !== undefined) || (r.config.team !== undefined && !r.url.includes(`:${r.config.team}`));
      })
      .map((r) => `${key(r)} (${r.config.permission}, team from ${r.config.team ?? 'nothing'})`);
    assert.deepEqual(wrong, []);
  });

  test('a route whose access cannot be checked does not start: none declared, an unknown permission, no team for a team permission, an unchecked path parameter', async () => {
    const unused = (() => {
      throw new Error('not called at registration');
    }) as never;
    const attempts: Array<[string, (app: FastifyInstance) => unknown, RegExp]> = [
      ['no access', (app) => app.get('/api/x', async () => 'x'), /declares no access/],
      [
        'unknown permission',
        (app) => app.get('/api/x', { config: { access: { kind: 'user', permission: 'teams:everything' as Permission } } }, async () => 'x'),
        /not in the permission catalogue/,
      ],
      [
        'team permission without its team',
        (app) =>
          app.get(
            '/api/teams/:teamId/x',
            { config: { access: { kind: 'user', permission: 'team:read' } }, schema: { params: Type.Object({ teamId: Type.String() }) } },
            async () => 'x',
          ),
        /does not say which parameter/,
      ],
      [
        'a team from a parameter the route has not',
        (app) =>
          app.get(
            '/api/x/:teamId',
            { config: { access: { kind: 'user', permission: 'team:read', team: 'instanceId' } }, schema: { params: Type.Object({ teamId: Type.String() }) } },
            async () => 'x',
          ),
        /finds its team in :instanceId/,
      ],
      [
        'a path parameter without a schema',
        (app) => app.get('/api/x/:teamId', { config: { access: { kind: 'user', permission: 'team:read', team: 'teamId' } } }, async () => 'x'),
        /no schema for its path parameter teamId/,
      ],
    ];
    for (const [what, register, error] of attempts) {
      const app = Fastify();
      registerAuth(app, {
        identity: unused,
        teamsStore: unused,
        config: { metricsToken: null },
        teamResolvers: { instanceId: { what: 'Instance', resolve: unused } } as never,
        agentByToken: unused,
        deviceByCredential: unused,
        scimProviderByToken: unused,
        origins: unused,
        publicUrl: 'http://127.0.0.1:3000',
      });
      assert.throws(() => register(app), error, what);
      await app.close();
    }
  });

  test('the agent routes are exactly the agent protocol', () => {
    const agentRoutes = [...new Set(routes.filter((r) => !isExempt(r) && r.config.agent === true).map(key))].sort();
    assert.deepEqual(agentRoutes, [...AGENT_ROUTES].sort());
  });

  test('the SCIM routes are all under /scim/v2, and only they take a SCIM token', () => {
    const scimRoutes = routes.filter((r) => !isExempt(r) && r.config.scim === true).map(key);
    assert.ok(scimRoutes.length >= 14, scimRoutes.join('\n'));
    assert.deepEqual(
      scimRoutes.filter((k) => !k.includes(' /scim/v2/')),
      [],
    );
    assert.deepEqual(routes.filter((r) => !isExempt(r) && r.url.startsWith('/scim/') && r.config.scim !== true).map(key), []);
  });

  test('the device routes are exactly the device protocol', () => {
    const deviceRoutes = [...new Set(routes.filter((r) => !isExempt(r) && r.config.device === true).map(key))].sort();
    assert.deepEqual(deviceRoutes, [...DEVICE_ROUTES].sort());
  });

  test('HEAD twins carry the same declaration as their GET route', () => {
    for (const head of routes.filter((r) => r.method === 'HEAD' && !r.url.startsWith('/api/docs'))) {
      const get = routes.find((r) => r.method === 'GET' && r.url === head.url);
      assert.ok(get, `HEAD ${head.url} has no GET route`);
      assert.deepEqual(head.config, get.config, `HEAD ${head.url} is declared differently from GET`);
    }
  });

  test('the documentation routes only read', () => {
    const writes = routes.filter((r) => r.url.startsWith('/api/docs') && r.method !== 'GET' && r.method !== 'HEAD').map(key);
    assert.deepEqual(writes, []);
  });

  test('the public routes are exactly the reviewed allow-list', (ctx) => {
    const publicRoutes = [...new Set(routes.filter((r) => !isExempt(r) && r.config.public === true).map(key))].sort();
    ctx.diagnostic(`public routes (${publicRoutes.length}):`);
    for (const r of publicRoutes) ctx.diagnostic(`  ${r}`);
    assert.deepEqual(publicRoutes, [...PUBLIC_ROUTES].sort(), 'the public routes changed: review the change, then update PUBLIC_ROUTES');
  });

  test('the OpenAPI document names the same permission as the route', () => {
    const doc = t.app.swagger() as { paths: Record<string, Record<string, { 'x-permission'?: string }>> };
    let documented = 0;
    for (const [openApiPath, operations] of Object.entries(doc.paths)) {
      const url = openApiPath.replace(/\{([^}]+)\}/g, ':$1');
      for (const [method, operation] of Object.entries(operations)) {
        const route = routes.find((r) => r.method === method.toUpperCase() && r.url === url);
        assert.ok(route, `${method.toUpperCase()} ${openApiPath} is documented but not registered`);
        const expected = route.config.public ? 'public' : route.config.agent ? 'agent' : route.config.device ? 'device' : route.config.scim ? 'scim' : route.config.permission;
        assert.equal(operation['x-permission'], expected, `${method.toUpperCase()} ${openApiPath}: x-permission`);
        documented++;
      }
    }
    assert.ok(documented > 25, `only ${documented} operations documented`);
  });
});

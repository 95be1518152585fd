import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { IdentityProvidersTable } from '../../db/schema.ts';
import { Id, NoContent } from '../../http/schemas.ts';
import { SCIM_GROUP, SCIM_USER } from './scim.service.ts';

const SCIM_TYPE = 'application/scim+json';
type Query = { filter?: string; startIndex?: string; count?: string };
type Handler = (provider: IdentityProvidersTable, request: FastifyRequest<{ Params: { id: string }; Querystring: Query }>) => Promise<unknown>;

/**
 * SCIM 2.0 under /scim/v2, called by an identity provider with its SCIM token (`scim: true`).
 * Answers and errors are SCIM's own JSON (application/scim+json, RFC 7644 §3.12), not
 * problem+json: SCIM clients read those; the one error mapper (http/problem.ts) writes every
 * error under /scim/ that way, the framework's too. Bodies are checked by the service, field by field.
 */
export function scimRoutes(app: TypedApp, c: Pick<AppContext, 'scim'>): void {
  const { scim } = c;

  const answer = (status: number, handler: Handler) => async (request: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, reply: FastifyReply) => {
    const body = await handler(request.scimProvider!, request);
    if (status === 204) return reply.code(204).send();
    return reply.code(status).type(SCIM_TYPE).send(body);
  };
  const config = { access: { kind: 'scim' } } as const;
  const schema = { tags: ['scim'], hide: false };
  const byId = { ...schema, params: Type.Object({ id: Id }) };
  const listQuery = {
    ...schema,
    querystring: Type.Object({
      filter: Type.Optional(Type.String({ maxLength: 500 })),
      startIndex: Type.Optional(Type.String({ maxLength: 10 })),
      count: Type.Optional(Type.String({ maxLength: 10 })),
    }),
  };

  app.get('/scim/v2/ServiceProviderConfig', { config, schema }, async (_request, reply) =>
    reply.type(SCIM_TYPE).send({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: "The provider's SCIM token from Flowgate's Platform page" }],
    }),
  );
  app.get('/scim/v2/ResourceTypes', { config, schema }, async (_request, reply) =>
    reply.type(SCIM_TYPE).send({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 2,
      Resources: [
        { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', endpoint: '/Users', schema: SCIM_USER },
        { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'Group', name: 'Group', endpoint: '/Groups', schema: SCIM_GROUP },
      ],
    }),
  );

  app.get(
    '/scim/v2/Users',
    { config, schema: listQuery },
    answer(200, (p, r) => scim.listUsers(p, r.query)),
  );
  app.post(
    '/scim/v2/Users',
    { config, schema },
    answer(201, (p, r) => scim.createUser(p, r.body, r.ctx)),
  );
  app.get(
    '/scim/v2/Users/:id',
    { config, schema: byId },
    answer(200, (p, r) => scim.getUser(p, r.params.id)),
  );
  app.put(
    '/scim/v2/Users/:id',
    { config, schema: byId },
    answer(200, (p, r) => scim.replaceUser(p, r.params.id, r.body, r.ctx)),
  );
  app.patch(
    '/scim/v2/Users/:id',
    { config, schema: byId },
    answer(200, (p, r) => scim.patchUser(p, r.params.id, r.body, r.ctx)),
  );
  app.delete(
    '/scim/v2/Users/:id',
    { config, schema: byId },
    answer(204, (p, r) => scim.deleteUser(p, r.params.id, r.ctx)),
  );

  app.get(
    '/scim/v2/Groups',
    { config, schema: listQuery },
    answer(200, (p, r) => scim.listGroups(p, r.query)),
  );
  app.post(
    '/scim/v2/Groups',
    { config, schema },
    answer(201, (p, r) => scim.createGroup(p, r.body, r.ctx)),
  );
  app.get(
    '/scim/v2/Groups/:id',
    { config, schema: byId },
    answer(200, (p, r) => scim.getGroup(p, r.params.id)),
  );
  app.put(
    '/scim/v2/Groups/:id',
    { config, schema: byId },
    answer(200, (p, r) => scim.replaceGroup(p, r.params.id, r.body, r.ctx)),
  );
  app.patch(
    '/scim/v2/Groups/:id',
    { config, schema: byId },
    answer(200, (p, r) => scim.patchGroup(p, r.params.id, r.body, r.ctx)),
  );
  app.delete(
    '/scim/v2/Groups/:id',
    { config, schema: byId },
    answer(204, (p, r) => scim.deleteGroup(p, r.params.id, r.ctx)),
  );

  // The token an identity provider's SCIM client is set up with: shown once.
  const ProviderParams = Type.Object({ providerId: Id });
  app.post(
    '/api/platform/identity-providers/:providerId/scim-token',
    {
      config: { access: { kind: 'user', permission: 'platform:settings:write' } },
      schema: { tags: ['sso'], params: ProviderParams, response: { 201: Type.Object({ token: Type.String({ description: 'Shown once' }), baseUrl: Type.String() }) } },
    },
    async (request, reply) => reply.code(201).send(await scim.issueToken(request.params.providerId, request.ctx)),
  );
  app.delete(
    '/api/platform/identity-providers/:providerId/scim-token',
    { config: { access: { kind: 'user', permission: 'platform:settings:write' } }, schema: { tags: ['sso'], params: ProviderParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await scim.revokeToken(request.params.providerId, request.ctx);
      return reply.code(204).send(null);
    },
  );
}

import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { editorPermissions, isAllowed, mintEditorToken, verifyEditorToken } from '@flowgate/core';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { InstancesTable, UsersTable } from '../../db/schema.ts';
import { SESSION_COOKIE } from '../../http/auth.ts';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../../http/errors.ts';
import { sendProblem } from '../../http/problem.ts';
import { requireAuth } from '../identity/identity.routes.ts';

/** The editor keeps its token for WebSocket sign-in; the session still gates every request. */
const EDITOR_TOKEN_SECONDS = 8 * 3600;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * What Node-RED's pages need instead of the platform's strict policy: the editor runs the
 * inline scripts of every node's definition and Monaco's workers, and a dashboard its own
 * scripts. Connections stay on this origin (no calls out to the public flow catalogue:
 * what may be installed is the team's palette policy), and no other site may frame them.
 */
const NODE_RED_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'self'",
].join('; ');

function withNodeRedPolicy<H extends Record<string, unknown>>(headers: H): H {
  return { ...headers, 'content-security-policy': NODE_RED_CSP };
}

/** Headers Node-RED must not see: the platform's own session, and hop-by-hop ones. */
function withoutPlatformCookie(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  const rest = cookie.split(';').map((c) => c.trim()).filter((c) => c && !c.startsWith(`${SESSION_COOKIE}=`));
  return rest.length ? rest.join('; ') : undefined;
}

/**
 * Node-RED behind the platform's sign-in. The editor (HTTP and its WebSocket) is proxied
 * under /instances/:id/editor/ to members of the instance's team only, carrying a token
 * with their role's Node-RED permissions; the flows' own endpoints under /instances/:id/app/
 * are behind sign-in or public, as the instance's owner chooses. Node-RED itself listens on
 * loopback and answers nothing without a platform-minted token.
 */
export function instanceProxyRoutes(app: TypedApp, c: AppContext): void {
  const { applications, runtime, auditLog, identity, teamsStore, clock } = c;

  function tokenFor(user: UsersTable, role: Parameters<typeof editorPermissions>[0], instance: InstancesTable): string {
    return mintEditorToken(applications.editorKey(instance), {
      sub: user.id,
      email: user.email,
      name: user.name,
      permissions: editorPermissions(role, user.platform_role),
      iid: instance.id,
      exp: Math.floor(clock.now().getTime() / 1000) + EDITOR_TOKEN_SECONDS,
    });
  }

  function upstream(instance: InstancesTable, reply: FastifyReply): number | null {
    const port = runtime.port(instance.id);
    if (port === null) {
      sendProblem(reply, {
        type: 'https://flowgate.dev/problems/instance-not-running',
        title: 'Instance not running',
        status: 503,
        detail: `The instance "${instance.name}" is ${instance.status}: start it, or wait until it runs.`,
      });
    }
    return port;
  }

  async function editor(request: FastifyRequest<{ Params: { instanceId: string; '*': string } }>, reply: FastifyReply) {
    const { user } = requireAuth(request);
    const instance = await applications.requireInstance(request.params.instanceId);
    const port = upstream(instance, reply);
    if (port === null) return reply;
    const key = applications.editorKey(instance);
    const now = Math.floor(clock.now().getTime() / 1000);
    const sent = request.headers.authorization?.startsWith('Bearer ') ? request.headers.authorization.slice(7) : null;
    const presented = sent ? verifyEditorToken(key, sent, now) : null;
    if (presented && (presented.sub !== user.id || presented.iid !== instance.id)) throw new ForbiddenError('This editor token belongs to someone else.');
    // A write must carry the editor's own token: a cross-site form has the cookie but not the token.
    if (!SAFE.has(request.method) && !presented) throw new ForbiddenError('Editor changes need the editor token: reload the editor.');

    const path = request.params['*'];
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    // The editor's front door: a fresh token for this person, handed over in the URL as
    // Node-RED's editor expects. The editor keeps it and reloads itself at "editor/?" (the
    // query emptied, not removed): that one, and any other query, goes through to Node-RED.
    if (request.method === 'GET' && path === '' && query === '') {
      await auditLog.record(request.ctx, { event: 'instance.editor.opened', target: { type: 'instance', id: instance.id }, teamId: instance.team_id, details: { permissions: editorPermissions(request.teamRole, user.platform_role) } });
      return reply.redirect(`/instances/${instance.id}/editor/?access_token=${tokenFor(user, request.teamRole, instance)}`);
    }
    const token = presented ? sent! : tokenFor(user, request.teamRole, instance);
    return reply.from(`http://127.0.0.1:${port}/instances/${instance.id}/editor/${path}${query}`, {
      rewriteRequestHeaders: (_req, headers) => {
        const next: Record<string, string | string[] | undefined> = { ...headers, authorization: `Bearer ${token}`, cookie: withoutPlatformCookie(headers.cookie as string | undefined) };
        delete next['x-csrf-token'];
        return next as typeof headers;
      },
      rewriteHeaders: withNodeRedPolicy,
    });
  }

  app.get('/instances/:instanceId/editor', { config: { permission: 'instances:editor' }, schema: { hide: true } }, async (request, reply) =>
    reply.redirect(`/instances/${(request.params as { instanceId: string }).instanceId}/editor/`),
  );
  app.route({ method: [...ALL_METHODS], url: '/instances/:instanceId/editor/*', config: { permission: 'instances:editor', csrfByBearer: true }, schema: { hide: true }, handler: editor });

  /** The flows' own HTTP endpoints and dashboards. */
  app.route({
    method: [...ALL_METHODS],
    url: '/instances/:instanceId/app/*',
    // Access is the instance owner's choice (endpoint_access), checked below.
    config: { public: true },
    schema: { hide: true },
    handler: async (request, reply) => {
      const params = request.params as { instanceId: string; '*': string };
      const instance = await c.applicationsStore.instanceById(params.instanceId);
      if (!instance) throw new NotFoundError('Instance');
      if (instance.endpoint_access === 'login') {
        const auth = request.auth;
        if (!auth?.session || auth.session.stage !== 'full') throw new UnauthenticatedError('Sign in to use this application.');
        const role = await teamsStore.roleOf(instance.team_id, auth.user.id);
        if (!isAllowed({ platformRole: auth.user.platform_role, teamRole: role }, 'applications:read')) throw new NotFoundError('Instance');
      }
      const port = upstream(instance, reply);
      if (port === null) return reply;
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      return reply.from(`http://127.0.0.1:${port}/instances/${instance.id}/app/${params['*']}${query}`, {
        rewriteRequestHeaders: (_req, headers) => ({ ...headers, cookie: withoutPlatformCookie(headers.cookie as string | undefined), authorization: undefined }) as typeof headers,
        rewriteHeaders: withNodeRedPolicy,
      });
    },
  });

  /** The editor's WebSocket (comms): the same session and team check, then a byte pipe to Node-RED. */
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const match = /^\/instances\/([A-Za-z0-9-]{1,64})\/editor\/comms(\?.*)?$/.exec(req.url ?? '');
    if (!match) return; // not ours: leave it to other upgrade listeners
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    void (async () => {
      const cookie = /(?:^|;\s*)fg_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const found = cookie ? await identity.authenticateSession(decodeURIComponent(cookie)) : null;
      if (!found || found.session.stage !== 'full') return refuse(401, 'Unauthorized');
      // Cross-site WebSocket hijacking: the page must come from the platform itself.
      const origin = req.headers.origin;
      if (origin && new URL(origin).host !== req.headers.host) return refuse(403, 'Forbidden');
      const instance = await c.applicationsStore.instanceById(match[1]!);
      if (!instance) return refuse(404, 'Not Found');
      const role = await teamsStore.roleOf(instance.team_id, found.user.id);
      if (!isAllowed({ platformRole: found.user.platform_role, teamRole: role }, 'instances:editor')) return refuse(404, 'Not Found');
      const port = runtime.port(instance.id);
      if (port === null) return refuse(503, 'Service Unavailable');
      const target = net.connect(port, '127.0.0.1', () => {
        const headers = Object.entries(req.headers)
          .filter(([name]) => name !== 'cookie')
          .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
        target.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
        if (head.length) target.write(head);
        socket.pipe(target).pipe(socket);
      });
      const close = () => {
        target.destroy();
        socket.destroy();
      };
      target.on('error', close);
      socket.on('error', close);
      target.on('close', close);
      socket.on('close', close);
    })().catch(() => refuse(500, 'Internal Server Error'));
  });
}

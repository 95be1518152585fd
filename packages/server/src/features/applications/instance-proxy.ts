import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { editorPermissions, isAllowed, mintEditorToken } from '@flowgate/core';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { InstancesTable, UsersTable } from '../../db/schema.ts';
import { Type } from '@sinclair/typebox';
import { NotFoundError, UnauthenticatedError } from '../../http/errors.ts';
import { INSTANCE_COOKIE, INSTANCE_SIGN_IN_PATH } from './instance-origins.ts';
import { sendProblem } from '../../http/problem.ts';
import { requireAuth } from '../identity/identity.routes.ts';
import { InstanceParams } from './applications.routes.ts';
import {
  ALL_METHODS,
  EDITOR_ANSWER_MS,
  EDITOR_TOKEN_SECONDS,
  FORWARDED_TOKEN_SECONDS,
  editorCacheControl,
  editorRequestHeaders,
  forwardToNodeRed,
  isEditorFrontDoor,
  passBodiesThrough,
  pipeUpgrade,
  checkPresentedEditorToken,
  queryOf,
  refuseUpgrade,
  upgradeUser,
  withoutPlatformCookie,
} from './node-red-proxy.ts';

/** A flow's own endpoint may wait on what it calls (a PLC gateway, a database): longer than the editor. */
const APP_ANSWER_MS = 120_000;

/**
 * Node-RED behind the platform's sign-in. The editor (HTTP and its WebSocket) is proxied
 * under /instances/:id/editor/ to members of the instance's team only, carrying a token
 * with their role's Node-RED permissions; the flows' own endpoints under /instances/:id/app/
 * are behind sign-in or public, as the instance's owner chooses. Node-RED itself listens on
 * loopback and answers nothing without a platform-minted token.
 */
export function instanceProxyRoutes(
  app: TypedApp,
  c: Pick<AppContext, 'applications' | 'applicationsStore' | 'auditLog' | 'clock' | 'identity' | 'instanceOrigins' | 'liveSockets' | 'runtime' | 'teamsStore'>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { applications, runtime, auditLog, identity, teamsStore, clock, instanceOrigins: origins } = c;
  const secureCookie = origins.originOf('x').startsWith('https://');

  /** With origins of their own, an instance's pages are served only there (the platform's host redirects before any route: auth.ts). */
  function onItsOrigin(request: FastifyRequest): void {
    if (origins.separate && !request.instanceHost) throw new NotFoundError('Instance');
  }
  // Connections to the instances' Node-REDs are kept for the next request; let go before
  // Node-RED's own 5 s keep-alive would close them under a request.
  const toNodeRed = new http.Agent({ keepAlive: true, timeout: 4_000 });
  app.addHook('onClose', async () => toNodeRed.destroy());

  function tokenFor(user: UsersTable, role: Parameters<typeof editorPermissions>[0], instance: InstancesTable, seconds: number): string {
    return mintEditorToken(applications.editorKey(instance), {
      sub: user.id,
      email: user.email,
      name: user.name,
      permissions: editorPermissions(role),
      iid: instance.id,
      exp: Math.floor(clock.now().getTime() / 1000) + seconds,
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

  /** Behind sign-in, the endpoints are for the instance's team (and platform admins). */
  async function mayUseEndpoints(instance: InstancesTable, user: UsersTable): Promise<boolean> {
    const role = await teamsStore.roleOf(instance.team_id, user.id);
    return isAllowed({ platformRole: user.platform_role, teamRole: role }, 'applications:read');
  }

  /** What a flow's endpoint gets: the request minus the platform's credentials, plus the key Node-RED checks. */
  function endpointRequestHeaders(headers: IncomingHttpHeaders, instance: InstancesTable): IncomingHttpHeaders {
    return { ...headers, cookie: withoutPlatformCookie(headers.cookie), authorization: undefined, 'x-flowgate-endpoint-key': applications.endpointKey(instance) };
  }

  async function editor(request: FastifyRequest<{ Params: { instanceId: string; '*': string } }>, reply: FastifyReply) {
    onItsOrigin(request);
    const { user } = requireAuth(request);
    const instance = await applications.requireInstance(request.params.instanceId);
    const port = upstream(instance, reply);
    if (port === null) return reply;
    checkPresentedEditorToken(request, applications.editorKey(instance), { userId: user.id, iid: instance.id }, Math.floor(clock.now().getTime() / 1000));
    const path = request.params['*'];
    if (isEditorFrontDoor(request, path)) {
      await auditLog.record(request.ctx, {
        event: 'instance.editor.opened',
        target: { type: 'instance', id: instance.id },
        teamId: instance.team_id,
        details: { permissions: editorPermissions(request.teamRole) },
      });
      return reply.redirect(`/instances/${instance.id}/editor/?access_token=${tokenFor(user, request.teamRole, instance, EDITOR_TOKEN_SECONDS)}`);
    }
    // Node-RED gets a token minted now, with the rights of the person's role now: the one the
    // editor holds was minted when it opened (and proves the request comes from it), and a
    // member since made operator must not deploy with it.
    const token = tokenFor(user, request.teamRole, instance, FORWARDED_TOKEN_SECONDS);
    return forwardToNodeRed(
      request,
      reply,
      { host: runtime.nodeRedHost(instance.id), port, agent: toNodeRed },
      {
        path: `/instances/${instance.id}/editor/${path}${queryOf(request.url)}`,
        headers: editorRequestHeaders(request.headers, token),
        answerWithinMs: EDITOR_ANSWER_MS,
        cacheControl: editorCacheControl(request.method, path),
      },
    );
  }

  void app.register(async (scope: TypedApp) => {
    passBodiesThrough(scope);
    /**
     * "Open editor": the platform checks the person may open it (instances:editor, members
     * only), then sends the browser to the instance's origin with a one-time code for them.
     */
    scope.get(
      '/instances/:instanceId/editor',
      { config: { access: { kind: 'user', permission: 'instances:editor', team: 'instanceId' } }, schema: { hide: true, params: InstanceParams } },
      async (request, reply) => {
        const { instanceId } = request.params as { instanceId: string };
        const editorRoot = `/instances/${instanceId}/editor/`;
        if (!origins.separate) return reply.redirect(editorRoot);
        const { user, session } = requireAuth(request);
        return reply.redirect(await origins.mintCode(instanceId, user, session!, editorRoot), 303);
      },
    );
    /**
     * Signing in to an instance's endpoints (behind sign-in) on its origin, which sends a
     * signed-out person here: the same code, for whoever may use them (applications:read).
     */
    scope.get(
      '/instances/:instanceId/app',
      {
        config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId', browserSession: true } },
        schema: { hide: true, params: InstanceParams, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 2048 })) }) },
      },
      async (request, reply) => {
        const { instanceId } = request.params as { instanceId: string };
        const next = origins.checkedNext(instanceId, (request.query as { next?: string }).next, 'app');
        if (!origins.separate) return reply.redirect(next);
        const { user, session } = requireAuth(request);
        return reply.redirect(await origins.mintCode(instanceId, user, session!, next), 303);
      },
    );
    /** On an instance's origin: the platform's code for a cookie of this origin, then on to the page. */
    scope.get(
      INSTANCE_SIGN_IN_PATH,
      {
        // Public by name: the one-time code is what it checks.
        config: { access: { kind: 'public' } },
        schema: { hide: true, querystring: Type.Object({ code: Type.String({ minLength: 1, maxLength: 128 }), next: Type.String({ maxLength: 2048 }) }) },
      },
      async (request, reply) => {
        const host = request.instanceHost;
        if (!host) throw new NotFoundError('Page');
        const { code, next } = request.query as { code: string; next: string };
        const to = origins.checkedNext(host.instanceId, next, 'editor');
        const { token } = await origins.exchange(host.instanceId, code, request.ctx);
        // This origin's own cookie (no Domain: this host only), never sent to the platform or another instance's host.
        reply.setCookie(INSTANCE_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', secure: secureCookie });
        return reply.redirect(to, 303);
      },
    );
    scope.route({
      method: [...ALL_METHODS],
      url: '/instances/:instanceId/editor/*',
      config: { access: { kind: 'user', permission: 'instances:editor', team: 'instanceId', csrfByBearer: true } },
      schema: { hide: true, params: InstanceParams },
      handler: editor,
    });

    /** The flows' own HTTP endpoints and dashboards. */
    scope.route({
      method: [...ALL_METHODS],
      url: '/instances/:instanceId/app/*',
      // Access is the instance owner's choice (endpoint_access), checked below.
      config: { access: { kind: 'public' } },
      schema: { hide: true, params: InstanceParams },
      handler: async (request, reply) => {
        onItsOrigin(request);
        const params = request.params as { instanceId: string; '*': string };
        const instance = await c.applicationsStore.instanceById(params.instanceId);
        if (!instance) throw new NotFoundError('Instance');
        if (instance.endpoint_access === 'login') {
          const auth = request.auth;
          if (!auth?.session || auth.session.stage !== 'full') throw new UnauthenticatedError('Sign in to use this application.');
          if (!(await mayUseEndpoints(instance, auth.user))) throw new NotFoundError('Instance');
        }
        const port = upstream(instance, reply);
        if (port === null) return reply;
        return forwardToNodeRed(
          request,
          reply,
          { host: runtime.nodeRedHost(instance.id), port, agent: toNodeRed },
          {
            path: `/instances/${instance.id}/app/${params['*']}${queryOf(request.url)}`,
            headers: endpointRequestHeaders(request.headers, instance),
            answerWithinMs: APP_ANSWER_MS,
          },
        );
      },
    });
  });

  /**
   * Whether this upgrade may go through: the editor's comms need the same session and team
   * check as its pages; the flows' own sockets under app/ the same access as their HTTP
   * endpoints. Asked at the upgrade, and again while the socket is open (live-sockets.ts),
   * then with `touch: false`: an open socket is not the person's activity.
   */
  async function upgradeAllowed(
    req: IncomingMessage,
    instanceId: string,
    editorComms: boolean,
    touch: boolean,
  ): Promise<{ instance: InstancesTable } | { status: number; text: string }> {
    const instance = await c.applicationsStore.instanceById(instanceId);
    if (!editorComms && instance?.endpoint_access === 'public') return { instance };
    // On an instance's origin, who signed in there; in the shared mode, the platform's session.
    const who = origins.separate
      ? await upgradeUser(req, (token) => origins.authenticate(token, instanceId, { touch }), INSTANCE_COOKIE)
      : await upgradeUser(req, (token) => identity.authenticateSession(token, { touch }));
    if ('status' in who) return { status: who.status, text: who.status === 401 ? 'Unauthorized' : 'Forbidden' };
    if (!instance) return { status: 404, text: 'Not Found' };
    const role = await teamsStore.roleOf(instance.team_id, who.user.id);
    const allowed = editorComms ? isAllowed({ platformRole: who.user.platform_role, teamRole: role }, 'instances:editor') : await mayUseEndpoints(instance, who.user);
    return allowed ? { instance } : { status: 404, text: 'Not Found' };
  }

  /**
   * WebSockets under the instance's editor (comms) and app paths: checked, then a byte pipe
   * to Node-RED. With origins of their own, only on the instance's origin (app.ts hands this
   * listener, and only this one, every upgrade that comes to an instance's host).
   */
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const match = /^\/instances\/([A-Za-z0-9-]{1,64})\/(?:(editor\/comms)(?:\?.*)?$|app\/)/.exec(req.url ?? '');
    const hostInstance = origins.instanceOfHost(req.headers.host);
    const refuse = (status: number, text: string) => refuseUpgrade(socket, status, text);
    if (hostInstance !== null && match?.[1] !== hostInstance) return refuse(404, 'Not Found');
    if (!match) return; // not ours: leave it to other upgrade listeners
    if (origins.separate && hostInstance === null) return refuse(404, 'Not Found'); // the old paths serve nothing on the platform's host
    const instanceId = match[1]!;
    const editorComms = match[2] !== undefined;
    void (async () => {
      const checked = await upgradeAllowed(req, instanceId, editorComms, true);
      if ('status' in checked) return refuse(checked.status, checked.text);
      const { instance } = checked;
      const port = runtime.port(instance.id);
      if (port === null) return refuse(503, 'Service Unavailable');
      const headers = editorComms ? { ...req.headers, cookie: undefined } : endpointRequestHeaders(req.headers, instance);
      pipeUpgrade(req, socket, head, net.connect(port, runtime.nodeRedHost(instance.id)), headers);
      c.liveSockets.track(socket, async () => !('status' in (await upgradeAllowed(req, instanceId, editorComms, false))));
    })().catch(() => refuse(500, 'Internal Server Error'));
  };
}

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAllowed, mintEditorToken } from '@flowgate/core';
import type { TunnelSession } from '@flowgate/protocol/tunnel';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { DevicesTable, UsersTable } from '../../db/schema.ts';
import { NotFoundError } from '../../http/errors.ts';
import { sendProblem } from '../../http/problem.ts';
import { requireAuth } from '../identity/identity.routes.ts';
import { DeviceParams } from './fleet.routes.ts';
import {
  ALL_METHODS,
  EDITOR_ANSWER_MS,
  EDITOR_TOKEN_SECONDS,
  editorCacheControl,
  editorRequestHeaders,
  forwardToNodeRed,
  isEditorFrontDoor,
  checkPresentedEditorToken,
  passBodiesThrough,
  pipeUpgrade,
  queryOf,
  refuseUpgrade,
  upgradeUser,
} from '../applications/node-red-proxy.ts';

/** How long opening a device's editor waits for the device to open its tunnel. */
export const TUNNEL_WAIT_MS = 15_000;

/**
 * A device's Node-RED editor, through the platform: the same sign-in, the same editor
 * token and the same audit as a hosted instance's (instance-proxy.ts), but over the tunnel
 * the device opens outward (device-tunnels.ts) instead of to a loopback port.
 *
 * Read only, for every role: a device runs only what its target says (a deploy in its own
 * Node-RED is put back by its agent), so its editor is for looking at the flows and the
 * debug sidebar of what runs there. Changes are made on an instance, snapshotted and
 * targeted or rolled out.
 */
export function deviceEditorRoutes(
  app: TypedApp,
  c: Pick<AppContext, 'auditLog' | 'broker' | 'clock' | 'deployments' | 'fleet' | 'identity' | 'liveSockets' | 'teamsStore' | 'tunnels'>,
): void {
  const { fleet, deployments, tunnels, broker, auditLog, identity, teamsStore, clock } = c;

  /**
   * A device checks a token's expiry by its own clock, which may be far off on a plant network
   * without time service: what it gets, at the front door and with each request, lives as long
   * as the editor (read only for everyone). The person's current role still gates each request.
   */
  function tokenFor(user: UsersTable, device: DevicesTable, key: string): string {
    return mintEditorToken(key, {
      sub: user.id,
      email: user.email,
      name: user.name,
      permissions: 'read',
      iid: device.id,
      exp: Math.floor(clock.now().getTime() / 1000) + EDITOR_TOKEN_SECONDS,
    });
  }

  function unreachable(reply: FastifyReply, device: DevicesTable, detail: string): FastifyReply {
    return sendProblem(reply, { type: 'https://flowgate.dev/problems/device-unreachable', title: 'Device not reachable', status: 503, detail: `"${device.name}": ${detail}` });
  }

  /** The device's tunnel, asked for when it has none and the device can hear the request now. */
  async function tunnelOf(device: DevicesTable, reply: FastifyReply): Promise<TunnelSession | null> {
    if (device.revoked_at) {
      unreachable(reply, device, 'the device was revoked.');
      return null;
    }
    const open = tunnels.session(device.id);
    if (open) return open;
    // Heard at once only over MQTT or a held long poll; otherwise not before its next check-in.
    if (broker.presence(device.id)?.online !== true && !deployments.listening(device.id)) {
      unreachable(reply, device, 'the device is not connected. Its editor opens while it is online.');
      return null;
    }
    const session = await tunnels.connect(device.id, TUNNEL_WAIT_MS);
    if (!session) unreachable(reply, device, `the device did not open its editor tunnel within ${TUNNEL_WAIT_MS / 1000} s. Is its Node-RED running? Try again.`);
    return session;
  }

  async function editor(request: FastifyRequest<{ Params: { deviceId: string; '*': string } }>, reply: FastifyReply) {
    const { user } = requireAuth(request);
    const device = await fleet.device(request.params.deviceId);
    const session = await tunnelOf(device, reply);
    if (!session) return reply;
    const key = await deployments.editorKeyOf(device);
    checkPresentedEditorToken(request, key, { userId: user.id, iid: device.id }, Math.floor(clock.now().getTime() / 1000));
    const path = request.params['*'];
    if (isEditorFrontDoor(request, path)) {
      await auditLog.record(request.ctx, { event: 'device.editor.opened', target: { type: 'device', id: device.id }, teamId: device.team_id, details: { permissions: 'read' } });
      return reply.redirect(`/devices/${device.id}/editor/?access_token=${tokenFor(user, device, key)}`);
    }
    return forwardToNodeRed(
      request,
      reply,
      { openStream: () => session.openStream() as unknown as Socket },
      {
        path: `/devices/${device.id}/editor/${path}${queryOf(request.url)}`,
        headers: editorRequestHeaders(request.headers, tokenFor(user, device, key)),
        answerWithinMs: EDITOR_ANSWER_MS,
        cacheControl: editorCacheControl(request.method, path),
      },
    );
  }

  void app.register(async (scope: TypedApp) => {
    passBodiesThrough(scope);
    scope.get(
      '/devices/:deviceId/editor',
      { config: { access: { kind: 'user', permission: 'fleet:editor', team: 'deviceId' } }, schema: { hide: true, params: DeviceParams } },
      async (request, reply) => reply.redirect(`/devices/${(request.params as { deviceId: string }).deviceId}/editor/`),
    );
    scope.route({
      method: [...ALL_METHODS],
      url: '/devices/:deviceId/editor/*',
      config: { access: { kind: 'user', permission: 'fleet:editor', team: 'deviceId', csrfByBearer: true } },
      schema: { hide: true, params: DeviceParams },
      handler: editor,
    });
  });

  /** The editor's comms: the same session and team check as its pages; asked again while open, without touching the session. */
  async function commsAllowed(req: IncomingMessage, deviceId: string, touch: boolean): Promise<{ device: DevicesTable } | { status: number; text: string }> {
    const who = await upgradeUser(req, (token) => identity.authenticateSession(token, { touch }));
    if ('status' in who) return { status: who.status, text: who.status === 401 ? 'Unauthorized' : 'Forbidden' };
    const device = await fleet.device(deviceId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    if (!device) return { status: 404, text: 'Not Found' };
    const role = await teamsStore.roleOf(device.team_id, who.user.id);
    if (!isAllowed({ platformRole: who.user.platform_role, teamRole: role }, 'fleet:editor')) return { status: 404, text: 'Not Found' };
    return { device };
  }

  /** The editor's WebSocket (comms): checked, then a stream of the tunnel. */
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const match = /^\/devices\/([A-Za-z0-9-]{1,64})\/editor\/comms(\?.*)?$/.exec(req.url ?? '');
    if (!match) return;
    const deviceId = match[1]!;
    const refuse = (status: number, text: string) => refuseUpgrade(socket, status, text);
    void (async () => {
      const checked = await commsAllowed(req, deviceId, true);
      if ('status' in checked) return refuse(checked.status, checked.text);
      const session = checked.device.revoked_at ? null : tunnels.session(checked.device.id);
      if (!session) return refuse(503, 'Service Unavailable');
      pipeUpgrade(req, socket, head, session.openStream(), { ...req.headers, cookie: undefined });
      c.liveSockets.track(socket, async () => !('status' in (await commsAllowed(req, deviceId, false))));
    })().catch(() => refuse(500, 'Internal Server Error'));
  });
}

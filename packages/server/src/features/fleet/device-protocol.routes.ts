import { Type } from '@sinclair/typebox';
import { AuditBody, DesiredState, DeviceCheckIn, LogsBody, TUNNEL_PATH } from '@flowgate/protocol';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { DevicesTable } from '../../db/schema.ts';
import { Counter, Id, Name, NoContent, Nullable, Version } from '../../http/schemas.ts';
import { recordEditorEvents } from '../applications/editor-events.ts';
import { DESIRED_WAIT_MAX_SECONDS } from './deployments.service.ts';
import { CHECK_IN_SECONDS } from './fleet.service.ts';

/**
 * The device protocol (v1): what the agent on an edge device calls, over HTTPS with the
 * credential it got at registration. The same shape as the hosted agents' protocol
 * (/api/agent/v1), so one reconcile loop serves both; a device sees only itself and the
 * snapshots it is told to run. Every route but register is `device: true`.
 */
export function deviceProtocolRoutes(app: TypedApp, c: Pick<AppContext, 'auditLog' | 'broker' | 'config' | 'deployments' | 'fleet' | 'identityStore' | 'tunnels'>): void {
  const { fleet, deployments, tunnels } = c;
  const deviceOf = (request: { device: DevicesTable | null }): DevicesTable => request.device!;

  app.post(
    '/api/fleet/v1/register',
    {
      // Public by name: the provisioning token in the body is the credential. Rate-limited like sign-in.
      config: { access: { kind: 'public' }, rateLimit: { max: c.config.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['device protocol'],
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }), name: Name, agentVersion: Version, nodeRedVersion: Type.Optional(Version) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            deviceId: Type.String(),
            credential: Type.String({ description: 'Shown once: the device keeps it (mode 0600) and sends it as a bearer token' }),
            teamId: Type.String(),
            siteId: Type.String(),
            groupId: Nullable(Type.String()),
            applicationId: Nullable(Type.String()),
            checkInSeconds: Type.Integer(),
            mqttUrl: Nullable(Type.String({ description: "The MQTT broker to connect to; null: MQTT over WebSocket at /api/fleet/v1/mqtt on the platform's own address" })),
          }),
        },
      },
    },
    async (request, reply) => {
      const { device, credential } = await fleet.register(request.body, request.ctx);
      c.broker.admit(device, credential);
      return reply.code(201).send({
        deviceId: device.id,
        credential,
        teamId: device.team_id,
        siteId: device.site_id,
        groupId: device.group_id,
        applicationId: device.application_id,
        checkInSeconds: CHECK_IN_SECONDS,
        mqttUrl: c.broker.deviceUrl,
      });
    },
  );

  app.post(
    '/api/fleet/v1/check-in',
    {
      config: { access: { kind: 'device' } },
      schema: {
        tags: ['device protocol'],
        description:
          'The heartbeat, and the status report of an agent that runs Node-RED. Its answer says what the device should run: a device that cannot hold a long poll or an MQTT connection needs nothing else.',
        body: DeviceCheckIn,
        response: {
          200: Type.Object({
            deviceId: Type.String(),
            checkInSeconds: Type.Integer(),
            generation: Type.Integer({ description: 'Changes whenever the desired state does: fetch /api/fleet/v1/desired then' }),
            target: Type.Union([Type.Object({ id: Type.String(), hash: Type.String() }), Type.Null()], { description: 'The snapshot the device should run; null: the empty flow' }),
          }),
        },
      },
    },
    async (request) => {
      const { device, stateChanged } = await fleet.checkIn(deviceOf(request), request.body);
      if (stateChanged) deployments.nudge();
      const desired = await deployments.targetOf(device);
      return { deviceId: device.id, checkInSeconds: CHECK_IN_SECONDS, generation: device.generation, target: desired };
    },
  );

  app.get(
    '/api/fleet/v1/desired',
    {
      config: { access: { kind: 'device' } },
      schema: {
        tags: ['device protocol'],
        description: `The desired state as a long poll: with the generation the device has and a wait, the answer comes when it changes or the wait is over. editorTunnel: true asks the device to open its editor tunnel (${TUNNEL_PATH}).`,
        querystring: Type.Object(
          { generation: Type.Optional(Counter), wait: Type.Optional(Type.Integer({ minimum: 0, maximum: DESIRED_WAIT_MAX_SECONDS })) },
          { additionalProperties: false },
        ),
        response: { 200: DesiredState },
      },
    },
    async (request) => {
      let device = deviceOf(request);
      const { generation, wait } = request.query;
      fleet.markSeen(device);
      if (generation === device.generation && wait) {
        await deployments.waitForChange(device.id, wait * 1000, async () => tunnels.pending(device.id) || (await fleet.requireLiveDevice(device.id)).generation !== generation);
        device = await fleet.requireLiveDevice(device.id);
      }
      return { ...(await deployments.desiredFor(device)), editorTunnel: tunnels.take(device.id) };
    },
  );

  app.get(
    '/api/fleet/v1/snapshots/:snapshotId',
    { config: { access: { kind: 'device' } }, schema: { tags: ['device protocol'], params: Type.Object({ snapshotId: Id }) } },
    async (request, reply) =>
      // The stored canonical text as is: the agent hashes exactly what was hashed here.
      reply.type('application/json').send(await deployments.snapshotForDevice(deviceOf(request), request.params.snapshotId)),
  );

  app.post(
    '/api/fleet/v1/logs',
    {
      config: { access: { kind: 'device' } },
      schema: { tags: ['device protocol'], body: LogsBody, response: { 204: NoContent } },
    },
    async (request, reply) => {
      deployments.appendLogs(deviceOf(request).id, request.body.lines);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/fleet/v1/audit',
    {
      config: { access: { kind: 'device' } },
      schema: {
        tags: ['device protocol'],
        body: AuditBody,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const device = deviceOf(request);
      await recordEditorEvents(c, request.ctx, { type: 'device', id: device.id }, device.team_id, request.body.events);
      return reply.code(204).send(null);
    },
  );
}

import { Type } from '@sinclair/typebox';
import { AGENT_API_ROOT, AuditBody, DesiredState, EditorDeploy, FAILED_AGENT_STATES, LogsBody, RecordedDeploy, StatusReport } from '@flowgate/protocol';
import type { AppContext, TypedApp } from '../../app-context.ts';
import type { RequestContext } from '../../context.ts';
import type { InstancesTable, InstanceStatus } from '../../db/schema.ts';
import { NotFoundError, UnauthenticatedError } from '../../http/errors.ts';
import { Counter, Id, NoContent } from '../../http/schemas.ts';
import { recordEditorEvents } from './editor-events.ts';

/**
 * The agent protocol (v1), its bodies and answers declared by @flowgate/protocol, which the
 * agent checks against too. Hosted agents call it over loopback; device agents speak the
 * same protocol under /api/fleet/v1 (device-protocol.routes.ts). Every route is `agent: true`: the caller is an
 * instance's agent with its own token, and sees only its own instance.
 */
export function agentRoutes(app: TypedApp, c: Pick<AppContext, 'applications' | 'auditLog' | 'identityStore' | 'runtime' | 'snapshots'>): void {
  const { applications, snapshots, runtime, auditLog, identityStore } = c;
  const agentOf = (request: { agent: InstancesTable | null }): InstancesTable => {
    if (!request.agent) throw new UnauthenticatedError('Agent token required.');
    return request.agent;
  };

  app.get(
    `${AGENT_API_ROOT}/desired`,
    {
      config: { access: { kind: 'agent' } },
      schema: {
        tags: ['agent'],
        querystring: Type.Object({ generation: Type.Optional(Counter), wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 })) }, { additionalProperties: false }),
        response: { 200: DesiredState },
      },
    },
    async (request) => {
      let instance = agentOf(request);
      const { generation, wait } = request.query;
      if (generation === instance.generation && wait) {
        await runtime.waitForChange(instance.id, wait * 1000, async () => (await applications.requireInstance(instance.id)).generation !== generation);
        instance = await applications.requireInstance(instance.id);
      }
      const target = instance.target_snapshot_id ? await snapshots.requireSnapshot(instance.target_snapshot_id) : null;
      return {
        generation: instance.generation,
        instanceId: instance.id,
        snapshot: target ? { id: target.id, hash: target.hash } : null,
        settings: {
          credentialSecret: applications.credentialSecret(instance),
          editorTokenKey: applications.editorKey(instance),
          httpAdminRoot: `/instances/${instance.id}/editor/`,
          httpNodeRoot: `/instances/${instance.id}/app/`,
          endpointKey: applications.endpointKey(instance),
          palette: await c.applications.palette(instance.team_id),
          nodeRedVersion: instance.node_red_version,
        },
        env: await applications.envForAgent(instance.id),
        // A hosted instance's editor is reached through the platform's proxy, never a tunnel.
        editorTunnel: false,
      };
    },
  );

  app.get(
    `${AGENT_API_ROOT}/snapshots/:snapshotId`,
    { config: { access: { kind: 'agent' } }, schema: { tags: ['agent'], params: Type.Object({ snapshotId: Id }) } },
    async (request, reply) => {
      const instance = agentOf(request);
      const snapshot = await snapshots.requireSnapshot(request.params.snapshotId);
      if (snapshot.instance_id !== instance.id) throw new NotFoundError('Snapshot');
      // The stored canonical text as is: the agent hashes exactly what was hashed here.
      return reply.type('application/json').send(snapshot.content);
    },
  );

  app.post(
    `${AGENT_API_ROOT}/status`,
    {
      config: { access: { kind: 'agent' } },
      schema: {
        tags: ['agent'],
        body: StatusReport,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const instance = agentOf(request);
      const body = request.body;
      const state: InstanceStatus = body.state;
      if (state !== instance.status && FAILED_AGENT_STATES.has(state)) {
        await auditLog.record(request.ctx, {
          event: state === 'error' && body.error?.includes('snapshot') ? 'snapshot.apply.failed' : 'instance.status.changed',
          outcome: 'failure',
          target: { type: 'instance', id: instance.id },
          teamId: instance.team_id,
          details: { from: instance.status, to: state, error: body.error, runningSnapshotId: body.runningSnapshotId },
        });
      }
      await applications.recordStatus(instance, {
        state,
        runningSnapshotId: body.runningSnapshotId,
        nodeRedPort: body.nodeRedPort,
        error: body.error,
        facts: body.facts ? { ...body.facts, agentVersion: body.agentVersion } : undefined,
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${AGENT_API_ROOT}/audit`,
    {
      config: { access: { kind: 'agent' } },
      schema: {
        tags: ['agent'],
        body: AuditBody,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const instance = agentOf(request);
      await recordEditorEvents({ auditLog, identityStore }, request.ctx, { type: 'instance', id: instance.id }, instance.team_id, request.body.events);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${AGENT_API_ROOT}/snapshots`,
    {
      config: { access: { kind: 'agent' } },
      bodyLimit: 32 * 1024 * 1024,
      schema: {
        tags: ['agent'],
        body: EditorDeploy,
        response: { 201: RecordedDeploy },
      },
    },
    async (request, reply) => {
      const instance = agentOf(request);
      const user = request.body.user ? await identityStore.userByEmail(request.body.user) : undefined;
      const ctx: RequestContext = user ? { ...request.ctx, actor: { type: 'user', userId: user.id, label: user.email } } : request.ctx;
      const snapshot = await snapshots.recordEditorDeploy(instance, request.body, ctx);
      return reply.code(201).send({ id: snapshot.id, hash: snapshot.hash, becameTarget: snapshot.becameTarget });
    },
  );

  app.post(
    `${AGENT_API_ROOT}/logs`,
    {
      config: { access: { kind: 'agent' } },
      schema: { tags: ['agent'], body: LogsBody, response: { 204: NoContent } },
    },
    async (request, reply) => {
      runtime.appendLogs(agentOf(request).id, request.body.lines);
      return reply.code(204).send(null);
    },
  );
}

import { takeOutOfScope } from '../compliance/scope-pruning.ts';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { PaletteLists } from '@flowgate/core';
import type { MachineFacts } from '@flowgate/protocol';
import { nodeRedInstallations } from '@flowgate/protocol/node-red-installations';
import type { Clock, RequestContext } from '../../context.ts';
import { AGENT_PACKAGE_JSON } from '../../package-paths.ts';
import type { ApplicationsTable, InstanceEnvTable, InstancesTable, InstanceStatus } from '../../db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../http/errors.ts';
import { randomToken, sha256Hex, type SecretBox } from '../../security/crypto.ts';
import type { AuditLog, AuditedTransaction } from '../audit/audit.service.ts';
import type { ApplicationsStore } from './applications.store.ts';
import { effectiveResources, type ResourceRanges } from './instance-resources.ts';
import type { InstanceRuntime } from './instance-runtime.ts';

/** An instance's last report is written at most this often (the inventory's last seen and online). */
export const LAST_SEEN_WRITE_MS = 60_000;

/**
 * The Node-RED versions the platform offers: the agent's own (4.1.x) and those installed
 * under `nodeRedDir` that run on this Node.js, read afresh each time (an install needs no restart).
 */
export function offeredNodeRedVersions(nodeRedDir: string): string[] {
  return nodeRedInstallations(nodeRedDir, AGENT_PACKAGE_JSON)
    .filter((installation) => installation.runsHere)
    .map((installation) => installation.version);
}

export interface EnvVarInput {
  name: string;
  /** Omitted for a secret that keeps its stored value. */
  value?: string | undefined;
  secret: boolean;
}

export const DEFAULT_AUTO_SNAPSHOT_RETENTION = 50;

export interface ApplicationsDeps {
  store: ApplicationsStore;
  auditLog: AuditLog;
  runtime: InstanceRuntime;
  secrets: SecretBox;
  clock: Clock;
  /** Where other Node-RED versions are installed (FLOWGATE_NODE_RED_DIR). */
  nodeRedDir: string;
  /** What an owner may give an instance, and the defaults (config.instanceLimits). */
  resourceRanges: ResourceRanges;
}

/** An owner's choice of an instance's resources: a number within the platform's range, or null for the platform's default. */
export interface ResourcesInput {
  memoryMb: number | null;
  cpuPercent: number | null;
  diskMb: number | null;
}

/** What an audit record of a deletion says of the snapshots deleted with it: how many, and which (by hash; the first 500). */
function deletedSnapshots(snapshots: ReadonlyArray<{ id: string; hash: string; name: string }>): {
  snapshotsDeleted: number;
  snapshots: Array<{ id: string; hash: string; name: string }>;
} {
  return { snapshotsDeleted: snapshots.length, snapshots: snapshots.slice(0, 500).map(({ id, hash, name }) => ({ id, hash, name })) };
}

export function createApplicationsService(deps: ApplicationsDeps) {
  const { store, auditLog, runtime, secrets, clock } = deps;
  const iso = () => clock.now().toISOString();
  const versions = () => offeredNodeRedVersions(deps.nodeRedDir);

  function requireOffered(version: string): void {
    const offered = versions();
    if (!offered.includes(version)) {
      throw new ValidationError(`Node-RED ${version} is not offered here; choose one of ${offered.join(', ')}.`, [
        { field: 'nodeRedVersion', message: `must be one of ${offered.join(', ')}` },
      ]);
    }
  }

  async function requireApplication(id: string): Promise<ApplicationsTable> {
    const app = await store.applicationById(id);
    if (!app) throw new NotFoundError('Application');
    return app;
  }
  async function requireInstance(id: string): Promise<InstancesTable> {
    const instance = await store.instanceById(id);
    if (!instance) throw new NotFoundError('Instance');
    return instance;
  }
  async function refuseWhileDevicesUse(instanceIds: readonly string[]): Promise<void> {
    const users = await store.fleetUsingSnapshotsOf(instanceIds);
    if (users > 0) throw new ConflictError(`Devices, device groups or rollouts (${users}) use snapshots of this instance: give them another target first.`);
  }

  /**
   * A new agent token for each spawn: the raw token lives only in the child's environment.
   * One launch at a time per instance, and none while its agent runs: a second Start (two
   * people, a stale page) must not replace the token of the agent that runs, which would
   * then be refused on every call.
   */
  const launches = new Map<string, Promise<void>>();
  async function launch(instanceId: string): Promise<void> {
    const next = (launches.get(instanceId) ?? Promise.resolve()).then(async () => {
      if (runtime.isRunning(instanceId)) return;
      const instance = await requireInstance(instanceId);
      const token = `fgi_${randomToken(32)}`;
      await store.updateInstance(instanceId, { agent_token_hash: sha256Hex(token) });
      const refused = runtime.start({ instanceId, agentToken: token, resources: effectiveResources(instance, deps.resourceRanges) });
      // Never started without its sandbox: the instance says why, and what an admin may do.
      if (refused) await store.updateInstance(instanceId, { status: 'error', status_detail: `Not started: ${refused}.`, updated_at: iso() });
    });
    const settled = next.catch(() => {});
    launches.set(instanceId, settled);
    void settled.then(() => {
      if (launches.get(instanceId) === settled) launches.delete(instanceId);
    });
    await next;
  }

  async function changeInstance(instance: InstancesTable, ctx: RequestContext, change: (tx: AuditedTransaction) => Promise<void>): Promise<void> {
    await auditLog.transaction(ctx, async (tx) => {
      await change(tx);
      await store.bumpGeneration(instance.id, iso(), tx.trx);
    });
    runtime.wake(instance.id);
  }

  const audit = (instance: InstancesTable) => ({ target: { type: 'instance', id: instance.id }, teamId: instance.team_id });

  const editorKeys = new Map<string, { sealed: string; key: string }>();
  /** Opened once per sealed key: every proxied editor request checks its token with it. */
  function editorKey(instance: InstancesTable): string {
    const known = editorKeys.get(instance.id);
    if (known?.sealed === instance.editor_key_enc) return known.key;
    const key = secrets.open(instance.editor_key_enc).toString('utf8');
    editorKeys.set(instance.id, { sealed: instance.editor_key_enc, key });
    return key;
  }

  return {
    versions,
    requireApplication,
    requireInstance,
    applicationsOfTeam: (teamId: string) => store.applicationsOfTeam(teamId),
    instancesOfApplication: (applicationId: string) => store.instancesOfApplication(applicationId),

    /** The team's palette lists: what its Node-RED instances and devices may hold (none set: everything). */
    async palette(teamId: string): Promise<PaletteLists> {
      const settings = await store.teamSettings(teamId);
      return { allow: settings ? (JSON.parse(settings.palette_allow) as string[]) : [], deny: settings ? (JSON.parse(settings.palette_deny) as string[]) : [] };
    },

    async createApplication(teamId: string, input: { name: string; description: string }, ctx: RequestContext): Promise<ApplicationsTable> {
      const app: ApplicationsTable = { id: randomUUID(), team_id: teamId, name: input.name.trim(), description: input.description.trim(), created_at: iso(), updated_at: iso() };
      await auditLog.transaction(ctx, async (tx) => {
        await store.insertApplication(app, tx.trx);
        await tx.record({ event: 'application.created', target: { type: 'application', id: app.id }, teamId, details: { name: app.name } });
      });
      return app;
    },

    async updateApplication(id: string, patch: { name?: string | undefined; description?: string | undefined }, ctx: RequestContext): Promise<ApplicationsTable> {
      const before = await requireApplication(id);
      const changes: Partial<ApplicationsTable> = { updated_at: iso() };
      if (patch.name !== undefined) changes.name = patch.name.trim();
      if (patch.description !== undefined) changes.description = patch.description.trim();
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateApplication(id, changes, tx.trx);
        await tx.record({
          event: 'application.updated',
          target: { type: 'application', id },
          teamId: before.team_id,
          details: { before: { name: before.name, description: before.description }, after: patch },
        });
      });
      return { ...before, ...changes };
    },

    async deleteApplication(id: string, ctx: RequestContext): Promise<void> {
      const app = await requireApplication(id);
      const instances = await store.instancesOfApplication(id);
      await refuseWhileDevicesUse(instances.map((i) => i.id));
      for (const i of instances) await runtime.stop(i.id);
      await auditLog.transaction(ctx, async (tx) => {
        const snapshots = await store.snapshotsOfInstances(
          instances.map((i) => i.id),
          tx.trx,
        );
        await store.deleteApplication(id, tx.trx);
        await takeOutOfScope(tx, { kind: 'application', ids: [id] }, `application "${app.name}" deleted`);
        await takeOutOfScope(tx, { kind: 'instance', ids: instances.map((i) => i.id) }, `application "${app.name}" deleted with its instances`);
        await tx.record({
          event: 'application.deleted',
          target: { type: 'application', id },
          teamId: app.team_id,
          details: { name: app.name, instances: instances.map((i) => i.id), ...deletedSnapshots(snapshots) },
        });
      });
      for (const i of instances) {
        editorKeys.delete(i.id);
        await runtime.removeFiles(i.id);
      }
    },

    async createInstance(applicationId: string, input: { name: string; nodeRedVersion: string }, ctx: RequestContext): Promise<InstancesTable> {
      const app = await requireApplication(applicationId);
      requireOffered(input.nodeRedVersion);
      const instance: InstancesTable = {
        id: randomUUID(),
        application_id: app.id,
        team_id: app.team_id,
        name: input.name.trim(),
        node_red_version: input.nodeRedVersion,
        desired_state: 'running',
        status: 'starting',
        status_detail: null,
        target_snapshot_id: null,
        running_snapshot_id: null,
        endpoint_access: 'login',
        agent_token_hash: sha256Hex(randomToken()),
        credential_secret_enc: secrets.seal(randomBytes(32).toString('hex')),
        editor_key_enc: secrets.seal(randomBytes(32).toString('hex')),
        generation: 1,
        memory_mb: null,
        cpu_percent: null,
        disk_mb: null,
        created_at: iso(),
        updated_at: iso(),
        facts: null,
        facts_reported_at: null,
        last_seen_at: null,
      };
      await auditLog.transaction(ctx, async (tx) => {
        await store.insertInstance(instance, tx.trx);
        await tx.record({ event: 'instance.created', ...audit(instance), details: { name: instance.name, application: app.name, nodeRedVersion: instance.node_red_version } });
      });
      await launch(instance.id);
      return instance;
    },

    async setDesiredState(id: string, state: 'running' | 'stopped', ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      await changeInstance(instance, ctx, async (tx) => {
        await store.updateInstance(id, { desired_state: state, ...(state === 'stopped' ? { status: 'stopped' as const, status_detail: null } : {}) }, tx.trx);
        await tx.record({ event: state === 'running' ? 'instance.started' : 'instance.stopped', ...audit(instance) });
      });
      if (state === 'stopped') await runtime.stop(id);
      else await launch(id);
    },

    async restart(id: string, ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      if (instance.desired_state !== 'running') {
        throw new ConflictError('The instance is stopped: start it instead.').audited({
          event: 'instance.restarted',
          outcome: 'failure',
          ...audit(instance),
          details: { reason: 'the instance is stopped' },
        });
      }
      await auditLog.record(ctx, { event: 'instance.restarted', ...audit(instance) });
      await runtime.stop(id);
      await launch(id);
    },

    async deleteInstance(id: string, ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      await refuseWhileDevicesUse([id]);
      await runtime.stop(id);
      await auditLog.transaction(ctx, async (tx) => {
        const snapshots = await store.snapshotsOfInstances([id], tx.trx);
        await store.deleteInstance(id, tx.trx);
        await takeOutOfScope(tx, { kind: 'instance', ids: [id] }, `instance "${instance.name}" deleted`);
        await tx.record({ event: 'instance.deleted', ...audit(instance), details: { name: instance.name, ...deletedSnapshots(snapshots) } });
      });
      editorKeys.delete(id);
      await runtime.removeFiles(id);
    },

    /**
     * An owner gives the instance more or less memory, CPU or disk, within the platform's range
     * (null: the platform's default). A running instance restarts on its new limits.
     */
    async setResources(id: string, input: ResourcesInput, ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      const ranges = deps.resourceRanges;
      const fields = [
        ['memoryMb', 'memory_mb', 'MiB of memory'],
        ['cpuPercent', 'cpu_percent', '% of a CPU core'],
        ['diskMb', 'disk_mb', 'MiB of disk'],
      ] as const;
      const problems = fields.flatMap(([field, , unit]) => {
        const value = input[field];
        const range = ranges[field];
        return value === null || (value >= range.min && value <= range.max)
          ? []
          : [{ field, message: `must be between ${range.min} and ${range.max} ${unit} (this platform's range), or null for the default (${range.default})` }];
      });
      if (problems.length > 0) throw new ValidationError(`Resources out of range: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}.`, problems);
      const before = effectiveResources(instance, ranges);
      const patch = { memory_mb: input.memoryMb, cpu_percent: input.cpuPercent, disk_mb: input.diskMb };
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateInstance(id, { ...patch, updated_at: iso() }, tx.trx);
        await tx.record({ event: 'instance.resources.updated', ...audit(instance), details: { before, after: effectiveResources(patch, ranges) } });
      });
      if (runtime.isRunning(id)) {
        await runtime.stop(id);
        await launch(id);
      }
    },

    /** The platform stops an instance that broke a limit it cannot hold otherwise: stopped as a person would, with why. */
    async stopForLimit(instance: InstancesTable, detail: string): Promise<void> {
      await store.updateInstance(instance.id, { desired_state: 'stopped', status: 'error', status_detail: detail, updated_at: iso() });
      await runtime.stop(instance.id);
      runtime.wake(instance.id);
    },

    /** Another Node-RED for the instance: its agent starts the flows again on it. */
    async setNodeRedVersion(id: string, version: string, ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      if (instance.node_red_version === version) return;
      requireOffered(version);
      await changeInstance(instance, ctx, async (tx) => {
        await store.updateInstance(id, { node_red_version: version, updated_at: iso() }, tx.trx);
        await tx.record({ event: 'instance.node-red-version.changed', ...audit(instance), details: { from: instance.node_red_version, to: version } });
      });
    },

    async setEndpointAccess(id: string, access: 'login' | 'public', ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateInstance(id, { endpoint_access: access, updated_at: iso() }, tx.trx);
        await tx.record({ event: 'instance.updated', ...audit(instance), details: { endpointAccess: { from: instance.endpoint_access, to: access } } });
      });
    },

    /** Names and, for plain variables, values; secret values are never shown again. */
    async env(id: string): Promise<Array<{ name: string; value: string | null; secret: boolean }>> {
      return (await store.envOf(id)).map((e) => ({ name: e.name, value: e.secret ? null : e.value, secret: e.secret === 1 }));
    },

    async setEnv(id: string, vars: EnvVarInput[], ctx: RequestContext): Promise<void> {
      const instance = await requireInstance(id);
      const names = new Set<string>();
      for (const v of vars) {
        if (names.has(v.name)) throw new ValidationError(`The variable ${v.name} is given twice.`, [{ field: 'env', message: `${v.name} given twice` }]);
        names.add(v.name);
      }
      await changeInstance(instance, ctx, async (tx) => {
        const existing = new Map((await store.envOf(id, tx.trx)).map((e) => [e.name, e]));
        const rows: InstanceEnvTable[] = vars.map((v) => {
          const kept = existing.get(v.name);
          if (v.value === undefined) {
            if (!kept || kept.secret !== 1 || !v.secret) throw new ValidationError(`Give a value for ${v.name}.`, [{ field: 'env', message: `${v.name} needs a value` }]);
            return kept;
          }
          return { instance_id: id, name: v.name, value: v.secret ? secrets.seal(v.value) : v.value, secret: v.secret ? 1 : 0 };
        });
        await store.replaceEnv(id, rows, tx.trx);
        // Names only: the audit log never holds a secret value.
        await tx.record({
          event: 'instance.env.updated',
          ...audit(instance),
          details: { names: vars.map((v) => v.name), secret: vars.filter((v) => v.secret).map((v) => v.name) },
        });
      });
    },

    /** Plain values for the agent, secrets opened. */
    async envForAgent(id: string): Promise<Array<{ name: string; value: string }>> {
      return (await store.envOf(id)).map((e) => ({ name: e.name, value: e.secret ? secrets.open(e.value).toString('utf8') : e.value }));
    },

    async recordStatus(
      instance: InstancesTable,
      report: {
        state: InstanceStatus;
        runningSnapshotId: string | null;
        nodeRedPort: number | null;
        error: string | null;
        facts?: (MachineFacts & { agentVersion: string }) | undefined;
      },
    ): Promise<void> {
      // Wherever Node-RED runs, whatever the state says: after a failed deploy the agent reports
      // 'error' with the last good snapshot running again, and its editor must stay reachable.
      runtime.setPort(instance.id, instance.desired_state === 'stopped' ? null : report.nodeRedPort);
      if (report.state !== 'starting') runtime.started(instance.id);
      const status = instance.desired_state === 'stopped' ? 'stopped' : report.state;
      // The inventory's facts and last report: facts when they change, the last report at most
      // once a minute (a report every 30 s per instance is not worth a write each).
      const now = iso();
      const seen: Partial<InstancesTable> = {};
      const facts = report.facts ? JSON.stringify(report.facts) : null;
      if (facts !== null && facts !== instance.facts) Object.assign(seen, { facts, facts_reported_at: now });
      if (!instance.last_seen_at || Date.parse(now) - Date.parse(instance.last_seen_at) >= LAST_SEEN_WRITE_MS) seen.last_seen_at = now;
      if (
        status === instance.status &&
        report.runningSnapshotId === instance.running_snapshot_id &&
        (report.error === instance.status_detail || (status === 'stopped' && report.error === null))
      ) {
        if (Object.keys(seen).length > 0) await store.updateInstance(instance.id, seen);
        return;
      }
      // First: should the status write fail, the agent's next report records both.
      if (status === 'running' && report.runningSnapshotId && (instance.status !== 'running' || instance.running_snapshot_id !== report.runningSnapshotId)) {
        await store.recordRun(instance.id, report.runningSnapshotId, iso());
      }
      // A stopped instance keeps why the platform stopped it (stopForLimit) until someone starts it.
      const detail = instance.desired_state === 'stopped' ? (report.error ?? instance.status_detail) : report.error;
      await store.updateInstance(instance.id, { ...seen, status, status_detail: detail, running_snapshot_id: report.runningSnapshotId, updated_at: iso() });
    },

    /** Starts the agents of instances that should run: at platform start. */
    async resumeAll(): Promise<number> {
      const instances = await store.instancesToRun();
      for (const i of instances) await launch(i.id);
      return instances.length;
    },

    credentialSecret: (instance: InstancesTable) => secrets.open(instance.credential_secret_enc).toString('utf8'),
    editorKey,
    /** What the proxy shows a hosted instance's HTTP-in endpoints (settings-file.ts, endpointGate): derived, so nothing more is stored. */
    endpointKey: (instance: InstancesTable): string => createHmac('sha256', editorKey(instance)).update('flowgate app endpoints').digest('hex'),
  };
}

export type ApplicationsService = ReturnType<typeof createApplicationsService>;

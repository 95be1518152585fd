import { createHmac, randomUUID } from 'node:crypto';
import {
  canonicalJson,
  countFlowNodes,
  diffEnv,
  diffFlows,
  diffModules,
  diffSettings,
  isEnvName,
  isNodeRedVersion,
  refusedModules,
  snapshotHash,
  validateFlows,
  validateModules,
  type EnvDiff,
  type FlowDiff,
  type ModulesDiff,
  type NodeRedNode,
  type SettingChange,
  type SnapshotContent,
  type SnapshotModule,
} from '@flowgate/core';
import type { Clock, RequestContext } from '../../context.ts';
import type { InstancesTable, SnapshotsTable } from '../../db/schema.ts';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError } from '../../http/errors.ts';
import { safeEqual } from '../../security/crypto.ts';
import type { AuditedTransaction, AuditEventInput, AuditLog } from '../audit/audit.service.ts';
import { DEFAULT_AUTO_SNAPSHOT_RETENTION, type ApplicationsService } from '../applications/applications.service.ts';
import type { ApplicationsStore } from '../applications/applications.store.ts';
import type { InstanceRuntime } from '../applications/instance-runtime.ts';
import { CredentialSecretError, reencryptCredentials } from './node-red-credentials.ts';
import { snapshotActions } from './snapshots.policy.ts';
import type { Holds } from '../../http/holds.ts';
import type { Running, Runs, RunsNow, SnapshotsStore, SnapshotSummary } from './snapshots.store.ts';

function runsNow(hash: string, running: Running): RunsNow['runs_now'] {
  return { instance: running.instanceHash === hash, devices: running.devices.get(hash) ?? 0 };
}

export interface SnapshotFile {
  format: 'flowgate-snapshot';
  version: 2;
  name: string;
  description: string;
  createdAt: string;
  /** snapshotHash(content), with the credentials as encrypted under the export secret. */
  hash: string;
  /** exportSeal(secret, hash). */
  seal: string;
  content: SnapshotContent;
}

/**
 * Binds an exported file to the secret it was exported under. Only someone who knows the
 * secret can make or check it: a wrong secret is told apart even when the flows hold no
 * credentials to decrypt, and a file edited and hashed again after export is refused.
 */
export function exportSeal(secret: string, hash: string): string {
  return createHmac('sha256', secret).update(`flowgate-snapshot-export:${hash}`).digest('hex');
}

export interface SnapshotsDeps {
  store: SnapshotsStore;
  applicationsStore: ApplicationsStore;
  applications: ApplicationsService;
  runtime: InstanceRuntime;
  auditLog: AuditLog;
  clock: Clock;
}

/** A refusal on record (DomainError.audited); anything else is not a refusal but a fault, and goes on as it is. */
function refusal(error: unknown, event: AuditEventInput): never {
  throw error instanceof DomainError ? error.audited(event) : error;
}

export function createSnapshotsService(deps: SnapshotsDeps) {
  const { store, applicationsStore, applications, runtime, auditLog, clock } = deps;
  const iso = () => clock.now().toISOString();

  async function requireSnapshot(id: string): Promise<SnapshotsTable> {
    const snapshot = await store.byId(id);
    if (!snapshot) throw new NotFoundError('Snapshot');
    return snapshot;
  }

  function contentOf(snapshot: SnapshotsTable): SnapshotContent {
    return JSON.parse(snapshot.content) as SnapshotContent;
  }

  /** The stored content must still hash to the snapshot's identity (SR 3.4). */
  function verified(snapshot: SnapshotsTable): SnapshotContent {
    const content = contentOf(snapshot);
    if (snapshotHash(content) !== snapshot.hash) {
      throw new ConflictError(
        `Snapshot ${snapshot.id} no longer matches its hash ${snapshot.hash.slice(0, 12)}: its stored content was altered, and it is not used: not deployed, shown, compared, exported, copied or described in an SBOM.`,
      );
    }
    return content;
  }

  /** verified(), for a read (shown, compared, exported, copied, described in an SBOM): a mismatch is refused and on record. */
  function readVerified(snapshot: SnapshotsTable, action: 'show' | 'compare' | 'export' | 'copy' | 'sbom'): SnapshotContent {
    try {
      return verified(snapshot);
    } catch (error) {
      return refusal(error, {
        event: 'snapshot.integrity.failed',
        outcome: 'failure',
        target: { type: 'snapshot', id: snapshot.id },
        teamId: snapshot.team_id,
        details: { action, hash: snapshot.hash },
      });
    }
  }

  function checkedFlows(flows: unknown, field = 'flows'): NodeRedNode[] {
    const result = validateFlows(flows);
    if (!result.ok)
      throw new ValidationError(
        `These are not valid Node-RED flows: ${result.errors.slice(0, 5).join(' ')}`,
        result.errors.slice(0, 20).map((message) => ({ field, message })),
      );
    return result.flows;
  }

  function checkedModules(modules: unknown, field = 'modules'): SnapshotModule[] {
    const result = validateModules(modules);
    if (!result.ok)
      throw new ValidationError(
        `These are not node modules a snapshot can hold: ${result.errors.slice(0, 5).join(' ')}`,
        result.errors.slice(0, 20).map((message) => ({ field, message })),
      );
    return result.modules;
  }

  /**
   * The runtime settings a snapshot records: the Node-RED version the instance ran when it was
   * made. For the record and the change review; deploying a snapshot does not change them.
   */
  function settingsOfInstance(instance: InstancesTable): SnapshotContent['settings'] {
    return { nodeRedVersion: instance.node_red_version };
  }

  /** An imported file's settings: those this platform records (or none, from before they were), nothing else. */
  function checkedSettings(settings: Record<string, unknown>): SnapshotContent['settings'] {
    const unknown = Object.keys(settings).filter((name) => name !== 'nodeRedVersion');
    if (unknown.length > 0)
      throw new ValidationError(`The file records settings this platform does not know: ${unknown.slice(0, 5).join(', ')}.`, [
        { field: 'content.settings', message: `unknown: ${unknown.slice(0, 5).join(', ')}` },
      ]);
    if (settings.nodeRedVersion !== undefined && !isNodeRedVersion(settings.nodeRedVersion)) {
      throw new ValidationError('The file records a Node-RED version that is not one.', [{ field: 'content.settings.nodeRedVersion', message: 'must be a version such as 4.1.8' }]);
    }
    return settings;
  }

  /** An imported file's variables: names as an instance's, each once; a secret one with no value (a snapshot never holds one). */
  function checkedEnv(env: SnapshotContent['env']): SnapshotContent['env'] {
    const problems: Array<{ field: string; message: string }> = [];
    const seen = new Set<string>();
    env.forEach((variable, i) => {
      if (!isEnvName(variable.name)) problems.push({ field: `content.env[${i}].name`, message: `"${String(variable.name).slice(0, 40)}" is not a variable name` });
      else if (seen.has(variable.name)) problems.push({ field: `content.env[${i}].name`, message: `${variable.name} is named twice` });
      seen.add(variable.name);
      if (variable.secret && variable.value !== null)
        problems.push({ field: `content.env[${i}].value`, message: `${variable.name} is secret, and a snapshot holds no secret value` });
      if (!variable.secret && variable.value === null) problems.push({ field: `content.env[${i}].value`, message: `${variable.name} is plain and has no value` });
    });
    if (problems.length > 0)
      throw new ValidationError(
        `The file's environment variables are not valid: ${problems
          .slice(0, 5)
          .map((p) => p.message)
          .join('; ')}.`,
        problems.slice(0, 20),
      );
    return env;
  }

  async function envOfInstance(instanceId: string): Promise<SnapshotContent['env']> {
    return (await applications.env(instanceId)).map((e) => ({ name: e.name, value: e.secret ? null : e.value, secret: e.secret }));
  }

  function build(
    instance: InstancesTable,
    meta: { name: string; description: string; kind: SnapshotsTable['kind'] },
    content: SnapshotContent,
    ctx: RequestContext,
  ): SnapshotsTable {
    const canonical = canonicalJson(content);
    return {
      id: randomUUID(),
      instance_id: instance.id,
      team_id: instance.team_id,
      hash: snapshotHash(content),
      name: meta.name.trim(),
      description: meta.description.trim(),
      kind: meta.kind,
      content: canonical,
      // The nodes on the flows, as a person counts them: not the file's records (countFlowNodes).
      node_count: countFlowNodes(content.flows),
      created_by: ctx.actor.userId,
      created_by_label: ctx.actor.label,
      created_at: iso(),
    };
  }

  async function insertAudited(snapshot: SnapshotsTable, ctx: RequestContext, extra: Record<string, unknown> = {}): Promise<void> {
    await auditLog.transaction(ctx, async (tx) => {
      await store.insert(snapshot, tx.trx);
      await tx.record({
        event: 'snapshot.created',
        target: { type: 'snapshot', id: snapshot.id },
        teamId: snapshot.team_id,
        details: { instanceId: snapshot.instance_id, name: snapshot.name, kind: snapshot.kind, hash: snapshot.hash, nodes: snapshot.node_count, ...extra },
      });
    });
  }

  /**
   * Makes the snapshot the instance's target. `mayDeployAny` is the caller's
   * applications:write: without it (an operator), only a roll back, to a snapshot that has run
   * on this instance before; one that never ran here changes the flows, which is a member's.
   */
  async function deploy(instanceId: string, snapshotId: string, ctx: RequestContext, holds: Holds): Promise<void> {
    const instance = await applications.requireInstance(instanceId);
    const snapshot = await requireSnapshot(snapshotId);
    if (snapshot.instance_id !== instance.id) throw new NotFoundError('Snapshot');
    const ran = await store.runOf(snapshot.id);
    if (!snapshotActions(holds, { ranHere: ran !== undefined }).deploy) {
      throw new ForbiddenError(
        'Your role may roll back to a snapshot that has run on this instance before; this one never ran here, and deploying it changes the flows: that needs applications:write (owner or member).',
      ).audited({
        event: 'auth.access.denied',
        teamId: instance.team_id,
        target: { type: 'snapshot', id: snapshot.id },
        details: {
          method: 'POST',
          route: '/api/instances/:instanceId/deploy',
          permission: 'applications:write',
          reason: 'not a roll back: the snapshot has never run on this instance',
        },
      });
    }
    const rollback = ran !== undefined;
    const refuse = (reason: string, error: unknown): never =>
      refusal(error, {
        event: 'snapshot.apply.failed',
        outcome: 'failure',
        target: { type: 'snapshot', id: snapshot.id },
        teamId: instance.team_id,
        details: { instanceId, reason },
      });
    let content: SnapshotContent;
    try {
      content = verified(snapshot);
    } catch (error) {
      return refuse('hash mismatch on the platform', error);
    }
    // The agent would refuse it too; said here, before anything changes on the instance.
    const refused = refusedModules(content.modules, await applications.palette(instance.team_id));
    if (refused.length > 0) {
      const names = refused.join(', ');
      refuse(
        `node modules the team's palette lists do not allow: ${names}`,
        new ConflictError(`This snapshot holds node modules the team's palette lists do not allow (${names}): change the lists or deploy another snapshot.`),
      );
    }
    await auditLog.transaction(ctx, async (tx) => {
      await applicationsStore.updateInstance(instance.id, { target_snapshot_id: snapshot.id }, tx.trx);
      await applicationsStore.bumpGeneration(instance.id, iso(), tx.trx);
      await tx.record({
        event: 'snapshot.deployed',
        target: { type: 'instance', id: instance.id },
        teamId: instance.team_id,
        details: { snapshotId: snapshot.id, name: snapshot.name, hash: snapshot.hash, from: instance.running_snapshot_id, rollback },
      });
    });
    runtime.wake(instance.id);
  }

  /**
   * Keeps the newest `keep` automatic snapshots of an instance and deletes the rest, in the
   * caller's transaction and audited: never one that runs, is the target, or that devices,
   * groups or rollouts name.
   */
  async function pruneAutomatic(instance: InstancesTable, keep: number, tx: AuditedTransaction): Promise<void> {
    const protectedIds = [instance.target_snapshot_id, instance.running_snapshot_id].filter((x): x is string => x !== null);
    const expired = await store.expiredAuto(instance.id, keep, protectedIds, tx.trx);
    if (!expired.length) return;
    await store.delete(
      expired.map((e) => e.id),
      tx.trx,
    );
    await tx.record({ event: 'snapshot.deleted', target: { type: 'instance', id: instance.id }, teamId: instance.team_id, details: { retention: keep, removed: expired } });
  }

  return {
    requireSnapshot,
    pruneAutomatic,
    contentOf,
    readVerified,
    /** Newest first, each with when it ran on its instance and where it runs now. */
    async list(instanceId: string): Promise<Array<SnapshotSummary & Runs & RunsNow>> {
      const instance = await applications.requireInstance(instanceId);
      const [rows, running] = await Promise.all([store.listOfInstance(instanceId), store.running(instanceId, instance.team_id)]);
      return rows.map((row) => ({ ...row, runs_now: runsNow(row.hash, running) }));
    },

    /** By hand: a copy of what runs now, or of flows the person gives (validated). */
    async create(instanceId: string, input: { name: string; description: string; flows?: unknown }, ctx: RequestContext): Promise<SnapshotsTable> {
      const instance = await applications.requireInstance(instanceId);
      let content: SnapshotContent;
      if (input.flows !== undefined) {
        let flows: NodeRedNode[];
        try {
          flows = checkedFlows(input.flows);
        } catch (error) {
          // Refused and nothing written; the attempt is on record all the same.
          if (error instanceof ValidationError) {
            throw error.audited({
              event: 'snapshot.created',
              outcome: 'failure',
              target: { type: 'instance', id: instanceId },
              teamId: instance.team_id,
              details: { name: input.name, reason: error.message.slice(0, 500) },
            });
          }
          throw error;
        }
        content = { flows, credentials: null, settings: settingsOfInstance(instance), env: await envOfInstance(instanceId), modules: [] };
      } else {
        if (!instance.running_snapshot_id) throw new ConflictError('Nothing runs on this instance yet: deploy flows first, or give flows.');
        content = readVerified(await requireSnapshot(instance.running_snapshot_id), 'copy');
      }
      const snapshot = build(instance, { name: input.name, description: input.description, kind: 'manual' }, content, ctx);
      await insertAudited(snapshot, ctx);
      return snapshot;
    },

    deploy,

    /** What GET /api/snapshots/:id shows: the content, checked against the hash first. */
    async show(snapshotId: string): Promise<{ snapshot: SnapshotsTable & Runs & RunsNow; content: SnapshotContent }> {
      const snapshot = await requireSnapshot(snapshotId);
      const content = readVerified(snapshot, 'show');
      const [ran, running] = await Promise.all([store.runOf(snapshot.id), store.running(snapshot.instance_id, snapshot.team_id)]);
      return { snapshot: { ...snapshot, first_ran_at: ran?.first_ran_at ?? null, last_ran_at: ran?.last_ran_at ?? null, runs_now: runsNow(snapshot.hash, running) }, content };
    },

    /**
     * What the agent reports after a deploy in the editor: it runs already, so it is what runs,
     * and the target too, unless the target changed since the editor's flows were deployed over
     * `basedOn` (the snapshot the runtime ran then): a deploy or rollback made through the
     * platform meanwhile is the later decision, and the agent goes on to apply it. Without
     * `basedOn` (an older agent) it becomes the target.
     */
    async recordEditorDeploy(
      instance: InstancesTable,
      input: { flows: unknown; credentials: string | null; user: string | null; modules?: unknown; basedOn?: string | null },
      ctx: RequestContext,
    ): Promise<SnapshotsTable & { becameTarget: boolean }> {
      // The modules are those installed in the instance's Node-RED (its user directory), as the agent reads them.
      const content: SnapshotContent = {
        flows: checkedFlows(input.flows),
        credentials: input.credentials,
        settings: settingsOfInstance(instance),
        env: await envOfInstance(instance.id),
        modules: checkedModules(input.modules ?? []),
      };
      const snapshot = build(instance, { name: `Deployed from the editor`, description: input.user ? `by ${input.user}` : '', kind: 'auto' }, content, ctx);
      snapshot.created_by_label = input.user ?? ctx.actor.label;
      const becameTarget = await auditLog.transaction(ctx, async (tx) => {
        await store.insert(snapshot, tx.trx);
        const expected = input.basedOn === undefined ? ((await applicationsStore.instanceById(instance.id, tx.trx))?.target_snapshot_id ?? null) : input.basedOn;
        const replaced = await applicationsStore.replaceTarget(instance.id, expected, snapshot.id, tx.trx);
        await applicationsStore.updateInstance(instance.id, { running_snapshot_id: snapshot.id }, tx.trx);
        // Node-RED accepted the deploy: these flows run now.
        await applicationsStore.recordRun(instance.id, snapshot.id, snapshot.created_at, tx.trx);
        if (replaced) await applicationsStore.bumpGeneration(instance.id, iso(), tx.trx);
        await tx.record({
          event: 'snapshot.created',
          target: { type: 'snapshot', id: snapshot.id },
          teamId: instance.team_id,
          details: { instanceId: instance.id, name: snapshot.name, kind: 'auto', hash: snapshot.hash, nodes: snapshot.node_count, deployedBy: input.user, becameTarget: replaced },
        });
        const fresh = (await applicationsStore.instanceById(instance.id, tx.trx))!;
        const settings = await applicationsStore.teamSettings(instance.team_id, tx.trx);
        // What is target and what runs now are kept; the automatic ones before them are history.
        await pruneAutomatic(fresh, settings?.auto_snapshot_retention ?? DEFAULT_AUTO_SNAPSHOT_RETENTION, tx);
        return replaced;
      });
      return { ...snapshot, becameTarget };
    },

    /**
     * The change review between two snapshots of the instance's team: of the instance, or
     * one of another instance (staging against production). `to` 'running': what the
     * instance runs. A snapshot of another team is not found.
     */
    async diff(
      instanceId: string,
      fromId: string,
      toId: string | 'running',
    ): Promise<{
      from: SnapshotsTable;
      to: SnapshotsTable;
      fromInstance: InstancesTable;
      toInstance: InstancesTable;
      diff: FlowDiff;
      modules: ModulesDiff;
      settings: SettingChange[];
      env: EnvDiff;
    }> {
      const instance = await applications.requireInstance(instanceId);
      const from = await requireSnapshot(fromId);
      const toSnapshotId = toId === 'running' ? instance.running_snapshot_id : toId;
      if (!toSnapshotId) throw new ConflictError('Nothing runs on this instance yet.');
      const to = await requireSnapshot(toSnapshotId);
      if (from.team_id !== instance.team_id || to.team_id !== instance.team_id) throw new NotFoundError('Snapshot');
      const instanceOf = (s: SnapshotsTable) => (s.instance_id === instance.id ? instance : applications.requireInstance(s.instance_id));
      const before = readVerified(from, 'compare');
      const after = readVerified(to, 'compare');
      return {
        from,
        to,
        fromInstance: await instanceOf(from),
        toInstance: await instanceOf(to),
        diff: diffFlows(before.flows, after.flows),
        modules: diffModules(before.modules, after.modules),
        settings: diffSettings(before.settings, after.settings),
        env: diffEnv(before.env, after.env),
      };
    },

    async exportFile(snapshotId: string, secret: string, ctx: RequestContext): Promise<SnapshotFile> {
      const snapshot = await requireSnapshot(snapshotId);
      const instance = await applications.requireInstance(snapshot.instance_id);
      const content = readVerified(snapshot, 'export');
      const exported: SnapshotContent = { ...content, credentials: reencryptCredentials(content.credentials, applications.credentialSecret(instance), secret) };
      await auditLog.record(ctx, {
        event: 'snapshot.exported',
        target: { type: 'snapshot', id: snapshot.id },
        teamId: snapshot.team_id,
        details: { hash: snapshot.hash, withCredentials: content.credentials !== null },
      });
      const hash = snapshotHash(exported);
      return {
        format: 'flowgate-snapshot',
        version: 2,
        name: snapshot.name,
        description: snapshot.description,
        createdAt: snapshot.created_at,
        hash,
        seal: exportSeal(secret, hash),
        content: exported,
      };
    },

    async importFile(instanceId: string, file: SnapshotFile, secret: string, ctx: RequestContext): Promise<SnapshotsTable> {
      const instance = await applications.requireInstance(instanceId);
      const refuse = (reason: string, error: unknown): never =>
        refusal(error, { event: 'snapshot.import.failed', outcome: 'failure', target: { type: 'instance', id: instanceId }, teamId: instance.team_id, details: { reason } });
      let hash: string;
      try {
        hash = snapshotHash(file.content);
      } catch (error) {
        return refuse('content is not canonical JSON', new ValidationError(`The file's content is not valid: ${(error as Error).message}`));
      }
      if (hash !== file.hash)
        return refuse(
          'hash mismatch',
          new ValidationError('The file was altered: its content does not match its hash.', [{ field: 'hash', message: 'does not match the content' }]),
        );
      if (!safeEqual(exportSeal(secret, hash), file.seal)) {
        return refuse(
          'wrong secret',
          new ValidationError('The secret is not the one this file was exported under, or the file was altered after export. Give the secret used at export.', [
            { field: 'secret', message: 'does not match the file' },
          ]),
        );
      }
      let modules: SnapshotModule[];
      try {
        checkedFlows(file.content.flows, 'content.flows');
      } catch (error) {
        return refuse('invalid flows', error);
      }
      try {
        modules = checkedModules(file.content.modules, 'content.modules');
      } catch (error) {
        return refuse('invalid node modules', error);
      }
      try {
        checkedSettings(file.content.settings);
      } catch (error) {
        return refuse('invalid settings', error);
      }
      try {
        checkedEnv(file.content.env);
      } catch (error) {
        return refuse('invalid environment variables', error);
      }
      let credentials: string | null;
      try {
        credentials = reencryptCredentials(file.content.credentials, secret, applications.credentialSecret(instance));
      } catch (error) {
        if (error instanceof CredentialSecretError)
          return refuse(
            'wrong secret',
            new ValidationError(`${error.message} Give the secret used at export.`, [{ field: 'secret', message: 'does not decrypt the credentials' }]),
          );
        throw error;
      }
      const content: SnapshotContent = { ...file.content, credentials, modules };
      const snapshot = build(instance, { name: file.name, description: file.description, kind: 'import' }, content, ctx);
      await insertAudited(snapshot, ctx, { importedHash: file.hash });
      return snapshot;
    },
  };
}

export type SnapshotsService = ReturnType<typeof createSnapshotsService>;

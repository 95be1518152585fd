import { randomBytes, randomUUID } from 'node:crypto';
import { FAILED_AGENT_STATES } from '@flowgate/protocol';
import { createChangeSignals } from '../../change-signals.ts';
import { SYSTEM_CONTEXT, type Clock, type RequestContext } from '../../context.ts';
import type { DeviceGroupsTable, DevicesTable, RolloutDevicesTable, RolloutDeviceState, RolloutsTable } from '../../db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../http/errors.ts';
import { checkedByRoute } from '../../http/holds.ts';
import { rolloutActions, type RolloutAction } from './rollouts.policy.ts';
import { deviceActions } from './devices.policy.ts';
import { createRecentLogs } from '../../recent-logs.ts';
import type { SecretBox } from '../../security/crypto.ts';
import type { ApplicationsService } from '../applications/applications.service.ts';
import type { ApplicationsStore } from '../applications/applications.store.ts';
import type { AuditedTransaction, AuditLog } from '../audit/audit.service.ts';
import type { SnapshotsStore } from '../snapshots/snapshots.store.ts';
import type { DeploymentsStore, WaveDevice } from './deployments.store.ts';
import type { FleetStore } from './fleet.store.ts';

/**
 * What devices run: a target snapshot per device, set directly or by a rollout to a
 * device group; the desired state a device's agent reconciles to; and the rollout engine.
 *
 * A rollout goes in waves. A wave's devices are given the target at once; a device is
 * healthy when it has reported running the snapshot for the rollout's health window, and
 * has failed when it reports a failure (refused hash, failed health check, crash) or is
 * not healthy before the wave times out. The next wave starts when every device of the
 * current one is healthy, failed or gone; the rollout halts when more devices have failed
 * than it allows. The engine runs in this process, on a timer and whenever a device in a
 * wave reports: its state is all in the database, so a restart picks it up where it was.
 */

export const ROLLOUT_TICK_MS = 1000;
export const DEFAULT_HEALTH_SECONDS = 30;
export const DEFAULT_WAVE_TIMEOUT_SECONDS = 600;
export const DEFAULT_BATCH_PERCENT = 10;
/** How long a device's long poll for its desired state may wait. */
export const DESIRED_WAIT_MAX_SECONDS = 30;

export interface RolloutInput {
  snapshotId: string;
  /** Devices per wave; or batchPercent of the group's devices. Default: 10 %. */
  batchSize?: number | undefined;
  batchPercent?: number | undefined;
  maxFailures?: number | undefined;
  healthSeconds?: number | undefined;
  waveTimeoutSeconds?: number | undefined;
}

export interface DeploymentsDeps {
  store: DeploymentsStore;
  fleetStore: FleetStore;
  snapshotsStore: SnapshotsStore;
  applicationsStore: ApplicationsStore;
  applications: ApplicationsService;
  auditLog: AuditLog;
  secrets: SecretBox;
  clock: Clock;
  log: { error(obj: object, msg: string): void };
  /** Writes the device reports that wait in memory: the engine judges what the database says. */
  flushDeviceStatus: () => Promise<unknown>;
  /** Tells a device over MQTT that its desired state changed (its long poll hears it anyway). */
  notifyDevice?: (deviceId: string) => void;
  tickMs?: number;
}

const FAILED_DEVICE_STATES: ReadonlySet<DevicesTable['state']> = FAILED_AGENT_STATES;
const DONE: ReadonlySet<RolloutDeviceState> = new Set(['healthy', 'failed', 'skipped']);

export function createDeploymentsService(deps: DeploymentsDeps) {
  const { store, fleetStore, snapshotsStore, applicationsStore, applications, auditLog, secrets, clock } = deps;
  const signals = createChangeSignals();
  /** A device's desired state changed: wake its long poll, and tell it over MQTT. */
  const announce = (deviceId: string) => {
    signals.wake(deviceId);
    deps.notifyDevice?.(deviceId);
  };
  const logs = createRecentLogs();
  /**
   * A snapshot's hash and the credential secret of the instance it was taken on. Neither
   * ever changes, so they are kept once read: every long poll and check-in of thousands of
   * devices needs them.
   */
  const origins = new Map<string, { hash: string; credentialSecret: string }>();
  async function snapshotOrigin(snapshotId: string): Promise<{ hash: string; credentialSecret: string } | null> {
    const known = origins.get(snapshotId);
    if (known) return known;
    const snapshot = await snapshotsStore.summaryById(snapshotId);
    const instance = snapshot ? await applicationsStore.instanceById(snapshot.instance_id) : undefined;
    if (!snapshot || !instance) return null;
    const origin = { hash: snapshot.hash, credentialSecret: applications.credentialSecret(instance) };
    if (origins.size >= 10_000) origins.clear();
    origins.set(snapshotId, origin);
    return origin;
  }
  const iso = () => clock.now().toISOString();
  const engine: RequestContext = { ...SYSTEM_CONTEXT, actor: { type: 'system', userId: null, label: 'rollout engine' } };

  async function requireDevice(id: string): Promise<DevicesTable> {
    const device = await fleetStore.deviceById(id);
    if (!device) throw new NotFoundError('Device');
    return device;
  }
  async function requireGroup(id: string): Promise<DeviceGroupsTable> {
    const group = await fleetStore.groupById(id);
    if (!group) throw new NotFoundError('Device group');
    return group;
  }
  async function requireRollout(id: string): Promise<RolloutsTable> {
    const rollout = await store.rolloutById(id);
    if (!rollout) throw new NotFoundError('Rollout');
    return rollout;
  }
  /** A snapshot of the team's own, for a target: another team's answers as unknown. */
  async function teamSnapshot(teamId: string, snapshotId: string) {
    const snapshot = await snapshotsStore.summaryById(snapshotId);
    if (!snapshot || snapshot.team_id !== teamId) throw new ValidationError("The snapshot is not one of this team's.", [{ field: 'snapshotId', message: 'unknown snapshot' }]);
    return snapshot;
  }

  /** A device registered before its Node-RED secrets existed gets them on first ask. */
  async function deviceSecrets(device: DevicesTable): Promise<{ credentialSecret: string; editorKey: string }> {
    if (!device.credential_secret_enc || !device.editor_key_enc) {
      const credentialSecret = randomBytes(32).toString('hex');
      const editorKey = randomBytes(32).toString('hex');
      await fleetStore.updateDevice(device.id, { credential_secret_enc: secrets.seal(credentialSecret), editor_key_enc: secrets.seal(editorKey) });
      return { credentialSecret, editorKey };
    }
    return { credentialSecret: secrets.open(device.credential_secret_enc).toString('utf8'), editorKey: secrets.open(device.editor_key_enc).toString('utf8') };
  }

  // --- The rollout engine -----------------------------------------------------------------

  let nudgeTimer: NodeJS.Timeout | null = null;

  /** What a wave's device now is, from what it last reported; null when unchanged. */
  function judge(rollout: RolloutsTable, d: WaveDevice, now: number): { state: RolloutDeviceState; detail: string | null; reached?: boolean } | null {
    if (d.revoked_at) return { state: 'skipped', detail: 'the device was revoked' };
    const runsIt = d.running_snapshot_id === rollout.snapshot_id && d.device_state === 'running';
    if (runsIt) {
      if (d.state === 'updating') return rollout.health_seconds === 0 ? { state: 'healthy', detail: null } : { state: 'verifying', detail: null, reached: true };
      if (d.state === 'verifying' && now - Date.parse(d.reached_at!) >= rollout.health_seconds * 1000) return { state: 'healthy', detail: null };
    } else if (FAILED_DEVICE_STATES.has(d.device_state)) {
      return { state: 'failed', detail: d.status_detail ?? `the device reported ${d.device_state}` };
    } else if (d.state === 'verifying') {
      return { state: 'failed', detail: 'the device stopped running the snapshot inside the health window' };
    }
    if (now - Date.parse(d.started_at!) >= rollout.wave_timeout_seconds * 1000) {
      return { state: 'failed', detail: `not healthy within ${rollout.wave_timeout_seconds} s of its wave's start` };
    }
    return null;
  }

  /** Gives a wave's devices the target, in the caller's transaction; returns them, to be told once it commits. */
  async function startWave(tx: AuditedTransaction, rollout: RolloutsTable, wave: number): Promise<string[]> {
    const at = iso();
    const ids = await store.waveDeviceIds(rollout.id, wave, tx.trx);
    await store.startWave(rollout.id, wave, at, tx.trx);
    await store.setTargets(ids, rollout.snapshot_id, tx.trx);
    await store.updateRollout(rollout.id, { current_wave: wave, updated_at: at }, tx.trx);
    await tx.record({
      event: 'rollout.wave.started',
      target: { type: 'rollout', id: rollout.id },
      teamId: rollout.team_id,
      details: { wave, of: rollout.wave_count, devices: ids.length, snapshotId: rollout.snapshot_id, groupId: rollout.group_id },
    });
    return ids;
  }

  async function finish(tx: AuditedTransaction, rollout: RolloutsTable, state: 'halted' | 'completed', detail: string | null): Promise<void> {
    const at = iso();
    await store.updateRollout(rollout.id, { state, detail, updated_at: at, finished_at: state === 'completed' ? at : null }, tx.trx);
    if (state === 'completed') await store.setGroupTarget(rollout.group_id, rollout.snapshot_id, tx.trx);
    await tx.record({
      event: state === 'completed' ? 'rollout.completed' : 'rollout.halted',
      outcome: state === 'completed' ? 'success' : 'failure',
      target: { type: 'rollout', id: rollout.id },
      teamId: rollout.team_id,
      details: { snapshotId: rollout.snapshot_id, groupId: rollout.group_id, wave: rollout.current_wave, reason: detail },
    });
  }

  /**
   * One step of one running rollout: judge its current wave, then halt, go on or finish. What
   * the step changes commits as one: the devices' verdicts, the failures and the wave's end
   * in the audit log, and the next wave or the rollout's end.
   */
  async function advance(rollout: RolloutsTable): Promise<void> {
    if (rollout.current_wave === 0) {
      const ids = await auditLog.transaction(engine, (tx) => startWave(tx, rollout, 1));
      for (const id of ids) announce(id);
      return;
    }
    const now = clock.now().getTime();
    const at = new Date(now).toISOString();
    const devices = await store.waveDevices(rollout.id, rollout.current_wave);
    const changes = new Map<string, { patch: Partial<RolloutDevicesTable>; ids: string[] }>();
    const failures: Array<{ deviceId: string; reason: string | null }> = [];
    const tally: Record<'healthy' | 'failed' | 'skipped', number> = { healthy: 0, failed: 0, skipped: 0 };
    for (const d of devices) {
      const verdict = DONE.has(d.state) ? null : judge(rollout, d, now);
      const state = verdict?.state ?? d.state;
      if (state === 'healthy' || state === 'failed' || state === 'skipped') tally[state] += 1;
      if (!verdict) continue;
      if (verdict.state === 'failed') failures.push({ deviceId: d.device_id, reason: verdict.detail });
      const patch: Partial<RolloutDevicesTable> = {
        state: verdict.state,
        detail: verdict.detail,
        ...(verdict.reached ? { reached_at: at } : {}),
        ...(DONE.has(verdict.state) ? { finished_at: at } : {}),
      };
      const key = JSON.stringify(patch);
      const entry = changes.get(key) ?? { patch, ids: [] };
      entry.ids.push(d.device_id);
      changes.set(key, entry);
    }
    const waveDone = tally.healthy + tally.failed + tally.skipped === devices.length;
    if (changes.size === 0 && !waveDone) return;
    const started = await auditLog.transaction(engine, async (tx) => {
      for (const { patch, ids } of changes.values()) await store.setRolloutDevices(rollout.id, ids, patch, tx.trx);
      const target = { type: 'rollout', id: rollout.id };
      if (failures.length > 0) {
        await tx.record({
          event: 'rollout.devices.failed',
          outcome: 'failure',
          target,
          teamId: rollout.team_id,
          // The first hundred; the rollout's device list has them all.
          details: { wave: rollout.current_wave, count: failures.length, devices: failures.slice(0, 100) },
        });
      }
      const failed = await store.failedCount(rollout.id, tx.trx);
      if (failed > rollout.max_failures) {
        await finish(tx, rollout, 'halted', `${failed} device(s) failed; the rollout allows ${rollout.max_failures}`);
        return [];
      }
      if (!waveDone) return [];
      await tx.record({ event: 'rollout.wave.finished', target, teamId: rollout.team_id, details: { wave: rollout.current_wave, of: rollout.wave_count, ...tally } });
      if (rollout.current_wave < rollout.wave_count) return startWave(tx, rollout, rollout.current_wave + 1);
      await finish(tx, rollout, 'completed', null);
      return [];
    });
    for (const id of started) announce(id);
  }

  async function tickOnce(): Promise<void> {
    const running = await store.runningRollouts();
    if (running.length > 0) await deps.flushDeviceStatus();
    for (const rollout of running) {
      try {
        await advance(rollout);
      } catch (error) {
        deps.log.error({ err: error, rolloutId: rollout.id }, 'advancing a rollout failed; trying again on the next tick');
      }
    }
  }

  // The engine and people's pause, resume and abort take turns: no wave starts under a
  // pause that was just answered.
  let chain: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  }
  let queued: Promise<void> | null = null;
  /** Runs the engine; at most one run waits behind the one in progress, and it sees every change made before it starts. */
  function tick(): Promise<void> {
    queued ??= exclusive(async () => {
      queued = null;
      await tickOnce();
    });
    return queued;
  }

  let timer: NodeJS.Timeout | null = null;

  return {
    tick,
    /** Runs the engine on a timer from now on (health windows and timeouts pass without any report). */
    start(): void {
      timer ??= setInterval(() => void tick(), deps.tickMs ?? ROLLOUT_TICK_MS);
      timer.unref();
    },
    /** A device in a wave reported something new: look soon, once for many reports. */
    nudge(): void {
      nudgeTimer ??= setTimeout(() => {
        nudgeTimer = null;
        void tick();
      }, 50);
    },

    /** Resolves when the device's desired state changes (at once when `changedMeanwhile` says it did), or after timeoutMs. */
    waitForChange: (deviceId: string, timeoutMs: number, changedMeanwhile: () => Promise<boolean>) => signals.waitUnlessChanged(deviceId, timeoutMs, changedMeanwhile),
    wake: (deviceId: string) => signals.wake(deviceId),
    announce,
    /** Whether the device holds a long poll now: it hears a change at once. */
    listening: (deviceId: string) => signals.listening(deviceId),
    /** The key the device's Node-RED checks editor tokens with. */
    editorKeyOf: async (device: DevicesTable) => (await deviceSecrets(device)).editorKey,
    appendLogs: logs.append,
    recentLogs: logs.after,

    /**
     * The desired state of a device, in the shape the agent's reconcile loop takes from a
     * hosted instance. A target brings its instance's credential secret: the snapshot's
     * credentials are encrypted under it, and re-encrypting would change its hash.
     */
    async desiredFor(device: DevicesTable) {
      const own = await deviceSecrets(device);
      const target = device.target_snapshot_id ? await snapshotOrigin(device.target_snapshot_id) : null;
      if (device.target_snapshot_id && !target) throw new ConflictError("The device's target snapshot is gone: set another target.");
      return {
        generation: device.generation,
        instanceId: device.id,
        snapshot: target ? { id: device.target_snapshot_id!, hash: target.hash } : null,
        settings: {
          credentialSecret: target?.credentialSecret ?? own.credentialSecret,
          editorTokenKey: own.editorKey,
          httpAdminRoot: `/devices/${device.id}/editor/`,
          httpNodeRoot: '/',
          // A device's endpoints are for the people beside it, on its own network.
          endpointKey: null,
          palette: await applications.palette(device.team_id),
          // A device runs the Node-RED installed with its agent.
          nodeRedVersion: null,
        },
        env: [{ name: 'FLOWGATE_DEVICE_ID', value: device.id }],
      };
    },

    /** What a check-in answers: the target's id and hash. */
    async targetOf(device: DevicesTable): Promise<{ id: string; hash: string } | null> {
      const id = device.target_snapshot_id;
      const origin = id ? await snapshotOrigin(id) : null;
      return id && origin ? { id, hash: origin.hash } : null;
    },

    /**
     * The canonical text of the one snapshot a device may download: its target. Not what it
     * says it runs: that is the device's own word, and would let it name any of the team's.
     */
    async snapshotForDevice(device: DevicesTable, snapshotId: string): Promise<string> {
      if (snapshotId !== device.target_snapshot_id) throw new NotFoundError('Snapshot');
      const snapshot = await snapshotsStore.byId(snapshotId);
      if (!snapshot || snapshot.team_id !== device.team_id) throw new NotFoundError('Snapshot');
      return snapshot.content;
    },

    /** Points one device at a snapshot (null: the empty flow), outside any rollout. */
    async setTarget(deviceId: string, snapshotId: string | null, ctx: RequestContext): Promise<DevicesTable> {
      const device = await requireDevice(deviceId);
      const active = await store.activeRolloutOfDevice(device.id);
      if (!deviceActions(checkedByRoute, { revoked: device.revoked_at !== null, inRollout: active !== undefined }).setTarget) {
        if (active) throw new ConflictError(`The device is in rollout ${active.id} (${active.state}): abort it first, or let it finish.`);
        throw new ConflictError('The device is revoked.');
      }
      if (snapshotId !== null) await teamSnapshot(device.team_id, snapshotId);
      await auditLog.transaction(ctx, async (tx) => {
        await store.setTargets([device.id], snapshotId, tx.trx);
        await tx.record({
          event: 'device.target.set',
          target: { type: 'device', id: device.id },
          teamId: device.team_id,
          details: { from: device.target_snapshot_id, to: snapshotId },
        });
      });
      announce(device.id);
      return requireDevice(device.id);
    },

    /**
     * Points a whole group at a snapshot (null: the empty flow) at once, without waves: every
     * live device of it now, and any device that joins it later.
     */
    async setGroupTarget(groupId: string, snapshotId: string | null, ctx: RequestContext): Promise<DeviceGroupsTable> {
      const group = await requireGroup(groupId);
      if (snapshotId !== null) await teamSnapshot(group.team_id, snapshotId);
      const ids = await auditLog.transaction(ctx, async (tx) => {
        const active = await store.activeRolloutOfGroup(group.id, tx.trx);
        if (active) throw new ConflictError(`The group has rollout ${active.id} (${active.state}): abort it first, or let it finish.`);
        const ids = (await store.liveDevicesOfGroup(group.id, tx.trx)).map((d) => d.id);
        await store.setTargets(ids, snapshotId, tx.trx);
        await store.setGroupTarget(group.id, snapshotId, tx.trx);
        await tx.record({
          event: 'device.group.target.set',
          target: { type: 'device-group', id: group.id },
          teamId: group.team_id,
          details: { from: group.target_snapshot_id, to: snapshotId, devices: ids.length },
        });
        return ids;
      });
      for (const id of ids) announce(id);
      return requireGroup(group.id);
    },

    async startRollout(groupId: string, input: RolloutInput, ctx: RequestContext): Promise<RolloutsTable> {
      const group = await requireGroup(groupId);
      const snapshot = await teamSnapshot(group.team_id, input.snapshotId);
      if (input.batchSize !== undefined && input.batchPercent !== undefined) {
        throw new ValidationError('Give a batch size or a batch percentage, not both.', [{ field: 'batchSize', message: 'either batchSize or batchPercent' }]);
      }
      const devices = await store.liveDevicesOfGroup(group.id);
      if (devices.length === 0) throw new ConflictError(`The group "${group.name}" has no devices to roll out to.`);
      const waveSize = Math.min(devices.length, input.batchSize ?? Math.max(1, Math.ceil((devices.length * (input.batchPercent ?? DEFAULT_BATCH_PERCENT)) / 100)));
      const now = iso();
      const rollout: RolloutsTable = {
        id: randomUUID(),
        team_id: group.team_id,
        group_id: group.id,
        snapshot_id: snapshot.id,
        snapshot_hash: snapshot.hash,
        state: 'running',
        wave_size: waveSize,
        max_failures: input.maxFailures ?? 0,
        health_seconds: input.healthSeconds ?? DEFAULT_HEALTH_SECONDS,
        wave_timeout_seconds: input.waveTimeoutSeconds ?? DEFAULT_WAVE_TIMEOUT_SECONDS,
        current_wave: 0,
        wave_count: Math.ceil(devices.length / waveSize),
        detail: null,
        created_by: ctx.actor.userId,
        created_by_label: ctx.actor.label,
        created_at: now,
        updated_at: now,
        finished_at: null,
      };
      const rows: RolloutDevicesTable[] = devices.map((d, i) => ({
        rollout_id: rollout.id,
        device_id: d.id,
        site_id: d.site_id,
        wave: Math.floor(i / waveSize) + 1,
        state: 'pending',
        detail: null,
        started_at: null,
        reached_at: null,
        finished_at: null,
      }));
      await auditLog.transaction(ctx, async (tx) => {
        // Checked inside the transaction too: two people starting one at once get one rollout.
        const active = await store.activeRolloutOfGroup(group.id, tx.trx);
        if (active) throw new ConflictError(`The group already has rollout ${active.id} (${active.state}): abort it first, or let it finish.`);
        await store.insertRollout(rollout, tx.trx);
        await store.insertRolloutDevices(rows, tx.trx);
        await tx.record({
          event: 'rollout.started',
          target: { type: 'rollout', id: rollout.id },
          teamId: rollout.team_id,
          details: {
            groupId: group.id,
            snapshotId: snapshot.id,
            hash: snapshot.hash,
            devices: devices.length,
            waveSize,
            waves: rollout.wave_count,
            maxFailures: rollout.max_failures,
            healthSeconds: rollout.health_seconds,
            waveTimeoutSeconds: rollout.wave_timeout_seconds,
          },
        });
      });
      await tick();
      return requireRollout(rollout.id);
    },

    async pause(rolloutId: string, ctx: RequestContext): Promise<RolloutsTable> {
      return transition(rolloutId, 'pause', 'paused', 'rollout.paused', ctx);
    },
    async resume(rolloutId: string, ctx: RequestContext): Promise<RolloutsTable> {
      const rollout = await transition(rolloutId, 'resume', 'running', 'rollout.resumed', ctx);
      await tick();
      return requireRollout(rollout.id);
    },
    async abort(rolloutId: string, ctx: RequestContext): Promise<RolloutsTable> {
      return transition(rolloutId, 'abort', 'aborted', 'rollout.aborted', ctx);
    },

    /** Which of these devices a running, paused or halted rollout holds. */
    inActiveRollouts: async (deviceIds: readonly string[]): Promise<Set<string>> => new Set(await store.devicesInActiveRollouts(deviceIds)),
    rolloutById: requireRollout,
    rolloutsOfTeam: (teamId: string) => store.rolloutsOfTeam(teamId, 100),
    progress: (rolloutId: string) => store.progress(rolloutId),
    rolloutDevices: (rolloutId: string, state: RolloutDeviceState | undefined, limit: number, offset: number) => store.rolloutDevices(rolloutId, state, limit, offset),

    close(): void {
      if (timer) clearInterval(timer);
      if (nudgeTimer) clearTimeout(nudgeTimer);
      // Devices' long polls are answered now, and any that come after at once.
      signals.close();
    },
  };

  async function transition(
    rolloutId: string,
    action: RolloutAction,
    to: 'running' | 'paused' | 'aborted',
    event: 'rollout.paused' | 'rollout.resumed' | 'rollout.aborted',
    ctx: RequestContext,
  ): Promise<RolloutsTable> {
    return exclusive(async () => {
      const rollout = await requireRollout(rolloutId);
      if (!rolloutActions(checkedByRoute, rollout)[action]) throw new ConflictError(`The rollout is ${rollout.state}: it cannot be ${to === 'running' ? 'resumed' : to}.`);
      const at = iso();
      const detail = to === 'running' ? null : `${to} by ${ctx.actor.label ?? 'someone'}`;
      await auditLog.transaction(ctx, async (tx) => {
        // Resuming a halted rollout accepts the failures so far: it may fail as many more as it first allowed.
        const maxFailures = rollout.state === 'halted' && to === 'running' ? (await store.failedCount(rollout.id, tx.trx)) + rollout.max_failures : rollout.max_failures;
        await store.updateRollout(rollout.id, { state: to, detail, updated_at: at, max_failures: maxFailures, ...(to === 'aborted' ? { finished_at: at } : {}) }, tx.trx);
        if (to === 'aborted') await store.skipPending(rollout.id, 'the rollout was aborted', tx.trx);
        await tx.record({
          event,
          target: { type: 'rollout', id: rollout.id },
          teamId: rollout.team_id,
          details: { from: rollout.state, wave: rollout.current_wave, of: rollout.wave_count, ...(maxFailures !== rollout.max_failures ? { maxFailures } : {}) },
        });
      });
      return requireRollout(rollout.id);
    });
  }
}

export type DeploymentsService = ReturnType<typeof createDeploymentsService>;

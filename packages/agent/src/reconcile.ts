import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, snapshotHash } from '@flowgate/core';
import type { NodeRedNode, SnapshotContent } from '@flowgate/core';
import { SAFETY_POLL_MS, type DeviceLink } from './device-link.ts';
import { mintEditorToken } from './editor-token.ts';
import { machineFacts } from './machine-facts.ts';
import { installedModules, syncNodeModules } from './node-modules.ts';
import { nodeRedInstallations, pickNodeRed } from './node-red-installations.ts';
import { describeOutcome, fetchDeployedFlows, NodeRedProcess, pickPort } from './node-red-process.ts';
import { backoffAfter, backoffDelay, PlatformError, REFUSED_BACKOFF, sleep, withRetry } from './platform-client.ts';
import type { AgentState, AuditEvent, DesiredState, PlatformClient, RecordedDeploy, SnapshotRef } from './platform-client.ts';
import { AGENT_USER, renderSettingsValues } from './settings-file.ts';
import { writeFileAtomic } from './state-store.ts';
import type { StateStore } from './state-store.ts';
import type { AgentLog, AuditUploader, LogUploader, StatusFields, StatusReporter } from './uploaders.ts';

/**
 * The reconcile loop: keep the one Node-RED runtime at the snapshot the platform wants.
 *
 * Everything that changes the runtime goes through one serial queue of tasks, so no two
 * of them ever interleave: apply a desired state, record a deploy made in the editor,
 * recover from a crash, start offline from the last good snapshot. Applying is always
 * the same path: fetch (or take from the cache), verify the hash, write the files,
 * restart Node-RED, health-check, report; on a failed health check, the same path again
 * with the last good snapshot, reported as 'error' with the reason.
 *
 * A restart, not Node-RED's 'reload' deployment: a fresh process also resets settings,
 * environment, context and anything a node left behind, and costs ~2 s here.
 */

export type ReconcilerOptions = {
  store: StateStore;
  client: PlatformClient;
  status: StatusReporter;
  audit: AuditUploader;
  logs: LogUploader;
  log: AgentLog;
  /** Where other Node-RED versions are installed (node-red-installations.ts); null: only the agent's own. */
  nodeRedDir: string | null;
  /** The agent's own environment minus its FLOWGATE_* variables; the base of Node-RED's. */
  baseEnv: NodeJS.ProcessEnv;
  healthTimeoutMs?: number;
  /** The port to try first for Node-RED (a device's fixed port); any free one otherwise. */
  nodeRedPort?: number | null;
  /** The address Node-RED listens on (AgentConfig.nodeRedHost); default loopback. */
  nodeRedHost?: string;
  /** A device's agent: Node-RED also gets the plain variables the snapshot recorded (nodeRedEnvironment). */
  snapshotVariables?: boolean;
};

/**
 * Node-RED's environment: the agent's own (minus its FLOWGATE_* variables), then the
 * desired state's. A hosted instance's variables are set on the instance, and the desired
 * state carries all of them (secret values opened): a snapshot's are a record, so a
 * variable since removed from the instance does not come back with a rollback. A device
 * has no variables of its own on the platform: it runs with the plain variables of the
 * snapshot it runs (a secret one has no value in a snapshot), under the desired state's.
 */
export function nodeRedEnvironment(
  base: NodeJS.ProcessEnv,
  desired: ReadonlyArray<{ name: string; value: string }>,
  snapshot: ReadonlyArray<{ name: string; value: string | null }> | null,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const variable of snapshot ?? []) if (variable.value !== null) env[variable.name] = variable.value;
  for (const variable of desired) env[variable.name] = variable.value;
  return env;
}

export const HEALTH_TIMEOUT_MS = 15_000;
export const CRASH_LOOP = { crashes: 3, windowMs: 60_000 } as const;
export const LONG_POLL_SECONDS = 25;
const STOP_TIMEOUT_MS = 10_000;
/** From Node-RED's "Updated flows" to taking the editor deploy in (bench/instance.ts: the deploy's answer through the proxy +2.5 ms without it). */
const RECORD_DEPLOY_AFTER_MS = 100;

const EMPTY_CONTENT: SnapshotContent = { flows: [], credentials: null, settings: {}, env: [], modules: [] };

/** Audit events that change the flows; the last one before "Updated flows" names who deployed. */
const FLOW_CHANGE_EVENTS = new Set(['flows.set', 'flow.add', 'flow.update', 'flow.remove']);

/** What the current Node-RED process was started with. `ref` null: the empty flow (no snapshot wanted). */
type Launch = {
  ref: SnapshotRef | null;
  content: SnapshotContent;
  desired: DesiredState;
  settingsKey: string;
  safeMode: boolean;
};

type Health = { ok: true } | { ok: false; reason: string };

function settingsKey(desired: DesiredState): string {
  return canonicalJson({ instanceId: desired.instanceId, settings: desired.settings, env: desired.env });
}

function label(ref: SnapshotRef | null): string {
  return ref ? `snapshot ${ref.id}` : 'the empty flow';
}

export class Reconciler {
  private readonly options: ReconcilerOptions;
  private readonly healthTimeoutMs: number;
  private readonly lifetime = new AbortController();
  private child: NodeRedProcess | null = null;
  private current: Launch | null = null;
  /** The runtime holds an editor deploy the platform refused to record: it must be put back. */
  private drifted = false;
  private lastPort: number | null = null;
  /** The Node-RED version last started: what the status reports (until the first start, what it was made with). */
  private nodeRedVersion: string;
  private crashTimes: number[] = [];
  private lastFlowChangeUser: string | null = null;

  // The queue: at most one of each kind waits; the latest desired state replaces older ones.
  private desired: DesiredState | null = null;
  private desiredPending = false;
  /** "Updated flows" from the current runtime: an editor deploy to take in. */
  private deployPending: { child: NodeRedProcess; user: string | null } | null = null;
  private deployTimer: NodeJS.Timeout | null = null;
  /** The runtime holds an editor deploy the platform has not confirmed yet; retried with backoff. */
  private unrecorded: { user: string | null; failures: number; retryAt: number } | null = null;
  private unrecordedTimer: NodeJS.Timeout | null = null;
  private recoveryPending = false;
  private offlineStartPending = false;
  private heardFromPlatform = false;
  private working: Promise<void> | null = null;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.healthTimeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
    this.lastPort = options.nodeRedPort ?? null;
    this.nodeRedVersion = options.status.report.nodeRedVersion;
  }

  private get signal(): AbortSignal {
    return this.lifetime.signal;
  }

  /** A desired state from the platform (every answer to the long poll with a new generation). */
  setDesired(desired: DesiredState): void {
    this.heardFromPlatform = true;
    this.options.store.writeDesired(desired);
    this.desired = desired;
    this.desiredPending = true;
    this.kick();
  }

  /** The platform could not be asked: at start, run the last good snapshot without it. */
  platformUnreachable(): void {
    if (this.heardFromPlatform || this.child || this.offlineStartPending) return;
    this.offlineStartPending = true;
    this.kick();
  }

  private kick(): void {
    if (this.working || this.signal.aborted) return;
    this.working = this.drain().finally(() => {
      this.working = null;
      if (this.hasWork()) this.kick();
    });
  }

  private hasWork(): boolean {
    return (
      this.deployPending !== null ||
      (this.unrecorded !== null && this.unrecorded.retryAt <= Date.now()) ||
      this.recoveryPending ||
      (this.desiredPending && this.desired !== null && this.unrecorded === null) ||
      this.offlineStartPending
    );
  }

  /**
   * What to do next, most urgent first. An unconfirmed editor deploy holds back a new
   * desired state (applying it would overwrite the deploy before the platform has it),
   * but not crash recovery: the runtime keeps running meanwhile. Takes the task off the
   * queue; hasWork() is the same test without taking.
   */
  private nextTask(): (() => Promise<void>) | null {
    if (this.deployPending) {
      const { child, user } = this.deployPending;
      this.deployPending = null;
      return async () => this.takeEditorDeploy(child, user);
    }
    if (this.unrecorded && this.unrecorded.retryAt <= Date.now()) return () => this.recordEditorDeploy();
    if (this.recoveryPending) {
      this.recoveryPending = false;
      return () => this.recoverFromCrash();
    }
    if (this.desiredPending && this.desired && !this.unrecorded) {
      this.desiredPending = false;
      const desired = this.desired;
      return () => this.reconcile(desired);
    }
    if (this.offlineStartPending) {
      this.offlineStartPending = false;
      return () => this.startOffline();
    }
    return null;
  }

  private async drain(): Promise<void> {
    for (let task = this.nextTask(); task && !this.signal.aborted; task = this.nextTask()) {
      try {
        await task();
      } catch (err) {
        // A bug or an unexpected I/O error must not end the loop: report it, keep going.
        const message = err instanceof Error ? err.message : String(err);
        this.options.log('error', `reconcile: ${message}`);
        this.report('error', message);
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // Tasks

  private async reconcile(desired: DesiredState): Promise<void> {
    const key = settingsKey(desired);
    const target = desired.snapshot;
    const current = this.current;
    if (this.child?.alive && current && !current.safeMode && !this.drifted && (current.ref?.hash ?? null) === (target?.hash ?? null) && current.settingsKey === key) {
      // Already there (also the case after an editor deploy the platform has recorded).
      if (current.ref?.id !== target?.id) this.current = { ...current, ref: target };
      this.report('running', null);
      return;
    }
    // A new instruction from the platform deserves a fresh start, not the old crash count.
    this.crashTimes = [];

    let content: SnapshotContent;
    if (target === null) {
      content = EMPTY_CONTENT;
    } else {
      const fetched = await this.fetchVerified(target);
      if (fetched === 'superseded') return;
      if (typeof fetched === 'string') {
        this.options.log('error', fetched);
        // Keep what runs; start the last good one if nothing does yet.
        if (this.child?.alive) this.report(this.current?.safeMode ? 'safe-mode' : 'error', fetched);
        else await this.revertToLastGood(desired, fetched, target.hash);
        return;
      }
      content = fetched;
      // Cached before the start: state.json names it as running from here on.
      this.options.store.cacheSnapshot(target.hash, content);
    }

    const health = await this.launch({ ref: target, content, desired, settingsKey: key, safeMode: false });
    if (health.ok) {
      this.recordGood(target, content);
      this.options.log('info', `${label(target)} runs`);
      this.report('running', null);
      return;
    }
    if (this.signal.aborted) return;
    const reason = `${label(target)} failed its health check: ${health.reason}`;
    this.options.log('error', reason);
    await this.revertToLastGood(desired, reason, target?.hash ?? null);
  }

  /** The verified content, a reason it cannot be had, or 'superseded' when a newer desired state arrived meanwhile. */
  private async fetchVerified(target: SnapshotRef): Promise<SnapshotContent | string | 'superseded'> {
    const cached = this.options.store.readCachedSnapshot(target.hash);
    if (cached) return cached;
    let content: SnapshotContent;
    try {
      content = await withRetry(() => this.options.client.getSnapshot(target.id, this.signal), {
        signal: this.signal,
        shouldContinue: () => !this.desiredPending,
        onRetry: (err, delay) => this.options.log('warn', `fetching snapshot ${target.id}: ${err.message}; retrying in ${delay} ms`),
      });
    } catch (err) {
      if (this.desiredPending || this.signal.aborted) return 'superseded';
      return `snapshot ${target.id} could not be fetched: ${(err as Error).message}`;
    }
    let actual: string;
    try {
      actual = snapshotHash(content);
    } catch (err) {
      return `snapshot ${target.id} refused: its content cannot be hashed (${(err as Error).message})`;
    }
    if (actual !== target.hash) {
      return `snapshot ${target.id} refused: its content hashes to ${actual}, not to ${target.hash}`;
    }
    return content;
  }

  /**
   * Starts the last good snapshot after `reason` (a failed or refused target), unless that
   * is the one that failed. Reports 'error' with the reason either way: the platform's
   * target is not what runs.
   */
  private async revertToLastGood(desired: DesiredState, reason: string, failedHash: string | null): Promise<void> {
    const state = this.options.store.readState();
    const good: SnapshotRef | null = state.lastGoodHash && state.lastGoodSnapshotId ? { id: state.lastGoodSnapshotId, hash: state.lastGoodHash } : null;
    const goodHash = good?.hash ?? null;
    if (goodHash === failedHash && this.child?.alive) {
      this.report('error', `${reason}; it is also the last good snapshot, so it stays`);
      return;
    }
    const content = good ? this.options.store.readCachedSnapshot(good.hash) : EMPTY_CONTENT;
    if (!content) {
      this.report('error', `${reason}; the last good snapshot ${good?.id} is not in the local cache`);
      return;
    }
    const health = await this.launch({ ref: good, content, desired, settingsKey: settingsKey(desired), safeMode: false });
    if (this.signal.aborted) return;
    if (health.ok) {
      this.recordGood(good, content);
      this.options.log('warn', `reverted to ${label(good)}`);
      this.report('error', `${reason}; reverted to ${good ? `the last good snapshot ${good.id}` : 'the empty flow'}`);
    } else {
      this.report('error', `${reason}; reverting to ${label(good)} failed too: ${health.reason}`);
    }
  }

  private async recoverFromCrash(): Promise<void> {
    const current = this.current;
    if (this.child?.alive || !current) return;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((at) => now - at < CRASH_LOOP.windowMs);
    const crashLoop = this.crashTimes.length >= CRASH_LOOP.crashes;
    // Growing pauses once in a crash loop, so a runtime that dies even in safe mode does not spin.
    await sleep(backoffDelay(Math.max(0, this.crashTimes.length - 1)), this.signal);
    if (this.signal.aborted) return;
    if (crashLoop) {
      const health = await this.launch({ ...current, safeMode: true });
      if (health.ok) {
        this.options.log('warn', `Node-RED crashed ${this.crashTimes.length} times within ${CRASH_LOOP.windowMs / 1000} s: safe mode`);
        this.report('safe-mode', `Node-RED crashed ${this.crashTimes.length} times within ${CRASH_LOOP.windowMs / 1000} s; started in safe mode, flows are not running`);
      } else {
        this.report('error', `Node-RED crashed repeatedly and did not start in safe mode either: ${health.reason}`);
      }
      return;
    }
    const health = await this.launch({ ...current, safeMode: false });
    if (health.ok) this.report('running', null);
    else if (!this.signal.aborted) this.report('error', `after a crash, ${label(current.ref)} failed its health check: ${health.reason}`);
  }

  private async startOffline(): Promise<void> {
    if (this.child || this.heardFromPlatform) return;
    const desired = this.options.store.readDesired();
    if (!desired) {
      this.options.log('warn', 'the platform is unreachable and no earlier desired state is cached: waiting for the platform');
      return;
    }
    const state = this.options.store.readState();
    const good: SnapshotRef | null = state.lastGoodHash && state.lastGoodSnapshotId ? { id: state.lastGoodSnapshotId, hash: state.lastGoodHash } : null;
    const content = good ? this.options.store.readCachedSnapshot(good.hash) : EMPTY_CONTENT;
    if (!content) {
      this.report('error', `the platform is unreachable and the last good snapshot ${good?.id} is not in the local cache`);
      return;
    }
    this.options.log('warn', `the platform is unreachable: starting the last good, ${label(good)}`);
    const health = await this.launch({ ref: good, content, desired, settingsKey: settingsKey(desired), safeMode: false });
    if (health.ok) this.report('running', null);
    else if (!this.signal.aborted) this.report('error', `offline start of ${label(good)} failed its health check: ${health.reason}`);
  }

  /**
   * A deploy made in the Node-RED editor has been saved: from now on its flows and
   * encrypted credentials are what this runtime runs (a restart after a crash starts
   * them, not the snapshot before), and they go to the platform as a new snapshot.
   */
  private takeEditorDeploy(child: NodeRedProcess, user: string | null): void {
    const current = this.current;
    if (child !== this.child || !current) return; // replaced since: its files are gone
    const userDir = this.options.store.userDir;
    const flows = JSON.parse(fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8')) as NodeRedNode[];
    const credentialsFile = path.join(userDir, 'flows_cred.json');
    const credentials = fs.existsSync(credentialsFile) ? fs.readFileSync(credentialsFile, 'utf8') : null;
    const modules = installedModules(userDir);
    const unchanged =
      canonicalJson(flows) === canonicalJson(current.content.flows) &&
      credentials === current.content.credentials &&
      canonicalJson(modules) === canonicalJson(current.content.modules);
    // A deploy in safe mode starts the flows, so even an unchanged one changes what runs.
    if (unchanged && !current.safeMode && !this.unrecorded) return;
    this.current = { ...current, content: { ...current.content, flows, credentials, modules }, safeMode: false };
    // A second deploy before the first is confirmed: the newer one is what runs and what is sent.
    this.unrecorded = { user, failures: 0, retryAt: 0 };
  }

  /**
   * Sends the unconfirmed editor deploy as a snapshot. Confirmed: that snapshot is what
   * runs (the platform makes it the target; the next desired state then matches). Platform
   * away: try again later. Refused: only snapshots run, so the target is put back.
   */
  private async recordEditorDeploy(): Promise<void> {
    const pending = this.unrecorded;
    const current = this.current;
    if (!pending || !current) return;
    const who = pending.user ?? 'an unknown user';
    const generationBefore = this.desired?.generation;
    const basedOn = current.ref?.id ?? null;
    let recorded: RecordedDeploy;
    try {
      recorded = await this.options.client.postSnapshot(
        { flows: current.content.flows, credentials: current.content.credentials, modules: current.content.modules, user: pending.user, basedOn },
        this.signal,
      );
    } catch (err) {
      if (this.signal.aborted) return;
      const message = (err as Error).message;
      if (err instanceof PlatformError && err.retryable) {
        const delay = backoffDelay(pending.failures++);
        pending.retryAt = Date.now() + delay;
        if (this.unrecordedTimer) clearTimeout(this.unrecordedTimer);
        this.unrecordedTimer = setTimeout(() => {
          // The timer is the gate: it may fire a millisecond before Date.now() reaches retryAt.
          if (this.unrecorded) this.unrecorded.retryAt = 0;
          this.kick();
        }, delay);
        if (pending.failures === 1) this.options.log('warn', `recording the editor deploy by ${who}: ${message}; retrying with backoff`);
        this.report('error', `the editor deploy by ${who} is not recorded yet: ${message}`);
        return;
      }
      const reason = `the platform did not record the editor deploy by ${who}: ${message}`;
      this.options.log('error', `${reason}; putting the target snapshot back`);
      this.unrecorded = null;
      this.drifted = true;
      this.desiredPending = this.desired !== null;
      this.report('error', reason);
      return;
    }
    this.unrecorded = null;
    const ref: SnapshotRef = { id: recorded.id, hash: recorded.hash };
    if (recorded.becameTarget) {
      // The platform now makes this snapshot the target. A desired state that came before it
      // (held back while the deploy was unconfirmed) is out of date: applying it would
      // restart into it only for the next generation to restart back.
      if (this.desired?.generation === generationBefore) this.desiredPending = false;
    } else {
      // A deploy through the platform came after the editor's: it is the target, and is
      // applied once it is here (a desired state still naming the old target is not it).
      this.options.log('info', `a deploy through the platform came after the editor deploy by ${who}: applying it`);
      this.desiredPending = this.desired !== null && (this.desired.snapshot?.id ?? null) !== basedOn;
    }
    // Cache what the platform holds under that hash, checked, so it can be the last good one.
    let content: SnapshotContent = current.content;
    let verified = false;
    try {
      const recorded = await this.options.client.getSnapshot(ref.id, this.signal);
      verified = snapshotHash(recorded) === ref.hash && canonicalJson(recorded.flows) === canonicalJson(current.content.flows);
      if (verified) content = recorded;
      else this.options.log('warn', `snapshot ${ref.id} of the editor deploy does not match what runs or its hash; not kept as last good`);
    } catch (err) {
      if (this.signal.aborted) return;
      this.options.log('warn', `snapshot ${ref.id} of the editor deploy could not be fetched for the cache: ${(err as Error).message}`);
    }
    this.current = { ...(this.current ?? current), ref, content };
    this.drifted = false;
    if (verified) this.recordGood(ref, content);
    else this.writeState(ref);
    this.options.log('info', `editor deploy by ${who} recorded as snapshot ${ref.id}`);
    if (this.child?.alive) this.report('running', null); // else crash recovery reports
  }

  // -------------------------------------------------------------------------------------
  // The one way Node-RED is (re)started

  private async launch(launch: Launch): Promise<Health> {
    await this.stopNodeRed(STOP_TIMEOUT_MS);
    if (this.signal.aborted) return { ok: false, reason: 'the agent is stopping' };
    const { store } = this.options;
    this.current = launch;
    this.drifted = false;
    this.lastFlowChangeUser = null;
    this.writeState(launch.ref);
    writeUserDirFiles(store.userDir, launch.content);
    this.report('starting', null);
    const modules = await syncNodeModules(store.userDir, launch.content.modules, {
      palette: launch.desired.settings.palette,
      env: this.options.baseEnv,
      signal: this.signal,
      log: (line) => this.options.log('info', line),
    });
    if (!modules.ok) return { ok: false, reason: modules.reason };
    const installation = pickNodeRed(nodeRedInstallations(this.options.nodeRedDir), launch.desired.settings.nodeRedVersion);
    if (typeof installation === 'string') return { ok: false, reason: installation };
    this.nodeRedVersion = installation.version;
    // What the inventory sees of this machine: read now, with the modules this start installed.
    this.options.status.setFacts(machineFacts(store.userDir, installation.version));
    const host = this.options.nodeRedHost ?? '127.0.0.1';
    const port = await pickPort(this.lastPort, host);
    this.lastPort = port;
    writeFileAtomic(store.settingsFile, renderSettingsValues({ instanceId: launch.desired.instanceId, host, port, settings: launch.desired.settings, safeMode: launch.safeMode }));
    const child: NodeRedProcess = new NodeRedProcess(
      { installation, settingsFile: store.settingsFile, userDir: store.userDir, port, env: this.nodeRedEnv(launch) },
      {
        onLog: (line) => this.options.logs.add(line.level, line.msg, line.ts),
        onAudit: (event) => this.onAudit(event),
        onFlowsUpdated: () => {
          if (child !== this.child) return;
          this.deployPending = { child, user: this.lastFlowChangeUser };
          this.lastFlowChangeUser = null;
          // Node-RED answers the deploy as it logs this line, and the answer reaches the
          // engineer through the platform's proxy: recording the deploy a moment later keeps
          // the platform's work on it (hash, store, audit) out of that answer's way.
          this.deployTimer ??= setTimeout(() => {
            this.deployTimer = null;
            this.kick();
          }, RECORD_DEPLOY_AFTER_MS);
        },
        onExit: (code, signal, expected) => this.onExit(child, code, signal, expected),
      },
    );
    this.child = child;
    this.options.log('info', `starting Node-RED ${installation.version} with ${label(launch.ref)}${launch.safeMode ? ' in safe mode' : ''} on 127.0.0.1:${port}`);
    return this.checkHealth(child, launch);
  }

  /**
   * Healthy: Node-RED says it started the flows (or, in safe mode, that it holds them
   * stopped) and its admin API answers, to the agent's own token, with exactly the
   * snapshot's flows; all within the health timeout.
   */
  private async checkHealth(child: NodeRedProcess, launch: Launch): Promise<Health> {
    const deadline = Date.now() + this.healthTimeoutMs;
    const outcome = await child.waitForStartup(this.healthTimeoutMs, this.signal);
    const expected = launch.safeMode ? 'safe-mode' : 'started';
    if (outcome.kind !== expected) return { ok: false, reason: describeOutcome(outcome) };
    const wanted = canonicalJson(launch.content.flows);
    let lastProblem = 'no answer';
    while (Date.now() < deadline && !this.signal.aborted && child.alive) {
      try {
        const token = mintEditorToken(launch.desired.settings.editorTokenKey, {
          ...AGENT_USER,
          permissions: 'read',
          iid: launch.desired.instanceId,
          exp: Math.floor(Date.now() / 1000) + 60,
        });
        const flows = await fetchDeployedFlows(child.port, launch.desired.settings.httpAdminRoot, token, this.signal);
        if (canonicalJson(flows) === wanted) return { ok: true };
        return { ok: false, reason: 'the flows Node-RED loaded differ from the snapshot' };
      } catch (err) {
        lastProblem = (err as Error).message;
        await sleep(250, this.signal);
      }
    }
    if (!child.alive) return { ok: false, reason: 'Node-RED exited during the health check' };
    return { ok: false, reason: `the admin API did not answer in time (${lastProblem})` };
  }

  private nodeRedEnv(launch: Launch): NodeJS.ProcessEnv {
    return nodeRedEnvironment(this.options.baseEnv, launch.desired.env, this.options.snapshotVariables ? launch.content.env : null);
  }

  private onAudit(event: AuditEvent): void {
    // The agent's own health checks are not news to anyone.
    if (event.user === AGENT_USER.email && event.details.userId === AGENT_USER.sub) return;
    if (FLOW_CHANGE_EVENTS.has(event.event) && !(event.event === 'flows.set' && event.details.type === 'reload')) {
      this.lastFlowChangeUser = event.user;
    }
    this.options.audit.add(event);
  }

  private onExit(child: NodeRedProcess, code: number | null, signal: string | null, expected: boolean): void {
    if (child !== this.child) return;
    if (expected || this.signal.aborted) return;
    this.crashTimes.push(Date.now());
    const reason = `Node-RED exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    this.options.log('error', reason);
    this.options.status.set({ ...this.statusFields(), state: 'crashed', nodeRedPort: null, error: reason });
    this.recoveryPending = true;
    this.kick();
  }

  // -------------------------------------------------------------------------------------

  private recordGood(ref: SnapshotRef | null, content: SnapshotContent): void {
    const { store } = this.options;
    if (ref) store.cacheSnapshot(ref.hash, content);
    const state = { runningSnapshotId: ref?.id ?? null, runningHash: ref?.hash ?? null, lastGoodSnapshotId: ref?.id ?? null, lastGoodHash: ref?.hash ?? null };
    store.writeState(state);
    store.pruneSnapshots([state.runningHash]);
  }

  private writeState(running: SnapshotRef | null): void {
    const { store } = this.options;
    store.writeState({ ...store.readState(), runningSnapshotId: running?.id ?? null, runningHash: running?.hash ?? null });
  }

  /** Node-RED's port while it runs: where the editor tunnel's streams go. */
  nodeRedPort(): number | null {
    return this.child?.alive ? this.child.port : null;
  }

  private statusFields(): Pick<StatusFields, 'runningSnapshotId' | 'runningHash' | 'nodeRedPort' | 'nodeRedVersion'> {
    return {
      nodeRedVersion: this.nodeRedVersion,
      runningSnapshotId: this.current?.ref?.id ?? null,
      runningHash: this.current?.ref?.hash ?? null,
      nodeRedPort: this.nodeRedPort(),
    };
  }

  private report(state: AgentState, error: string | null): void {
    this.options.status.set({ ...this.statusFields(), state, error });
  }

  private async stopNodeRed(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    await child.stop(timeoutMs);
  }

  /**
   * Stops the loop and Node-RED; reports 'stopped'. Bounded, so that the whole shutdown
   * fits the server's 10 s before SIGKILL: a task in flight gets 1 s to notice the abort
   * (its waits end at once), Node-RED `nodeRedTimeoutMs` before SIGKILL.
   */
  async stop(nodeRedTimeoutMs: number): Promise<void> {
    this.lifetime.abort();
    if (this.unrecordedTimer) clearTimeout(this.unrecordedTimer);
    if (this.deployTimer) clearTimeout(this.deployTimer);
    if (this.working) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.working, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    }
    await this.stopNodeRed(nodeRedTimeoutMs);
    this.options.status.set({ ...this.statusFields(), state: 'stopped', nodeRedPort: null, error: null });
  }
}

/** flows.json and flows_cred.json exactly as the snapshot holds them; Node-RED's backups of older files go. */
function writeUserDirFiles(userDir: string, content: SnapshotContent): void {
  writeFileAtomic(path.join(userDir, 'flows.json'), JSON.stringify(content.flows));
  const credentialsFile = path.join(userDir, 'flows_cred.json');
  if (content.credentials === null) fs.rmSync(credentialsFile, { force: true });
  else writeFileAtomic(credentialsFile, content.credentials);
  for (const backup of ['.flows.json.backup', '.flows_cred.json.backup']) fs.rmSync(path.join(userDir, backup), { force: true });
}

/**
 * Asks the platform for the desired state for as long as the agent runs: a long poll that
 * returns when the generation changes, backing off while the platform is away.
 *
 * A refused credential (401) never stops the runtime: plant availability comes first, and
 * a proxy in between that answers 401 looks the same as a revocation. Node-RED keeps
 * running what it runs (at start, the last good snapshot, as with the platform away),
 * nothing new comes to apply, and the agent asks again on the slow REFUSED_BACKOFF, so that
 * a fixed proxy or a credential accepted again heals it. Stopping a revoked device is its
 * owner's act on the device.
 */
export async function pollDesiredState(options: {
  client: PlatformClient;
  reconciler: Reconciler;
  log: AgentLog;
  signal: AbortSignal;
  link?: DeviceLink | null;
  /** A device's: the platform asks it to open its editor tunnel. */
  onTunnelRequested?: () => void;
}): Promise<void> {
  const { client, reconciler, log, signal, link } = options;
  let generation: number | null = null;
  let failures = 0;
  let refused = false;
  while (!signal.aborted) {
    try {
      // With MQTT up the platform says when to ask; otherwise the long poll waits for it.
      const told = link?.connected() === true && generation !== null;
      const desired = await client.getDesired(generation, told ? 0 : LONG_POLL_SECONDS, signal);
      if (refused) log('info', "the platform accepts this agent's credential again");
      else if (failures > 0) log('info', 'the platform answers again');
      failures = 0;
      refused = false;
      if (desired.generation !== generation) {
        generation = desired.generation;
        reconciler.setDesired(desired);
      }
      if (desired.editorTunnel) options.onTunnelRequested?.();
      if (link?.connected()) await link.waitForChange(SAFETY_POLL_MS, signal);
    } catch (err) {
      if (signal.aborted) return;
      const schedule = backoffAfter(err);
      const refusedNow = schedule === REFUSED_BACKOFF;
      if (refusedNow && !refused) {
        log(
          'error',
          `the platform refuses this agent's credential (${(err as Error).message}): revoked, replaced, or a proxy in between answers 401. ` +
            `Node-RED keeps running what it runs and nothing new is applied; asking again with backoff up to ${REFUSED_BACKOFF.maxMs / 60_000} min`,
        );
      } else if (!refusedNow && failures === 0) {
        log('warn', `asking the platform for the desired state: ${(err as Error).message}; retrying with backoff`);
      }
      refused = refusedNow;
      reconciler.platformUnreachable();
      const delay = backoffDelay(failures++, schedule);
      // The MQTT link back up, or a nudge over it, ends the wait: after a platform restart the
      // HTTP backoff may have grown to 30 s, while someone waits for this device's editor.
      await (link ? link.sleepUntilChange(delay, signal) : sleep(delay, signal));
    }
  }
}

import os from 'node:os';
import { createChangeSignals } from '../../change-signals.ts';
import { createRecentLogs, type LogLine } from '../../recent-logs.ts';
import type { InstanceDriver, InstanceLaunch, InstanceUsage } from './instance-driver.ts';

/**
 * Hosted instances: one agent per instance, the same agent that runs on edge devices, kept
 * running by a driver (instance-driver.ts: a sandboxed child process here, or a Pod). This
 * module keeps the facts agents report (Node-RED's port, recent log lines), and the
 * long-poll waiters that wake an agent when its desired state changes.
 */
/**
 * How long an instance counts as starting when its agent says nothing: then the next may start.
 * Agents report within seconds; an install of node modules may take longer, and still runs.
 */
const STARTING_TIMEOUT_MS = 60_000;

/**
 * `maxStarting`: how many instances may be starting at once. Starting Node-RED is CPU-bound:
 * fifty at once on two cores starved every one past its agent's health check (bench/instances-idle.ts,
 * docs/benchmarks.md), so the rest wait their turn; by default one per core.
 */
export function createInstanceRuntime(driver: InstanceDriver, maxStarting = os.availableParallelism()) {
  const ports = new Map<string, number>();
  /** Launched and not yet reported started (or failed), each with its timeout; and those waiting their turn. */
  const starting = new Map<string, NodeJS.Timeout>();
  const waiting: InstanceLaunch[] = [];
  const logs = createRecentLogs();
  const signals = createChangeSignals();
  // Agents can only call a server that listens: until then, starting one is left to resumeAll.
  let active = false;
  let closed = false;

  const appendLogs = (instanceId: string, lines: LogLine[]): void => logs.append(instanceId, lines);

  function startWaiting(): void {
    while (!closed && starting.size < maxStarting && waiting.length > 0) {
      const launch = waiting.shift()!;
      const timer = setTimeout(() => started(launch.instanceId), STARTING_TIMEOUT_MS);
      timer.unref();
      starting.set(launch.instanceId, timer);
      driver.start(launch);
    }
  }
  /** Its agent reported it running or failed (or said nothing for too long): the next may start. */
  function started(instanceId: string): void {
    const timer = starting.get(instanceId);
    if (timer === undefined) return;
    clearTimeout(timer);
    starting.delete(instanceId);
    startWaiting();
  }
  const isWaiting = (instanceId: string): boolean => waiting.some((launch) => launch.instanceId === instanceId);

  return {
    driver,
    /**
     * Starts the instance's agent unless it runs already. Answers why it cannot start (no
     * sandbox can be made here, and none was chosen), or null.
     */
    start(launch: InstanceLaunch): string | null {
      if (driver.unavailable) return driver.unavailable;
      if (!active || closed || driver.isRunning(launch.instanceId) || isWaiting(launch.instanceId)) return null;
      waiting.push(launch);
      startWaiting();
      return null;
    },
    started,
    /** The server listens: agents may start from now on. */
    activate(): void {
      active = true;
    },
    async stop(instanceId: string): Promise<void> {
      const queued = waiting.findIndex((launch) => launch.instanceId === instanceId);
      if (queued >= 0) waiting.splice(queued, 1);
      started(instanceId);
      await driver.stop(instanceId);
      ports.delete(instanceId);
    },
    /**
     * A deleted instance's files go with it: its agent's state holds the opened values of its
     * secret environment variables and Node-RED's flows and credentials. Stop it first.
     */
    removeFiles: (instanceId: string): Promise<void> => driver.removeFiles(instanceId),
    /** Whether its agent runs, waits its turn to start, or is about to be started again after exiting. */
    isRunning: (instanceId: string): boolean => driver.isRunning(instanceId) || isWaiting(instanceId),
    /** What it uses now, where the driver can tell. */
    usage: (instanceId: string): Promise<InstanceUsage | null> => driver.usage?.(instanceId) ?? Promise.resolve(null),
    /** An agent exited unexpectedly: its Node-RED's port is gone, and its last words are kept. */
    agentExited(instanceId: string, lines: LogLine[]): void {
      ports.delete(instanceId);
      appendLogs(instanceId, lines);
    },
    /** The platform stops: agents' long polls are answered now (and any that come after, at once), and every agent stops its Node-RED. */
    async stopAll(): Promise<void> {
      closed = true;
      waiting.length = 0;
      for (const timer of starting.values()) clearTimeout(timer);
      starting.clear();
      signals.close();
      await driver.stopAll();
      ports.clear();
    },

    setPort(instanceId: string, port: number | null): void {
      if (port === null) ports.delete(instanceId);
      else ports.set(instanceId, port);
    },
    port: (instanceId: string): number | null => ports.get(instanceId) ?? null,
    /** Where the platform reaches the instance's Node-RED. */
    nodeRedHost: (instanceId: string): string => driver.nodeRedHost(instanceId),

    appendLogs,
    /** Lines after the given time, for the browser's live log view that polls with its last seen time. */
    recentLogs: (instanceId: string, after = 0): LogLine[] => logs.after(instanceId, after),

    /** Resolves when the instance's desired state changes (at once when `changedMeanwhile` says it did), or after timeoutMs. */
    waitForChange: (instanceId: string, timeoutMs: number, changedMeanwhile: () => Promise<boolean>): Promise<void> =>
      signals.waitUnlessChanged(instanceId, timeoutMs, changedMeanwhile),
    wake: (instanceId: string): void => signals.wake(instanceId),
  };
}

export type InstanceRuntime = ReturnType<typeof createInstanceRuntime>;

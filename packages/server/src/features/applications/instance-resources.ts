import { SYSTEM_CONTEXT } from '../../context.ts';
import type { Clock } from '../../context.ts';
import type { InstanceResourceRange } from '../../config.ts';
import type { InstancesTable } from '../../db/schema.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { ApplicationsStore } from './applications.store.ts';
import type { InstanceResources, InstanceUsage } from './instance-driver.ts';
import type { InstanceRuntime } from './instance-runtime.ts';

/**
 * What each hosted instance may use (SR 7.2) and what it uses: an owner sets memory, CPU and
 * disk within the platform's range; the driver holds it to them (process-driver.ts with
 * cgroups.ts, or a Pod's limits); this module watches what the driver measures and says
 * what happened: the kernel killing a process of the instance for memory (its agent starts
 * Node-RED again), a directory at 80 % of its disk, and one past it (the instance is stopped:
 * a flow filling the disk would otherwise fill the platform's).
 */
export interface ResourceRanges {
  memoryMb: InstanceResourceRange;
  cpuPercent: InstanceResourceRange;
  diskMb: InstanceResourceRange;
}

export const DISK_WARNING_RATIO = 0.8;
const MIB = 1024 * 1024;
/** How often the platform measures running instances (a job in app.ts). */
export const RESOURCE_CHECK_MS = 15_000;

/** The instance's own setting, else the platform's default. */
/** Limits in force: every one a number (InstanceResources allows none, which a driver may be told). */
export type ResourceLimits = { [K in keyof InstanceResources]: number };

export function effectiveResources(instance: Pick<InstancesTable, 'memory_mb' | 'cpu_percent' | 'disk_mb'>, ranges: ResourceRanges): ResourceLimits {
  return {
    memoryMb: instance.memory_mb ?? ranges.memoryMb.default,
    cpuPercent: instance.cpu_percent ?? ranges.cpuPercent.default,
    diskMb: instance.disk_mb ?? ranges.diskMb.default,
  };
}

/** What the instance page shows of one resource: its limit, whether an owner chose it, and what is used. */
export interface ResourceReport {
  limits: ResourceLimits;
  /** Which of the limits an owner set (the rest follow the platform's default). */
  custom: { memoryMb: boolean; cpuPercent: boolean; diskMb: boolean };
  ranges: ResourceRanges;
  usage: InstanceUsage | null;
  /** Plain sentences: a directory near its limit, memory exceeded since the start. */
  warnings: string[];
}

export function resourceWarnings(limits: { memoryMb: number; diskMb: number }, usage: InstanceUsage | null): string[] {
  const warnings: string[] = [];
  if (usage?.diskBytes != null && usage.diskBytes >= limits.diskMb * MIB * DISK_WARNING_RATIO) {
    const percent = Math.round((usage.diskBytes / (limits.diskMb * MIB)) * 100);
    warnings.push(`Its directory holds ${percent} % of its ${limits.diskMb} MiB disk limit; past the limit the instance is stopped.`);
  }
  if (usage?.oomKills) warnings.push(`It exceeded its ${limits.memoryMb} MiB memory limit ${usage.oomKills} time(s) since it started: the kernel stopped a process of it.`);
  return warnings;
}

export interface ResourceMonitorDeps {
  runtime: InstanceRuntime;
  store: ApplicationsStore;
  auditLog: AuditLog;
  ranges: ResourceRanges;
  clock: Clock;
  /** Stops an instance past its disk limit, as a person would (audited, desired state stopped). */
  stopForDisk(instance: InstancesTable, detail: string): Promise<void>;
  log: { warn(obj: object, msg: string): void };
}

export function createResourceMonitor(deps: ResourceMonitorDeps) {
  const { runtime, auditLog } = deps;
  const ctx = { ...SYSTEM_CONTEXT, actor: { type: 'system' as const, userId: null, label: 'resource limits' } };
  /** Per instance: the OOM kills already told, and whether its disk warning was recorded. */
  const told = new Map<string, { oomKills: number; diskWarned: boolean }>();
  const latest = new Map<string, InstanceUsage>();
  let checking: Promise<void> | null = null;

  async function checkInstance(instance: InstancesTable): Promise<void> {
    const usage = await runtime.usage(instance.id);
    if (!usage) return;
    latest.set(instance.id, usage);
    const limits = effectiveResources(instance, deps.ranges);
    const seen = told.get(instance.id) ?? { oomKills: 0, diskWarned: false };
    const target = { target: { type: 'instance', id: instance.id }, teamId: instance.team_id };
    if (usage.oomKills !== null && usage.oomKills > seen.oomKills) {
      const msg = `[platform] memory limit reached (${limits.memoryMb} MiB): the kernel stopped a process of this instance; its agent starts Node-RED again`;
      runtime.appendLogs(instance.id, [{ ts: deps.clock.now().getTime(), level: 'error', msg }]);
      await auditLog.record(ctx, { event: 'instance.memory.exceeded', outcome: 'failure', ...target, details: { memoryMb: limits.memoryMb, oomKills: usage.oomKills } });
      seen.oomKills = usage.oomKills;
    }
    if (usage.diskBytes !== null) {
      const limitBytes = limits.diskMb * MIB;
      const usedMb = Math.round(usage.diskBytes / MIB);
      if (usage.diskBytes > limitBytes) {
        const detail = `Stopped: its directory holds ${usedMb} MiB, over its disk limit of ${limits.diskMb} MiB. Raise the limit or free space (a snapshot without the data), then start it.`;
        await auditLog.record(ctx, { event: 'instance.disk.exceeded', outcome: 'failure', ...target, details: { diskMb: limits.diskMb, usedMb } });
        await deps.stopForDisk(instance, detail);
        told.delete(instance.id);
        latest.delete(instance.id);
        return;
      }
      const warn = usage.diskBytes >= limitBytes * DISK_WARNING_RATIO;
      if (warn && !seen.diskWarned) await auditLog.record(ctx, { event: 'instance.disk.warning', ...target, details: { diskMb: limits.diskMb, usedMb } });
      seen.diskWarned = warn;
    }
    told.set(instance.id, seen);
  }

  async function checkAll(): Promise<void> {
    for (const instance of await deps.store.instancesToRun()) {
      if (!runtime.isRunning(instance.id)) continue;
      try {
        await checkInstance(instance);
      } catch (err) {
        deps.log.warn({ instanceId: instance.id, err }, 'could not measure the instance');
      }
    }
  }

  return {
    /** One round of measuring every running instance; rounds never overlap. */
    check(): Promise<void> {
      checking ??= checkAll().finally(() => (checking = null));
      return checking;
    },
    /** The instance page's figures: limits, what the last round measured, and what it means. */
    report(instance: InstancesTable): ResourceReport {
      const limits = effectiveResources(instance, deps.ranges);
      const usage = latest.get(instance.id) ?? null;
      return {
        limits,
        custom: { memoryMb: instance.memory_mb !== null, cpuPercent: instance.cpu_percent !== null, diskMb: instance.disk_mb !== null },
        ranges: deps.ranges,
        usage,
        warnings: resourceWarnings(limits, usage),
      };
    },
    /** An instance stopped or restarted with new limits: counts start over with its new group. */
    forget(instanceId: string): void {
      told.delete(instanceId);
      latest.delete(instanceId);
    },
  };
}

export type ResourceMonitor = ReturnType<typeof createResourceMonitor>;

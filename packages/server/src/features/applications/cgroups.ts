import fs from 'node:fs';
import path from 'node:path';
import type { InstanceResources } from './instance-driver.ts';

/**
 * A control group per hosted instance (SR 7.2): the kernel holds the instance's whole process
 * tree (sandbox, agent, npm, Node-RED, whatever its flows start) to a memory limit (the
 * kernel's OOM killer ends a process of that instance, not the platform), a number of
 * processes (a fork bomb stops there) and a share of the CPU (an endless loop slows only
 * its own instance). The tree is put in its group before bubblewrap starts (joinPrefix), so
 * no process of it ever runs outside.
 *
 * Two layouts, as Linux has them:
 * - cgroup v1 (a hierarchy per controller, /sys/fs/cgroup/{memory,pids,cpu}): the platform,
 *   as root, makes `flowgate/<instance>` in each. This is what this project's CI machine has.
 * - cgroup v2 (one unified hierarchy): a process may only make groups where it was delegated
 *   one, so an admin names it (FLOWGATE_INSTANCE_CGROUP, e.g. a systemd unit's own with
 *   Delegate=yes, docs/applications.md) with the memory, pids and cpu controllers enabled in
 *   its cgroup.subtree_control.
 * Where neither can be used, nothing is limited by the kernel beyond the rlimits sandbox.ts
 * sets, and the platform says so (isolation report, instance page).
 */
export type CgroupLayout =
  { kind: 'v1'; memory: string | null; pids: string | null; cpu: string | null } | { kind: 'v2'; base: string; memory: boolean; pids: boolean; cpu: boolean };

export interface InstanceCgroups {
  layout: CgroupLayout | null;
  /** Why the kernel limits nothing, when layout is null. */
  unavailable: string | null;
  /** What the kernel holds each instance to here. */
  holds: { memory: boolean; processes: boolean; cpu: boolean };
  /** Makes (or updates) the instance's group with its limits; the command prefix that runs a command inside it. */
  prepare(instanceId: string, resources: InstanceResources, processes: number): string[];
  /** Changes the limits of a running instance's group (memory, CPU): they hold at once. */
  update(instanceId: string, resources: InstanceResources, processes: number): void;
  /** What its group holds now, and how often the kernel killed a process of it for memory; null when no group. */
  usage(instanceId: string): { memoryBytes: number; oomKills: number } | null;
  /**
   * Ends what is left of a stopped instance (processes its flows left behind, outside the
   * sandbox's PID namespace when there is none) and removes its group.
   */
  remove(instanceId: string): Promise<void>;
}

const CPU_PERIOD_US = 100_000;
const MIB = 1024 * 1024;

/** Whether a directory is a place this process may make groups in. */
function writableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Finds how this machine's control groups can be used. `v2Base`: the delegated cgroup v2 group
 * an admin named (FLOWGATE_INSTANCE_CGROUP); `root`: where the hierarchies are mounted.
 */
export function detectCgroups(v2Base: string | null, root = '/sys/fs/cgroup'): { layout: CgroupLayout | null; unavailable: string | null } {
  if (v2Base) {
    const controllersFile = path.join(v2Base, 'cgroup.subtree_control');
    if (!fs.existsSync(controllersFile)) return { layout: null, unavailable: `FLOWGATE_INSTANCE_CGROUP (${v2Base}) is not a cgroup v2 group` };
    if (!writableDir(v2Base)) return { layout: null, unavailable: `FLOWGATE_INSTANCE_CGROUP (${v2Base}) is not writable by the platform: delegate it` };
    const enabled = new Set(fs.readFileSync(controllersFile, 'utf8').trim().split(/\s+/));
    return { layout: { kind: 'v2', base: v2Base, memory: enabled.has('memory'), pids: enabled.has('pids'), cpu: enabled.has('cpu') }, unavailable: null };
  }
  if (fs.existsSync(path.join(root, 'cgroup.controllers')))
    return { layout: null, unavailable: 'this machine has cgroup v2: name a delegated group in FLOWGATE_INSTANCE_CGROUP (docs/applications.md)' };
  const hierarchy = (controller: string): string | null => {
    const dir = path.join(root, controller);
    return fs.existsSync(path.join(dir, 'cgroup.procs')) && writableDir(dir) ? path.join(dir, 'flowgate') : null;
  };
  const layout = { kind: 'v1' as const, memory: hierarchy('memory'), pids: hierarchy('pids'), cpu: hierarchy('cpu') };
  if (!layout.memory && !layout.pids && !layout.cpu) return { layout: null, unavailable: 'no control group the platform may write (cgroup v1 needs the platform to run as root)' };
  return { layout, unavailable: null };
}

/** Instance ids are UUIDs; anything else never names a directory. */
function groupName(instanceId: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(instanceId)) throw new Error(`not an instance id: ${instanceId}`);
  return instanceId;
}

/** How many times remove() kills and tries again before it leaves a group for the next start to reuse. */
const REMOVE_ROUNDS = 40;

function readPids(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function write(file: string, value: string | number): void {
  fs.writeFileSync(file, String(value));
}

function readNumber(file: string): number {
  return Number(fs.readFileSync(file, 'utf8').trim());
}

/** The `oom_kill N` line of memory.oom_control (v1) or memory.events (v2). */
function oomKills(file: string): number {
  const match = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
  return match ? Number(match[1]) : 0;
}

export function createInstanceCgroups(detected: { layout: CgroupLayout | null; unavailable: string | null }): InstanceCgroups {
  const { layout } = detected;

  /** Each directory that holds the instance's processes, with the limits each controls. */
  function groups(instanceId: string): Array<{ dir: string; controls: Array<'memory' | 'pids' | 'cpu'> }> {
    const name = groupName(instanceId);
    if (!layout) return [];
    if (layout.kind === 'v2') {
      const controls = (['memory', 'pids', 'cpu'] as const).filter((c) => layout[c]);
      return [{ dir: path.join(layout.base, name), controls }];
    }
    return (['memory', 'pids', 'cpu'] as const).flatMap((c) => (layout[c] ? [{ dir: path.join(layout[c]!, name), controls: [c] }] : []));
  }

  function applyLimits(instanceId: string, resources: InstanceResources, processes: number): void {
    for (const { dir, controls } of groups(instanceId)) {
      for (const control of controls) {
        if (control === 'pids') write(path.join(dir, 'pids.max'), processes);
        if (control === 'cpu') {
          const quota = resources.cpuPercent === null ? null : Math.round((resources.cpuPercent / 100) * CPU_PERIOD_US);
          if (layout?.kind === 'v2') write(path.join(dir, 'cpu.max'), `${quota ?? 'max'} ${CPU_PERIOD_US}`);
          else {
            write(path.join(dir, 'cpu.cfs_period_us'), CPU_PERIOD_US);
            write(path.join(dir, 'cpu.cfs_quota_us'), quota ?? -1);
          }
        }
        if (control === 'memory') {
          const bytes = resources.memoryMb === null ? null : resources.memoryMb * MIB;
          if (layout?.kind === 'v2') {
            write(path.join(dir, 'memory.max'), bytes ?? 'max');
            // Swap would let it go on past its limit, slowly: none.
            if (fs.existsSync(path.join(dir, 'memory.swap.max'))) write(path.join(dir, 'memory.swap.max'), 0);
          } else setV1Memory(dir, bytes);
        }
      }
    }
  }

  /**
   * v1 keeps memory+swap (memsw) at or above memory: raising, memsw goes first; lowering,
   * memory goes first. Both the same: no swap beyond the limit.
   */
  function setV1Memory(dir: string, bytes: number | null): void {
    const memory = path.join(dir, 'memory.limit_in_bytes');
    const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
    const value = bytes ?? -1;
    if (!fs.existsSync(memsw)) return write(memory, value);
    const raising = bytes === null || bytes > readNumber(memory);
    if (raising) {
      write(memsw, value);
      write(memory, value);
    } else {
      write(memory, value);
      write(memsw, value);
    }
  }

  const has = (c: 'memory' | 'pids' | 'cpu'): boolean => (layout === null ? false : layout.kind === 'v2' ? layout[c] : layout[c] !== null);
  return {
    layout,
    unavailable: detected.unavailable,
    holds: { memory: has('memory'), processes: has('pids'), cpu: has('cpu') },
    prepare(instanceId, resources, processes) {
      const all = groups(instanceId);
      if (all.length === 0) return [];
      for (const { dir } of all) fs.mkdirSync(dir, { recursive: true });
      applyLimits(instanceId, resources, processes);
      // The shell joins each group, then becomes the command: everything it starts stays inside.
      // The paths are the platform's own (groupName allows no quote), quoted for the shell.
      const joins = all.map(({ dir }) => `echo $$ > '${path.join(dir, 'cgroup.procs')}'`).join(' && ');
      return ['sh', '-c', `${joins} && exec "$@"`, 'flowgate-cgroup'];
    },
    update: applyLimits,
    usage(instanceId) {
      const memoryGroup = groups(instanceId).find((g) => g.controls.includes('memory'));
      if (!memoryGroup || !fs.existsSync(memoryGroup.dir)) return null;
      const v2 = layout?.kind === 'v2';
      return {
        memoryBytes: readNumber(path.join(memoryGroup.dir, v2 ? 'memory.current' : 'memory.usage_in_bytes')),
        oomKills: oomKills(path.join(memoryGroup.dir, v2 ? 'memory.events' : 'memory.oom_control')),
      };
    },
    async remove(instanceId) {
      for (const { dir } of groups(instanceId)) {
        // A group goes only once its last process has been reaped; a fork bomb may still be forking.
        for (let round = 0; round < REMOVE_ROUNDS && fs.existsSync(dir); round++) {
          for (const pid of readPids(dir)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // gone meanwhile
            }
          }
          try {
            fs.rmdirSync(dir);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
    },
  };
}

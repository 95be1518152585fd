import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The sandbox each hosted instance's agent and Node-RED run in. A flow is code a team member
 * writes (function, exec and file nodes, third-party nodes): without a sandbox it runs as the
 * platform's own user and reads the platform's data directory (its master key, its database
 * with every team's secrets, other instances' files) and sees and signals the platform's process.
 *
 * bubblewrap (Debian's `bubblewrap`) makes it with the kernel's namespaces: the system read
 * only; the platform's data directory replaced by an empty one holding only this instance's
 * own directory (writable) and the Node-RED versions (read only); the platform's and the
 * people's home directories and /tmp empty; a PID namespace of its own (it sees and signals
 * only its own processes) with a /proc to match; a user namespace with every capability
 * dropped; and it dies with the platform. The network is shared: the agent reaches the
 * platform's agent API on loopback with the instance's own token, and the platform's proxy
 * reaches Node-RED's loopback port, as before. Nothing else of the platform's environment
 * enters (instance-runtime.ts passes only the agent's own variables).
 */
export type SandboxKind = 'bubblewrap' | 'none';

export interface Sandbox {
  kind: SandboxKind;
  /**
   * The process to send a stop signal to, for a sandbox started as `pid`. Signalled itself,
   * bubblewrap ends the sandbox's PID namespace at once, killing the agent before it can stop
   * Node-RED (flows' close handlers) and send its last reports: the agent is signalled instead.
   */
  stopTarget(pid: number): number;
  /** null when instances can run; else why none may start (the instance shows it, the platform logs it at start). */
  unavailable: string | null;
  /** The command line that runs `command` in the instance's sandbox. */
  wrap(command: string[], dirs: SandboxDirs): string[];
}

/** Where the platform runs as root, the first of the OS user ids hosted instances get, one each. */
export const FIRST_INSTANCE_UID = 200_000;

export interface SandboxDirs {
  /** The platform's data directory: not present inside, but for the instance's own directory in it. */
  dataDir: string;
  /** The instance's own directory: the one writable place. */
  instanceDir: string;
  /** Read only inside (the Node-RED versions the platform installed). */
  readOnly: string[];
  /** The code it runs (package-paths.ts, instanceCodeDirs): read only, shown even where it lies in a hidden place. */
  code?: string[];
  /**
   * Where the platform runs as root: the instance's own OS user (and group) id. The sandbox
   * then runs it as that user, without capabilities and unable to gain any, so a root-owned
   * file anywhere on the system is as closed to it as to any other user.
   */
  uid?: number | null;
}

/** Whether bubblewrap runs here: installed, and the kernel lets it make its namespaces. */
function bubblewrapProblem(bwrap: string): string | null {
  const probe = spawnSync(bwrap, ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-user', '--cap-drop', 'ALL', '--proc', '/proc', '--dev', '/dev', 'true'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
  });
  if (probe.error) return 'bubblewrap (bwrap) is not installed: install it (Debian: apt-get install bubblewrap)';
  if (probe.status !== 0)
    return `bubblewrap cannot make its namespaces here (${probe.stderr.toString('utf8').trim() || `exit ${probe.status}`}): allow unprivileged user namespaces`;
  return null;
}

/** The processes whose parent is `pid`, from /proc (Linux, where bubblewrap runs). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Everything a sandbox hides by an empty directory in its place, besides the data directory. */
function hiddenDirs(): string[] {
  return [...new Set(['/tmp', '/root', '/home', os.homedir(), '/var/tmp', '/run'].map((d) => path.resolve(d)))];
}

/** What an instance may use, held by rlimits (config.instanceLimits). */
export interface InstanceLimits {
  /** Per process. */
  openFiles: number;
  /**
   * Counted per OS user, so applied only where the instance is a user of its own, and only
   * where no control group counts them instead (cgroups.ts: per instance, which is better:
   * the same uid may be another platform's instance on the same machine). null: not by rlimit.
   */
  processes: number | null;
}

/**
 * `prlimit` (util-linux) setting hard limits before the instance's command runs. No
 * address-space limit: at 2 GiB Node.js already fails (undici's WebAssembly: "Cannot allocate
 * Wasm memory"); memory is held by the instance's control group instead.
 */
function limitsPrefix(limits: InstanceLimits, ownUser: boolean): string[] {
  return ['prlimit', `--nofile=${limits.openFiles}`, ...(ownUser && limits.processes !== null ? [`--nproc=${limits.processes}`] : []), '--'];
}

/** `bwrap` is the command that runs bubblewrap: found on PATH unless named. */
export function createSandbox(kind: SandboxKind, limits: InstanceLimits, bwrap = 'bwrap'): Sandbox {
  if (kind === 'none') {
    return { kind, unavailable: null, wrap: (command) => [...limitsPrefix(limits, false), ...command], stopTarget: (pid) => pid };
  }
  const problem = bubblewrapProblem(bwrap);
  const unavailable =
    problem && `${problem}; or set FLOWGATE_INSTANCE_SANDBOX=none to run hosted instances without a sandbox, which lets a team's flows read the platform's secrets`;
  return {
    kind,
    unavailable,
    // bwrap → its reaper (PID 1 inside) → the command: the grandchild, once it has started.
    stopTarget: (pid) => childrenOf(childrenOf(pid)[0] ?? -1)[0] ?? pid,
    wrap(command, dirs) {
      const asUser = dirs.uid !== undefined && dirs.uid !== null;
      const args = [bwrap, '--ro-bind', '/', '/', '--dev', '/dev', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
      // Unprivileged, a user namespace is how bubblewrap makes the others; the instance keeps the
      // platform's uid there, without capabilities. As root, bubblewrap makes them itself and
      // setpriv below becomes the instance's own user: a user namespace would map it to root.
      if (!asUser) args.push('--unshare-user', '--cap-drop', 'ALL');
      args.push('--proc', '/proc', '--die-with-parent', '--new-session');
      // Later mounts go over earlier ones: empty places first, then what is let in.
      for (const dir of hiddenDirs()) args.push('--perms', dir === '/tmp' || dir === '/var/tmp' ? '1777' : '0755', '--tmpfs', dir);
      // The code, even in a hidden place (a checkout under /home); then the data directory hidden
      // again, should it lie inside the code's directory (./data, the default).
      for (const dir of dirs.code ?? []) args.push('--ro-bind', dir, dir);
      const dataDir = path.resolve(dirs.dataDir);
      args.push('--tmpfs', dataDir);
      // The folders between the data directory and the instance's own, made open to pass through
      // (bubblewrap would copy the real ones' owner-only mode, closing the way to a separate user).
      const between: string[] = [];
      for (let dir = path.dirname(path.resolve(dirs.instanceDir)); dir.startsWith(`${dataDir}${path.sep}`); dir = path.dirname(dir)) between.unshift(dir);
      for (const dir of between) args.push('--perms', '0755', '--dir', dir);
      for (const dir of dirs.readOnly) args.push('--ro-bind', dir, dir);
      args.push('--bind', dirs.instanceDir, dirs.instanceDir, '--chdir', dirs.instanceDir, '--');
      // Limits first, as root where the platform is: hard limits the user below cannot raise.
      args.push(...limitsPrefix(limits, asUser));
      if (asUser) {
        const id = String(dirs.uid);
        args.push('setpriv', `--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--');
      }
      args.push(...command);
      return args;
    },
  };
}

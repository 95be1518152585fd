import { spawnSync } from 'node:child_process';
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
  /** null when instances can run; else why none may start (the instance shows it, the platform logs it at start). */
  unavailable: string | null;
  /** The command line that runs `command` in the instance's sandbox. */
  wrap(command: string[], dirs: SandboxDirs): string[];
}

export interface SandboxDirs {
  /** The platform's data directory: not present inside, but for the instance's own directory in it. */
  dataDir: string;
  /** The instance's own directory: the one writable place. */
  instanceDir: string;
  /** Read only inside (the Node-RED versions the platform installed). */
  readOnly: string[];
}

/** Whether bubblewrap runs here: installed, and the kernel lets it make its namespaces. */
function bubblewrapProblem(bwrap: string): string | null {
  const probe = spawnSync(bwrap, ['--ro-bind', '/', '/', '--unshare-all', '--share-net', '--unshare-user', '--cap-drop', 'ALL', '--proc', '/proc', '--dev', '/dev', 'true'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
  });
  if (probe.error) return 'bubblewrap (bwrap) is not installed: install it (Debian: apt-get install bubblewrap)';
  if (probe.status !== 0)
    return `bubblewrap cannot make its namespaces here (${probe.stderr.toString('utf8').trim() || `exit ${probe.status}`}): allow unprivileged user namespaces`;
  return null;
}

/** Everything a sandbox hides by an empty directory in its place, besides the data directory. */
function hiddenDirs(): string[] {
  return [...new Set(['/tmp', '/root', '/home', os.homedir(), '/var/tmp', '/run'].map((d) => path.resolve(d)))];
}

/** `bwrap` is the command that runs bubblewrap: found on PATH unless named. */
export function createSandbox(kind: SandboxKind, bwrap = 'bwrap'): Sandbox {
  if (kind === 'none') {
    return { kind, unavailable: null, wrap: (command) => command };
  }
  const problem = bubblewrapProblem(bwrap);
  const unavailable =
    problem && `${problem}; or set FLOWGATE_INSTANCE_SANDBOX=none to run hosted instances without a sandbox, which lets a team's flows read the platform's secrets`;
  return {
    kind,
    unavailable,
    wrap(command, dirs) {
      const args = [
        bwrap,
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--unshare-all',
        '--share-net',
        '--unshare-user',
        '--cap-drop',
        'ALL',
        '--proc',
        '/proc',
        '--die-with-parent',
        '--new-session',
      ];
      // Later mounts go over earlier ones: empty places first, then what is let in.
      for (const dir of [...hiddenDirs(), path.resolve(dirs.dataDir)]) args.push('--tmpfs', dir);
      for (const dir of dirs.readOnly) args.push('--ro-bind', dir, dir);
      args.push('--bind', dirs.instanceDir, dirs.instanceDir, '--chdir', dirs.instanceDir, '--', ...command);
      return args;
    },
  };
}

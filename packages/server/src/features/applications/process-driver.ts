import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, instanceCodeDirs } from '../../package-paths.ts';
import type { LogLine } from '../../recent-logs.ts';
import { makePrivateDir } from '../../security/data-dir.ts';
import type { InstanceCgroups } from './cgroups.ts';
import type { InstanceDriver, InstanceLaunch, InstanceResources } from './instance-driver.ts';
import { FIRST_INSTANCE_UID, type Sandbox } from './sandbox.ts';

/**
 * The embedded driver: each hosted instance's agent is a child process of the platform, in
 * its sandbox (sandbox.ts) and its control group (cgroups.ts). An agent that exits
 * unexpectedly is started again after RESPAWN_DELAY_MS, and what it said last is kept.
 */
/** The agent's last stderr lines, shown only when it dies (it uploads the rest itself). */
const STDERR_LINES_KEPT = 40;
/** How the agent writes a line: ISO time, level, message. */
const AGENT_LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (info|warn|error) (.*)$/;
const RESPAWN_DELAY_MS = 2000;
/**
 * Of an instance's memory, what each Node.js process of it (agent, npm, Node-RED) may give
 * its heap: Node.js does not size its heap from a control group, and a heap that outgrows
 * the group is killed by the kernel without the "heap out of memory" line that says why.
 */
const HEAP_SHARE = 0.6;
const MIN_HEAP_MB = 64;

function agentLine(text: string): LogLine {
  const m = AGENT_LINE.exec(text);
  return m ? { ts: Date.parse(m[1]!), level: m[2]!, msg: `[agent] ${m[3]}` } : { ts: Date.now(), level: 'error', msg: `[agent] ${text}` };
}

/**
 * What the platform's own environment says about reaching npm and the network: the registry
 * (a scope's too), a proxy, extra CA certificates. The agent, npm and Node-RED's palette use
 * the same. Nothing else of the platform's environment reaches them, registry tokens
 * included: Node-RED's flows can read their process's environment.
 */
const PASSED_ENV = /^(npm_config_(registry|@[a-z0-9._-]+:registry|cafile|strict_ssl|proxy|https_proxy|noproxy)|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS)$/i;

export function registryAndProxyEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && PASSED_ENV.test(e[0])));
}

/** The heap limit each Node.js process of an instance gets, from its memory; null: Node.js's own default. */
export function heapLimitMb(resources: InstanceResources): number | null {
  return resources.memoryMb === null ? null : Math.max(MIN_HEAP_MB, Math.floor(resources.memoryMb * HEAP_SHARE));
}

/** Gives a directory and everything in it to an OS user (and its group of the same id); links are not followed. */
function chownTree(dir: string, uid: number): void {
  fs.lchownSync(dir, uid, uid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, uid);
    else fs.lchownSync(full, uid, uid);
  }
}

/** What a directory's files take on disk (allocated blocks), links not followed; what vanishes meanwhile counts nothing. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(full);
    else {
      try {
        total += (await fs.promises.lstat(full)).blocks * 512;
      } catch {
        // gone meanwhile
      }
    }
  }
  return total;
}

export interface ProcessDriverDeps {
  dataDir: string;
  /** Other Node-RED versions, handed to each agent (FLOWGATE_NODE_RED_DIR). */
  nodeRedDir: string;
  /** Where the agent reaches the platform: the server's own loopback address. */
  platformUrl: () => string;
  log: { warn(obj: object, msg: string): void };
  sandbox: Sandbox;
  cgroups: InstanceCgroups;
  /** Processes an instance may have at once (cgroups; rlimit where it is a user of its own). */
  processes: number;
  /** What the platform's log view of the instance shows of an agent that died. */
  onAgentExit(instanceId: string, lines: LogLine[]): void;
  /** Path of the agent's executable; tests may not override it with a fake. */
  agentBin?: string;
}

interface Running {
  child: ChildProcess;
  stopping: boolean;
  stderr: string[];
}

export function createProcessDriver(deps: ProcessDriverDeps): InstanceDriver & { dirOf(instanceId: string): string } {
  const children = new Map<string, Running>();
  const respawns = new Map<string, NodeJS.Timeout>();
  // Where the instance's code lies does not change while the platform runs: found at the first spawn.
  let codeDirs: string[] | undefined;
  let closed = false;

  const dirOf = (instanceId: string): string => path.join(deps.dataDir, 'instances', instanceId);

  /**
   * Under root, each instance runs as an OS user of its own: the owner of its directory, or,
   * the first time, the next id after those taken (FIRST_INSTANCE_UID on). Its directory
   * becomes its own; the Node-RED versions it runs must be readable by anyone (public packages).
   */
  function instanceUser(dir: string): number {
    const owner = fs.statSync(dir).uid;
    if (owner >= FIRST_INSTANCE_UID) return owner;
    const root = path.dirname(dir);
    const taken = fs.readdirSync(root).map((entry) => fs.statSync(path.join(root, entry)).uid);
    const uid = Math.max(FIRST_INSTANCE_UID - 1, ...taken) + 1;
    chownTree(dir, uid);
    fs.chmodSync(deps.nodeRedDir, 0o755);
    return uid;
  }

  function spawnAgent(launch: InstanceLaunch): void {
    const { instanceId } = launch;
    const dir = dirOf(instanceId);
    makePrivateDir(dir);
    // Bound into the sandbox as a directory: a version installed while the instance runs appears inside it.
    makePrivateDir(deps.nodeRedDir);
    const sandboxed = deps.sandbox.kind !== 'none';
    const uid = sandboxed && process.getuid?.() === 0 ? instanceUser(dir) : null;
    const sandboxedCommand = deps.sandbox.wrap([process.execPath, deps.agentBin ?? AGENT_BIN], {
      dataDir: deps.dataDir,
      instanceDir: dir,
      readOnly: [deps.nodeRedDir],
      code: (codeDirs ??= instanceCodeDirs()),
      uid,
    });
    const [command, ...args] = [...deps.cgroups.prepare(instanceId, launch.resources, deps.processes), ...sandboxedCommand];
    const heap = heapLimitMb(launch.resources);
    const child = spawn(command!, args, {
      env: {
        ...registryAndProxyEnv(process.env),
        PATH: process.env.PATH ?? '',
        // In a sandbox the platform's home is an empty directory: npm's cache and Node-RED's files go in the instance's own.
        HOME: sandboxed ? dir : (process.env.HOME ?? dir),
        ...(heap === null ? {} : { NODE_OPTIONS: `--max-old-space-size=${heap}` }),
        FLOWGATE_AGENT_PLATFORM: deps.platformUrl(),
        FLOWGATE_AGENT_TOKEN: launch.agentToken,
        FLOWGATE_AGENT_DIR: dir,
        FLOWGATE_AGENT_NODE_RED_DIR: deps.nodeRedDir,
      },
      // The agent uploads its own and Node-RED's output (POST /api/agent/v1/logs), as a device's
      // agent does; only stderr is kept here, for an agent that dies before it can upload.
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const running: Running = { child, stopping: false, stderr: [] };
    children.set(instanceId, running);
    child.stderr?.on('data', (chunk: Buffer) => {
      running.stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (running.stderr.length > STDERR_LINES_KEPT) running.stderr.splice(0, running.stderr.length - STDERR_LINES_KEPT);
    });
    child.on('exit', (code, signal) => {
      if (children.get(instanceId) === running) children.delete(instanceId);
      if (running.stopping || closed) return;
      deps.log.warn({ instanceId, code, signal }, 'agent exited; starting it again');
      // What it said last, which it may not have managed to upload: why it died, most likely.
      deps.onAgentExit(instanceId, [...running.stderr.map(agentLine), { ts: Date.now(), level: 'error', msg: `[platform] agent exited (${signal ?? code}); restarting` }]);
      const timer = setTimeout(() => {
        respawns.delete(instanceId);
        if (!closed && !children.has(instanceId)) spawnAgent(launch);
      }, RESPAWN_DELAY_MS);
      timer.unref();
      respawns.set(instanceId, timer);
    });
  }

  async function stop(instanceId: string): Promise<void> {
    clearTimeout(respawns.get(instanceId));
    respawns.delete(instanceId);
    const running = children.get(instanceId);
    if (!running) return;
    running.stopping = true;
    const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
    // The agent itself, inside its sandbox: it stops Node-RED and sends its last reports, then all exit.
    const target = running.child.pid === undefined ? undefined : deps.sandbox.stopTarget(running.child.pid);
    if (target === undefined || target === running.child.pid) running.child.kill('SIGTERM');
    else {
      try {
        process.kill(target, 'SIGTERM');
      } catch {
        running.child.kill('SIGTERM');
      }
    }
    const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await deps.cgroups.remove(instanceId);
  }

  return {
    kind: 'process',
    unavailable: deps.sandbox.unavailable,
    dirOf,
    start(launch) {
      if (closed || children.has(launch.instanceId)) return;
      spawnAgent(launch);
    },
    stop,
    isRunning: (instanceId) => children.has(instanceId) || respawns.has(instanceId),
    async removeFiles(instanceId) {
      fs.rmSync(dirOf(instanceId), { recursive: true, force: true });
    },
    nodeRedHost: () => '127.0.0.1',
    async usage(instanceId) {
      if (!children.has(instanceId)) return null;
      const memory = deps.cgroups.usage(instanceId);
      return {
        memoryBytes: memory?.memoryBytes ?? null,
        oomKills: memory?.oomKills ?? null,
        diskBytes: await directoryBytes(dirOf(instanceId)),
        measuredAt: Date.now(),
      };
    },
    async stopAll() {
      closed = true;
      await Promise.all([...children.keys()].map(stop));
    },
  };
}

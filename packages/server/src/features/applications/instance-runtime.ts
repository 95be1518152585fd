import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createChangeSignals } from '../../change-signals.ts';
import { AGENT_BIN, instanceCodeDirs } from '../../package-paths.ts';
import { createRecentLogs, type LogLine } from '../../recent-logs.ts';
import { makePrivateDir } from '../../security/data-dir.ts';
import { FIRST_INSTANCE_UID, type Sandbox } from './sandbox.ts';

/**
 * Hosted instances: the server spawns one agent per instance as a child process, the same
 * agent that runs on edge devices. This module keeps those children alive, the in-memory
 * facts agents report (Node-RED's loopback port, recent log lines), and the long-poll
 * waiters that wake an agent when its desired state changes.
 */
/** The agent's last stderr lines, shown only when it dies (it uploads the rest itself). */
const STDERR_LINES_KEPT = 40;
/** How the agent writes a line: ISO time, level, message. */
const AGENT_LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (info|warn|error) (.*)$/;

function agentLine(text: string): LogLine {
  const m = AGENT_LINE.exec(text);
  return m ? { ts: Date.parse(m[1]!), level: m[2]!, msg: `[agent] ${m[3]}` } : { ts: Date.now(), level: 'error', msg: `[agent] ${text}` };
}
const RESPAWN_DELAY_MS = 2000;

export interface InstanceRuntimeDeps {
  dataDir: string;
  /** Other Node-RED versions, handed to each agent (FLOWGATE_NODE_RED_DIR). */
  nodeRedDir: string;
  /** Where the agent reaches the platform: the server's own loopback address. */
  platformUrl: () => string;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Path of the agent's executable; tests may not override it with a fake. */
  agentBin?: string;
  /** What each instance runs in (sandbox.ts). */
  sandbox: Sandbox;
}

interface Running {
  child: ChildProcess;
  stopping: boolean;
  stderr: string[];
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

/** Gives a directory and everything in it to an OS user (and its group of the same id); links are not followed. */
function chownTree(dir: string, uid: number): void {
  fs.lchownSync(dir, uid, uid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, uid);
    else fs.lchownSync(full, uid, uid);
  }
}

export function createInstanceRuntime(deps: InstanceRuntimeDeps) {
  const children = new Map<string, Running>();
  // An agent that exited unexpectedly is started again after RESPAWN_DELAY_MS; a stop meanwhile cancels that.
  const respawns = new Map<string, NodeJS.Timeout>();
  const ports = new Map<string, number>();
  const logs = createRecentLogs();
  const signals = createChangeSignals();
  // Agents can only call a server that listens: until then, starting one is left to resumeAll.
  let active = false;
  // Where the instance's code lies does not change while the platform runs: found at the first spawn.
  let codeDirs: string[] | undefined;
  let closed = false;

  const appendLogs = (instanceId: string, lines: LogLine[]): void => logs.append(instanceId, lines);

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

  function spawnAgent(instanceId: string, agentToken: string): void {
    const dir = dirOf(instanceId);
    makePrivateDir(dir);
    // Bound into the sandbox as a directory: a version installed while the instance runs appears inside it.
    makePrivateDir(deps.nodeRedDir);
    const sandboxed = deps.sandbox.kind !== 'none';
    const uid = sandboxed && process.getuid?.() === 0 ? instanceUser(dir) : null;
    const [command, ...args] = deps.sandbox.wrap([process.execPath, deps.agentBin ?? AGENT_BIN], {
      dataDir: deps.dataDir,
      instanceDir: dir,
      readOnly: [deps.nodeRedDir],
      code: (codeDirs ??= instanceCodeDirs()),
      uid,
    });
    const child = spawn(command!, args, {
      env: {
        ...registryAndProxyEnv(process.env),
        PATH: process.env.PATH ?? '',
        // In a sandbox the platform's home is an empty directory: npm's cache and Node-RED's files go in the instance's own.
        HOME: sandboxed ? dir : (process.env.HOME ?? dir),
        FLOWGATE_AGENT_PLATFORM: deps.platformUrl(),
        FLOWGATE_AGENT_TOKEN: agentToken,
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
      ports.delete(instanceId);
      if (running.stopping || closed) return;
      deps.log.warn({ instanceId, code, signal }, 'agent exited; starting it again');
      // What it said last, which it may not have managed to upload: why it died, most likely.
      appendLogs(instanceId, running.stderr.map(agentLine));
      appendLogs(instanceId, [{ ts: Date.now(), level: 'error', msg: `[platform] agent exited (${signal ?? code}); restarting` }]);
      const timer = setTimeout(() => {
        respawns.delete(instanceId);
        if (!closed && !children.has(instanceId)) spawnAgent(instanceId, agentToken);
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
  }

  return {
    /**
     * Starts the instance's agent unless it runs already. Answers why it cannot start (no
     * sandbox can be made here, and none was chosen), or null.
     */
    start(instanceId: string, agentToken: string): string | null {
      if (deps.sandbox.unavailable) return deps.sandbox.unavailable;
      if (!active || closed || children.has(instanceId)) return null;
      spawnAgent(instanceId, agentToken);
      return null;
    },
    /** The server listens: agents may start from now on. */
    activate(): void {
      active = true;
    },
    stop,
    /**
     * A deleted instance's files go with it: its agent's state holds the opened values of its
     * secret environment variables and Node-RED's flows and credentials. Stop it first.
     */
    removeFiles(instanceId: string): void {
      fs.rmSync(dirOf(instanceId), { recursive: true, force: true });
    },
    /** Whether its agent runs, or is about to be started again after exiting. */
    isRunning: (instanceId: string) => children.has(instanceId) || respawns.has(instanceId),
    /** The platform stops: agents' long polls are answered now (and any that come after, at once), and every agent stops its Node-RED. */
    async stopAll(): Promise<void> {
      closed = true;
      signals.close();
      await Promise.all([...children.keys()].map(stop));
    },

    setPort(instanceId: string, port: number | null): void {
      if (port === null) ports.delete(instanceId);
      else ports.set(instanceId, port);
    },
    port: (instanceId: string): number | null => ports.get(instanceId) ?? null,

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

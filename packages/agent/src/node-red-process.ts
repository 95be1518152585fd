import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import type { AuditEvent, LogLine } from './platform-client.ts';
import type { NodeRedInstallation } from './node-red-installations.ts';
import { NODE_RED_SETTINGS_ENV, NODE_RED_SETTINGS_MODULE, type NodeRedIpcMessage } from './settings-file.ts';

/**
 * One Node-RED runtime as a child process: `node red.js --settings <the agent's settings
 * module> --userDir <dir>`, the values for this start in `settingsFile`, with an IPC channel
 * for the settings' log handler (settings-file.ts).
 *
 * What Node-RED is doing is read from its own log lines, pinned to English by the
 * settings: "Started flows" (running), "Flows stopped in safe mode", "Waiting for missing
 * types" and "Failed to load external modules" (it will not run these flows), and
 * "Updated flows" (a deploy through the admin API has been saved to disk). Node-RED
 * offers no other signal for these: GET /flows/state says 'start' even while it waits
 * for missing types.
 */

/** `preferred` when it is free on `host` (the platform's proxy keeps pointing at the same port), else any free port. */
export async function pickPort(preferred: number | null, host = '127.0.0.1'): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(null));
      server.listen({ host, port, exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : null;
        server.close(() => resolve(chosen));
      });
    });
  if (preferred !== null) {
    const port = await tryListen(preferred);
    if (port !== null) return port;
  }
  const port = await tryListen(0);
  if (port === null) throw new Error(`no free TCP port on ${host}`);
  return port;
}

export type StartupOutcome =
  | { kind: 'started' }
  | { kind: 'safe-mode' }
  | { kind: 'missing-types'; types: string[] }
  | { kind: 'missing-modules'; modules: string[] }
  | { kind: 'exited'; code: number | null; signal: string | null }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

export function describeOutcome(outcome: StartupOutcome): string {
  switch (outcome.kind) {
    case 'started':
      return 'flows started';
    case 'safe-mode':
      return 'started in safe mode, flows not running';
    case 'missing-types':
      return `Node-RED is waiting for missing node types: ${outcome.types.join(', ') || '(not listed)'}`;
    case 'missing-modules':
      return `Node-RED could not load modules the flows need: ${outcome.modules.join(', ') || '(not listed)'}`;
    case 'exited':
      return `Node-RED exited during start (code ${outcome.code ?? 'none'}, signal ${outcome.signal ?? 'none'})`;
    case 'timeout':
      return 'Node-RED did not start its flows in time';
    case 'aborted':
      return 'the agent is stopping';
  }
}

export type NodeRedHandlers = {
  onLog(line: LogLine): void;
  onAudit(event: AuditEvent): void;
  /** A deploy through the admin API has been written to flows.json (and flows_cred.json). */
  onFlowsUpdated(): void;
  /** `expected` is true when stop() asked for it. */
  onExit(code: number | null, signal: string | null, expected: boolean): void;
};

export type NodeRedLaunch = {
  installation: NodeRedInstallation;
  /** The values file the settings module reads (settings-file.ts). */
  settingsFile: string;
  userDir: string;
  port: number;
  env: NodeJS.ProcessEnv;
};

const LINE = {
  started: 'Started flows',
  safeMode: 'Flows stopped in safe mode. Deploy to start.',
  missingTypes: 'Waiting for missing types to be registered:',
  missingModules: 'Failed to load external modules required by this flow:',
  updated: 'Updated flows',
} as const;

/** Node-RED lists what is missing on the lines after the heading; they come within milliseconds. */
const LIST_SETTLE_MS = 250;

export class NodeRedProcess {
  readonly port: number;
  private readonly child: ChildProcess;
  private exited: { code: number | null; signal: string | null } | null = null;
  private stopping = false;
  private outcome: StartupOutcome | null = null;
  private outcomeWaiters: Array<(outcome: StartupOutcome) => void> = [];
  private exitWaiters: Array<() => void> = [];
  private listing: { kind: 'missing-types' | 'missing-modules'; items: string[]; timer: NodeJS.Timeout } | null = null;

  constructor(
    launch: NodeRedLaunch,
    private readonly handlers: NodeRedHandlers,
  ) {
    this.port = launch.port;
    this.child = spawn(process.execPath, [launch.installation.entry, '--settings', NODE_RED_SETTINGS_MODULE, '--userDir', launch.userDir], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Last, so that no variable of the instance's names another file.
      env: { ...launch.env, [NODE_RED_SETTINGS_ENV]: launch.settingsFile },
      cwd: launch.userDir,
    });
    // Whatever Node-RED (or a crashing node) prints outside its logger still reaches the logs.
    for (const [stream, level] of [
      [this.child.stdout, 'info'],
      [this.child.stderr, 'error'],
    ] as const) {
      if (!stream) continue;
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (msg) => {
        if (msg.trim() !== '') handlers.onLog({ ts: Date.now(), level, msg });
      });
    }
    this.child.on('message', (message: unknown) => this.onMessage(message));
    this.child.on('error', (err) => handlers.onLog({ ts: Date.now(), level: 'error', msg: `could not run Node-RED: ${err.message}` }));
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.settle({ kind: 'exited', code, signal });
      for (const resolve of this.exitWaiters.splice(0)) resolve();
      handlers.onExit(code, signal, this.stopping);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  private onMessage(message: unknown): void {
    if (message === null || typeof message !== 'object') return;
    const m = message as NodeRedIpcMessage;
    if (m.kind === 'audit' && typeof m.event === 'string') {
      const details = m.details !== null && typeof m.details === 'object' ? m.details : {};
      this.handlers.onAudit({ event: m.event, user: typeof m.user === 'string' ? m.user : null, ts: typeof m.ts === 'number' ? m.ts : Date.now(), details });
      return;
    }
    if (m.kind !== 'log' || typeof m.msg !== 'string') return;
    this.handlers.onLog({ ts: typeof m.ts === 'number' ? m.ts : Date.now(), level: String(m.level), msg: m.msg });
    this.readLine(m.msg);
  }

  private readLine(text: string): void {
    if (this.listing) {
      const item = /^ - (.+)$/.exec(text);
      if (item) {
        this.listing.items.push(item[1]!.trim());
        return;
      }
      this.endListing();
    }
    const line = text.trim();
    if (line === LINE.started) this.settle({ kind: 'started' });
    else if (line === LINE.safeMode) this.settle({ kind: 'safe-mode' });
    else if (line === LINE.updated) this.handlers.onFlowsUpdated();
    else if (line === LINE.missingTypes || line === LINE.missingModules) {
      const kind = line === LINE.missingTypes ? 'missing-types' : 'missing-modules';
      this.listing = { kind, items: [], timer: setTimeout(() => this.endListing(), LIST_SETTLE_MS) };
    }
  }

  private endListing(): void {
    const listing = this.listing;
    if (!listing) return;
    clearTimeout(listing.timer);
    this.listing = null;
    this.settle(listing.kind === 'missing-types' ? { kind: 'missing-types', types: listing.items } : { kind: 'missing-modules', modules: listing.items });
  }

  /** Only the first outcome counts: it is the answer to "did this start work". */
  private settle(outcome: StartupOutcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    for (const resolve of this.outcomeWaiters.splice(0)) resolve(outcome);
  }

  /** How the start went: flows started, safe mode, a reason they will not run, exit, or timeout. */
  waitForStartup(timeoutMs: number, signal: AbortSignal): Promise<StartupOutcome> {
    if (this.outcome) return Promise.resolve(this.outcome);
    return new Promise((resolve) => {
      const finish = (outcome: StartupOutcome) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = () => finish({ kind: 'aborted' });
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.outcomeWaiters.push(finish);
    });
  }

  /** SIGTERM (Node-RED stops its flows and exits), SIGKILL when that takes longer than `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.alive) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** GET {adminRoot}flows as the agent: the flows Node-RED has loaded, v1 format (the array). */
export async function fetchDeployedFlows(port: number, adminRoot: string, token: string, signal: AbortSignal): Promise<unknown> {
  const root = adminRoot.endsWith('/') ? adminRoot : `${adminRoot}/`;
  const response = await fetch(`http://127.0.0.1:${port}${root}flows`, {
    headers: { authorization: `Bearer ${token}`, 'Node-RED-API-Version': 'v1', accept: 'application/json' },
    signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${root}flows answered HTTP ${response.status}`);
  return JSON.parse(text) as unknown;
}

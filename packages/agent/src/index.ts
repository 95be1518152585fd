import fs from 'node:fs';
import os from 'node:os';
import type { AgentConfig } from './config.ts';
import { connectDeviceLink } from './device-link.ts';
import { bundledNodeRed } from './node-red-installations.ts';
import { createPlatformClient } from './platform-client.ts';
import { pollDesiredState, Reconciler } from './reconcile.ts';
import { StateStore } from './state-store.ts';
import { createEditorTunnel } from './tunnel.ts';
import { AuditUploader, LogUploader, StatusReporter } from './uploaders.ts';

export { AgentConfigError, AGENT_USAGE, loadAgentConfig } from './config.ts';
export type { AgentConfig } from './config.ts';
export { mintEditorToken, verifyEditorToken } from './editor-token.ts';
export type { EditorPermissions, EditorTokenPayload } from './editor-token.ts';
export type { AgentState, AuditEvent, DesiredSettings, DesiredState, LogLine, SnapshotRef, StatusReport } from './platform-client.ts';

/** How long Node-RED gets to stop, then the uploads get to flush, when the agent stops. */
export const SHUTDOWN_NODE_RED_MS = 5000;
export const SHUTDOWN_FLUSH_MS = 2000;

export type Agent = {
  /** Stops Node-RED, reports 'stopped', flushes status, audit and logs (bounded). */
  stop(): Promise<void>;
};

export type AgentOptions = {
  /** The agent's environment; Node-RED inherits it minus FLOWGATE_* variables. */
  env?: NodeJS.ProcessEnv;
  /** Where the agent's own lines go besides the platform's log upload. */
  writeLine?: (line: string) => void;
};

/** The whole machine's CPU use since the last call, and the memory in use: a device's load. */
function systemLoad(): () => { cpuPercent: number; memoryMb: number } {
  const times = () =>
    os.cpus().reduce((sum, cpu) => ({ idle: sum.idle + cpu.times.idle, total: sum.total + Object.values(cpu.times).reduce((a, b) => a + b, 0) }), { idle: 0, total: 0 });
  let last = times();
  return () => {
    const now = times();
    const total = now.total - last.total;
    const busy = total > 0 ? 100 * (1 - (now.idle - last.idle) / total) : 0;
    last = now;
    return { cpuPercent: Math.round(Math.min(100, Math.max(0, busy)) * 10) / 10, memoryMb: Math.round((os.totalmem() - os.freemem()) / 1048576) };
  };
}

export function agentVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** The composition root: builds the agent's parts from its configuration and starts them. */
export function startAgent(config: AgentConfig, options: AgentOptions = {}): Agent {
  const env = options.env ?? process.env;
  const writeLine = options.writeLine ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = new StateStore(config.dir);
  const nodeRed = bundledNodeRed();
  const device = config.protocol === 'device';
  const client = createPlatformClient({
    baseUrl: config.platformUrl,
    token: config.token,
    protocol: config.protocol ?? 'instance',
    ...(device ? { load: systemLoad() } : {}),
  });
  const logs = new LogUploader({ client, log: () => undefined });
  const log = (level: 'info' | 'warn' | 'error', msg: string) => {
    writeLine(`${new Date().toISOString()} ${level} ${msg}`);
    logs.add(level, `[flowgate-agent] ${msg}`);
  };
  const status = new StatusReporter({
    client,
    log,
    nodeRedVersion: nodeRed.version,
    agentVersion: agentVersion(),
    ...(config.statusIntervalMs ? { intervalMs: config.statusIntervalMs } : {}),
  });
  const audit = new AuditUploader({ client, log, dir: config.dir });
  // The instance token stays with the agent: flows can read their environment.
  const baseEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('FLOWGATE_')));
  const reconciler = new Reconciler({
    store,
    client,
    status,
    audit,
    logs,
    log,
    nodeRedDir: config.nodeRedDir ?? null,
    baseEnv,
    nodeRedPort: config.nodeRedPort ?? null,
    nodeRedHost: config.nodeRedHost ?? '127.0.0.1',
    snapshotVariables: device,
  });

  status.start();
  audit.start();
  logs.start();
  const polling = new AbortController();
  const link = config.mqtt ? connectDeviceLink({ url: config.mqtt.url, deviceId: config.mqtt.deviceId, credential: config.token, log }) : null;
  const tunnel = device ? createEditorTunnel({ platformUrl: config.platformUrl, credential: config.token, nodeRedPort: () => reconciler.nodeRedPort(), log }) : null;
  const poll = pollDesiredState({ client, reconciler, log, signal: polling.signal, link, ...(tunnel ? { onTunnelRequested: () => tunnel.open() } : {}) });
  log('info', `agent started: platform ${config.platformUrl}, directory ${config.dir}, Node-RED ${nodeRed.version}`);

  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        polling.abort();
        tunnel?.close();
        await reconciler.stop(SHUTDOWN_NODE_RED_MS);
        await poll;
        await link?.close().catch(() => undefined);
        log('info', 'agent stopped');
        await Promise.all([status.flush(SHUTDOWN_FLUSH_MS), audit.flush(SHUTDOWN_FLUSH_MS), logs.flush(SHUTDOWN_FLUSH_MS)]);
        status.close();
        audit.close();
        logs.close();
      })();
      return stopped;
    },
  };
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEVICE_API_ROOT } from '@flowgate/protocol';
import { AgentConfigError } from './config.ts';
import { mqttUrlFor } from './device-link.ts';
import { writeFileAtomic } from './state-store.ts';

/**
 * The agent on an edge device: `flowgate-agent --platform URL --token-file FILE` registers
 * the device into the token's team and site and keeps the credential it gets in its
 * working directory (device.json, mode 0600); afterwards `flowgate-agent --dir DIR`
 * alone runs as that device. From there it is the same agent as a hosted instance's (the
 * reconcile loop, Node-RED, the uploads), speaking the device protocol with its device
 * credential: it runs its target snapshot, and keeps running the last good one while the
 * platform is away or refuses its credential (pollDesiredState in reconcile.ts).
 */

export const DEVICE_FILE = 'device.json';

export type DeviceConfig = {
  platformUrl: string;
  dir: string;
  /** Given once, to register; null when the device is registered already. */
  provisionToken: string | null;
  name: string;
  /** Overrides the check-in period, when set. */
  checkInSeconds: number | null;
  /** The loopback port for Node-RED, when it is free; any free port otherwise. */
  nodeRedPort: number | null;
  /** The platform's MQTT broker; null: `--mqtt off`, the long poll alone. */
  mqttUrl: string | null;
  /** Whether --mqtt (or FLOWGATE_AGENT_MQTT) said so; otherwise the broker the platform names wins. */
  mqttUrlGiven: boolean;
};

export type DeviceIdentity = {
  deviceId: string;
  credential: string;
  teamId: string;
  siteId: string;
  groupId: string | null;
  applicationId: string | null;
  platformUrl: string;
  /** The broker the platform named at registration; null: MQTT over WebSocket on the platform's address. */
  mqttUrl?: string | null;
  registeredAt: string;
};

export const DEVICE_USAGE = `Usage: flowgate-agent --platform URL --token-file FILE [--dir DIR] [--name NAME]
       flowgate-agent --dir DIR          (a device registered before)

  --platform   FLOWGATE_AGENT_PLATFORM   base URL of the Flowgate platform
  --token-file FILE                      the provisioning token (fgp_...) from the team's fleet page, read from FILE;
                                         - reads it from standard input. Or FLOWGATE_AGENT_PROVISION holds it
  --dir        FLOWGATE_AGENT_DIR        working directory; keeps device.json (mode 0600). Default: .
  --name       FLOWGATE_AGENT_NAME       the device's name on the platform. Default: the host name
  --check-in-seconds FLOWGATE_AGENT_CHECK_IN_SECONDS  check in this often when nothing changes. Default: 30
  --node-red-port FLOWGATE_AGENT_NODE_RED_PORT  Node-RED's port on 127.0.0.1. Default: any free port
  --mqtt       FLOWGATE_AGENT_MQTT       the platform's MQTT broker: mqtt://host:port, ws(s)://..., or off.
                                         Default: MQTT over WebSocket on the platform's own address
  --provision TOKEN                      the old way, kept working with a warning: every user of the machine
                                         sees a command line's token in ps
`;

/** Said on stderr when the token comes on the command line. */
export const PROVISION_FLAG_WARNING =
  'warning: --provision puts the provisioning token on the command line, where every user of this machine can read it (ps, /proc/<pid>/cmdline) while the agent runs. ' +
  'Put the token in a file only you can read and pass --token-file FILE, or pipe it in with --token-file -';

/** Whether the command line asks for the token on standard input (`--token-file -`): the caller reads it first, loadDeviceConfig is synchronous. */
export function readsTokenFromStdin(argv: readonly string[]): boolean {
  return argv.some((arg, i) => arg === '--token-file=-' || (arg === '--token-file' && argv[i + 1] === '-'));
}

/** What loadDeviceConfig reads and says besides its arguments: standard input's text (read by the caller), and where a warning goes. */
export type DeviceConfigIo = { stdin?: () => string; warn?: (message: string) => void };

function readTokenFile(file: string, cwd: string, io: DeviceConfigIo): string {
  let text: string;
  if (file === '-') {
    if (!io.stdin) throw new AgentConfigError('--token-file -: standard input could not be read');
    text = io.stdin();
  } else {
    try {
      text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (err) {
      throw new AgentConfigError(`--token-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const token = text.trim();
  if (!token) throw new AgentConfigError(`--token-file: ${file === '-' ? 'standard input' : file} holds no token`);
  return token;
}

type Env = Record<string, string | undefined>;

/**
 * Device mode when a provisioning token is given, or the directory holds a registered device.
 * The token comes from --token-file (a file, or standard input for `-`), FLOWGATE_AGENT_PROVISION,
 * or, warned about, --provision on the command line.
 */
export function loadDeviceConfig(argv: readonly string[], env: Env, cwd = process.cwd(), io: DeviceConfigIo = {}): DeviceConfig | null {
  let values: { platform?: string; provision?: string; 'token-file'?: string; dir?: string; name?: string; 'check-in-seconds'?: string; 'node-red-port'?: string; mqtt?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        platform: { type: 'string' },
        provision: { type: 'string' },
        'token-file': { type: 'string' },
        dir: { type: 'string' },
        name: { type: 'string' },
        'check-in-seconds': { type: 'string' },
        'node-red-port': { type: 'string' },
        mqtt: { type: 'string' },
        token: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new AgentConfigError((err as Error).message);
  }
  const dir = path.resolve(cwd, values.dir ?? env.FLOWGATE_AGENT_DIR ?? '.');
  if (values.provision !== undefined && values['token-file'] !== undefined) throw new AgentConfigError('give the provisioning token once: --token-file or --provision, not both');
  if (values.provision !== undefined) io.warn?.(PROVISION_FLAG_WARNING);
  const given = values['token-file'] !== undefined ? readTokenFile(values['token-file'], cwd, io) : (values.provision ?? env.FLOWGATE_AGENT_PROVISION);
  const provisionToken = (given ?? '').trim() || null;
  const identity = loadDeviceIdentity(dir);
  if (!provisionToken && !identity) return null;
  if (provisionToken && !provisionToken.startsWith('fgp_')) throw new AgentConfigError('a provisioning token starts with fgp_');

  const platform = (values.platform ?? env.FLOWGATE_AGENT_PLATFORM ?? identity?.platformUrl ?? '').trim();
  if (!platform) throw new AgentConfigError('missing FLOWGATE_AGENT_PLATFORM (or --platform)');
  let url: URL;
  try {
    url = new URL(platform);
  } catch {
    throw new AgentConfigError(`FLOWGATE_AGENT_PLATFORM is not a URL: "${platform}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentConfigError(`FLOWGATE_AGENT_PLATFORM must be http or https, got "${url.protocol}"`);
  const seconds = values['check-in-seconds'] ?? env.FLOWGATE_AGENT_CHECK_IN_SECONDS;
  const checkInSeconds = seconds === undefined ? null : Number(seconds);
  if (checkInSeconds !== null && (!Number.isInteger(checkInSeconds) || checkInSeconds < 1 || checkInSeconds > 3600)) {
    throw new AgentConfigError('--check-in-seconds must be a whole number from 1 to 3600');
  }
  const portText = values['node-red-port'] ?? env.FLOWGATE_AGENT_NODE_RED_PORT;
  const nodeRedPort = portText === undefined ? null : Number(portText);
  if (nodeRedPort !== null && (!Number.isInteger(nodeRedPort) || nodeRedPort < 1 || nodeRedPort > 65535))
    throw new AgentConfigError('--node-red-port must be a port number from 1 to 65535');
  const mqttText = (values.mqtt ?? env.FLOWGATE_AGENT_MQTT ?? '').trim();
  // The platform may name another broker at registration (mqttUrlOf).
  let mqttUrl: string | null = mqttText === 'off' ? null : mqttText || mqttUrlFor(url.toString());
  if (mqttUrl !== null) {
    try {
      const parsed = new URL(mqttUrl);
      if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(parsed.protocol)) throw new Error('protocol');
      mqttUrl = parsed.toString();
    } catch {
      throw new AgentConfigError(`--mqtt must be mqtt://, mqtts://, ws:// or wss:// (or off), got "${mqttText}"`);
    }
  }
  return {
    platformUrl: url.toString().replace(/\/+$/, ''),
    dir,
    provisionToken,
    nodeRedPort,
    mqttUrl,
    mqttUrlGiven: mqttText !== '',
    name: (values.name ?? env.FLOWGATE_AGENT_NAME ?? os.hostname()).trim().slice(0, 120) || 'device',
    checkInSeconds,
  };
}

/** The broker to connect to: --mqtt when given, else the one the platform named at registration, else its own address. */
export function mqttUrlOf(config: DeviceConfig, identity: DeviceIdentity): string | null {
  return config.mqttUrlGiven ? config.mqttUrl : (identity.mqttUrl ?? config.mqttUrl);
}

export function loadDeviceIdentity(dir: string): DeviceIdentity | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, DEVICE_FILE), 'utf8')) as Partial<DeviceIdentity>;
    return typeof parsed.deviceId === 'string' && typeof parsed.credential === 'string' && typeof parsed.platformUrl === 'string' ? (parsed as DeviceIdentity) : null;
  } catch {
    return null;
  }
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: response.status, json };
}

/** Registers the device with its provisioning token and keeps what it gets, owner-only. */
export async function provisionDevice(config: DeviceConfig, versions: { agent: string; nodeRed: string }): Promise<DeviceIdentity> {
  const { status, json } = await postJson(`${config.platformUrl}${DEVICE_API_ROOT}/register`, {
    token: config.provisionToken,
    name: config.name,
    agentVersion: versions.agent,
    nodeRedVersion: versions.nodeRed,
  });
  if (status !== 201) throw new Error(`the platform refused to register this device (${status}): ${String(json.detail ?? json.title ?? 'no reason given')}`);
  const identity: DeviceIdentity = {
    deviceId: String(json.deviceId),
    credential: String(json.credential),
    teamId: String(json.teamId),
    siteId: String(json.siteId),
    groupId: (json.groupId as string | null) ?? null,
    applicationId: (json.applicationId as string | null) ?? null,
    platformUrl: config.platformUrl,
    mqttUrl: typeof json.mqttUrl === 'string' ? json.mqttUrl : null,
    registeredAt: new Date().toISOString(),
  };
  fs.mkdirSync(config.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(path.join(config.dir, DEVICE_FILE), `${JSON.stringify(identity, null, 2)}\n`);
  return identity;
}

import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The agent's configuration: where the platform is, the instance token, the working
 * directory. Flags win over environment variables, so one process can be pointed
 * elsewhere for a test without touching its environment; the token is better passed in
 * the environment, where `ps` does not show it.
 */

export type AgentConfig = {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:3000. */
  platformUrl: string;
  token: string;
  /** Absolute path; created with mode 0700 when missing. */
  dir: string;
  /** 'device': an edge device's agent, with its device credential as the token. Default 'instance'. */
  protocol?: 'instance' | 'device';
  /** The port Node-RED should listen on when it is free; default any free port. */
  nodeRedPort?: number | null;
  /**
   * The address Node-RED listens on: loopback (the default), where the platform's proxy is on
   * the same machine; 0.0.0.0 in a Kubernetes Pod, where the proxy reaches it over the Pod's
   * network (its NetworkPolicy lets in only the platform's pods).
   */
  nodeRedHost?: string;
  /** How often the status report (on a device: the check-in) repeats when nothing changed. */
  statusIntervalMs?: number;
  /** Where other Node-RED versions are installed, one folder each (node-red-installations.ts); none: only the agent's own. */
  nodeRedDir?: string | null;
  /** A device's MQTT connection (its id, and the broker URL); none for hosted instances. */
  mqtt?: { url: string; deviceId: string } | null;
};

export class AgentConfigError extends Error {}

export const AGENT_USAGE = `Usage: flowgate-agent [--platform URL] [--token TOKEN] [--dir DIR]

  --platform  FLOWGATE_AGENT_PLATFORM  base URL of the Flowgate platform
  --token     FLOWGATE_AGENT_TOKEN     the instance's bearer token (fgi_...)
  --dir       FLOWGATE_AGENT_DIR       working directory (Node-RED files, cache, state)
              FLOWGATE_AGENT_NODE_RED_DIR  other Node-RED versions, one folder each (optional)
              FLOWGATE_AGENT_NODE_RED_HOST  address Node-RED listens on (default 127.0.0.1)
              FLOWGATE_AGENT_NODE_RED_PORT  port Node-RED listens on when free (default any)
`;

type Env = Record<string, string | undefined>;

export function loadAgentConfig(argv: readonly string[], env: Env, cwd = process.cwd()): AgentConfig {
  let values: { platform?: string; token?: string; dir?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { platform: { type: 'string' }, token: { type: 'string' }, dir: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new AgentConfigError((err as Error).message);
  }
  const pick = (flag: string | undefined, name: string): string => {
    const value = flag ?? env[name];
    if (value === undefined || value.trim() === '') throw new AgentConfigError(`missing ${name} (or its flag)`);
    return value.trim();
  };
  const platform = pick(values.platform, 'FLOWGATE_AGENT_PLATFORM');
  let url: URL;
  try {
    url = new URL(platform);
  } catch {
    throw new AgentConfigError(`FLOWGATE_AGENT_PLATFORM is not a URL: "${platform}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentConfigError(`FLOWGATE_AGENT_PLATFORM must be http or https, got "${url.protocol}"`);
  const token = pick(values.token, 'FLOWGATE_AGENT_TOKEN');
  if (/\s/.test(token)) throw new AgentConfigError('FLOWGATE_AGENT_TOKEN must not contain whitespace');
  const portText = env.FLOWGATE_AGENT_NODE_RED_PORT?.trim();
  const nodeRedPort = portText ? Number(portText) : null;
  if (nodeRedPort !== null && (!Number.isInteger(nodeRedPort) || nodeRedPort < 1 || nodeRedPort > 65535))
    throw new AgentConfigError(`FLOWGATE_AGENT_NODE_RED_PORT must be a port (1-65535), got "${portText}"`);
  const nodeRedHost = env.FLOWGATE_AGENT_NODE_RED_HOST?.trim() || '127.0.0.1';
  if (net.isIP(nodeRedHost) === 0) throw new AgentConfigError(`FLOWGATE_AGENT_NODE_RED_HOST must be an IP address, got "${nodeRedHost}"`);
  return {
    platformUrl: url.toString().replace(/\/+$/, ''),
    token,
    dir: path.resolve(cwd, pick(values.dir, 'FLOWGATE_AGENT_DIR')),
    nodeRedDir: env.FLOWGATE_AGENT_NODE_RED_DIR?.trim() ? path.resolve(cwd, env.FLOWGATE_AGENT_NODE_RED_DIR.trim()) : null,
    nodeRedPort,
    nodeRedHost,
  };
}

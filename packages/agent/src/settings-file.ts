import { fileURLToPath } from 'node:url';
import { nodeRedPaletteLists } from '@flowgate/core';
import type { DesiredSettings } from './platform-client.ts';
import type { NodeRedIpcMessage, NodeRedSettingsValues } from './node-red-settings-runtime.cjs';

/**
 * Node-RED's settings. Node-RED is started with `--settings` NODE_RED_SETTINGS_MODULE, a
 * static module of this package (node-red-settings.cjs, whose work is in
 * node-red-settings-runtime.cjs), and before every start the agent writes the values for
 * this start (nodeRedSettingsValues) to a JSON file, owner-only, whose path Node-RED gets in
 * NODE_RED_SETTINGS_ENV. No code is generated: what runs inside Node-RED is a file tsc and
 * eslint read like any other.
 */

export type { NodeRedIpcMessage, NodeRedSettingsValues };

/** The settings file Node-RED loads, beside this module wherever the agent runs (from source, or installed). */
export const NODE_RED_SETTINGS_MODULE = fileURLToPath(new URL('./node-red-settings.cjs', import.meta.url));

/**
 * The variable that names the values file to NODE_RED_SETTINGS_MODULE. Not FLOWGATE_*: those
 * are the agent's own settings (its token among them), which Node-RED never inherits; this
 * one holds a path, set by the agent for Node-RED only.
 */
export const NODE_RED_SETTINGS_ENV = 'NODE_RED_SETTINGS_VALUES';

export type NodeRedSettingsInput = {
  instanceId: string;
  /** The address Node-RED listens on; default loopback. */
  host?: string;
  port: number;
  settings: DesiredSettings;
  safeMode: boolean;
};

/** The identity the agent uses for its own calls to Node-RED; its audit events are not forwarded. */
export const AGENT_USER = { sub: 'flowgate-agent', email: 'flowgate-agent', name: 'Flowgate agent' } as const;

/** What the settings module reads for one start of Node-RED; holds the credential secret and the editor token key. */
export function nodeRedSettingsValues(input: NodeRedSettingsInput): NodeRedSettingsValues {
  const { settings } = input;
  if (!Number.isInteger(input.port) || input.port <= 0 || input.port > 65535) throw new RangeError(`not a port: ${input.port}`);
  return {
    instanceId: input.instanceId,
    host: input.host ?? '127.0.0.1',
    port: input.port,
    safeMode: input.safeMode,
    credentialSecret: settings.credentialSecret,
    editorTokenKey: settings.editorTokenKey,
    endpointKey: settings.endpointKey,
    httpAdminRoot: settings.httpAdminRoot,
    httpNodeRoot: settings.httpNodeRoot,
    palette: nodeRedPaletteLists(settings.palette),
  };
}

/** The values file's content (written with writeFileAtomic: mode 0600). */
export function renderSettingsValues(input: NodeRedSettingsInput): string {
  return `${JSON.stringify(nodeRedSettingsValues(input), null, 2)}\n`;
}

import { bundledNodeRed as bundledFrom, nodeRedInstallations as installationsFrom } from '@flowgate/protocol/node-red-installations';
import type { NodeRedInstallation } from '@flowgate/protocol/node-red-installations';

export { pickNodeRed, type NodeRedInstallation } from '@flowgate/protocol/node-red-installations';

/** The agent's package: its node-red dependency is the Node-RED it runs when asked for none. */
const AGENT_PACKAGE = new URL('../package.json', import.meta.url).href;

/** The agent's own Node-RED (@flowgate/protocol/node-red-installations). */
export function bundledNodeRed(): NodeRedInstallation {
  return bundledFrom(AGENT_PACKAGE);
}

/** Every Node-RED this machine holds: the agent's own first, then those under `dir`. */
export function nodeRedInstallations(dir: string | null): NodeRedInstallation[] {
  return installationsFrom(dir, AGENT_PACKAGE);
}

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Where the other workspace packages live, found through module resolution rather than
 * relative paths, so the same code works from src/ (tsx) and from the bundle in dist/.
 *
 * The platform depends on @flowgate/agent for one thing: the agent's command, which it
 * spawns for every hosted instance (and whose package's Node-RED it offers). It imports no
 * code of the agent's (eslint.config.js forbids it): what both need is @flowgate/protocol.
 */
const require = createRequire(import.meta.url);

export const AGENT_BIN = require.resolve('@flowgate/agent/bin');
/** The agent's package.json: its node-red dependency is the Node-RED hosted agents run by default. */
export const AGENT_PACKAGE_JSON = require.resolve('@flowgate/agent/package.json');
export const AGENT_DIR = path.dirname(AGENT_PACKAGE_JSON);
export const WEB_DIST = path.join(path.dirname(require.resolve('@flowgate/web/package.json')), 'dist');

/** The deepest directory holding both paths. */
function commonAncestor(a: string, b: string): string {
  const left = a.split(path.sep);
  const right = b.split(path.sep);
  let i = 0;
  while (i < left.length && i < right.length && left[i] === right[i]) i++;
  return left.slice(0, i).join(path.sep) || path.sep;
}

/**
 * The code a hosted instance runs, which its sandbox must show whatever it hides (a checkout
 * under /home or /tmp): the agent's package and the Node-RED it resolves, with all between
 * (the workspace, or the installed application), and Node.js itself.
 */
export function instanceCodeDirs(): string[] {
  const agentDir = fs.realpathSync(AGENT_DIR);
  const nodeRed = fs.realpathSync(path.dirname(createRequire(AGENT_PACKAGE_JSON).resolve('node-red/package.json')));
  return [commonAncestor(agentDir, nodeRed), path.dirname(path.dirname(fs.realpathSync(process.execPath)))];
}

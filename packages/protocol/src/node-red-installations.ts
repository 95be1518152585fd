import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import semver from 'semver';

/**
 * The Node-RED versions a machine can run: the agent runs one of them, and the platform
 * offers them (for the hosted instances it starts), so both read them here. The agent's own dependency (4.1.x) is always
 * one. Others are installed beside it, each in a folder of its own under one directory
 * (FLOWGATE_NODE_RED_DIR for the platform and the agents it starts,
 * FLOWGATE_AGENT_NODE_RED_DIR for an agent on a device):
 *
 *     npm install --prefix "$FLOWGATE_NODE_RED_DIR/5.0.2" node-red@5.0.2
 *
 * An installation whose package needs a newer Node.js than the one running here is listed,
 * but does not run (Node-RED 5 needs Node.js 22.9 or later): it is never offered, and an
 * instance set to it reports why instead of starting.
 */

export type NodeRedInstallation = {
  /** red.js, which the agent runs with Node.js. */
  entry: string;
  version: string;
  /** The Node.js versions its package.json says it needs (engines.node), if it says. */
  nodeRange: string | null;
  runsHere: boolean;
};

type Manifest = { name?: unknown; version?: unknown; engines?: { node?: unknown } };

function installationAt(packageDir: string): NodeRedInstallation | null {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return null;
  }
  if (manifest.name !== 'node-red' || typeof manifest.version !== 'string' || !semver.valid(manifest.version)) return null;
  const entry = path.join(packageDir, 'red.js');
  if (!fs.existsSync(entry)) return null;
  const nodeRange = typeof manifest.engines?.node === 'string' ? manifest.engines.node : null;
  const runsHere = nodeRange === null || semver.satisfies(process.versions.node, nodeRange, { includePrerelease: true });
  return { entry, version: manifest.version, nodeRange, runsHere };
}

/**
 * The agent's own Node-RED, the one it runs when nothing else is asked for. `resolveFrom`:
 * a file of the agent's package, whose dependency it is (the agent passes its own, the
 * platform the agent's package.json: the platform offers what the agents it starts run).
 */
export function bundledNodeRed(resolveFrom: string): NodeRedInstallation {
  const require = createRequire(resolveFrom);
  const installation = installationAt(path.dirname(require.resolve('node-red/package.json')));
  if (!installation) throw new Error("the agent's node-red package is not installed: run npm ci");
  return installation;
}

/**
 * Every Node-RED installed here: the agent's own first, then those under `dir` (each
 * `<dir>/<folder>/node_modules/node-red`), newest first. A version found twice is listed
 * once, the first found; a folder that holds no Node-RED is passed over.
 */
export function nodeRedInstallations(dir: string | null, resolveFrom: string): NodeRedInstallation[] {
  const found = [bundledNodeRed(resolveFrom)];
  let folders: string[] = [];
  try {
    if (dir)
      folders = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
  } catch {
    folders = []; // not made yet: only the agent's own
  }
  const others = folders
    .map((folder) => installationAt(path.join(dir!, folder, 'node_modules', 'node-red')))
    .filter((installation): installation is NodeRedInstallation => installation !== null)
    .sort((a, b) => semver.rcompare(a.version, b.version));
  for (const installation of others) if (!found.some((known) => known.version === installation.version)) found.push(installation);
  return found;
}

/**
 * The installation to run for `version` (null: the agent's own), or why there is none:
 * what the instance's status then says.
 */
export function pickNodeRed(installations: NodeRedInstallation[], version: string | null): NodeRedInstallation | string {
  if (version === null) return installations[0]!;
  const installation = installations.find((candidate) => candidate.version === version);
  if (!installation) return `Node-RED ${version} is not installed on this machine (installed: ${installations.map((known) => known.version).join(', ')})`;
  if (!installation.runsHere) return `Node-RED ${version} needs Node.js ${installation.nodeRange}; this machine runs ${process.version}`;
  return installation;
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { bundledNodeRed, nodeRedInstallations, pickNodeRed } from './node-red-installations.ts';

/**
 * Which Node-RED versions a machine holds, read from the directory they are installed in.
 * The folders here hold only what the agent reads (package.json and red.js): installing a
 * second real Node-RED from the registry takes a minute and the network. That the agent
 * runs the one picked is instances.runtime.test.ts, with the real Node-RED behind it.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-node-reds-'));
// An agent's package, outside `dir`: its own node-red dependency is the bundled one.
const agent = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-agent-package-'));
const agentPackage = path.join(agent, 'package.json');
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(agent, { recursive: true, force: true });
});

function install(folder: string, manifest: Record<string, unknown>, withEntry = true, root = dir): void {
  const packageDir = path.join(root, folder, 'node_modules', 'node-red');
  fs.mkdirSync(packageDir, { recursive: true });
  fs.writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify(manifest));
  if (withEntry) fs.writeFileSync(path.join(packageDir, 'red.js'), '');
}

describe('Node-RED installations', () => {
  install('.', { name: 'node-red', version: '4.1.8', engines: { node: '>=18.5' } }, true, agent);
  const own = bundledNodeRed(agentPackage);
  install('4.0.9', { name: 'node-red', version: '4.0.9', engines: { node: '>=18.5' } });
  install('5.0.2', { name: 'node-red', version: '5.0.2', engines: { node: '>=99' } });
  install('4.1.1', { name: 'node-red', version: '4.1.1' });
  install('same-as-own', { name: 'node-red', version: own.version, engines: { node: '>=18' } });
  install('not-node-red', { name: 'node-red-contrib-x', version: '1.0.0' });
  install('no-entry', { name: 'node-red', version: '4.1.2' }, false);
  install('bad-version', { name: 'node-red', version: 'latest' });
  fs.writeFileSync(path.join(dir, 'a-file'), 'not a folder');

  test("the agent's own first, then the others newest first; what is not a Node-RED is passed over", () => {
    const found = nodeRedInstallations(dir, agentPackage);
    assert.deepEqual(
      found.map((i) => [i.version, i.runsHere]),
      [
        [own.version, true],
        ['5.0.2', false],
        ['4.1.1', true],
        ['4.0.9', true],
      ],
    );
    assert.equal(found[0]!.entry, own.entry, 'a version found twice is the first found');
    assert.equal(found[1]!.entry, path.join(dir, '5.0.2', 'node_modules', 'node-red', 'red.js'));
    assert.equal(found[1]!.nodeRange, '>=99');
  });

  test("no directory, or one not made yet: the agent's own only", () => {
    assert.deepEqual(
      nodeRedInstallations(null, agentPackage).map((i) => i.version),
      [own.version],
    );
    assert.deepEqual(
      nodeRedInstallations(path.join(dir, 'missing'), agentPackage).map((i) => i.version),
      [own.version],
    );
  });

  test("picking: null is the agent's own; a version not installed or needing another Node.js says why", () => {
    const found = nodeRedInstallations(dir, agentPackage);
    assert.equal(pickNodeRed(found, null), found[0]);
    assert.equal(pickNodeRed(found, '4.0.9'), found[3]);
    assert.equal(pickNodeRed(found, '3.1.0'), `Node-RED 3.1.0 is not installed on this machine (installed: ${own.version}, 5.0.2, 4.1.1, 4.0.9)`);
    assert.equal(pickNodeRed(found, '5.0.2'), `Node-RED 5.0.2 needs Node.js >=99; this machine runs ${process.version}`);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MachineFacts } from '@flowgate/protocol';

/**
 * What the agent can read of its machine for the platform's automatic inventory (SR 7.8):
 * the operating system, Node.js, the Node-RED it started, and the node modules installed in
 * Node-RED's user directory with the version each one's own package.json gives, so what is
 * installed, not what package.json asked for. Read when Node-RED starts and when an editor
 * deploy is taken in, not on every report: reading a few hundred package.json files every
 * 30 s on a small device is not free.
 */

const MAX_MODULES = 1000;

function readJson(file: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The node modules of the user directory: its package.json's dependencies, and any other
 * package directly in node_modules that declares itself a Node-RED module (Node-RED loads
 * those too, however they got there), each with its installed version.
 */
export function installedModuleVersions(userDir: string): MachineFacts['modules'] {
  const nodeModules = path.join(userDir, 'node_modules');
  const names = new Set<string>();
  const dependencies = readJson(path.join(userDir, 'package.json'))?.dependencies;
  if (dependencies && typeof dependencies === 'object') for (const name of Object.keys(dependencies)) names.add(name);
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(nodeModules);
  } catch {
    // No node_modules yet: nothing installed.
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@') ? safeList(path.join(nodeModules, entry)).map((inner) => `${entry}/${inner}`) : [entry];
    for (const name of scoped) if (!names.has(name) && readJson(path.join(nodeModules, name, 'package.json'))?.['node-red']) names.add(name);
  }
  const modules: MachineFacts['modules'] = [];
  for (const name of [...names].sort()) {
    const manifest = readJson(path.join(nodeModules, ...name.split('/'), 'package.json'));
    // Listed but not installed: not on the machine, so not in its inventory.
    if (!manifest || typeof manifest.version !== 'string') continue;
    modules.push({ name: name.slice(0, 214), version: manifest.version.slice(0, 64) });
    if (modules.length === MAX_MODULES) break;
  }
  return modules;
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function machineFacts(userDir: string, nodeRedVersion: string): MachineFacts {
  return {
    os: { type: os.type().slice(0, 64), release: os.release().slice(0, 128), arch: os.arch().slice(0, 32) },
    nodeVersion: process.version.slice(0, 32),
    nodeRedVersion: nodeRedVersion.slice(0, 32),
    modules: installedModuleVersions(userDir),
  };
}

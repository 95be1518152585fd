import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, refusedModules, validateModules } from '@flowgate/core';
import type { PaletteLists, SnapshotModule } from '@flowgate/core';
import { writeFileAtomic } from './state-store.ts';

/**
 * The node modules of Node-RED's user directory: those a snapshot holds are the ones
 * installed before Node-RED starts with it, and the others go, so that a rollback runs
 * with the modules it was made with and not those added since.
 *
 * Node-RED keeps what its palette installed as the dependencies of userDir/package.json and
 * the packages in userDir/node_modules. The agent writes the snapshot's list as those
 * dependencies and lets npm make node_modules match (it also removes what is no longer
 * listed), from the registry npm is configured for (npm_config_registry in the agent's
 * environment, as for Node-RED's own palette installs).
 */

/** npm's whole install may take this long (a module with a native build on a small device). */
export const INSTALL_TIMEOUT_MS = 5 * 60_000;
const KEPT_OUTPUT_CHARS = 2000;

function manifestPath(userDir: string): string {
  return path.join(userDir, 'package.json');
}

function readManifest(userDir: string): Record<string, unknown> | null {
  try {
    const manifest: unknown = JSON.parse(fs.readFileSync(manifestPath(userDir), 'utf8'));
    return manifest && typeof manifest === 'object' && !Array.isArray(manifest) ? (manifest as Record<string, unknown>) : null;
  } catch {
    return null; // none yet: Node-RED writes it at its first install
  }
}

/**
 * The node modules installed in Node-RED's user directory (from the palette), as Node-RED
 * lists them in its package.json, by name: what a snapshot of an editor deploy holds.
 */
export function installedModules(userDir: string): SnapshotModule[] {
  const dependencies = readManifest(userDir)?.dependencies;
  if (!dependencies || typeof dependencies !== 'object') return [];
  return (
    Object.entries(dependencies as Record<string, unknown>)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([name, version]) => ({ name, version }))
      // An entry the platform would refuse (a legacy upper-case name, a file: or git version)
      // is left out, rather than the whole deploy refused and put back for it.
      .filter((module) => validateModules([module]).ok)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  );
}

function isInstalled(userDir: string, name: string): boolean {
  return fs.existsSync(path.join(userDir, 'node_modules', ...name.split('/'), 'package.json'));
}

export type ModulesOutcome = { ok: true; changed: boolean } | { ok: false; reason: string };

/**
 * Makes the user directory hold exactly `wanted`: nothing to do when package.json lists
 * them and each is in node_modules; otherwise writes the list and runs `npm install`.
 * Refuses, before npm runs, a module the team's palette lists keep out.
 */
export async function syncNodeModules(
  userDir: string,
  wanted: SnapshotModule[],
  options: { palette: PaletteLists; env: NodeJS.ProcessEnv; signal: AbortSignal; log: (line: string) => void; timeoutMs?: number },
): Promise<ModulesOutcome> {
  const listed = canonicalJson(installedModules(userDir)) === canonicalJson(wanted);
  if (listed && wanted.every((module) => isInstalled(userDir, module.name))) return { ok: true, changed: false };
  const refused = refusedModules(wanted, options.palette);
  if (refused.length > 0) return { ok: false, reason: `the team's palette lists do not allow the node module${refused.length > 1 ? 's' : ''} ${refused.join(', ')}` };

  const manifest = readManifest(userDir) ?? {
    name: 'node-red-project',
    description: 'The node modules of this Node-RED, kept by the Flowgate agent',
    version: '0.0.1',
    private: true,
  };
  manifest.dependencies = Object.fromEntries(wanted.map((module) => [module.name, module.version]));
  writeFileAtomic(manifestPath(userDir), `${JSON.stringify(manifest, null, 2)}\n`);
  const names = wanted.map((module) => `${module.name}@${module.version}`).join(', ') || 'none';
  options.log(`node modules: installing ${names}`);
  const result = await runNpm(userDir, ['install', '--omit=dev', '--engine-strict', '--no-audit', '--no-fund', '--no-update-notifier'], options);
  if (!result.ok) return { ok: false, reason: `installing the node modules (${names}) failed: ${result.reason}` };
  const missing = wanted.filter((module) => !isInstalled(userDir, module.name)).map((module) => module.name);
  if (missing.length > 0) return { ok: false, reason: `npm finished but ${missing.join(', ')} is not in node_modules` };
  return { ok: true, changed: true };
}

function runNpm(cwd: string, args: string[], options: { env: NodeJS.ProcessEnv; signal: AbortSignal; timeoutMs?: number }): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS);
    };
    const timeoutMs = options.timeoutMs ?? INSTALL_TIMEOUT_MS;
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
      cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      shell: process.platform === 'win32',
    });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'npm is not installed on this machine' : err.message }));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ ok: true });
      const lastLines =
        output
          .trim()
          .split('\n')
          .filter((line) => line.includes('ERR'))
          .slice(-4)
          .join(' ') || output.trim().split('\n').slice(-3).join(' ');
      if (signal) resolve({ ok: false, reason: options.signal.aborted ? 'the agent is stopping' : `npm did not finish within ${Math.round(timeoutMs / 1000)} s` });
      else resolve({ ok: false, reason: `npm exited with code ${code}: ${lastLines}` });
    });
  });
}

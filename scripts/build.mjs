#!/usr/bin/env node
// Builds what `npm start` and `npm test` serve: the web UI (Vite, packages/web/dist), the
// server bundle (esbuild, packages/server/dist/cli.mjs) and the agent bundle (esbuild,
// packages/agent/dist/agent.mjs, which each hosted instance runs). Each is built only when it is missing
// or a file it is made from changed after it was built, so a start with nothing changed costs
// a walk over a few hundred files' times (tens of milliseconds), not a 4 to 16 s build.
//
//   node scripts/build.mjs                build what is out of date (npm start, npm test)
//   node scripts/build.mjs --force        build all three (npm run build)
//   node scripts/build.mjs --postinstall  as the first, run by npm install / npm ci; skips with
//                                         a note when the build tools are not installed
//                                         (npm ci --omit=dev)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const force = args.has('--force');
const postinstall = args.has('--postinstall');

/** What each output is made from: directories walked (but node_modules, dist, tests and docs) and single files. */
const TARGETS = [
  {
    name: 'the web UI',
    output: 'packages/web/dist/index.html',
    inputs: ['packages/web', 'packages/core', 'package-lock.json'],
    build: buildWeb,
  },
  {
    name: 'the server bundle',
    output: 'packages/server/dist/cli.mjs',
    inputs: ['packages/server', 'packages/core', 'packages/agent', 'scripts/build.mjs', 'scripts/build-server.mjs', 'package-lock.json'],
    build: buildServer,
  },
  {
    name: 'the agent bundle',
    output: 'packages/agent/dist/agent.mjs',
    inputs: ['packages/agent/src', 'packages/core/src', 'packages/protocol/src', 'scripts/build-agent.mjs', 'package-lock.json'],
    build: () => import('./build-agent.mjs'),
  },
];

const SKIP_DIRS = new Set(['node_modules', 'dist', 'test', 'test-support']);
/** Files no build reads: tests and documentation. */
const ignored = (name) => /\.test\.tsx?$|\.md$/.test(name);

/** The newest modification time (ms) among the files under `rel`, and which file it is. */
function newest(rel, found = { time: 0, file: '' }) {
  const full = path.join(ROOT, rel);
  let stat;
  try {
    stat = fs.statSync(full);
  } catch {
    return found;
  }
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
      if (entry.isDirectory() ? SKIP_DIRS.has(entry.name) : ignored(entry.name)) continue;
      newest(path.join(rel, entry.name), found);
    }
  } else if (stat.mtimeMs > found.time) {
    found.time = stat.mtimeMs;
    found.file = rel;
  }
  return found;
}

/** Why `target` must be built, or null when its output is newer than everything it is made from. */
function reason(target) {
  if (force) return 'asked to';
  let built;
  try {
    built = fs.statSync(path.join(ROOT, target.output)).mtimeMs;
  } catch {
    return 'not built yet';
  }
  const latest = { time: 0, file: '' };
  for (const input of target.inputs) newest(input, latest);
  return latest.time > built ? `${latest.file} changed` : null;
}

async function buildWeb() {
  const { build } = await import('vite');
  await build({ root: path.join(ROOT, 'packages/web'), logLevel: 'warn' });
}

async function buildServer() {
  await import('./build-server.mjs');
}

async function buildToolsInstalled() {
  try {
    await import('vite');
    await import('esbuild');
    return true;
  } catch {
    return false;
  }
}

const stale = TARGETS.map((target) => ({ target, why: reason(target) })).filter((t) => t.why);
if (stale.length > 0) {
  if (!(await buildToolsInstalled())) {
    const what = stale.map((t) => t.target.name).join(' and ');
    if (postinstall) {
      // npm ci --omit=dev, as on a device that runs only the agent, which needs no build.
      console.log(`flowgate: not building ${what}: vite and esbuild (dev dependencies) are not installed; npm start will need them`);
      process.exit(0);
    }
    console.error(`flowgate: cannot build ${what}: vite and esbuild (dev dependencies) are not installed. Install them with: npm install`);
    process.exit(1);
  }
  for (const { target, why } of stale) {
    const started = Date.now();
    process.stdout.write(`flowgate: building ${target.name} (${why})... `);
    await target.build();
    // The output's time is the build's start: a source saved during the build makes it stale.
    const out = path.join(ROOT, target.output);
    fs.utimesSync(out, started / 1000, started / 1000);
    console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

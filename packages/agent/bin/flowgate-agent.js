#!/usr/bin/env node
// Runs the agent: its bundle (dist/agent.mjs, made by scripts/build.mjs) when it is newer than
// every source it is made from; else the TypeScript through tsx, as in a checkout being
// edited, or where nothing was built (an agent installed without the build tools). A hosted
// instance starts an agent each time: the bundle starts in about half the time and memory.
import fs from 'node:fs';

const packages = new URL('../../', import.meta.url);
const bundle = new URL('../dist/agent.mjs', import.meta.url);

/** The newest modification time under a directory, tests left out (the bundle holds none). */
function newest(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name !== 'test-support') latest = Math.max(latest, newest(new URL(`${entry.name}/`, dir)));
    } else if (!/\.test\.tsx?$/.test(entry.name)) latest = Math.max(latest, fs.statSync(new URL(entry.name, dir)).mtimeMs);
  }
  return latest;
}

function bundleIsFresh() {
  try {
    const built = fs.statSync(bundle).mtimeMs;
    return ['agent', 'core', 'protocol'].every((name) => newest(new URL(`${name}/src/`, packages)) <= built);
  } catch {
    return false;
  }
}

if (bundleIsFresh()) await import(bundle.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}

#!/usr/bin/env node
// Bundles the server's own TypeScript (and @flowgate/core and @flowgate/protocol) into one ES module, so that
// `npm start` runs plain Node: no TypeScript compiler at start, and one file to load
// instead of a hundred. The agent the same way (bundleAgent, for the agent's own target in build.mjs). Third-party packages stay in node_modules (native addons, and
// packages that find their own files on disk, such as the Swagger UI assets).
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

// The workspaces bundled in: the server and what it imports. Their own dependencies stay outside.
const bundled = ['server', 'core', 'protocol'].map((name) => JSON.parse(fs.readFileSync(new URL(`../packages/${name}/package.json`, import.meta.url), 'utf8')));
const external = [
  ...new Set(bundled.flatMap((manifest) => Object.keys(manifest.dependencies ?? {})).filter((name) => !name.startsWith('@flowgate/'))),
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
];
await build({
  entryPoints: [new URL('../packages/server/src/cli.ts', import.meta.url).pathname],
  outfile: new URL('../packages/server/dist/cli.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
});

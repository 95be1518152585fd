#!/usr/bin/env node
// Bundles the agent's TypeScript (and @flowgate/core and @flowgate/protocol) into one ES module,
// packages/agent/dist/agent.mjs, which bin/flowgate-agent.js runs when it is newer than the
// sources. Every hosted instance starts an agent: through tsx each one compiled the agent at
// start (in a sandbox whose /tmp is empty, with no cache to find) and kept an esbuild process
// beside it; bundled, it starts in about half the time, with neither (docs/benchmarks.md).
// Node-RED loads the agent's settings module by path, with require(): the two CommonJS files
// are copied beside the bundle, where settings-file.ts finds them.
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

const agentDir = new URL('../packages/agent/', import.meta.url);
const bundled = ['agent', 'core', 'protocol'].map((name) => JSON.parse(fs.readFileSync(new URL(`../packages/${name}/package.json`, import.meta.url), 'utf8')));
const external = [
  ...new Set(bundled.flatMap((manifest) => Object.keys(manifest.dependencies ?? {})).filter((name) => !name.startsWith('@flowgate/'))),
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
];
await build({
  entryPoints: [new URL('src/cli.ts', agentDir).pathname],
  outfile: new URL('dist/agent.mjs', agentDir).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
});
for (const file of ['node-red-settings.cjs', 'node-red-settings-runtime.cjs']) fs.copyFileSync(new URL(`src/${file}`, agentDir), new URL(`dist/${file}`, agentDir));

#!/usr/bin/env node
// Runs every benchmark in bench/ one after another (never in parallel: each measures the
// machine), each in its own process with tsx. `npm run bench -- audit-verify startup`
// runs only those. Exits non-zero when any benchmark fails.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HEAP_CAP = '--max-old-space-size=1024';
const root = fileURLToPath(new URL('..', import.meta.url));
const ORDER = ['audit-append', 'audit-verify', 'audit-page', 'startup'];
const available = fs
  .readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && f !== 'lib.ts')
  .map((f) => f.slice(0, -3))
  .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
const names = wanted.length ? wanted : available;

const failed = [];
const startedAll = performance.now();
for (const name of names) {
  console.log(`\n=== ${name}: node ${HEAP_CAP} --import tsx bench/${name}.ts`);
  const started = performance.now();
  // With the heap cap `npm start` gives the platform (docs/fleet.md, "Memory"): the fleet
  // benchmarks run the platform in their own process.
  const result = spawnSync(process.execPath, [HEAP_CAP, '--import', 'tsx', path.join('bench', `${name}.ts`)], { cwd: root, stdio: 'inherit' });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    failed.push(name);
    console.log(`=== ${name} FAILED (exit ${result.status ?? result.signal}) after ${seconds} s`);
  } else {
    console.log(`=== ${name} done in ${seconds} s`);
  }
}
console.log(
  `\n${names.length - failed.length}/${names.length} benchmarks ran in ${((performance.now() - startedAll) / 1000).toFixed(0)} s${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
);
process.exit(failed.length ? 1 : 0);

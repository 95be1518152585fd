/**
 * Snapshot hashing and flow diff speed, on realistic synthetic flows (makeFlow): the
 * hash of a 300-node snapshot, and the diff of a 10,000-node flow after a known set of
 * mutations (nodes added, removed, edited, moved, rewired; tabs renamed). Each figure
 * is the median of many runs after a warm-up; the diff is checked against the expected
 * counts first, so a fast wrong answer cannot pass.
 *
 *   node --import tsx bench/flow-diff.ts
 */
import { cpus, loadavg } from 'node:os';
import { diffFlows, snapshotHash, type SnapshotContent } from '@flowgate/core';
import { makeFlow, mutateFlow, type MutationPlan } from '../packages/core/src/test-fixtures/flows.ts';

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

function time(runs: number, warmup: number, work: () => unknown): number {
  for (let i = 0; i < warmup; i++) work();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    work();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

function line(text: string): void {
  process.stdout.write(text + '\n');
}

line(
  `flow-diff: node ${process.version}, ${cpus().length} cores, load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`,
);

// A snapshot as the server stores one: flows, the encrypted credentials blob, settings, env, modules.
const snapshot: SnapshotContent = {
  flows: makeFlow(300, 1),
  credentials: `{"$":"${'3f9a'.repeat(512)}"}`,
  settings: { flowFile: 'flows.json', credentialSecret: false, uiPort: 1880, editorTheme: { projects: { enabled: false } }, functionExternalModules: true },
  env: [
    { name: 'SITE', value: 'plant-7', secret: false },
    { name: 'MQTT_PASSWORD', value: null, secret: true },
  ],
  modules: [
    { name: 'node-red', version: '4.0.9' },
    { name: 'node-red-contrib-modbus', version: '5.43.0' },
    { name: 'node-red-dashboard', version: '3.6.5' },
  ],
};
const hashMs = time(200, 20, () => snapshotHash(snapshot));
line(`snapshot hash of a 300-node flow: ${hashMs.toFixed(2)} ms (p50 of 200)`);

const plan: MutationPlan = { add: 50, remove: 50, change: 100, move: 200, rewire: 50, rename: 3 };
const before = makeFlow(10_000, 2);
const { after, expected } = mutateFlow(before, plan, 5);
const check = diffFlows(before, after);
if (JSON.stringify(check.summary) !== JSON.stringify(expected)) {
  throw new Error(`diff summary ${JSON.stringify(check.summary)} is not the expected ${JSON.stringify(expected)}`);
}
const mutations = expected.added + expected.removed + expected.changed + expected.moved;
const diffMs = time(20, 3, () => diffFlows(before, after));
line(`diff of a 10,000-node flow (${mutations} mutations): ${diffMs.toFixed(1)} ms (p50 of 20)`);

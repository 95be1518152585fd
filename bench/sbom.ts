/**
 * SBOM speed: making the CycloneDX 1.6 JSON SBOM of a snapshot holding 50 node modules (a
 * third of them scoped, a third at a ~ or ^ range), the work GET /api/snapshots/:id/sbom
 * does after reading the snapshot: the library's model built, normalized and serialized.
 * The first document is validated against the CycloneDX schema, so a fast wrong answer
 * cannot pass. Target: 50 ms.
 *
 *   node --import tsx bench/sbom.ts
 */
import { randomUUID } from 'node:crypto';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import type { SnapshotModule } from '@flowgate/core';
import { makeSbom, serializeSbom, type SbomInput } from '../packages/server/src/features/sbom/sbom.ts';
import { fmt, line, machineNote, percentile } from './lib.ts';

const MODULE_COUNT = 50;
const RUNS = 500;
const WARMUP = 50;
const TARGET_MS = 50;

const modules: SnapshotModule[] = Array.from({ length: MODULE_COUNT }, (_, i) => ({
  name: i % 3 === 0 ? `@plant-${i}/node-red-contrib-line-${i}` : `node-red-contrib-module-${i}`,
  version: `${['', '~', '^'][i % 3]}${1 + (i % 4)}.${i}.${i % 7}`,
}));

const input = (): SbomInput => ({
  subject: { kind: 'snapshot', id: randomUUID(), name: 'Line 3 release' },
  snapshot: { id: randomUUID(), name: 'Line 3 release', hash: 'c0ffee'.repeat(10) + 'c0ff', nodeCount: 300 },
  modules,
  nodeRed: { version: '4.1.8', source: 'snapshot' },
  timestamp: new Date(),
  serialNumber: `urn:uuid:${randomUUID()}`,
});

line(`sbom: ${machineNote()}`);
const first = serializeSbom(makeSbom(input()));
const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(first);
if (errors !== null) throw new Error(`the SBOM is not valid CycloneDX 1.6: ${JSON.stringify(errors).slice(0, 500)}`);
const components = (JSON.parse(first) as { components: unknown[] }).components.length;

for (let i = 0; i < WARMUP; i++) serializeSbom(makeSbom(input()));
const samples: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const next = input();
  const started = performance.now();
  serializeSbom(makeSbom(next));
  samples.push(performance.now() - started);
}
samples.sort((a, b) => a - b);
const p50 = percentile(samples, 50);
const p95 = percentile(samples, 95);
line(
  `SBOM of a snapshot with ${MODULE_COUNT} node modules (${components} components, ${fmt(first.length)} bytes, CycloneDX 1.6 JSON): ` +
    `p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms over ${RUNS} runs after ${WARMUP} warm-up (target ${TARGET_MS} ms: ${p95 <= TARGET_MS ? 'met' : 'MISSED'})`,
);

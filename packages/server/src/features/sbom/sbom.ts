import { createRequire } from 'node:module';
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import type { SnapshotModule } from '@flowgate/core';
import { FLOWGATE_VERSION } from '../../version.ts';

/**
 * A CycloneDX 1.6 SBOM of what a snapshot holds, or of what an instance or device runs:
 * Node-RED, the node modules, and the flows themselves as a component identified by the
 * snapshot's SHA-256. Made with the CycloneDX JavaScript library's models and serializer,
 * so the document's shape is the library's (and the specification's), not ours.
 */

/** The CycloneDX media type of a JSON BOM (CycloneDX specification, "Media Types"). */
export const SBOM_CONTENT_TYPE = 'application/vnd.cyclonedx+json; version=1.6';
export const SBOM_SPEC = Spec.Spec1dot6;

// The library's own version names it as the tool that made the document, beside Flowgate.
const CDX_LIBRARY_VERSION = (createRequire(import.meta.url)('@cyclonedx/cyclonedx-library/package.json') as { version: string }).version;

/** What the SBOM describes: a snapshot, or the instance or device that runs one. */
export interface SbomSubject {
  kind: 'snapshot' | 'instance' | 'device';
  id: string;
  name: string;
}

export interface SbomInput {
  subject: SbomSubject;
  snapshot: { id: string; name: string; hash: string; nodeCount: number };
  modules: readonly SnapshotModule[];
  /** The Node-RED version the subject runs, and whose word it is; null when nothing records it. */
  nodeRed: { version: string; source: 'snapshot' | 'instance' | 'device' } | null;
  timestamp: Date;
  /** A fresh urn:uuid for every document (CycloneDX: every BOM generated has a unique serial number). */
  serialNumber: string;
}

/** An exact registry version (1.2.3, 1.2.3-beta.1); a snapshot's module may instead hold a ~ or ^ range on one. */
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:[-+].*)?$/;

/** pkg:npm purl of a package, the scope as the purl's namespace (so `@` is percent-encoded, as the purl spec's npm type says). */
export function npmPurl(name: string, version: string | null): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash > 0 ? name.slice(0, slash) : undefined;
  const bare = slash > 0 ? name.slice(slash + 1) : name;
  return new PackageURL('npm', namespace, bare, version ?? undefined, undefined, undefined).toString();
}

function property(name: string, value: string): Models.Property {
  return new Models.Property(name, value);
}

function nodeModule(m: SnapshotModule): Models.Component {
  const exact = EXACT_VERSION.test(m.version);
  const slash = m.name.startsWith('@') ? m.name.indexOf('/') : -1;
  // A purl's version names one release. A range (~1.2.3, what Node-RED's palette writes) is
  // not one, and npm may have installed a later patch than its base: naming 1.2.3 would
  // match the wrong advisories. The range stays in the component's version, and the purl
  // names the package alone.
  const purl = npmPurl(m.name, exact ? m.version : null);
  const component = new Models.Component(Enums.ComponentType.Library, slash > 0 ? m.name.slice(slash + 1) : m.name, {
    // A snapshot holds each module once (validateModules), so its purl is a unique reference.
    bomRef: purl,
    ...(slash > 0 ? { group: m.name.slice(0, slash) } : {}),
    version: m.version,
    purl,
    scope: Enums.ComponentScope.Required,
  });
  if (!exact) component.properties.add(property('flowgate:npm:versionRange', m.version));
  return component;
}

/** The BOM as the library's model: metadata, components and the dependency graph. */
export function makeSbom(input: SbomInput): Models.Bom {
  const { subject, snapshot } = input;
  const bom = new Models.Bom({ serialNumber: input.serialNumber });
  bom.metadata.timestamp = input.timestamp;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'Flowgate', { version: FLOWGATE_VERSION, bomRef: 'tool:flowgate' }));
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Library, 'cyclonedx-library', {
      group: '@cyclonedx',
      version: CDX_LIBRARY_VERSION,
      purl: npmPurl('@cyclonedx/cyclonedx-library', CDX_LIBRARY_VERSION),
      bomRef: 'tool:cyclonedx-library',
    }),
  );

  // Node-RED is the runtime that executes the flows: CycloneDX 1.6's "platform" ("a runtime
  // environment which interprets or executes software … low-code/no-code application platforms").
  const nodeRed = new Models.Component(Enums.ComponentType.Platform, 'node-red', {
    // Not its purl: a snapshot may also list node-red among its modules (an editor's package.json can).
    bomRef: 'flowgate:node-red',
    purl: npmPurl('node-red', input.nodeRed?.version ?? null),
    ...(input.nodeRed ? { version: input.nodeRed.version } : {}),
    scope: Enums.ComponentScope.Required,
  });
  nodeRed.properties.add(property('flowgate:nodeRedVersion:source', input.nodeRed ? input.nodeRed.source : 'unknown'));

  // The flows are the program Node-RED runs (function nodes hold JavaScript; the wiring is the
  // logic), so an "application" rather than "data", which 1.6 keeps for datasets and
  // configuration. Its identity is the snapshot's SHA-256, over its canonical content (flows,
  // credentials, settings, variables, modules), the same hash the agent checks before it applies one.
  const flows = new Models.Component(Enums.ComponentType.Application, snapshot.name, {
    bomRef: `flowgate:flows:${snapshot.hash}`,
    version: snapshot.hash.slice(0, 12),
    description: `Node-RED flows of the Flowgate snapshot "${snapshot.name}", identified by the SHA-256 of the snapshot's canonical content.`,
    hashes: new Models.HashDictionary([[Enums.HashAlgorithm['SHA-256'], snapshot.hash]]),
    scope: Enums.ComponentScope.Required,
  });
  flows.properties.add(property('flowgate:snapshot:id', snapshot.id));
  flows.properties.add(property('flowgate:snapshot:nodes', String(snapshot.nodeCount)));

  const modules = input.modules.map(nodeModule);
  // What is known: the flows run on Node-RED and use the modules' nodes. The modules' own
  // dependencies are not recorded in a snapshot, so they are not claimed either way.
  for (const m of modules) flows.dependencies.add(m.bomRef);
  flows.dependencies.add(nodeRed.bomRef);

  const described = new Models.Component(subject.kind === 'device' ? Enums.ComponentType.Device : Enums.ComponentType.Application, subject.name, {
    bomRef: `flowgate:${subject.kind}:${subject.id}`,
  });
  described.properties.add(property(`flowgate:${subject.kind}:id`, subject.id));
  described.dependencies.add(flows.bomRef);
  described.dependencies.add(nodeRed.bomRef);
  bom.metadata.component = described;

  bom.components.add(nodeRed);
  bom.components.add(flows);
  for (const m of modules) bom.components.add(m);
  return bom;
}

const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(SBOM_SPEC));

/** The BOM as JSON text, its lists sorted so the same snapshot gives the same components in the same order. */
export function serializeSbom(bom: Models.Bom): string {
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

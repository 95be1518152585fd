import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { sql } from 'kysely';
import { SYSTEM_CONTEXT } from '../../context.ts';
import { addMember, Client, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';
import { makeSbom, npmPurl, serializeSbom, type SbomInput } from './sbom.ts';

/**
 * Every SBOM here is checked against the CycloneDX 1.6 JSON schema the library bundles, by
 * its strict validator (no property the schema does not define): a document a scanner or an
 * auditor's tool would refuse fails the test, whichever route or input made it.
 */
const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

async function assertValid(json: string): Promise<void> {
  const errors = await validator.validate(json);
  assert.equal(errors, null, `not a valid CycloneDX 1.6 document: ${JSON.stringify(errors)?.slice(0, 2000)}`);
}

type Component = { type: string; name: string; group?: string; version?: string; purl?: string; 'bom-ref': string; hashes?: Array<{ alg: string; content: string }> };
type Bom = {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  metadata: { timestamp: string; tools: { components: Component[] }; component: Component };
  components: Component[];
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
};

const HASH = 'a'.repeat(64);
const MODULES = [
  { name: '@flowfuse/node-red-dashboard', version: '1.22.1' },
  { name: 'node-red-contrib-modbus', version: '~5.43.0' },
  { name: 'node-red-node-serialport', version: '^2.0.3' },
];

function input(overrides: Partial<SbomInput> = {}): SbomInput {
  return {
    subject: { kind: 'snapshot', id: '11111111-1111-4111-8111-111111111111', name: 'Line 3 release' },
    snapshot: { id: '11111111-1111-4111-8111-111111111111', name: 'Line 3 release', hash: HASH, nodeCount: 12 },
    modules: MODULES,
    nodeRed: { version: '4.1.8', source: 'snapshot' },
    timestamp: new Date('2026-12-07T12:00:00Z'),
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    ...overrides,
  };
}

describe('the SBOM document', () => {
  test('is valid CycloneDX 1.6: Node-RED, the modules with package URLs (scoped ones encoded), the flows by the snapshot hash', async () => {
    const json = serializeSbom(makeSbom(input()));
    await assertValid(json);
    const bom = JSON.parse(json) as Bom;
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.6');
    assert.equal(bom.serialNumber, 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79');
    assert.equal(bom.metadata.timestamp, '2026-12-07T12:00:00.000Z');
    assert.deepEqual(
      bom.metadata.tools.components.map((c) => c.name),
      ['cyclonedx-library', 'Flowgate'],
    );
    const byName = new Map(bom.components.map((c) => [c.name, c]));
    const nodeRed = bom.components.find((c) => c.type === 'platform')!;
    assert.equal(nodeRed.type, 'platform');
    assert.equal(nodeRed.purl, 'pkg:npm/node-red@4.1.8');
    // The purl spec's npm type: the scope is the namespace, its "@" percent-encoded.
    const dashboard = byName.get('node-red-dashboard')!;
    assert.equal(dashboard.group, '@flowfuse');
    assert.equal(dashboard.purl, 'pkg:npm/%40flowfuse/node-red-dashboard@1.22.1');
    // A range names no single release: the purl names the package, the version keeps the range.
    assert.equal(byName.get('node-red-contrib-modbus')!.purl, 'pkg:npm/node-red-contrib-modbus');
    assert.equal(byName.get('node-red-contrib-modbus')!.version, '~5.43.0');
    const flows = bom.components.find((c) => c.type === 'application')!;
    assert.equal(flows.name, 'Line 3 release');
    assert.deepEqual(flows.hashes, [{ alg: 'SHA-256', content: HASH }]);
    // The described snapshot depends on its flows and Node-RED; the flows on Node-RED and every module.
    const deps = new Map(bom.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
    assert.deepEqual(deps.get(bom.metadata.component['bom-ref'])!.sort(), [flows['bom-ref'], nodeRed['bom-ref']].sort());
    assert.equal(deps.get(flows['bom-ref'])!.length, MODULES.length + 1);
    assert.equal(npmPurl('@node-red/nodes', '4.1.8'), 'pkg:npm/%40node-red/nodes@4.1.8');
  });

  test('the same snapshot gives the same components; each document its own serial number', () => {
    const a = JSON.parse(serializeSbom(makeSbom(input()))) as Bom;
    const b = JSON.parse(serializeSbom(makeSbom(input({ modules: [...MODULES].reverse(), serialNumber: 'urn:uuid:9b1a4a53-43d2-4a6a-9a0c-6f7f7c1c0d11' })))) as Bom;
    assert.deepEqual(a.components, b.components);
    assert.deepEqual(a.dependencies, b.dependencies);
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  test('with no Node-RED version recorded, Node-RED is named without one, and the document is still valid', async () => {
    // An editor's package.json may list node-red itself among the modules: two components, each its own bom-ref.
    const json = serializeSbom(makeSbom(input({ nodeRed: null, modules: [{ name: 'node-red', version: '~4.1.0' }] })));
    await assertValid(json);
    const bom = JSON.parse(json) as Bom;
    const nodeRed = bom.components.find((c) => c.type === 'platform')!;
    assert.equal(nodeRed.purl, 'pkg:npm/node-red');
    assert.equal(nodeRed.version, undefined);
    const refs = bom.components.map((c) => c['bom-ref']);
    assert.equal(new Set(refs).size, refs.length, 'bom-refs are unique');
  });

  test('the validation fails a broken BOM (the check above can fail)', async () => {
    const bom = JSON.parse(serializeSbom(makeSbom(input()))) as Bom & Record<string, unknown>;
    const broken = structuredClone(bom);
    broken.components[0]!.type = 'plugin';
    assert.notEqual(await validator.validate(JSON.stringify(broken)), null, 'a component type CycloneDX does not define');
    const badHash = structuredClone(bom);
    badHash.components.find((c) => c.hashes)!.hashes![0]!.content = 'not-a-sha256';
    assert.notEqual(await validator.validate(JSON.stringify(badHash)), null, 'a SHA-256 that is not one');
    const extra = { ...structuredClone(bom), flowgate: true };
    assert.notEqual(await validator.validate(JSON.stringify(extra)), null, 'a property the schema does not define');
    const badSerial = { ...structuredClone(bom), serialNumber: 'serial-1' };
    assert.notEqual(await validator.validate(JSON.stringify(badSerial)), null, 'a serial number that is not a urn:uuid');
  });
});

for (const dialect of DIALECTS) {
  describe(`SBOM downloads (${dialect})`, () => {
    let t: TestApp;
    let owner: Client;
    let viewer: Client;
    let outsider: Client;
    let instanceId: string;
    let idleInstanceId: string;
    let snapshotId: string;
    let snapshotHash: string;
    let deviceId: string;
    let teamId: string;

    before(async () => {
      t = await startTestApp(dialect);
      const admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Packaging' })).json().id as string;
      owner = await addMember(t, admin, teamId, 'owner@plant.example', 'owner');
      viewer = await addMember(t, owner, teamId, 'viewer@plant.example', 'viewer');
      const otherTeamId = (await admin.post('/api/teams', { name: 'Welding' })).json().id as string;
      outsider = await addMember(t, admin, otherTeamId, 'welder@plant.example', 'owner');
      const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Filler' })).json().id as string;
      const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0]!;
      instanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'line-3', nodeRedVersion })).json().id as string;
      idleInstanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'line-4', nodeRedVersion })).json().id as string;
      // An editor deploy, as the agent reports one: it runs at once, with the modules installed from the palette.
      const instance = await t.context.applications.requireInstance(instanceId);
      const deployed = await t.context.snapshots.recordEditorDeploy(
        instance,
        {
          flows: [
            { id: 't1', type: 'tab', label: 'Filling' },
            { id: 'n1', type: 'inject', z: 't1', wires: [] },
          ],
          credentials: null,
          modules: MODULES,
          user: 'Ada',
        },
        SYSTEM_CONTEXT,
      );
      snapshotId = deployed.id;
      snapshotHash = deployed.hash;
      // A device registered at a site, running that snapshot, on the Node-RED it reports.
      const siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json().id as string;
      const { token } = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId })).json();
      const registered = (await new Client(t).post('/api/fleet/v1/register', { token, name: 'gateway-7', agentVersion: '0.1.0', nodeRedVersion: '4.0.9' })).json();
      deviceId = registered.deviceId as string;
      assert.equal((await owner.put(`/api/devices/${deviceId}/target`, { snapshotId })).statusCode, 200);
      const device = new Client(t);
      device.bearer = registered.credential as string;
      const checkIn = await device.post('/api/fleet/v1/check-in', {
        agentVersion: '0.1.0',
        nodeRedVersion: '4.0.9',
        state: 'running',
        runningSnapshotId: snapshotId,
        runningHash: snapshotHash,
      });
      assert.equal(checkIn.statusCode, 200, checkIn.body);
      await t.context.fleet.flushStatus();
    });
    after(() => t.close());

    async function download(client: Client, url: string): Promise<{ bom: Bom; disposition: string }> {
      const r = await client.get(url);
      assert.equal(r.statusCode, 200, r.body);
      // Fastify writes the parameter as a quoted string and adds the charset: the same media type (RFC 9110, 5.6.6).
      assert.equal(r.headers['content-type'], 'application/vnd.cyclonedx+json; version="1.6"; charset=utf-8');
      await assertValid(r.body);
      return { bom: JSON.parse(r.body) as Bom, disposition: String(r.headers['content-disposition']) };
    }

    test("a snapshot's SBOM: valid, the flows by its hash, the Node-RED version it recorded", async () => {
      const { bom, disposition } = await download(viewer, `/api/snapshots/${snapshotId}/sbom`);
      assert.match(disposition, /^attachment; filename="snapshot-Deployed-from-the-editor\.cdx\.json"$/);
      assert.equal(bom.metadata.component.name, 'Deployed from the editor');
      const flows = bom.components.find((c) => c.type === 'application')!;
      assert.deepEqual(flows.hashes, [{ alg: 'SHA-256', content: snapshotHash }]);
      const recorded = (await t.context.applications.requireInstance(instanceId)).node_red_version;
      assert.equal(bom.components.find((c) => c.name === 'node-red')!.purl, `pkg:npm/node-red@${recorded}`);
      assert.equal(bom.components.find((c) => c.name === 'node-red-dashboard')!.purl, 'pkg:npm/%40flowfuse/node-red-dashboard@1.22.1');
    });

    test("an instance's SBOM describes the instance and what it runs", async () => {
      const { bom, disposition } = await download(viewer, `/api/instances/${instanceId}/sbom`);
      assert.match(disposition, /filename="instance-line-3\.cdx\.json"/);
      assert.equal(bom.metadata.component.name, 'line-3');
      assert.equal(bom.metadata.component['bom-ref'], `flowgate:instance:${instanceId}`);
      assert.deepEqual(bom.components.find((c) => c.type === 'application')!.hashes, [{ alg: 'SHA-256', content: snapshotHash }]);
      assert.equal(bom.components.filter((c) => c.type === 'library').length, MODULES.length);
    });

    test("a device's SBOM names the Node-RED the device reports, and the snapshot it runs", async () => {
      const { bom } = await download(viewer, `/api/devices/${deviceId}/sbom`);
      assert.equal(bom.metadata.component.type, 'device');
      assert.equal(bom.metadata.component.name, 'gateway-7');
      assert.equal(bom.components.find((c) => c.name === 'node-red')!.purl, 'pkg:npm/node-red@4.0.9');
      assert.deepEqual(bom.components.find((c) => c.type === 'application')!.hashes, [{ alg: 'SHA-256', content: snapshotHash }]);
    });

    test('unknown ids are 404, another team is 404, nothing run yet is 409, all as problem+json', async () => {
      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const url of [`/api/snapshots/${unknown}/sbom`, `/api/instances/${unknown}/sbom`, `/api/devices/${unknown}/sbom`]) {
        const r = await owner.get(url);
        assert.equal(r.statusCode, 404, url);
        assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      }
      // Another team's resources are not found, as everywhere in the API (they do not leak).
      for (const url of [`/api/snapshots/${snapshotId}/sbom`, `/api/instances/${instanceId}/sbom`, `/api/devices/${deviceId}/sbom`]) {
        assert.equal((await outsider.get(url)).statusCode, 404, url);
        assert.equal((await new Client(t).get(url)).statusCode, 401, `${url} signed out`);
      }
      const idle = await owner.get(`/api/instances/${idleInstanceId}/sbom`);
      assert.equal(idle.statusCode, 409);
      assert.match(idle.json().detail, /Nothing has run on this instance yet/);
    });

    // Last: it alters the snapshot the others describe.
    test('a snapshot whose stored content no longer matches its hash is not described: 409, audited', async () => {
      const db = t.db.database.db;
      // As a DBA with full rights could: the immutability trigger out of the way, the content changed, the trigger back.
      if (dialect === 'sqlite') await sql`drop trigger snapshots_no_update`.execute(db);
      else await sql`alter table snapshots disable trigger user`.execute(db);
      await sql`update snapshots set content = replace(content, 'Filling', 'FILLING') where id = ${snapshotId}`.execute(db);
      if (dialect === 'sqlite') await sql`create trigger snapshots_no_update before update on snapshots begin select raise(abort, 'snapshots are immutable'); end`.execute(db);
      else await sql`alter table snapshots enable trigger user`.execute(db);
      for (const url of [`/api/snapshots/${snapshotId}/sbom`, `/api/instances/${instanceId}/sbom`, `/api/devices/${deviceId}/sbom`]) {
        const r = await owner.get(url);
        assert.equal(r.statusCode, 409, url);
        assert.match(r.json().detail, /no longer matches its hash/);
      }
      const failed = (await owner.get(`/api/teams/${teamId}/audit?event=snapshot.integrity.failed`)).json().events as Array<{ details: string }>;
      assert.deepEqual(
        failed.map((e) => JSON.parse(e.details).action as string),
        ['sbom', 'sbom', 'sbom'],
      );
    });
  });
}

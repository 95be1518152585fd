import { randomUUID } from 'node:crypto';
import { isNodeRedVersion } from '@flowgate/core';
import type { Clock } from '../../context.ts';
import type { SnapshotsTable } from '../../db/schema.ts';
import { ConflictError } from '../../http/errors.ts';
import type { ApplicationsService } from '../applications/applications.service.ts';
import type { FleetService } from '../fleet/fleet.service.ts';
import type { SnapshotsService } from '../snapshots/snapshots.service.ts';
import { makeSbom, serializeSbom, type SbomInput, type SbomSubject } from './sbom.ts';

export interface SbomDeps {
  snapshots: SnapshotsService;
  applications: ApplicationsService;
  fleet: FleetService;
  clock: Clock;
}

/** A BOM as a download: the JSON text, and the file name it is saved under. */
export interface SbomFile {
  filename: string;
  json: string;
}

/** A name safe in a Content-Disposition header; `.cdx.json` is CycloneDX's recommended file extension. */
function fileName(subject: SbomSubject): string {
  const safe = subject.name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60) || subject.kind;
  return `${subject.kind}-${safe}.cdx.json`;
}

export function createSbomService(deps: SbomDeps) {
  const { snapshots, applications, fleet, clock } = deps;

  /**
   * The snapshot's content is checked against its hash first (and a mismatch audited, as every
   * read of a snapshot is): an SBOM naming a hash its content no longer has would vouch for it.
   */
  function file(subject: SbomSubject, snapshot: SnapshotsTable, runs: SbomInput['nodeRed'] | 'as recorded'): SbomFile {
    const content = snapshots.readVerified(snapshot, 'sbom');
    // What a snapshot recorded is the instance's version when it was made; none in snapshots from before it was.
    const recorded = content.settings.nodeRedVersion;
    const nodeRed = runs !== 'as recorded' ? runs : isNodeRedVersion(recorded) ? { version: recorded, source: 'snapshot' as const } : null;
    const bom = makeSbom({
      subject,
      snapshot: { id: snapshot.id, name: snapshot.name, hash: snapshot.hash, nodeCount: snapshot.node_count },
      modules: content.modules,
      nodeRed,
      timestamp: clock.now(),
      serialNumber: `urn:uuid:${randomUUID()}`,
    });
    return { filename: fileName(subject), json: serializeSbom(bom) };
  }

  return {
    async forSnapshot(snapshotId: string): Promise<SbomFile> {
      const snapshot = await snapshots.requireSnapshot(snapshotId);
      return file({ kind: 'snapshot', id: snapshot.id, name: snapshot.name }, snapshot, 'as recorded');
    },

    /**
     * What the instance runs: the snapshot its agent last reported running (a stopped instance
     * still names the one it ran last, and would start it again), on the Node-RED version the
     * instance is set to, which its agent is told to run.
     */
    async forInstance(instanceId: string): Promise<SbomFile> {
      const instance = await applications.requireInstance(instanceId);
      if (!instance.running_snapshot_id) throw new ConflictError('Nothing has run on this instance yet: there is nothing to describe. Deploy a snapshot first.');
      const snapshot = await snapshots.requireSnapshot(instance.running_snapshot_id);
      return file({ kind: 'instance', id: instance.id, name: instance.name }, snapshot, { version: instance.node_red_version, source: 'instance' });
    },

    /**
     * What the device runs, as its agent last reported, on the Node-RED version it reported.
     * A device that has not said which version it runs gets none: the snapshot's recorded
     * version is the instance's it was made on, not the device's.
     */
    async forDevice(deviceId: string): Promise<SbomFile> {
      const device = await fleet.device(deviceId);
      if (!device.running_snapshot_id) throw new ConflictError('This device has reported running no snapshot yet: there is nothing to describe.');
      const snapshot = await snapshots.requireSnapshot(device.running_snapshot_id);
      const nodeRed: SbomInput['nodeRed'] = device.node_red_version ? { version: device.node_red_version, source: 'device' } : null;
      return file({ kind: 'device', id: device.id, name: device.name }, snapshot, nodeRed);
    },
  };
}

export type SbomService = ReturnType<typeof createSbomService>;

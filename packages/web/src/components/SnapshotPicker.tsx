import { useEffect, useState } from 'react';
import { useSession } from '../session.tsx';
import type { Application, Instance, Snapshot } from '../types.ts';
import { NamedOptions } from './NamedOptions.tsx';
import { snapshotOptionLabel } from './snapshot-label.ts';

/**
 * Chooses one of the team's snapshots to put on devices: application, then the instance
 * it was taken on, then the snapshot (newest first), each named with its author, time and
 * where it runs now (snapshotOptionLabel). Calls onChange with its id, or null until all
 * three are chosen.
 */
export function SnapshotPicker({ teamId, idPrefix, onChange }: { teamId: string; idPrefix: string; onChange: (snapshotId: string | null) => void }) {
  const { api } = useSession();
  const [applications, setApplications] = useState<Application[]>([]);
  const [instances, setInstances] = useState<Instance[]>([]);
  const [snapshots, setSnapshots] = useState<Snapshot[]>([]);
  const [applicationId, setApplicationId] = useState('');
  const [instanceId, setInstanceId] = useState('');
  const [snapshotId, setSnapshotId] = useState('');

  useEffect(() => {
    void api.get('/api/teams/{teamId}/applications', { path: { teamId } }).then(setApplications, () => setApplications([]));
  }, [api, teamId]);
  useEffect(() => {
    setInstances([]);
    setInstanceId('');
    if (!applicationId) return;
    void api.get('/api/applications/{applicationId}', { path: { applicationId } }).then(
      (d) => setInstances(d.instances),
      () => setInstances([]),
    );
  }, [api, applicationId]);
  useEffect(() => {
    setSnapshots([]);
    setSnapshotId('');
    if (!instanceId) return;
    void api.get('/api/instances/{instanceId}/snapshots', { path: { instanceId } }).then(setSnapshots, () => setSnapshots([]));
  }, [api, instanceId]);
  useEffect(() => onChange(snapshotId || null), [snapshotId, onChange]);
  const instanceName = instances.find((i) => i.id === instanceId)?.name ?? 'its instance';

  return (
    <div className="form-row">
      <div className="field">
        <label htmlFor={`${idPrefix}-application`}>Application</label>
        <select id={`${idPrefix}-application`} value={applicationId} onChange={(e) => setApplicationId(e.target.value)}>
          <option value="">Choose…</option>
          <NamedOptions items={applications} />
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-instance`}>Instance</label>
        <select id={`${idPrefix}-instance`} value={instanceId} disabled={!applicationId} onChange={(e) => setInstanceId(e.target.value)}>
          <option value="">Choose…</option>
          <NamedOptions items={instances} />
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-snapshot`}>Snapshot</label>
        <select
          id={`${idPrefix}-snapshot`}
          aria-describedby={`${idPrefix}-snapshot-hint`}
          value={snapshotId}
          disabled={!instanceId}
          onChange={(e) => setSnapshotId(e.target.value)}
        >
          <option value="">Choose…</option>
          {snapshots.map((s) => (
            <option key={s.id} value={s.id}>
              {snapshotOptionLabel(s, instanceName)}
            </option>
          ))}
        </select>
        <p className="hint" id={`${idPrefix}-snapshot-hint`}>
          Newest first: name, who made it, when, where it runs now, and the start of its hash.
        </p>
      </div>
    </div>
  );
}

import { useCallback, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Field } from '../../components/Field.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { SnapshotPicker } from '../../components/SnapshotPicker.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { nameOf, type FleetData } from './fleet-data.ts';
import { NamedOptions } from '../../components/NamedOptions.tsx';

/** The team's rollouts, newest first, and the form that starts one to a device group (fleet:deploy). */
export function RolloutsSection({ teamId, fleet, mayDeploy }: { teamId: string; fleet: FleetData; mayDeploy: boolean }) {
  const { api } = useSession();
  const navigate = useNavigate();
  const [groupId, setGroupId] = useState('');
  const [snapshotId, setSnapshotId] = useState<string | null>(null);
  const [batchPercent, setBatchPercent] = useState('10');
  const [maxFailures, setMaxFailures] = useState('0');
  const [healthSeconds, setHealthSeconds] = useState('30');
  const onPick = useCallback((id: string | null) => setSnapshotId(id), []);
  const start = useAction(async () => {
    if (!snapshotId) return;
    const rollout = await api.post('/api/device-groups/{groupId}/rollouts', {
      path: { groupId },
      body: { snapshotId, batchPercent: Number(batchPercent), maxFailures: Number(maxFailures), healthSeconds: Number(healthSeconds) },
    });
    void navigate(`/rollouts/${rollout.id}`);
  });

  return (
    <section aria-labelledby="rollouts-title">
      <h2 id="rollouts-title">Rollouts</h2>
      {fleet.rollouts.length === 0 && (
        <p className="muted">No rollouts yet. A rollout puts a snapshot on a device group in waves, each waiting for the one before to be healthy.</p>
      )}
      {fleet.rollouts.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Group</th>
                <th scope="col">Wave</th>
                <th scope="col">State</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {fleet.rollouts.map((r) => (
                <tr key={r.id}>
                  <th scope="row">
                    <Link to={`/rollouts/${r.id}`}>{formatDateTime(r.createdAt)}</Link>
                  </th>
                  <td>{nameOf(fleet.groups, r.groupId)}</td>
                  <td>
                    {r.currentWave} of {r.waveCount}
                  </td>
                  <td>
                    <span className={`badge rollout-${r.state}`}>{r.state}</span>
                  </td>
                  <td>{r.createdBy ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {mayDeploy && fleet.groups.length > 0 && (
        <FormCard
          title="Start a rollout"
          level={3}
          onSubmit={() => void start.run()}
          submitLabel="Start rollout"
          pending={start.pending}
          disabled={!groupId || !snapshotId}
          error={start.error}
        >
          <div className="field">
            <label htmlFor="rollout-group">Group to roll out to</label>
            <select id="rollout-group" value={groupId} onChange={(e) => setGroupId(e.target.value)} required>
              <option value="">Choose…</option>
              <NamedOptions items={fleet.groups} />
            </select>
          </div>
          <SnapshotPicker teamId={teamId} idPrefix="rollout" onChange={onPick} />
          <div className="form-row">
            <Field label="Devices per wave (%)" type="number" min={1} max={100} required value={batchPercent} onChange={(e) => setBatchPercent(e.target.value)} />
            <Field
              label="Failures allowed"
              type="number"
              min={0}
              required
              value={maxFailures}
              onChange={(e) => setMaxFailures(e.target.value)}
              hint="It halts when more devices than this have failed."
            />
            <Field
              label="Healthy after (s)"
              type="number"
              min={0}
              max={3600}
              required
              value={healthSeconds}
              onChange={(e) => setHealthSeconds(e.target.value)}
              hint="How long a device must run it before the next wave."
            />
          </div>
        </FormCard>
      )}
    </section>
  );
}

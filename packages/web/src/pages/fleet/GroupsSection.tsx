import { useCallback, useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Field } from '../../components/Field.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { NamedOptions } from '../../components/NamedOptions.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { SnapshotName } from '../../components/SnapshotName.tsx';
import { SnapshotPicker } from '../../components/SnapshotPicker.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { DeviceGroup } from '../../types.ts';

/**
 * The team's device groups with what each runs, a form for a new one and delete
 * (fleet:write), and a group's target set for all its devices at once (fleet:deploy).
 */
export function GroupsSection({
  teamId,
  groups,
  mayWrite,
  mayDeploy,
  onChanged,
}: {
  teamId: string;
  groups: DeviceGroup[];
  mayWrite: boolean;
  mayDeploy: boolean;
  onChanged: () => void;
}) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    await api.post('/api/teams/{teamId}/device-groups', { path: { teamId }, body: { name, description } });
    onChanged();
    setName('');
    setDescription('');
  });
  const remove = useAction(async (group: DeviceGroup) => {
    await api.delete('/api/device-groups/{groupId}', { path: { groupId: group.id } });
    onChanged();
  });
  const [targetGroupId, setTargetGroupId] = useState('');
  const [snapshotId, setSnapshotId] = useState<string | null>(null);
  const onPick = useCallback((id: string | null) => setSnapshotId(id), []);
  const setTarget = useAction(async (to: string | null) => {
    await api.put('/api/device-groups/{groupId}/target', { path: { groupId: targetGroupId }, body: { snapshotId: to } });
    onChanged();
  });
  const targetGroup = groups.find((g) => g.id === targetGroupId);

  return (
    <section aria-labelledby="groups-title">
      <h2 id="groups-title">Device groups</h2>
      {groups.length === 0 && <p className="muted">No device groups yet.</p>}
      {groups.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Description</th>
                <th scope="col">Runs</th>
                {mayWrite && (
                  <th scope="col" className="actions-cell">
                    Actions
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {groups.map((group) => (
                <tr key={group.id}>
                  <th scope="row">{group.name}</th>
                  <td className="truncate">{group.description || <span className="muted">—</span>}</td>
                  <td data-testid={`group-target-${group.name}`}>
                    <SnapshotName id={group.targetSnapshotId} />
                  </td>
                  {mayWrite && (
                    <td className="actions-cell">
                      <ConfirmButton
                        label="Delete"
                        accessibleName={`Delete group ${group.name}`}
                        question={`Delete ${group.name}?`}
                        pending={remove.pending}
                        onConfirm={() => remove.run(group)}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ProblemNotice problem={remove.error} onDismiss={remove.clearError} />
      {mayDeploy && groups.length > 0 && (
        <FormCard
          title="Set a group's target"
          level={3}
          onSubmit={() => void setTarget.run(snapshotId)}
          submitLabel="Set target for all its devices"
          pending={setTarget.pending}
          disabled={!targetGroupId || !snapshotId}
          error={setTarget.error}
          onDismissError={setTarget.clearError}
          actions={
            targetGroup?.targetSnapshotId && (
              <button type="button" disabled={setTarget.pending} onClick={() => void setTarget.run(null)}>
                Clear the group's target
              </button>
            )
          }
        >
          <p className="muted small">
            Every device of the group gets it at once, without waves, and a device that joins later gets it too. For waves with health checks, start a rollout instead.
          </p>
          <div className="field">
            <label htmlFor="group-target-group">Group</label>
            <select id="group-target-group" value={targetGroupId} onChange={(e) => setTargetGroupId(e.target.value)} required>
              <option value="">Choose…</option>
              <NamedOptions items={groups} />
            </select>
          </div>
          <SnapshotPicker teamId={teamId} idPrefix="group-target" onChange={onPick} />
        </FormCard>
      )}
      {mayWrite && (
        <FormCard title="Add a device group" level={3} onSubmit={() => void create.run()} submitLabel="Add group" pending={create.pending} error={create.error}>
          <div className="form-row">
            <Field
              label="Group name"
              required
              maxLength={120}
              value={name}
              onChange={(e) => setName(e.target.value)}
              hint="Devices that get the same application, e.g. Line 3 edge."
            />
            <Field label="Group description" maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
        </FormCard>
      )}
    </section>
  );
}

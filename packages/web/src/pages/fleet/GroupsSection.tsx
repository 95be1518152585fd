import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Field } from '../../components/Field.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { DeviceGroup } from '../../types.ts';

/** The team's device groups, with a form for a new one and delete (fleet:write). */
export function GroupsSection({ teamId, groups, mayWrite, onChanged }: { teamId: string; groups: DeviceGroup[]; mayWrite: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const base = `/api/teams/${encodeURIComponent(teamId)}/device-groups`;
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    await api.post<DeviceGroup>(base, { name, description });
    onChanged();
    setName('');
    setDescription('');
  });
  const remove = useAction(async (group: DeviceGroup) => {
    await api.delete(`/api/device-groups/${encodeURIComponent(group.id)}`);
    onChanged();
  });

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
                {mayWrite && <th scope="col" className="actions-cell">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {groups.map((group) => (
                <tr key={group.id}>
                  <th scope="row">{group.name}</th>
                  <td className="truncate">{group.description || <span className="muted">—</span>}</td>
                  {mayWrite && (
                    <td className="actions-cell">
                      <ConfirmButton label="Delete" accessibleName={`Delete group ${group.name}`} question={`Delete ${group.name}?`} pending={remove.pending} onConfirm={() => remove.run(group)} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ProblemNotice problem={remove.error} onDismiss={remove.clearError} />
      {mayWrite && (
        <form
          className="card stack"
          aria-labelledby="create-group-title"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <h3 id="create-group-title">Add a device group</h3>
          <div className="form-row">
            <Field label="Group name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} hint="Devices that get the same application, e.g. Line 3 edge." />
            <Field label="Group description" maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <ProblemNotice problem={create.error} />
          <div>
            <button type="submit" className="primary" disabled={create.pending}>
              Add group
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

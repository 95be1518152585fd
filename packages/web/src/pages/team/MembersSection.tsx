import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { TEAM_ROLES, type TeamRole } from '../../policy.ts';
import { useSession } from '../../session.tsx';
import type { Member } from '../../types.ts';

export function MembersSection({ teamId, mayWrite }: { teamId: string; mayWrite: boolean }) {
  const { api, session, refresh } = useSession();
  const base = `/api/teams/${encodeURIComponent(teamId)}/members`;
  const members = useResource(() => api.get<Member[]>(base), `${teamId}:members`);
  const change = useAction(async (member: Member, role: TeamRole) => {
    await api.patch(`${base}/${encodeURIComponent(member.id)}`, { role });
    members.setData((list) => list?.map((m) => (m.id === member.id ? { ...m, role } : m)) ?? null);
    if (member.id === session?.user?.id) await refresh();
  });
  const remove = useAction(async (member: Member) => {
    await api.delete(`${base}/${encodeURIComponent(member.id)}`);
    members.setData((list) => list?.filter((m) => m.id !== member.id) ?? null);
  });

  const owners = members.data?.filter((m) => m.role === 'owner').length ?? 0;
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      {members.loading && !members.data && <Loading what="members" />}
      <ProblemNotice problem={members.error} />
      <ProblemNotice problem={change.error} onDismiss={change.clearError} />
      <ProblemNotice problem={remove.error} onDismiss={remove.clearError} />
      {members.data && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">MFA</th>
                <th scope="col">Member since</th>
                {mayWrite && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {members.data.map((member) => (
                <tr key={member.id}>
                  <th scope="row">
                    {member.name}
                    {member.id === session?.user?.id && <span className="muted"> (you)</span>}
                  </th>
                  <td>{member.email}</td>
                  <td>
                    {mayWrite ? (
                      <select
                        aria-label={`Role of ${member.name}`}
                        value={member.role}
                        disabled={change.pending}
                        onChange={(e) => void change.run(member, e.target.value as TeamRole)}
                      >
                        {TEAM_ROLES.map((role) => (
                          <option key={role} value={role}>
                            {role}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <span className={`badge badge-role-${member.role}`}>{member.role}</span>
                    )}
                  </td>
                  <td>{member.mfaEnrolled ? 'on' : <span className="muted">off</span>}</td>
                  <td>{formatDateTime(member.since)}</td>
                  {mayWrite && (
                    <td className="actions-cell">
                      <ConfirmButton
                        label="Remove"
                        accessibleName={`Remove ${member.name}`}
                        question={`Remove ${member.name}?`}
                        pending={remove.pending}
                        disabled={member.role === 'owner' && owners <= 1}
                        title={member.role === 'owner' && owners <= 1 ? 'The last owner cannot be removed: make someone else owner first.' : undefined}
                        onConfirm={() => remove.run(member)}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

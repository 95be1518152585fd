import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { TEAM_ROLES, type TeamRole } from '../../policy.ts';
import { useSession } from '../../session.tsx';
import type { Member } from '../../types.ts';

export function MembersSection({ teamId, mayWrite }: { teamId: string; mayWrite: boolean }) {
  const { api, session, refresh } = useSession();
  const members = useResource(() => api.get('/api/teams/{teamId}/members', { path: { teamId } }), `${teamId}:members`);
  const change = useAction(async (member: Member, role: TeamRole) => {
    await api.patch('/api/teams/{teamId}/members/{userId}', { path: { teamId, userId: member.id }, body: { role } });
    // Reloaded, not patched in place: who else may be demoted or removed (the last owner) may have changed with it.
    members.reload();
    if (member.id === session?.user?.id) await refresh();
  });
  const remove = useAction(async (member: Member) => {
    await api.delete('/api/teams/{teamId}/members/{userId}', { path: { teamId, userId: member.id } });
    members.reload();
  });

  // What may be done to each member is the server's word (members.policy.ts): only the last owner is held back.
  const LAST_OWNER = 'The last owner of the team: make someone else owner first.';
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      {members.loading && !members.data && <Loading what="members" />}
      <ProblemNotice problem={members.error} />
      <ProblemNotice problem={change.error} onDismiss={change.clearError} />
      <ProblemNotice problem={remove.error} onDismiss={remove.clearError} />
      {members.data && (
        <DataTable
          label="Members"
          rows={members.data}
          rowKey={(member) => member.id}
          columns={[
            {
              key: 'name',
              header: 'Name',
              rowHeader: true,
              cell: (member) => (
                <>
                  {member.name}
                  {member.id === session?.user?.id && <span className="muted"> (you)</span>}
                </>
              ),
            },
            { key: 'email', header: 'Email', className: 'break', cell: (member) => member.email },
            {
              key: 'role',
              header: 'Role',
              cell: (member) =>
                mayWrite ? (
                  <select
                    aria-label={`Role of ${member.name}`}
                    value={member.role}
                    disabled={change.pending || !member.allowed.changeRole}
                    title={member.allowed.changeRole ? undefined : LAST_OWNER}
                    onChange={(e) => {
                      const role = TEAM_ROLES.find((r) => r === e.target.value);
                      if (role) void change.run(member, role);
                    }}
                  >
                    {TEAM_ROLES.map((role) => (
                      <option key={role} value={role}>
                        {role}
                      </option>
                    ))}
                  </select>
                ) : (
                  <span className={`badge badge-role-${member.role}`}>{member.role}</span>
                ),
            },
            { key: 'mfa', header: 'MFA', cell: (member) => (member.mfaEnrolled ? 'on' : <span className="muted">off</span>) },
            { key: 'since', header: 'Member since', nowrap: true, cell: (member) => <When at={member.since} /> },
            mayWrite && {
              key: 'actions',
              header: '',
              actions: true,
              cell: (member) => (
                <ConfirmButton
                  label="Remove"
                  accessibleName={`Remove ${member.name}`}
                  question={`Remove ${member.name}?`}
                  pending={remove.pending}
                  disabled={!member.allowed.remove}
                  title={member.allowed.remove ? undefined : LAST_OWNER}
                  onConfirm={() => remove.run(member)}
                />
              ),
            },
          ]}
        />
      )}
    </section>
  );
}

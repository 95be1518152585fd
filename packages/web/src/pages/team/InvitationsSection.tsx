import { useId, useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { CopyField } from '../../components/CopyField.tsx';
import { Field } from '../../components/Field.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { TEAM_ROLE_DESCRIPTIONS, TEAM_ROLES, type TeamRole } from '../../policy.ts';
import { useSession } from '../../session.tsx';
import type { Invitation, InvitationCreated } from '../../types.ts';

export function InvitationsSection({ teamId, teamName, mayWrite }: { teamId: string; teamName: string; mayWrite: boolean }) {
  const { api } = useSession();
  const invitations = useResource(() => api.get('/api/teams/{teamId}/invitations', { path: { teamId } }), `${teamId}:invitations`);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<TeamRole>('member');
  const [created, setCreated] = useState<InvitationCreated | null>(null);
  const roleId = useId();

  const invite = useAction(async () => {
    const reply = await api.post('/api/teams/{teamId}/invitations', { path: { teamId }, body: { email, role } });
    setCreated(reply);
    setEmail('');
    // From the server: a pending invitation to the same address was replaced by this one.
    invitations.reload();
  });
  const revoke = useAction(async (invitation: Invitation) => {
    await api.delete('/api/teams/{teamId}/invitations/{invitationId}', { path: { teamId, invitationId: invitation.id } });
    invitations.setData((list) => list?.filter((i) => i.id !== invitation.id) ?? null);
  });

  return (
    <section aria-labelledby="invitations-title">
      <h2 id="invitations-title">Invitations</h2>
      {invitations.loading && !invitations.data && <Loading what="invitations" />}
      <ProblemNotice problem={invitations.error} />
      <ProblemNotice problem={revoke.error} onDismiss={revoke.clearError} />
      {invitations.data && (
        <DataTable
          label="Pending invitations"
          rows={invitations.data}
          rowKey={(invitation) => invitation.id}
          empty="No pending invitations."
          columns={[
            { key: 'email', header: 'Email', rowHeader: true, className: 'break', cell: (invitation) => invitation.email },
            { key: 'role', header: 'Role', cell: (invitation) => <span className={`badge badge-role-${invitation.role}`}>{invitation.role}</span> },
            { key: 'sent', header: 'Sent', nowrap: true, cell: (invitation) => <When at={invitation.createdAt} /> },
            { key: 'expires', header: 'Expires', nowrap: true, cell: (invitation) => <When at={invitation.expiresAt} /> },
            mayWrite && {
              key: 'actions',
              header: '',
              actions: true,
              cell: (invitation) => (
                <ConfirmButton
                  label="Revoke"
                  accessibleName={`Revoke invitation for ${invitation.email}`}
                  question="Withdraw it?"
                  pending={revoke.pending}
                  onConfirm={() => revoke.run(invitation)}
                />
              ),
            },
          ]}
        />
      )}

      {mayWrite && (
        <>
          <FormCard
            title={`Invite someone to ${teamName}`}
            level={3}
            onSubmit={() => void invite.run()}
            submitLabel="Send invitation"
            pending={invite.pending}
            error={invite.error}
          >
            <div className="form-row">
              <Field
                label="Email address"
                type="email"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                hint="Inviting an address again replaces its pending invitation: the earlier link stops working."
              />
              <div className="field">
                <label htmlFor={roleId}>Role</label>
                <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as TeamRole)} aria-describedby={`${roleId}-hint`}>
                  {TEAM_ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
                <p className="hint" id={`${roleId}-hint`}>
                  {TEAM_ROLE_DESCRIPTIONS[role]}.
                </p>
              </div>
            </div>
          </FormCard>
          {created && created.link && (
            <div className="notice notice-success">
              <p>
                Invitation created for <strong>{created.invitation.email}</strong> as {created.invitation.role}. No mail server is set up, so send them this link yourself. It is
                shown only now and works once, for 7 days.
              </p>
              <CopyField label="Invitation link" value={created.link} />
            </div>
          )}
          {created && created.mailed && (
            <p className="notice notice-success" role="status">
              Invitation mailed to {created.invitation.email}.
            </p>
          )}
        </>
      )}
    </section>
  );
}

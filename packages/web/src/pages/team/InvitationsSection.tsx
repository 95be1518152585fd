import { useId, useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { CopyField } from '../../components/CopyField.tsx';
import { Field } from '../../components/Field.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
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
      {invitations.data && invitations.data.length === 0 && <p className="muted">No pending invitations.</p>}
      {invitations.data && invitations.data.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Sent</th>
                <th scope="col">Expires</th>
                {mayWrite && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {invitations.data.map((invitation) => (
                <tr key={invitation.id}>
                  <th scope="row">{invitation.email}</th>
                  <td>
                    <span className={`badge badge-role-${invitation.role}`}>{invitation.role}</span>
                  </td>
                  <td>{formatDateTime(invitation.createdAt)}</td>
                  <td>{formatDateTime(invitation.expiresAt)}</td>
                  {mayWrite && (
                    <td className="actions-cell">
                      <ConfirmButton
                        label="Revoke"
                        accessibleName={`Revoke invitation for ${invitation.email}`}
                        question="Withdraw it?"
                        pending={revoke.pending}
                        onConfirm={() => revoke.run(invitation)}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
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

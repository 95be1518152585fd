import { Link, useNavigate, useParams } from 'react-router';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { can, TEAM_ROLE_DESCRIPTIONS, type Permission } from '../../policy.ts';
import { useSession } from '../../session.tsx';
import { ApplicationSettingsSection } from './ApplicationSettingsSection.tsx';
import { ApplicationsSection } from './ApplicationsSection.tsx';
import { InvitationsSection } from './InvitationsSection.tsx';
import { MembersSection } from './MembersSection.tsx';
import { TeamSettingsSection } from './TeamSettingsSection.tsx';

/** One team: its applications, members and invitations, its policy, and leaving or deleting it. */
export function TeamPage() {
  const { teamId = '' } = useParams();
  const { api, session, refresh } = useSession();
  const navigate = useNavigate();
  const team = useResource(() => api.get('/api/teams/{teamId}', { path: { teamId } }), teamId);
  usePageTitle(team.data?.name ?? 'Team');

  const leave = useAction(async () => {
    await api.post('/api/teams/{teamId}/leave', { path: { teamId } });
    await refresh();
    void navigate('/teams', { replace: true });
  });
  const remove = useAction(async () => {
    await api.delete('/api/teams/{teamId}', { path: { teamId } });
    await refresh();
    void navigate('/teams', { replace: true });
  });

  if (team.loading && !team.data) return <Loading what="the team" />;
  if (!team.data) {
    return (
      <>
        <h1>Team</h1>
        <ProblemNotice problem={team.error} />
        <Link to="/teams">Back to your teams</Link>
      </>
    );
  }
  const data = team.data;
  const allowed = (permission: Permission) => can(session?.user?.platformRole, data.role, permission);
  const readOnly = !allowed('team:update') && !allowed('members:write') && !allowed('team:delete') && !allowed('applications:write') && !allowed('instances:operate');

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <span aria-current="page">{data.name}</span>
      </nav>
      <div className="page-head">
        <h1>{data.name}</h1>
        <div className="head-badges">
          <span className={`badge badge-role-${data.role ?? 'none'}`}>{data.role ? `you: ${data.role}` : 'you: platform admin, not a member'}</span>
          {data.requireMfa && <span className="badge">MFA required</span>}
        </div>
      </div>
      {data.role && <p className="muted">{TEAM_ROLE_DESCRIPTIONS[data.role]}.</p>}
      {readOnly && (
        <p className="notice" role="note">
          As {data.role === 'auditor' ? 'an' : 'a'} {data.role} you can see this team but not change it. Ask an owner if you need more.
        </p>
      )}
      <p className="link-row">
        {allowed('fleet:read') && <Link to={`/teams/${data.id}/fleet`}>Fleet: sites, device groups, provisioning</Link>}
        {allowed('audit:read') && <Link to={`/teams/${data.id}/audit`}>Open the team's audit trail</Link>}
      </p>

      {allowed('applications:read') && <ApplicationsSection teamId={data.id} mayWrite={allowed('applications:write')} />}
      {allowed('members:read') && <MembersSection teamId={data.id} mayWrite={allowed('members:write')} />}
      {allowed('members:read') && <InvitationsSection teamId={data.id} teamName={data.name} mayWrite={allowed('members:write')} />}
      {allowed('team:update') && <TeamSettingsSection team={data} onSaved={(saved) => team.setData(() => saved)} />}
      {allowed('team:update') && <ApplicationSettingsSection teamId={data.id} />}

      {(allowed('team:leave') || allowed('team:delete')) && (
        <section aria-labelledby="leave-delete" className="danger-zone">
          <h2 id="leave-delete">Leave or delete</h2>
          {data.role && allowed('team:leave') && (
            <div className="row-between">
              <p>Leave this team. You lose access to it until someone invites you again.</p>
              <ConfirmButton label="Leave team" question={`Leave ${data.name}?`} pending={leave.pending} onConfirm={() => leave.run()} />
            </div>
          )}
          <ProblemNotice problem={leave.error} />
          {allowed('team:delete') && (
            <div className="row-between">
              <p>Delete the team, its memberships and invitations. The audit trail keeps its history.</p>
              <ConfirmButton label="Delete team" question={`Delete ${data.name} for everyone?`} pending={remove.pending} onConfirm={() => remove.run()} />
            </div>
          )}
          <ProblemNotice problem={remove.error} />
        </section>
      )}
    </>
  );
}

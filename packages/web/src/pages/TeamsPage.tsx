import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { DataTable } from '../components/DataTable.tsx';
import { Field } from '../components/Field.tsx';
import { usePageTitle } from '../components/Layout.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { useAction, useResource } from '../hooks.ts';
import { can, TEAM_ROLE_DESCRIPTIONS } from '../policy.ts';
import { useSession } from '../session.tsx';

export function TeamsPage() {
  usePageTitle('Teams');
  const { api, session, refresh } = useSession();
  const navigate = useNavigate();
  const teams = useResource(() => api.get('/api/teams'), 'teams');
  const [name, setName] = useState('');
  const create = useAction(async () => {
    const team = await api.post('/api/teams', { body: { name } });
    await refresh();
    void navigate(`/teams/${team.id}`);
  });
  const mayCreate = can(session?.user?.platformRole, null, 'teams:create');
  // Compliance leads and auditors read every team's records without being in it: their way in.
  const readsEveryTeam = session?.user?.platformRole !== 'admin' && can(session?.user?.platformRole, null, 'platform:teams:read');

  return (
    <>
      <h1>Teams</h1>
      <section aria-labelledby="your-teams">
        <h2 id="your-teams">Your teams</h2>
        {teams.loading && <Loading what="teams" />}
        <ProblemNotice problem={teams.error} />
        {teams.data && teams.data.length === 0 && <p className="muted">You are not in any team yet. Create one, or ask an owner to invite you.</p>}
        {teams.data && teams.data.length > 0 && (
          <ul className="team-list">
            {teams.data.map((team) => (
              <li key={team.id} className="card">
                <Link to={`/teams/${team.id}`} className="team-link">
                  {team.name}
                </Link>
                <span className={`badge badge-role-${team.role ?? 'none'}`}>{team.role ?? 'not a member'}</span>
                {team.requireMfa && <span className="badge">MFA required</span>}
                {team.role && <p className="muted small">{TEAM_ROLE_DESCRIPTIONS[team.role]}</p>}
              </li>
            ))}
          </ul>
        )}
      </section>
      {readsEveryTeam && <EveryTeamSection />}
      {mayCreate && (
        <section aria-labelledby="create-team">
          <h2 id="create-team">Create a team</h2>
          <form
            className="card stack"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              void create.run();
            }}
          >
            <Field label="Team name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} hint="You become its owner." />
            <ProblemNotice problem={create.error} />
            <div>
              <button type="submit" className="primary" disabled={create.pending}>
                Create team
              </button>
            </div>
          </form>
        </section>
      )}
    </>
  );
}

/** Every team of the platform, with the records a compliance lead or an auditor reads there. */
function EveryTeamSection() {
  const { api } = useSession();
  const teams = useResource(() => api.get('/api/platform/teams'), 'every-team');
  return (
    <section aria-labelledby="every-team">
      <h2 id="every-team">Every team</h2>
      <p className="muted">Your platform role reads each team's fleet and audit trail, without being one of the team.</p>
      {teams.loading && <Loading what="teams" />}
      <ProblemNotice problem={teams.error} />
      {teams.data && (
        <DataTable
          label="Every team"
          rows={teams.data}
          rowKey={(team) => team.id}
          empty="No teams yet."
          columns={[
            { key: 'name', header: 'Team', rowHeader: true, cell: (team) => team.name },
            {
              key: 'records',
              header: 'Records',
              cell: (team) => (
                <span className="button-group">
                  <Link to={`/teams/${team.id}/fleet`} aria-label={`Fleet of ${team.name}`}>
                    Fleet
                  </Link>
                  <Link to={`/teams/${team.id}/audit`} aria-label={`Audit trail of ${team.name}`}>
                    Audit trail
                  </Link>
                </span>
              ),
            },
          ]}
        />
      )}
    </section>
  );
}

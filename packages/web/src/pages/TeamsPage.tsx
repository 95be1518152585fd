import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
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

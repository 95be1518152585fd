import { useState, type FormEvent } from 'react';
import { Field } from '../../components/Field.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Team } from '../../types.ts';

/** Rename the team and set its MFA policy (team:update). */
export function TeamSettingsSection({ team, onSaved }: { team: Team; onSaved: (team: Team) => void }) {
  const { api, refresh } = useSession();
  const [name, setName] = useState(team.name);
  const [requireMfa, setRequireMfa] = useState(team.requireMfa);
  const [saved, setSaved] = useState('');

  const rename = useAction(async () => {
    onSaved(await api.patch('/api/teams/{teamId}', { path: { teamId: team.id }, body: { name } }));
    setSaved('The team was renamed.');
    await refresh();
  });
  const setPolicy = useAction(async () => {
    onSaved(await api.patch('/api/teams/{teamId}', { path: { teamId: team.id }, body: { requireMfa } }));
    setSaved(requireMfa ? 'Members must now use MFA.' : 'MFA is no longer required by this team.');
  });

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div className="grid-2">
        <form
          className="card stack"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void rename.run();
          }}
        >
          <Field label="Team name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} />
          <ProblemNotice problem={rename.error} />
          <div>
            <button type="submit" disabled={rename.pending || name.trim() === team.name}>
              Rename team
            </button>
          </div>
        </form>
        <form
          className="card stack"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void setPolicy.run();
          }}
        >
          <div className="checkbox">
            <input id="team-require-mfa" type="checkbox" checked={requireMfa} onChange={(e) => setRequireMfa(e.target.checked)} />
            <label htmlFor="team-require-mfa">Require MFA for every member of this team</label>
          </div>
          <p className="hint">Members without MFA are asked to set it up at their next sign-in.</p>
          <ProblemNotice problem={setPolicy.error} />
          <div>
            <button type="submit" disabled={setPolicy.pending || requireMfa === team.requireMfa}>
              Save MFA policy
            </button>
          </div>
        </form>
      </div>
      <p className="muted" role="status" aria-live="polite">
        {saved}
      </p>
    </section>
  );
}

import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Field } from '../../components/Field.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Site } from '../../types.ts';

/** The browser's own zone first: a plant engineer usually sets up the plant they sit in. */
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The team's sites, with a form for a new one and delete (fleet:write). */
export function SitesSection({ teamId, sites, mayWrite, onChanged }: { teamId: string; sites: Site[]; mayWrite: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [location, setLocation] = useState('');
  const [timeZone, setTimeZone] = useState(BROWSER_ZONE);
  const create = useAction(async () => {
    await api.post('/api/teams/{teamId}/sites', { path: { teamId }, body: { name, location, timeZone } });
    onChanged();
    setName('');
    setLocation('');
  });
  const remove = useAction(async (site: Site) => {
    await api.delete('/api/sites/{siteId}', { path: { siteId: site.id } });
    onChanged();
  });

  return (
    <section aria-labelledby="sites-title">
      <h2 id="sites-title">Sites</h2>
      {sites.length === 0 && <p className="muted">No sites yet.</p>}
      {sites.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Site</th>
                <th scope="col">Location</th>
                <th scope="col">Time zone</th>
                {mayWrite && (
                  <th scope="col" className="actions-cell">
                    Actions
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {sites.map((site) => (
                <tr key={site.id}>
                  <th scope="row">{site.name}</th>
                  <td>{site.location || <span className="muted">—</span>}</td>
                  <td className="mono small">{site.timeZone}</td>
                  {mayWrite && (
                    <td className="actions-cell">
                      <ConfirmButton
                        label="Delete"
                        accessibleName={`Delete site ${site.name}`}
                        question={`Delete ${site.name}?`}
                        pending={remove.pending}
                        onConfirm={() => remove.run(site)}
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
      {mayWrite && (
        <form
          className="card stack"
          aria-labelledby="create-site-title"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <h3 id="create-site-title">Add a site</h3>
          <div className="form-row">
            <Field label="Site name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} hint="For example: Plant Hamburg." />
            <Field label="Location" maxLength={200} value={location} onChange={(e) => setLocation(e.target.value)} hint="Address, hall or line: whatever finds it." />
            <Field label="Time zone" required maxLength={64} value={timeZone} onChange={(e) => setTimeZone(e.target.value)} hint="An IANA name such as Europe/Berlin, or UTC." />
          </div>
          <ProblemNotice problem={create.error} />
          <div>
            <button type="submit" className="primary" disabled={create.pending}>
              Add site
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

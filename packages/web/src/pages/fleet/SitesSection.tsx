import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { DataTable } from '../../components/DataTable.tsx';
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
      <DataTable
        label="Sites"
        rows={sites}
        rowKey={(site) => site.id}
        empty="No sites yet."
        columns={[
          { key: 'name', header: 'Site', rowHeader: true, cell: (site) => site.name },
          { key: 'location', header: 'Location', cell: (site) => site.location || <span className="muted">—</span> },
          { key: 'zone', header: 'Time zone', className: 'mono small', cell: (site) => site.timeZone },
          mayWrite && {
            key: 'actions',
            header: 'Actions',
            actions: true,
            cell: (site) => (
              <ConfirmButton
                label="Delete"
                accessibleName={`Delete site ${site.name}`}
                question={`Delete ${site.name}?`}
                pending={remove.pending}
                onConfirm={() => remove.run(site)}
              />
            ),
          },
        ]}
      />
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

import { useId, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { Field } from '../../components/Field.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';

/** The team's Node-RED applications, and a new one (applications:write). */
export function ApplicationsSection({ teamId, mayWrite }: { teamId: string; mayWrite: boolean }) {
  const { api } = useSession();
  const navigate = useNavigate();
  const descriptionId = useId();
  const applications = useResource(() => api.get('/api/teams/{teamId}/applications', { path: { teamId } }), `${teamId}:applications`);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    const created = await api.post('/api/teams/{teamId}/applications', { path: { teamId }, body: { name, description } });
    void navigate(`/applications/${created.id}`);
  });

  return (
    <section aria-labelledby="applications-title">
      <h2 id="applications-title">Applications</h2>
      {applications.loading && !applications.data && <Loading what="applications" />}
      <ProblemNotice problem={applications.error} />
      {applications.data && (
        <DataTable
          label="Applications"
          rows={applications.data}
          rowKey={(application) => application.id}
          empty={mayWrite ? 'No applications yet. Create the first one below.' : 'No applications yet.'}
          columns={[
            { key: 'name', header: 'Application', rowHeader: true, cell: (application) => <Link to={`/applications/${application.id}`}>{application.name}</Link> },
            {
              key: 'description',
              header: 'Description',
              cell: (application) =>
                application.description ? (
                  <span className="line line-wide" title={application.description}>
                    {application.description}
                  </span>
                ) : (
                  <span className="muted">—</span>
                ),
            },
            { key: 'changed', header: 'Changed', nowrap: true, cell: (application) => <When at={application.updatedAt} /> },
          ]}
        />
      )}
      {mayWrite && (
        <form
          className="card stack"
          aria-labelledby="create-application-title"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <h3 id="create-application-title">Create an application</h3>
          <Field label="Application name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} />
          <div className="field">
            <label htmlFor={descriptionId}>Description</label>
            <textarea
              id={descriptionId}
              rows={2}
              maxLength={2000}
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              aria-describedby={`${descriptionId}-hint`}
            />
            <p className="hint" id={`${descriptionId}-hint`}>
              Optional: what it does and where it runs.
            </p>
          </div>
          <ProblemNotice problem={create.error} />
          <div>
            <button type="submit" className="primary" disabled={create.pending}>
              Create application
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

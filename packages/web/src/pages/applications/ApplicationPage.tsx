import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Field } from '../../components/Field.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { isSettled, StatusBadge } from '../../components/StatusBadge.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useInterval } from '../../interval.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess } from '../../team-access.ts';
import type { Application, Instance } from '../../types.ts';

/** One application: what it is, its instances and their state, a new instance, and deleting it. */
export function ApplicationPage() {
  const { applicationId = '' } = useParams();
  const { api } = useSession();
  const navigate = useNavigate();
  const detail = useResource(() => api.get('/api/applications/{applicationId}', { path: { applicationId } }), applicationId);
  const access = useTeamAccess(detail.data?.application.teamId);
  usePageTitle(detail.data?.application.name ?? 'Application');
  // Instances on their way somewhere are shown as they get there.
  const busy = detail.data?.instances.some((i) => !isSettled(i)) ?? false;
  useInterval(detail.reload, busy ? 2000 : null);

  const remove = useAction(async (application: Application) => {
    await api.delete('/api/applications/{applicationId}', { path: { applicationId: application.id } });
    void navigate(`/teams/${application.teamId}`, { replace: true });
  });

  if (detail.loading && !detail.data) return <Loading what="the application" />;
  if (!detail.data) {
    return (
      <>
        <h1>Application</h1>
        <ProblemNotice problem={detail.error} />
        <Link to="/teams">Back to your teams</Link>
      </>
    );
  }
  const { application, instances } = detail.data;
  const mayWrite = access.allowed('applications:write');
  const teamName = access.teamName ?? 'Team';

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${application.teamId}`}>{teamName}</Link> <span aria-hidden="true">/</span>{' '}
        <span aria-current="page">{application.name}</span>
      </nav>
      <div className="page-head">
        <h1>{application.name}</h1>
        <div className="head-badges">
          <span className="badge">application</span>
          {access.role && <span className={`badge badge-role-${access.role}`}>you: {access.role}</span>}
        </div>
      </div>
      {application.description ? <p className="lead pre-line">{application.description}</p> : <p className="muted">No description.</p>}
      <p className="muted small">
        Created {formatDateTime(application.createdAt)}, last changed {formatDateTime(application.updatedAt)}.
      </p>

      <InstancesSection application={application} instances={instances} mayWrite={mayWrite} onCreated={(instance) => void navigate(`/instances/${instance.id}`)} />

      {mayWrite && <ApplicationDetailsForm application={application} onSaved={(saved) => detail.setData((d) => (d ? { ...d, application: saved } : d))} />}

      {mayWrite && (
        <section aria-labelledby="delete-application" className="danger-zone">
          <h2 id="delete-application">Delete</h2>
          <div className="row-between">
            <p>
              Delete the application and its {instances.length === 1 ? 'instance' : `${instances.length} instances`}, with their flows and snapshots. Running instances are stopped
              first. The audit trail keeps its history.
            </p>
            <ConfirmButton label="Delete application" question={`Delete ${application.name} for good?`} pending={remove.pending} onConfirm={() => remove.run(application)} />
          </div>
          <ProblemNotice problem={remove.error} />
        </section>
      )}
    </>
  );
}

function InstancesSection({
  application,
  instances,
  mayWrite,
  onCreated,
}: {
  application: Application;
  instances: Instance[];
  mayWrite: boolean;
  onCreated: (instance: Instance) => void;
}) {
  const { api } = useSession();
  const versionId = useId();
  const versions = useResource(() => (mayWrite ? api.get('/api/node-red-versions') : Promise.resolve([])), `versions:${mayWrite}`);
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  useEffect(() => {
    if (!version && versions.data?.length) setVersion(versions.data[0]!);
  }, [versions.data, version]);
  const create = useAction(async () => {
    onCreated(await api.post('/api/applications/{applicationId}/instances', { path: { applicationId: application.id }, body: { name, nodeRedVersion: version } }));
  });

  return (
    <section aria-labelledby="instances-title">
      <h2 id="instances-title">Instances</h2>
      <DataTable
        label="Instances"
        rows={instances}
        rowKey={(instance) => instance.id}
        empty={mayWrite ? 'No instances yet. Create one below: it starts Node-RED with an empty flow.' : 'No instances yet.'}
        columns={[
          { key: 'name', header: 'Instance', rowHeader: true, cell: (instance) => <Link to={`/instances/${instance.id}`}>{instance.name}</Link> },
          {
            key: 'status',
            header: 'Status',
            cell: (instance) => (
              <>
                <StatusBadge status={instance.status} />
                {instance.statusDetail && <span className="muted small block">{instance.statusDetail}</span>}
              </>
            ),
          },
          { key: 'version', header: 'Node-RED', className: 'mono small', cell: (instance) => instance.nodeRedVersion },
          {
            key: 'endpoints',
            header: 'Endpoints',
            cell: (instance) => (instance.endpointAccess === 'public' ? <span className="badge badge-warn">public</span> : <span className="badge">sign-in</span>),
          },
          { key: 'created', header: 'Created', nowrap: true, cell: (instance) => <When at={instance.createdAt} /> },
        ]}
      />
      {mayWrite && (
        <form
          className="card stack"
          aria-labelledby="create-instance-title"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <h3 id="create-instance-title">Create an instance</h3>
          <div className="form-row">
            <Field label="Instance name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} hint="For example: production, line 3 test bench." />
            <div className="field">
              <label htmlFor={versionId}>Node-RED version</label>
              <select id={versionId} required value={version} onChange={(e) => setVersion(e.target.value)} disabled={!versions.data}>
                {(versions.data ?? []).map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <ProblemNotice problem={versions.error} />
          <ProblemNotice problem={create.error} />
          <div>
            <button type="submit" className="primary" disabled={create.pending || !version}>
              Create instance
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function ApplicationDetailsForm({ application, onSaved }: { application: Application; onSaved: (application: Application) => void }) {
  const { api } = useSession();
  const descriptionId = useId();
  const [name, setName] = useState(application.name);
  const [description, setDescription] = useState(application.description);
  const [saved, setSaved] = useState('');
  const save = useAction(async () => {
    setSaved('');
    onSaved(await api.patch('/api/applications/{applicationId}', { path: { applicationId: application.id }, body: { name, description } }));
    setSaved('Saved.');
  });
  const unchanged = name.trim() === application.name && description.trim() === application.description;

  return (
    <section aria-labelledby="application-details-title">
      <h2 id="application-details-title">Name and description</h2>
      <form
        className="card stack"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field label="Application name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} />
        <div className="field">
          <label htmlFor={descriptionId}>Description</label>
          <textarea id={descriptionId} rows={3} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <ProblemNotice problem={save.error} />
        <div className="toolbar">
          <button type="submit" disabled={save.pending || unchanged}>
            Save name and description
          </button>
          <span className="muted" role="status" aria-live="polite">
            {saved}
          </span>
        </div>
      </form>
    </section>
  );
}

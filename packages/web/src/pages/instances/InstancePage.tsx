import { Link, useNavigate, useParams } from 'react-router';
import { apiUrl } from '../../api/client.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { EditorForMembersNote } from '../../components/EditorForMembersNote.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { isSettled, StatusBadge } from '../../components/StatusBadge.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useInterval, useOnFocus } from '../../interval.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess, type TeamAccess } from '../../team-access.ts';
import type { Instance } from '../../types.ts';
import { EndpointSection } from './EndpointSection.tsx';
import { EnvSection } from './EnvSection.tsx';
import { LogsPanel } from './LogsPanel.tsx';
import { NodeRedVersionSection } from './NodeRedVersionSection.tsx';
import { ResourcesSection } from './ResourcesSection.tsx';
import { SnapshotsSection } from './SnapshotsSection.tsx';

/** While something is under way the page follows it every 2 s; otherwise it looks now and then for changes made elsewhere (the editor). */
const BUSY_POLL_MS = 2000;
const IDLE_POLL_MS = 15_000;

const STATUS_TEXT: Record<string, string> = {
  starting: 'Node-RED is starting.',
  running: 'Node-RED is running.',
  stopped: 'Stopped: nothing runs until it is started.',
  crashed: 'Node-RED crashed; the agent restarts it.',
  'safe-mode': 'Node-RED runs in safe mode: the editor opens, the flows do not run.',
  error: 'The instance could not be brought to the state it should be in.',
};

/** One instance: its state and controls, the editor, endpoints, environment, logs and snapshots. */
export function InstancePage() {
  const { instanceId = '' } = useParams();
  const { api } = useSession();
  const navigate = useNavigate();
  const instance = useResource(() => api.get('/api/instances/{instanceId}', { path: { instanceId } }), instanceId);
  const applicationId = instance.data?.applicationId;
  const application = useResource(() => (applicationId ? api.get('/api/applications/{applicationId}', { path: { applicationId } }) : Promise.resolve(null)), applicationId ?? '');
  const access = useTeamAccess(instance.data?.teamId);
  usePageTitle(instance.data?.name ?? 'Instance');

  const settled = instance.data ? isSettled(instance.data) : true;
  useInterval(instance.reload, instance.data ? (settled ? IDLE_POLL_MS : BUSY_POLL_MS) : null);
  useOnFocus(instance.reload);

  const remove = useAction(async (target: Instance) => {
    await api.delete('/api/instances/{instanceId}', { path: { instanceId: target.id } });
    void navigate(`/applications/${target.applicationId}`, { replace: true });
  });

  if (instance.loading && !instance.data) return <Loading what="the instance" />;
  if (!instance.data) {
    return (
      <>
        <h1>Instance</h1>
        <ProblemNotice problem={instance.error} />
        <Link to="/teams">Back to your teams</Link>
      </>
    );
  }
  const data = instance.data;
  const app = application.data?.application;
  const replace = (next: Instance) => instance.setData(() => next);

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${data.teamId}`}>{access.teamName ?? 'Team'}</Link> <span aria-hidden="true">/</span>{' '}
        <Link to={`/applications/${data.applicationId}`}>{app?.name ?? 'Application'}</Link> <span aria-hidden="true">/</span> <span aria-current="page">{data.name}</span>
      </nav>
      <div className="page-head">
        <h1>{data.name}</h1>
        <div className="head-badges">
          <StatusBadge status={data.status} />
          <span className="badge mono">Node-RED {data.nodeRedVersion}</span>
          {access.role && <span className={`badge badge-role-${access.role}`}>you: {access.role}</span>}
        </div>
      </div>

      <section aria-labelledby="state-title" className="card stack instance-state">
        <h2 id="state-title" className="visually-hidden">
          State
        </h2>
        <div role="status" aria-live="polite" className="state-line">
          <span>
            Status: <strong data-testid="instance-status">{data.status}</strong>
          </span>
          <span className="muted">{STATUS_TEXT[data.status] ?? ''}</span>
          {!settled && (
            <span className="muted small">
              <span className="spinner" aria-hidden="true" /> following every 2 s…
            </span>
          )}
        </div>
        {data.statusDetail && (
          <p className={`notice ${data.status === 'error' || data.status === 'crashed' ? 'notice-error' : ''}`} data-testid="status-detail">
            {data.statusDetail}
          </p>
        )}
        {data.targetSnapshotId && data.targetSnapshotId !== data.runningSnapshotId && data.desiredState === 'running' && (
          <p className="muted small">Deploying a snapshot: the agent applies it and restarts Node-RED.</p>
        )}
        <ProblemNotice problem={instance.error} />
        <div className="toolbar">
          <EditorLink instance={data} access={access} />
          {access.allowed('instances:operate') && <InstanceControls instance={data} onChanged={replace} />}
          {/* What the instance runs, as a CycloneDX SBOM: only once something has run there (the server answers 409 before). */}
          {data.runningSnapshotId && (
            <a className="button" href={apiUrl('/api/instances/{instanceId}/sbom', { path: { instanceId: data.id } })} download>
              Download SBOM
            </a>
          )}
        </div>
        <p className="muted small">
          Desired state: {data.desiredState}. Created {formatDateTime(data.createdAt)}.
        </p>
      </section>

      <SnapshotsSection instance={data} access={access} onDeployed={() => instance.reload()} />
      <LogsPanel source="instance" id={data.id} />
      <EndpointSection instance={data} mayWrite={access.allowed('instances:endpoints')} onChanged={replace} />
      <EnvSection instanceId={data.id} mayWrite={access.allowed('applications:write')} />
      <NodeRedVersionSection instance={data} mayWrite={access.allowed('applications:write')} onChanged={replace} />
      <ResourcesSection instance={data} mayWrite={access.allowed('instances:resources')} />

      {access.allowed('applications:write') && (
        <section aria-labelledby="delete-instance" className="danger-zone">
          <h2 id="delete-instance">Delete</h2>
          <div className="row-between">
            <p>Stop Node-RED and delete this instance with its snapshots. The audit trail keeps its history.</p>
            <ConfirmButton label="Delete instance" question={`Delete ${data.name} for good?`} pending={remove.pending} onConfirm={() => remove.run(data)} />
          </div>
          <ProblemNotice problem={remove.error} />
        </section>
      )}
    </>
  );
}

/** The Node-RED editor through the platform, in a tab of its own (a full page, not part of this app). */
function EditorLink({ instance, access }: { instance: Instance; access: TeamAccess }) {
  const editable = access.allowed('applications:write');
  const reachable = instance.status === 'running' || instance.status === 'safe-mode';
  if (!access.allowed('instances:editor')) return <EditorForMembersNote />;
  return (
    <>
      <a className={`button${reachable ? ' primary' : ''}`} href={instance.editorPath} target="_blank" rel="noopener noreferrer">
        {editable ? 'Open editor' : 'Open editor (read-only)'}
        <span className="visually-hidden"> (opens in a new tab)</span>
        <span aria-hidden="true"> ↗</span>
      </a>
      {!reachable && <span className="muted small">The editor answers once the instance runs.</span>}
    </>
  );
}

function InstanceControls({ instance, onChanged }: { instance: Instance; onChanged: (instance: Instance) => void }) {
  const { api } = useSession();
  const act = useAction(async (action: 'start' | 'stop' | 'restart') => {
    onChanged(await api.post(`/api/instances/{instanceId}/${action}`, { path: { instanceId: instance.id } }));
  });
  const stopped = instance.desiredState === 'stopped';
  return (
    <>
      <span className="button-group" role="group" aria-label="Run the instance">
        <button type="button" className={stopped ? 'primary' : ''} disabled={act.pending || !stopped} onClick={() => void act.run('start')}>
          Start
        </button>
        <ConfirmButton label="Stop" question="Stop the flows?" confirmLabel="Yes, stop" disabled={stopped} pending={act.pending} onConfirm={() => act.run('stop')} />
        <button type="button" disabled={act.pending || stopped} onClick={() => void act.run('restart')}>
          Restart
        </button>
      </span>
      <ProblemNotice problem={act.error} onDismiss={act.clearError} />
    </>
  );
}

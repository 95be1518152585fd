import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { apiUrl } from '../../api/client.ts';
import { EditorForMembersNote } from '../../components/EditorForMembersNote.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { SnapshotName } from '../../components/SnapshotName.tsx';
import { SnapshotPicker } from '../../components/SnapshotPicker.tsx';
import { StatusBadge } from '../../components/StatusBadge.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useInterval } from '../../interval.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess } from '../../team-access.ts';
import type { Device } from '../../types.ts';
import { LogsPanel } from '../instances/LogsPanel.tsx';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { nameOf, useTeamPlaces } from './fleet-data.ts';

const POLL_MS = 3000;

/**
 * The device's Node-RED editor, in a tab of its own: the platform asks the device to open
 * its tunnel and waits for it, so it opens only while the device is connected. Read only:
 * a device runs its target, so changes are made on an instance and targeted here.
 */
function DeviceEditorLink({ device }: { device: Device }) {
  const connected = device.connection === 'online';
  return (
    <p className="actions">
      <a className={`button${connected ? ' primary' : ''}`} href={device.editorPath} target="_blank" rel="noopener noreferrer">
        Open editor (read-only)
        <span className="visually-hidden"> (opens in a new tab)</span>
        <span aria-hidden="true"> ↗</span>
      </a>{' '}
      <span className="muted small">
        {connected ? 'Through a tunnel the device opens to the platform; opening it is audited.' : 'The editor opens while the device is connected.'}
      </span>
    </p>
  );
}

/** One device: what it runs and should run, how it is, its logs; set its target (fleet:deploy). */
export function DevicePage() {
  const { deviceId = '' } = useParams();
  const { api } = useSession();
  const device = useResource(() => api.get('/api/devices/{deviceId}', { path: { deviceId } }), deviceId);
  const teamId = device.data?.teamId ?? '';
  const places = useTeamPlaces(teamId);
  const access = useTeamAccess(teamId);
  usePageTitle(`Device ${device.data?.name ?? ''}`);
  // A device changes by itself (it reports): keep the page current while it is open.
  useInterval(device.reload, POLL_MS);
  const [chosen, setChosen] = useState<string | null>(null);
  const onPick = useCallback((id: string | null) => setChosen(id), []);
  const setTarget = useAction(async (snapshotId: string | null) => {
    const updated = await api.put('/api/devices/{deviceId}/target', { path: { deviceId }, body: { snapshotId } });
    device.setData(() => updated);
  });

  if (!device.data) return device.error ? <ProblemNotice problem={device.error} /> : <Loading what="the device" />;
  const d = device.data;
  const atTarget = d.targetSnapshotId === d.runningSnapshotId && d.state === 'running';
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${teamId}`}>{access.teamName ?? 'Team'}</Link> <span aria-hidden="true">/</span>{' '}
        <Link to={`/teams/${teamId}/fleet`}>Fleet</Link> <span aria-hidden="true">/</span> <span aria-current="page">{d.name}</span>
      </nav>
      <div className="page-head">
        <h1>{d.name}</h1>
        {d.revokedAt ? <span className="badge badge-bad">revoked</span> : <StatusBadge status={d.state} />}
      </div>
      <dl className="facts" aria-label="Device facts">
        <dt>Site</dt>
        <dd>{places.data ? nameOf(places.data.sites, d.siteId) : '…'}</dd>
        <dt>Group</dt>
        <dd>{places.data ? (nameOf(places.data.groups, d.groupId) ?? 'none') : '…'}</dd>
        <dt>Should run</dt>
        <dd data-testid="device-target">
          <SnapshotName id={d.targetSnapshotId} />
        </dd>
        <dt>Runs</dt>
        <dd data-testid="device-running">
          {d.state === 'unknown' ? <span className="muted">not reported yet</span> : <SnapshotName id={d.runningSnapshotId} />}
          {!atTarget && d.state !== 'unknown' && !d.revokedAt && <span className="muted small"> (not yet at its target)</span>}
          {/* What it reported running, as a CycloneDX SBOM (the server answers 409 before it reported any). */}
          {d.runningSnapshotId && (
            <>
              {' '}
              <a className="small" href={apiUrl('/api/devices/{deviceId}/sbom', { path: { deviceId: d.id } })} download>
                Download SBOM
              </a>
            </>
          )}
        </dd>
        <dt>Connection</dt>
        <dd>
          <ConnectionBadge device={d} />
        </dd>
        <dt>Last seen</dt>
        <dd>{d.lastSeenAt ? formatDateTime(d.lastSeenAt, true) : 'never'}</dd>
        <dt>Versions</dt>
        <dd className="mono small">
          agent {d.agentVersion}
          {d.nodeRedVersion && ` · Node-RED ${d.nodeRedVersion}`}
        </dd>
        <dt>Load</dt>
        <dd>{d.cpuPercent === null ? <span className="muted">not reported</span> : `CPU ${d.cpuPercent} % · memory in use ${d.memoryMb ?? '?'} MB`}</dd>
      </dl>
      {d.allowed.openEditor ? (
        <DeviceEditorLink device={d} />
      ) : (
        !d.revokedAt && (
          <p>
            <EditorForMembersNote />
          </p>
        )
      )}
      {d.statusDetail && (
        <p className="notice notice-error" role="status">
          {d.statusDetail}
        </p>
      )}
      {d.allowed.setTarget && (
        <FormCard
          title="Target"
          onSubmit={() => void setTarget.run(chosen)}
          submitLabel="Set target"
          pending={setTarget.pending}
          disabled={!chosen}
          error={setTarget.error}
          onDismissError={setTarget.clearError}
          actions={
            d.targetSnapshotId && (
              <button type="button" disabled={setTarget.pending} onClick={() => void setTarget.run(null)}>
                Clear target
              </button>
            )
          }
        >
          <p className="muted">
            The snapshot this device should run. Its agent fetches it, checks its hash, starts it, and goes back to the last good one if it fails its health check.
          </p>
          <SnapshotPicker teamId={teamId} idPrefix="target" onChange={onPick} />
        </FormCard>
      )}
      {!d.allowed.setTarget && !d.revokedAt && access.allowed('fleet:deploy') && (
        <p className="notice" role="status">
          A rollout holds this device: it runs what the rollout gives it until the rollout finishes or is aborted.
        </p>
      )}
      <LogsPanel source="device" id={d.id} />
    </>
  );
}

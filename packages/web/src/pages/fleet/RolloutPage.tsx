import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { SnapshotName } from '../../components/SnapshotName.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useInterval } from '../../interval.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess } from '../../team-access.ts';
import type { RolloutDeviceState } from '../../types.ts';
import { nameOf, useTeamPlaces } from './fleet-data.ts';
import { ROLLOUT_DEVICE_STATES, RolloutProgress } from './RolloutProgress.tsx';

const POLL_MS = 2000;
const PAGE = 100;

/** One rollout: its progress drawn per site, pause, resume and abort (fleet:deploy), and its devices by state. */
export function RolloutPage() {
  const { rolloutId = '' } = useParams();
  const { api } = useSession();
  const detail = useResource(() => api.get('/api/rollouts/{rolloutId}', { path: { rolloutId } }), rolloutId);
  const teamId = detail.data?.rollout.teamId ?? '';
  const places = useTeamPlaces(teamId);
  const access = useTeamAccess(teamId);
  const [filter, setFilter] = useState<RolloutDeviceState | ''>('');
  const [offset, setOffset] = useState(0);
  const devices = useResource(
    () => api.get('/api/rollouts/{rolloutId}/devices', { path: { rolloutId }, query: { limit: PAGE, offset, state: filter || undefined } }),
    `${rolloutId}:${filter}:${offset}`,
  );
  const live = detail.data && detail.data.rollout.state !== 'completed' && detail.data.rollout.state !== 'aborted';
  useInterval(
    () => {
      detail.reload();
      devices.reload();
    },
    live ? POLL_MS : null,
  );
  const act = useAction(async (action: 'pause' | 'resume' | 'abort') => {
    const rollout = await api.post(`/api/rollouts/{rolloutId}/${action}`, { path: { rolloutId } });
    detail.setData((d) => (d ? { ...d, rollout } : d));
    detail.reload();
    devices.reload();
  });
  usePageTitle('Rollout');

  if (!detail.data) return detail.error ? <ProblemNotice problem={detail.error} /> : <Loading what="the rollout" />;
  const { rollout } = detail.data;
  const sites = places.data?.sites ?? [];
  const groupName = places.data ? nameOf(places.data.groups, rollout.groupId) : '…';
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${teamId}`}>{access.teamName ?? 'Team'}</Link> <span aria-hidden="true">/</span>{' '}
        <Link to={`/teams/${teamId}/fleet`}>Fleet</Link> <span aria-hidden="true">/</span> <span aria-current="page">Rollout to {groupName}</span>
      </nav>
      <div className="page-head">
        <h1>Rollout to {groupName}</h1>
        <span className={`badge rollout-${rollout.state}`} data-testid="rollout-state">
          {rollout.state}
        </span>
      </div>
      <p>
        Snapshot{' '}
        <span data-testid="rollout-snapshot">
          <SnapshotName id={rollout.snapshotId} />
        </span>{' '}
        · wave <strong data-testid="rollout-wave">{rollout.currentWave}</strong> of {rollout.waveCount} ({rollout.waveSize} devices each) · healthy after {rollout.healthSeconds} s
        · halts after {rollout.maxFailures} failure(s) · started {formatDateTime(rollout.createdAt)} by {rollout.createdBy ?? 'unknown'}
      </p>
      {rollout.detail && <p className={`notice${rollout.state === 'halted' ? ' notice-error' : ''}`}>{rollout.detail}</p>}
      <RolloutProgress detail={detail.data} sites={sites} />
      {/* Which of pause, resume and abort apply now is the server's word (rollouts.policy.ts). */}
      {(rollout.allowed.pause || rollout.allowed.resume || rollout.allowed.abort) && (
        <div className="toolbar">
          {rollout.allowed.pause && (
            <button type="button" disabled={act.pending} onClick={() => void act.run('pause')}>
              Pause
            </button>
          )}
          {rollout.allowed.resume && (
            <button type="button" className="primary" disabled={act.pending} onClick={() => void act.run('resume')}>
              Resume
            </button>
          )}
          {rollout.allowed.abort && (
            <ConfirmButton
              label="Abort"
              accessibleName="Abort the rollout"
              question="No further wave starts; devices already given the snapshot keep it. Abort?"
              confirmLabel="Yes, abort"
              pending={act.pending}
              onConfirm={() => act.run('abort')}
            />
          )}
        </div>
      )}
      <ProblemNotice problem={act.error} onDismiss={act.clearError} />

      <section aria-labelledby="rollout-devices-title">
        <div className="row-between">
          <h2 id="rollout-devices-title">Devices</h2>
          <div className="field">
            <label htmlFor="rollout-device-state">State</label>
            <select
              id="rollout-device-state"
              value={filter}
              onChange={(e) => {
                setFilter(ROLLOUT_DEVICE_STATES.find((s) => s === e.target.value) ?? '');
                setOffset(0);
              }}
            >
              <option value="">All</option>
              {ROLLOUT_DEVICE_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ProblemNotice problem={devices.error} />
        <DataTable
          label="Devices of the rollout"
          rows={devices.data ?? []}
          rowKey={(d) => d.deviceId}
          rowProps={(d) => ({ 'data-rollout-device': d.name })}
          empty={devices.data ? 'No device of the rollout is in this state.' : undefined}
          columns={[
            { key: 'device', header: 'Device', rowHeader: true, cell: (d) => <Link to={`/devices/${d.deviceId}`}>{d.name}</Link> },
            { key: 'site', header: 'Site', cell: (d) => nameOf(sites, d.siteId) ?? '…' },
            { key: 'wave', header: 'Wave', cell: (d) => d.wave },
            { key: 'state', header: 'State', cell: (d) => d.state },
            { key: 'why', header: 'Why', className: 'small', cell: (d) => d.detail ?? '' },
          ]}
        />
        <div className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <button type="button" disabled={(devices.data?.length ?? 0) < PAGE} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </div>
      </section>
    </>
  );
}

import { useState } from 'react';
import { Link } from 'react-router';
import { apiUrl, type QueryParameters } from '../../api/client.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Field } from '../../components/Field.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { StatusBadge } from '../../components/StatusBadge.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Device } from '../../types.ts';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { nameOf, type FleetData } from './fleet-data.ts';
import { NamedOptions } from '../../components/NamedOptions.tsx';

const PAGE = 50;
type DeviceState = NonNullable<QueryParameters<'/api/teams/{teamId}/devices'>['state']>;
const STATES: readonly DeviceState[] = ['unknown', 'updating', 'starting', 'running', 'crashed', 'stopped', 'safe-mode', 'error'];

/**
 * The devices registered into the team, a page at a time with filters (site, group, state,
 * name), where they are, what they run, their connection; revoking one cuts it off
 * (fleet:provision).
 */
export function DevicesSection({
  teamId,
  fleet,
  revision,
  loading,
  mayRevoke,
  onChanged,
}: {
  teamId: string;
  fleet: FleetData;
  revision: number;
  loading: boolean;
  /** Whether the table has a column for revoking; each device's own `allowed` says whether it may be. */
  mayRevoke: boolean;
  onChanged: () => void;
}) {
  const { api } = useSession();
  const [filter, setFilter] = useState<{ siteId: string; groupId: string; state: DeviceState | ''; q: string }>({ siteId: '', groupId: '', state: '', q: '' });
  const [offset, setOffset] = useState(0);
  // An empty filter is left out of the query.
  const call = {
    path: { teamId },
    query: { siteId: filter.siteId || undefined, groupId: filter.groupId || undefined, state: filter.state || undefined, q: filter.q || undefined, limit: PAGE, offset },
  };
  const page = useResource(() => api.get('/api/teams/{teamId}/devices', call), `${revision}:${apiUrl('/api/teams/{teamId}/devices', call)}`);
  const devices = page.data ?? [];
  const filtered = Object.values(filter).some(Boolean);
  const change = (next: Partial<typeof filter>) => {
    setFilter((f) => ({ ...f, ...next }));
    setOffset(0);
  };
  const revoke = useAction(async (device: Device) => {
    await api.post('/api/devices/{deviceId}/revoke', { path: { deviceId: device.id } });
    onChanged();
  });
  const move = useAction(async (device: Device, patch: { siteId?: string; groupId?: string | null }) => {
    await api.patch('/api/devices/{deviceId}', { path: { deviceId: device.id }, body: patch });
    onChanged();
  });

  return (
    <section aria-labelledby="devices-title">
      <div className="row-between">
        <h2 id="devices-title">Devices</h2>
        {/* The whole page: a registration also spends a token. */}
        <button type="button" onClick={onChanged} disabled={loading}>
          Refresh
        </button>
      </div>
      <div className="filters" role="search" aria-label="Filter devices">
        <Field label="Name contains" value={filter.q} maxLength={120} onChange={(e) => change({ q: e.target.value })} />
        <div className="field">
          <label htmlFor="device-filter-site">Site</label>
          <select id="device-filter-site" value={filter.siteId} onChange={(e) => change({ siteId: e.target.value })}>
            <option value="">All sites</option>
            <NamedOptions items={fleet.sites} />
          </select>
        </div>
        <div className="field">
          <label htmlFor="device-filter-group">Group</label>
          <select id="device-filter-group" value={filter.groupId} onChange={(e) => change({ groupId: e.target.value })}>
            <option value="">All groups</option>
            <NamedOptions items={fleet.groups} />
          </select>
        </div>
        <div className="field">
          <label htmlFor="device-filter-state">State</label>
          <select id="device-filter-state" value={filter.state} onChange={(e) => change({ state: STATES.find((s) => s === e.target.value) ?? '' })}>
            <option value="">All states</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ProblemNotice problem={page.error} />
      {page.data && (
        <DataTable
          label="Devices"
          rows={devices}
          rowKey={(device) => device.id}
          rowProps={(device) => ({ 'data-device-id': device.id, className: device.revokedAt ? 'row-disabled' : undefined })}
          empty={filtered ? 'No device matches these filters.' : 'No devices yet. A device joins with a provisioning token.'}
          className="devices-table"
          columns={[
            {
              key: 'device',
              header: 'Device',
              rowHeader: true,
              cell: (device) => (
                <>
                  <Link to={`/devices/${device.id}`}>{device.name}</Link>
                  <span className="muted small block">
                    registered <When at={device.createdAt} />
                  </span>
                </>
              ),
            },
            {
              key: 'site',
              header: 'Site',
              cell: (device) =>
                device.allowed.edit ? (
                  <select aria-label={`Site of ${device.name}`} value={device.siteId} disabled={move.pending} onChange={(e) => void move.run(device, { siteId: e.target.value })}>
                    <NamedOptions items={fleet.sites} />
                  </select>
                ) : (
                  nameOf(fleet.sites, device.siteId)
                ),
            },
            {
              key: 'group',
              header: 'Group',
              cell: (device) =>
                device.allowed.edit ? (
                  <select
                    aria-label={`Group of ${device.name}`}
                    value={device.groupId ?? ''}
                    disabled={move.pending}
                    onChange={(e) => void move.run(device, { groupId: e.target.value || null })}
                  >
                    <option value="">None</option>
                    <NamedOptions items={fleet.groups} />
                  </select>
                ) : (
                  (nameOf(fleet.groups, device.groupId) ?? <span className="muted">—</span>)
                ),
            },
            {
              key: 'agent',
              header: 'Agent',
              hide: 'medium',
              className: 'mono small',
              cell: (device) => (
                <>
                  {device.agentVersion}
                  {device.nodeRedVersion && <span className="block">Node-RED {device.nodeRedVersion}</span>}
                </>
              ),
            },
            { key: 'connection', header: 'Connection', nowrap: true, cell: (device) => <ConnectionBadge device={device} compact /> },
            { key: 'seen', header: 'Last check-in', nowrap: true, cell: (device) => <When at={device.lastSeenAt} relative never="never" /> },
            {
              key: 'state',
              header: 'State',
              cell: (device) => (device.revokedAt ? <span className="badge badge-bad">revoked</span> : <StatusBadge status={device.state} />),
            },
            mayRevoke && {
              key: 'actions',
              header: '',
              actions: true,
              cell: (device) =>
                device.allowed.revoke && (
                  <ConfirmButton
                    label="Revoke"
                    accessibleName={`Revoke device ${device.name}`}
                    question="Its credential stops working at once. Revoke?"
                    confirmLabel="Yes, revoke"
                    pending={revoke.pending}
                    onConfirm={() => revoke.run(device)}
                  />
                ),
            },
          ]}
        />
      )}
      {(offset > 0 || devices.length === PAGE) && (
        <div className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous devices
          </button>
          <span className="muted small">
            {offset + 1} to {offset + devices.length}
          </span>
          <button type="button" disabled={devices.length < PAGE} onClick={() => setOffset(offset + PAGE)}>
            Next devices
          </button>
        </div>
      )}
      <ProblemNotice problem={revoke.error} onDismiss={revoke.clearError} />
      <ProblemNotice problem={move.error} onDismiss={move.clearError} />
    </section>
  );
}

import { Link } from 'react-router';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { StatusBadge } from '../../components/StatusBadge.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Device } from '../../types.ts';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { nameOf, type FleetData } from './fleet-data.ts';

/** The devices registered into the team, where they are, when they last checked in; revoking one cuts it off (fleet:provision). */
export function DevicesSection({ fleet, loading, mayWrite, mayRevoke, onChanged }: { fleet: FleetData; loading: boolean; mayWrite: boolean; mayRevoke: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const revoke = useAction(async (device: Device) => {
    await api.post<Device>(`/api/devices/${encodeURIComponent(device.id)}/revoke`);
    onChanged();
  });
  const move = useAction(async (device: Device, patch: { siteId?: string; groupId?: string | null }) => {
    await api.patch<Device>(`/api/devices/${encodeURIComponent(device.id)}`, patch);
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
      {fleet.devices.length === 0 && <p className="muted">No devices yet. A device joins with a provisioning token.</p>}
      {fleet.devices.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Site</th>
                <th scope="col">Group</th>
                <th scope="col">Agent</th>
                <th scope="col">Connection</th>
                <th scope="col">Last check-in</th>
                <th scope="col">State</th>
                {mayRevoke && <th scope="col" className="actions-cell">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {fleet.devices.map((device) => (
                <tr key={device.id} data-device-id={device.id} className={device.revokedAt ? 'row-disabled' : undefined}>
                  <th scope="row">
                    <Link to={`/devices/${device.id}`}>{device.name}</Link>
                    <span className="muted small block">registered {formatDateTime(device.createdAt)}</span>
                  </th>
                  <td>
                    {mayWrite && !device.revokedAt ? (
                      <select aria-label={`Site of ${device.name}`} value={device.siteId} disabled={move.pending} onChange={(e) => void move.run(device, { siteId: e.target.value })}>
                        {fleet.sites.map((site) => (
                          <option key={site.id} value={site.id}>
                            {site.name}
                          </option>
                        ))}
                      </select>
                    ) : (
                      nameOf(fleet.sites, device.siteId)
                    )}
                  </td>
                  <td>
                    {mayWrite && !device.revokedAt ? (
                      <select aria-label={`Group of ${device.name}`} value={device.groupId ?? ''} disabled={move.pending} onChange={(e) => void move.run(device, { groupId: e.target.value || null })}>
                        <option value="">None</option>
                        {fleet.groups.map((group) => (
                          <option key={group.id} value={group.id}>
                            {group.name}
                          </option>
                        ))}
                      </select>
                    ) : (
                      (nameOf(fleet.groups, device.groupId) ?? <span className="muted">—</span>)
                    )}
                  </td>
                  <td className="mono small">
                    {device.agentVersion}
                    {device.nodeRedVersion && <span className="block">Node-RED {device.nodeRedVersion}</span>}
                  </td>
                  <td>
                    <ConnectionBadge device={device} />
                  </td>
                  <td className="nowrap">{device.lastSeenAt ? formatDateTime(device.lastSeenAt) : <span className="muted">never</span>}</td>
                  <td>{device.revokedAt ? <span className="badge badge-bad">revoked</span> : <StatusBadge status={device.state} />}</td>
                  {mayRevoke && (
                    <td className="actions-cell">
                      {!device.revokedAt && (
                        <ConfirmButton
                          label="Revoke"
                          accessibleName={`Revoke device ${device.name}`}
                          question="Its credential stops working at once. Revoke?"
                          confirmLabel="Yes, revoke"
                          pending={revoke.pending}
                          onConfirm={() => revoke.run(device)}
                        />
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ProblemNotice problem={revoke.error} onDismiss={revoke.clearError} />
      <ProblemNotice problem={move.error} onDismiss={move.clearError} />
    </section>
  );
}

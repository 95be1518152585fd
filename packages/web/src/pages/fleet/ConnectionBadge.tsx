import { When } from '../../components/When.tsx';
import type { Device } from '../../types.ts';

/** Online or offline as the device's MQTT connection says (its last will), with since when; `compact` for a table's one line. */
export function ConnectionBadge({ device, compact = false }: { device: Device; compact?: boolean }) {
  if (device.connection === 'unknown') {
    return compact ? (
      <span className="muted small" title="Not connected since the platform started">
        not since restart
      </span>
    ) : (
      <span className="muted small">not connected since the platform started</span>
    );
  }
  const online = device.connection === 'online';
  return (
    <span className="nowrap">
      <span className={`badge ${online ? 'badge-ok' : 'badge-warn'}`} data-connection={device.connection}>
        {online ? 'online' : 'offline'}
      </span>{' '}
      {device.connectionSince && (
        <span className="muted small">
          since <When at={device.connectionSince} relative />
        </span>
      )}
    </span>
  );
}

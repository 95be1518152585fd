import { formatDateTime } from '../../format.ts';
import type { Device } from '../../types.ts';

/** Online or offline as the device's MQTT connection says (its last will), with since when. */
export function ConnectionBadge({ device }: { device: Device }) {
  if (device.connection === 'unknown') return <span className="muted small">not connected since the platform started</span>;
  const online = device.connection === 'online';
  return (
    <span className="nowrap">
      <span className={`badge ${online ? 'badge-ok' : 'badge-warn'}`} data-connection={device.connection}>
        {online ? 'online' : 'offline'}
      </span>{' '}
      {device.connectionSince && <span className="muted small">since {formatDateTime(device.connectionSince)}</span>}
    </span>
  );
}

/**
 * Where the two sides meet. A hosted instance's agent calls AGENT_API_ROOT over loopback
 * with its instance token; a device's agent calls DEVICE_API_ROOT with its device
 * credential. Both roots serve the same calls (desired, snapshots, audit, logs; status is
 * a device's check-in), so one reconcile loop serves both.
 */
export const AGENT_API_ROOT = '/api/agent/v1';
export const DEVICE_API_ROOT = '/api/fleet/v1';

/** The editor tunnel a device opens outward when asked (tunnel.ts). */
export const TUNNEL_PATH = `${DEVICE_API_ROOT}/tunnel`;
/** MQTT over WebSocket on the platform's own HTTP port. */
export const MQTT_PATH = `${DEVICE_API_ROOT}/mqtt`;

/**
 * A device's MQTT topics, each its own only: the platform publishes {"changedAt": ...} to
 * `desired` when its desired state changes; the device publishes "online" to `status` when
 * it connects, and its last will "offline".
 */
export const TOPIC_ROOT = 'flowgate/v1/devices';
export const desiredTopic = (deviceId: string): string => `${TOPIC_ROOT}/${deviceId}/desired`;
export const statusTopic = (deviceId: string): string => `${TOPIC_ROOT}/${deviceId}/status`;

import { SYSTEM_CONTEXT, type RequestContext } from '../../context.ts';
import type { DevicesTable } from '../../db/schema.ts';
import type { AuditEventInput, AuditLog } from '../audit/audit.service.ts';

/** Where a failure to audit is told: the server's logger. */
export interface DeviceAuditLog {
  error(fields: { err: unknown }, message: string): void;
}

/** The audit context of a device acting by itself. */
export const deviceActor = (deviceId: string): RequestContext => ({ ...SYSTEM_CONTEXT, actor: { type: 'system', userId: null, label: `device:${deviceId}` } });

/**
 * What the device connections outside HTTP (MQTT, the editor tunnel) put on record: refused
 * credentials and topics, tunnels opened and closed. They happen in a socket's callbacks with
 * no request to answer, so a failure to record is logged, never thrown into the socket.
 */
export function createDeviceAudit(auditLog: Pick<AuditLog, 'record'>, log: DeviceAuditLog) {
  const record = (ctx: RequestContext, event: AuditEventInput, what: string): Promise<void> =>
    auditLog.record(ctx, event).catch((error: unknown) => log.error({ err: error }, `auditing ${what} failed`));
  return {
    refusedMqttCredential: ({ username, ip }: { username: string | null; ip: string | null }) =>
      record({ ...SYSTEM_CONTEXT, ip }, { event: 'device.credential.rejected', outcome: 'denied', details: { transport: 'mqtt', username } }, 'a refused MQTT sign-in'),
    refusedTopic: ({ deviceId, teamId, topic, action }: { deviceId: string; teamId: string; topic: string; action: 'publish' | 'subscribe' }) =>
      record(
        deviceActor(deviceId),
        { event: 'device.topic.refused', outcome: 'denied', teamId, target: { type: 'device', id: deviceId }, details: { topic, action } },
        'a refused MQTT topic',
      ),
    refusedTunnelCredential: ({ ip }: { ip: string | null }) =>
      record({ ...SYSTEM_CONTEXT, ip }, { event: 'device.credential.rejected', outcome: 'denied', details: { transport: 'tunnel' } }, 'a refused tunnel'),
    tunnelOpened: (device: DevicesTable, ip: string | null) =>
      record({ ...deviceActor(device.id), ip }, { event: 'device.tunnel.opened', teamId: device.team_id, target: { type: 'device', id: device.id } }, 'a tunnel'),
    tunnelClosed: (device: DevicesTable, openedForMs: number) =>
      record(
        deviceActor(device.id),
        { event: 'device.tunnel.closed', teamId: device.team_id, target: { type: 'device', id: device.id }, details: { openSeconds: Math.round(openedForMs / 1000) } },
        'a tunnel',
      ),
  };
}

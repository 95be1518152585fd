import type { Clock, RequestContext } from '../../context.ts';
import { SYSTEM_CONTEXT } from '../../context.ts';
import type { DevicesTable, FleetSettingsTable } from '../../db/schema.ts';
import { ValidationError } from '../../http/errors.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { Presence } from './device-broker.ts';
import type { FleetStore } from './fleet.store.ts';

/**
 * Offline alerts: a team sets after how many minutes offline a device raises an alert,
 * and optionally a webhook that hears of it. Offline is what the device's MQTT connection
 * says (its last will, or its disconnect); a device with no MQTT connection since the
 * platform started counts from its last check-in. An alert is raised once per offline
 * spell and cleared when the device is back; both are audited, with whether the webhook
 * took them. Which devices are in alert is kept in memory: after a restart a device still
 * offline is alerted again (a webhook may hear it twice; it never misses one).
 */

export const ALERT_CHECK_MS = 15_000;
const WEBHOOK_TIMEOUT_MS = 5000;

export interface OfflineAlert {
  deviceId: string;
  name: string;
  siteId: string;
  offlineSince: string;
  alertedAt: string;
}

export interface OfflineAlertsDeps {
  store: FleetStore;
  devicesOfTeam(teamId: string): Promise<DevicesTable[]>;
  presence(deviceId: string): Presence | undefined;
  auditLog: AuditLog;
  clock: Clock;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  tickMs?: number;
}

/** A webhook is an http(s) URL without credentials in it (they would land in the audit log). */
function checkWebhook(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`"${url}" is not a URL.`, [{ field: 'alertWebhookUrl', message: 'not a URL' }]);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new ValidationError('The webhook must be an http or https URL.', [{ field: 'alertWebhookUrl', message: 'http or https only' }]);
  if (parsed.username || parsed.password)
    throw new ValidationError('Put no user name or password in the webhook URL.', [{ field: 'alertWebhookUrl', message: 'no credentials in the URL' }]);
}

export function createOfflineAlerts(deps: OfflineAlertsDeps) {
  const { store, auditLog, clock } = deps;
  const alerted = new Map<string, OfflineAlert & { teamId: string }>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  async function deliver(url: string | null, body: Record<string, unknown>): Promise<string> {
    if (!url) return 'none';
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'flowgate-alerts' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      return response.ok ? 'delivered' : `failed: HTTP ${response.status}`;
    } catch (error) {
      deps.log.warn({ err: error }, 'the alert webhook could not be reached');
      return `failed: ${(error as Error).message}`;
    }
  }

  /** When the device went offline, or null while it is online (or was never seen). */
  function offlineSince(device: DevicesTable): string | null {
    const presence = deps.presence(device.id);
    if (presence) return presence.online ? null : presence.since;
    return device.last_seen_at;
  }

  async function checkTeam(settings: FleetSettingsTable): Promise<void> {
    const limitMs = settings.offline_alert_minutes! * 60_000;
    const now = clock.now();
    const ctx = { ...SYSTEM_CONTEXT, actor: { type: 'system' as const, userId: null, label: 'offline alerts' } };
    for (const device of await deps.devicesOfTeam(settings.team_id)) {
      const since = device.revoked_at ? null : offlineSince(device);
      const alert = alerted.get(device.id);
      const overdue = since !== null && now.getTime() - Date.parse(since) >= limitMs;
      if (overdue && !alert) {
        const raised = { deviceId: device.id, name: device.name, siteId: device.site_id, offlineSince: since, alertedAt: now.toISOString(), teamId: device.team_id };
        alerted.set(device.id, raised);
        const webhook = await deliver(settings.alert_webhook_url, {
          event: 'device.offline',
          teamId: device.team_id,
          device: { id: device.id, name: device.name, siteId: device.site_id },
          offlineSince: since,
          thresholdMinutes: settings.offline_alert_minutes,
        });
        await auditLog.record(ctx, {
          event: 'device.offline.alert',
          outcome: 'failure',
          teamId: device.team_id,
          target: { type: 'device', id: device.id },
          details: { name: device.name, offlineSince: since, thresholdMinutes: settings.offline_alert_minutes, webhook },
        });
      } else if (alert && !overdue && (since === null || since !== alert.offlineSince)) {
        alerted.delete(device.id);
        const webhook = await deliver(settings.alert_webhook_url, {
          event: 'device.online',
          teamId: device.team_id,
          device: { id: device.id, name: device.name, siteId: device.site_id },
          offlineSince: alert.offlineSince,
        });
        await auditLog.record(ctx, {
          event: 'device.offline.cleared',
          teamId: device.team_id,
          target: { type: 'device', id: device.id },
          details: { name: device.name, offlineSince: alert.offlineSince, webhook },
        });
      }
    }
  }

  async function checkAll(): Promise<void> {
    for (const settings of await store.teamsWithOfflineAlerts()) {
      try {
        await checkTeam(settings);
      } catch (error) {
        deps.log.error({ err: error, teamId: settings.team_id }, 'checking offline devices failed');
      }
    }
  }

  /** Looks at every team's devices now; a look already under way is shared, not doubled. */
  function check(): Promise<void> {
    running ??= checkAll().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    /** The timer does it every ALERT_CHECK_MS; tests call it to look at once. */
    check,
    start(): void {
      timer ??= setInterval(() => void check(), deps.tickMs ?? ALERT_CHECK_MS);
      timer.unref();
    },
    close(): void {
      if (timer) clearInterval(timer);
    },
    active: (teamId: string): OfflineAlert[] => [...alerted.values()].filter((a) => a.teamId === teamId).map(({ teamId: _team, ...alert }) => alert),

    settings: async (teamId: string) => {
      const row = await store.fleetSettings(teamId);
      return { offlineAlertMinutes: row?.offline_alert_minutes ?? null, alertWebhookUrl: row?.alert_webhook_url ?? null };
    },
    async updateSettings(teamId: string, input: { offlineAlertMinutes: number | null; alertWebhookUrl: string | null }, ctx: RequestContext) {
      if (input.alertWebhookUrl) checkWebhook(input.alertWebhookUrl);
      const before = await store.fleetSettings(teamId);
      const row: FleetSettingsTable = {
        team_id: teamId,
        offline_alert_minutes: input.offlineAlertMinutes,
        alert_webhook_url: input.alertWebhookUrl,
        updated_at: clock.now().toISOString(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        await store.saveFleetSettings(row, tx.trx);
        await tx.record({
          event: 'fleet.settings.updated',
          teamId,
          details: {
            before: { offlineAlertMinutes: before?.offline_alert_minutes ?? null, alertWebhookUrl: before?.alert_webhook_url ?? null },
            after: { offlineAlertMinutes: input.offlineAlertMinutes, alertWebhookUrl: input.alertWebhookUrl },
          },
        });
      });
      // Alerts of a team that turned them off are over.
      if (input.offlineAlertMinutes === null) for (const [id, a] of alerted) if (a.teamId === teamId) alerted.delete(id);
      return { offlineAlertMinutes: row.offline_alert_minutes, alertWebhookUrl: row.alert_webhook_url };
    },
  };
}

export type OfflineAlerts = ReturnType<typeof createOfflineAlerts>;

import { systemClock, type Clock } from './context.ts';

/**
 * Operational alerts a platform admin must see: the audit log could not be written,
 * forwarding to the SIEM is failing, audit storage is nearly full (62443-3-3 SR 2.9,
 * SR 2.10). Held in memory because the failure they report may be the database itself;
 * each is also logged at error level and counted in the metrics.
 */
export type AlertKind = 'audit-write-failed' | 'audit-forwarding-failed' | 'audit-capacity' | 'idp-certificate';

export interface Alert {
  kind: AlertKind;
  message: string;
  since: string;
  lastSeen: string;
}

export interface AlertSink {
  raise(kind: AlertKind, message: string): void;
  clear(kind: AlertKind): void;
}

export function createAlerts(onRaise: (alert: Alert) => void = () => {}, clock: Clock = systemClock) {
  const active = new Map<AlertKind, Alert>();
  return {
    raise(kind: AlertKind, message: string) {
      const now = clock.now().toISOString();
      const existing = active.get(kind);
      const alert = { kind, message, since: existing?.since ?? now, lastSeen: now };
      active.set(kind, alert);
      onRaise(alert);
    },
    clear(kind: AlertKind) {
      active.delete(kind);
    },
    list(): Alert[] {
      return [...active.values()];
    },
  };
}

export type Alerts = ReturnType<typeof createAlerts>;

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, one registry per app instance (tests build many apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'flowgate_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'flowgate_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    auditEvents: new Counter({ name: 'flowgate_audit_events_total', help: 'Audit events written', labelNames: ['outcome'], registers: [registry] }),
    alerts: new Counter({ name: 'flowgate_alerts_total', help: 'Operational alerts raised', labelNames: ['kind'], registers: [registry] }),
    auditStorageBytes: new Gauge({ name: 'flowgate_audit_storage_bytes', help: 'Bytes used by audit storage', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

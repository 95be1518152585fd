/** A log line as agents upload it: epoch milliseconds, level, message. */
export interface LogLine {
  ts: number;
  level: string;
  msg: string;
}

export const LOG_LINES_KEPT = 1000;

/**
 * The newest log lines of each agent (an instance's or a device's), in memory: the live
 * log view reads them. Not evidence: what matters for the audit goes to the audit log.
 */
export function createRecentLogs(kept = LOG_LINES_KEPT) {
  const logs = new Map<string, LogLine[]>();
  return {
    append(key: string, lines: readonly LogLine[]): void {
      const list = logs.get(key) ?? [];
      list.push(...lines);
      if (list.length > kept) list.splice(0, list.length - kept);
      logs.set(key, list);
    },
    /** Lines after the given time, for a view that polls with its last seen time. */
    after: (key: string, after = 0): LogLine[] => (logs.get(key) ?? []).filter((l) => l.ts > after),
  };
}

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ProblemError } from '../../api/client.ts';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useInterval } from '../../interval.ts';
import { useSession } from '../../session.tsx';
import type { LogLine } from '../../types.ts';

const POLL_MS = 2000;
const KEPT_LINES = 2000;
/**
 * Lines reach the platform from two sources (the agent's output, stamped on arrival, and
 * Node-RED's own lines, uploaded in batches with their original time), so a line can
 * arrive with a time just before the last one shown. Each poll asks again for the last
 * few seconds and drops what it has already shown.
 */
const OVERLAP_MS = 10_000;

const time = (ts: number) => {
  const d = new Date(ts);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
};
const keyOf = (l: LogLine) => `${l.ts}|${l.level}|${l.msg}`;

/** Whose agent the lines come from: an instance's or a device's. */
export type LogSource = 'instance' | 'device';

/** An agent's recent log lines (an instance's or a device's), followed live: polled every 2 s, scrolled to the newest unless you scrolled up. */
export function LogsPanel({ source, id }: { source: LogSource; id: string }) {
  const { api } = useSession();
  const [lines, setLines] = useState<Array<LogLine & { key: string }>>([]);
  const [error, setError] = useState<ProblemError | null>(null);
  const [paused, setPaused] = useState(false);
  const last = useRef(0);
  const seen = useRef(new Map<string, number>());
  const inFlight = useRef(false);
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);

  useEffect(() => {
    setLines([]);
    last.current = 0;
    seen.current = new Map();
  }, [source, id]);

  const poll = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const after = Math.max(0, last.current - OVERLAP_MS);
      const fresh =
        source === 'instance'
          ? await api.get('/api/instances/{instanceId}/logs', { path: { instanceId: id }, query: { after } })
          : await api.get('/api/devices/{deviceId}/logs', { path: { deviceId: id }, query: { after } });
      setError(null);
      const added: Array<LogLine & { key: string }> = [];
      const repeats = new Map<string, number>();
      for (const line of fresh) {
        // A line repeated within one millisecond is shown as many times as it came.
        const base = keyOf(line);
        const count = repeats.get(base) ?? 0;
        repeats.set(base, count + 1);
        const key = `${base}#${count}`;
        if (seen.current.has(key)) continue;
        seen.current.set(key, line.ts);
        added.push({ ...line, key });
        if (line.ts > last.current) last.current = line.ts;
      }
      // Forget keys that are out of the overlap window.
      for (const [key, ts] of seen.current) if (ts < last.current - 2 * OVERLAP_MS) seen.current.delete(key);
      if (added.length) setLines((current) => [...current, ...added].slice(-KEPT_LINES));
    } catch (failure) {
      setError(failure instanceof ProblemError ? failure : null);
    } finally {
      inFlight.current = false;
    }
  }, [api, source, id]);

  useEffect(() => {
    void poll();
  }, [poll]);
  useInterval(() => void poll(), paused ? null : POLL_MS);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <section aria-labelledby="logs-title">
      <div className="row-between">
        <h2 id="logs-title">Logs</h2>
        <div className="toolbar">
          <span className="muted small">{paused ? 'Paused' : 'Live, every 2 s'}</span>
          <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? 'Resume' : 'Pause'}
          </button>
        </div>
      </div>
      <ProblemNotice problem={error} />
      <div
        ref={box}
        className="log-view"
        role="log"
        aria-label="Instance logs"
        aria-live="off"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {lines.length === 0 && <span className="muted">No log lines yet.</span>}
        {lines.map((line) => (
          <div key={line.key} className={`log-line log-${line.level}`}>
            <span className="log-time">{time(line.ts)}</span> <span className="log-level">{line.level.padEnd(5)}</span> <span className="log-msg">{line.msg}</span>
          </div>
        ))}
      </div>
    </section>
  );
}

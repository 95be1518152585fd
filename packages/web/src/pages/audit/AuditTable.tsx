import { formatDateTime } from '../../format.ts';
import { AUDIT_EVENTS } from '../../policy.ts';
import type { AuditEvent } from '../../types.ts';
import type { Person } from './AuditLogView.tsx';

function prettyDetails(details: string): string {
  try {
    return JSON.stringify(JSON.parse(details), null, 2);
  } catch {
    return details;
  }
}

/** A one-line reading of the details, so refusals and changes can be scanned without opening them. */
function summarize(details: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const d = parsed as Record<string, unknown>;
  if (typeof d.permission === 'string') {
    return `${String(d.method ?? '')} ${String(d.route ?? '')}: needs ${d.permission}${d.role ? ` (role ${String(d.role)})` : ''}`.trim();
  }
  if (d.from !== undefined && d.to !== undefined) return `${String(d.from)} → ${String(d.to)}`;
  const parts = ['name', 'email', 'role', 'reason', 'format', 'method']
    .filter((key) => typeof d[key] === 'string' || typeof d[key] === 'number' || typeof d[key] === 'boolean')
    .map((key) => `${key}: ${String(d[key])}`);
  return parts.length ? parts.slice(0, 3).join(', ') : null;
}

function Outcome({ outcome }: { outcome: string }) {
  const symbol = outcome === 'success' ? '✓' : outcome === 'denied' ? '⊘' : '✗';
  return (
    <span className={`badge outcome outcome-${outcome}`}>
      <span aria-hidden="true">{symbol} </span>
      {outcome}
    </span>
  );
}

export function AuditTable({ events, people, teams }: { events: AuditEvent[]; people: Person[]; teams: Array<{ id: string; name: string }> }) {
  const personName = (id: string | null) => (id ? people.find((p) => p.id === id)?.label : undefined);
  const teamName = (id: string | null) => (id ? (teams.find((t) => t.id === id)?.name ?? `${id.slice(0, 8)}…`) : '—');

  return (
    <div className="table-wrap">
      <table className="audit-table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Event</th>
            <th scope="col">Outcome</th>
            <th scope="col">Target</th>
            <th scope="col">Team</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const description = (AUDIT_EVENTS as Record<string, string>)[e.event];
            const summary = summarize(e.details);
            const target = e.targetType ? `${e.targetType} ${e.targetType === 'user' ? (personName(e.targetId) ?? e.targetId ?? '') : (e.targetId?.slice(0, 8) ?? '')}` : '—';
            return (
              <tr key={e.seq} className={`outcome-row-${e.outcome}`}>
                <td className="mono small">{e.seq}</td>
                <td className="nowrap">
                  <time dateTime={e.occurredAt}>{formatDateTime(e.occurredAt, true)}</time>
                </td>
                <td>
                  {e.actorLabel ?? <span className="muted">{e.actorType}</span>}
                  {e.actorType !== 'user' && e.actorLabel && <span className="muted small"> ({e.actorType})</span>}
                </td>
                <th scope="row" className="event-name">
                  <span className="mono">{e.event}</span>
                  {description && <span className="muted small block">{description}</span>}
                  {summary && <span className="event-summary">{summary}</span>}
                </th>
                <td>
                  <Outcome outcome={e.outcome} />
                </td>
                <td className="small">{target}</td>
                <td className="small">{teamName(e.teamId)}</td>
                <td>
                  <details>
                    <summary>Show</summary>
                    <pre className="details">{prettyDetails(e.details)}</pre>
                    <dl className="facts small">
                      <dt>Address</dt>
                      <dd>{e.ip ?? '—'}</dd>
                      <dt>Browser</dt>
                      <dd>{e.userAgent ?? '—'}</dd>
                      <dt>Hash</dt>
                      <dd className="mono">{e.hash.slice(0, 16)}…</dd>
                    </dl>
                  </details>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { AUDIT_EVENTS } from '../../policy.ts';
import type { AuditEvent } from '../../types.ts';
import { describeUserAgent } from '../../user-agent.ts';
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

/**
 * One or two lines an event: its name, then what it was about (the summary, or else what the
 * event means) cut to the column with the whole in its title; "Show" opens the details.
 */
export function AuditTable({
  events,
  people,
  teams,
  showTeam,
}: {
  events: AuditEvent[];
  people: Person[];
  teams: Array<{ id: string; name: string }>;
  /** A team's own trail leaves out the team column: it is that team on every row. */
  showTeam: boolean;
}) {
  const personName = (id: string | null) => (id ? people.find((p) => p.id === id)?.label : undefined);
  const teamName = (id: string | null) => (id ? (teams.find((t) => t.id === id)?.name ?? `${id.slice(0, 8)}…`) : '—');
  const targetOf = (e: AuditEvent) =>
    e.targetType ? `${e.targetType} ${e.targetType === 'user' ? (personName(e.targetId) ?? e.targetId ?? '') : (e.targetId?.slice(0, 8) ?? '')}` : '—';

  return (
    <DataTable
      label="Audit events"
      className="audit-table"
      rows={events}
      rowKey={(e) => e.seq}
      rowProps={(e) => ({ className: `outcome-row-${e.outcome}` })}
      columns={[
        { key: 'seq', header: '#', className: 'mono small', cell: (e) => e.seq },
        { key: 'time', header: 'Time', nowrap: true, cell: (e) => <When at={e.occurredAt} seconds /> },
        {
          key: 'actor',
          header: 'Actor',
          cell: (e) => {
            const actor = e.actorLabel ? `${e.actorLabel}${e.actorType !== 'user' ? ` (${e.actorType})` : ''}` : e.actorType;
            return (
              <span className={`line${e.actorLabel ? '' : ' muted'}`} title={actor}>
                {actor}
              </span>
            );
          },
        },
        {
          key: 'event',
          header: 'Event',
          rowHeader: true,
          className: 'event-name',
          cell: (e) => {
            const description = (AUDIT_EVENTS as Record<string, string>)[e.event];
            const summary = summarize(e.details);
            const second = summary ?? description;
            return (
              <>
                <span className="mono" title={description}>
                  {e.event}
                </span>
                {second && (
                  <span className={`line ${summary ? 'event-summary' : 'muted small'}`} title={second}>
                    {second}
                  </span>
                )}
              </>
            );
          },
        },
        { key: 'outcome', header: 'Outcome', cell: (e) => <Outcome outcome={e.outcome} /> },
        {
          key: 'target',
          header: 'Target',
          className: 'small',
          cell: (e) => (
            <span className="line" title={targetOf(e)}>
              {targetOf(e)}
            </span>
          ),
        },
        showTeam && {
          key: 'team',
          header: 'Team',
          className: 'small',
          hide: 'medium',
          cell: (e) => (
            <span className="line" title={teamName(e.teamId)}>
              {teamName(e.teamId)}
            </span>
          ),
        },
        {
          key: 'details',
          header: 'Details',
          cell: (e) => (
            <details className="audit-details">
              <summary>Show</summary>
              <pre className="details">{prettyDetails(e.details)}</pre>
              <dl className="facts small">
                <dt>Address</dt>
                <dd>{e.ip ?? '—'}</dd>
                <dt>Browser</dt>
                <dd title={e.userAgent ?? undefined}>{e.userAgent ? describeUserAgent(e.userAgent) : '—'}</dd>
                <dt>Hash</dt>
                <dd className="mono">{e.hash.slice(0, 16)}…</dd>
              </dl>
            </details>
          ),
        },
      ]}
    />
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { localInputToIso } from '../../format.ts';
import { AUDIT_EVENTS } from '../../policy.ts';
import type { Person } from './AuditLogView.tsx';
import { NamedOptions } from '../../components/NamedOptions.tsx';

export const FILTER_KEYS = ['from', 'to', 'actorId', 'event', 'outcome', 'teamId'] as const;
/** The outcomes an event may have (the API's filter takes one). */
export const OUTCOMES = ['success', 'denied', 'failure'] as const;
export type AuditFilterValues = Record<(typeof FILTER_KEYS)[number], string>;

/** ISO timestamp to the value a datetime-local input shows, in local time. */
function isoToLocalInput(iso: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function AuditFilters({
  values,
  onApply,
  people,
  teams,
}: {
  values: AuditFilterValues;
  onApply: (values: AuditFilterValues) => void;
  people: Array<Person>;
  /** null in a team's own trail, where the team is fixed. */
  teams: Array<{ id: string; name: string }> | null;
}) {
  const [draft, setDraft] = useState({ ...values, from: isoToLocalInput(values.from), to: isoToLocalInput(values.to) });
  useEffect(() => setDraft({ ...values, from: isoToLocalInput(values.from), to: isoToLocalInput(values.to) }), [values]);
  const set = (key: keyof AuditFilterValues) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply({ ...draft, from: localInputToIso(draft.from), to: localInputToIso(draft.to), event: draft.event.trim().toLowerCase() });
  };
  const empty = Object.fromEntries(FILTER_KEYS.map((k) => [k, ''])) as AuditFilterValues;

  return (
    <form className="card filters" aria-label="Filter events" onSubmit={submit}>
      <div className="field">
        <label htmlFor="audit-from">From</label>
        <input id="audit-from" type="datetime-local" value={draft.from} onChange={set('from')} />
      </div>
      <div className="field">
        <label htmlFor="audit-to">To</label>
        <input id="audit-to" type="datetime-local" value={draft.to} onChange={set('to')} />
      </div>
      <div className="field">
        <label htmlFor="audit-actor">Actor</label>
        <select id="audit-actor" value={draft.actorId} onChange={set('actorId')}>
          <option value="">Anyone</option>
          {people.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="audit-event">Event</label>
        <input
          id="audit-event"
          list="audit-event-names"
          value={draft.event}
          onChange={set('event')}
          placeholder="e.g. member.*"
          pattern="[a-z0-9.*\-]+"
          aria-describedby="audit-event-hint"
        />
        <datalist id="audit-event-names">
          {Object.entries(AUDIT_EVENTS).map(([name, description]) => (
            <option key={name} value={name}>
              {description}
            </option>
          ))}
        </datalist>
        <p className="hint" id="audit-event-hint">
          A name, or a prefix ending in *
        </p>
      </div>
      <div className="field">
        <label htmlFor="audit-outcome">Outcome</label>
        <select id="audit-outcome" value={draft.outcome} onChange={set('outcome')}>
          <option value="">Any</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </div>
      {teams && (
        <div className="field">
          <label htmlFor="audit-team">Team</label>
          <select id="audit-team" value={draft.teamId} onChange={set('teamId')}>
            <option value="">Any team</option>
            <NamedOptions items={teams} />
          </select>
        </div>
      )}
      <div className="filter-actions">
        <button type="submit" className="primary">
          Apply filters
        </button>
        <button type="button" onClick={() => onApply(empty)}>
          Clear
        </button>
      </div>
    </form>
  );
}

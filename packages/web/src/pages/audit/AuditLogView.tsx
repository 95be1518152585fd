import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { apiUrl } from '../../api/client.ts';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { AuditFilters, FILTER_KEYS, OUTCOMES, type AuditFilterValues } from './AuditFilters.tsx';
import { AuditTable } from './AuditTable.tsx';
import { VerifyChain } from './VerifyChain.tsx';

export type AuditScope = { kind: 'platform' } | { kind: 'team'; teamId: string };

const PAGE_SIZES = [10, 25, 50, 100, 200] as const;

export interface Person {
  id: string;
  label: string;
}

/** Filters (kept in the address, so a view can be shared), a page of events, export and verify. */
export function AuditLogView({ scope }: { scope: AuditScope }) {
  const { api, session } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => {
    const values = {} as AuditFilterValues;
    for (const key of FILTER_KEYS) values[key] = params.get(key) ?? '';
    return values;
  }, [params]);
  // Keyset paging: the cursors of the newer pages we came from, to go back to them.
  const [cursor, setCursor] = useState<number | null>(null);
  const [newer, setNewer] = useState<Array<number | null>>([]);
  const [pageSize, setPageSize] = useState<number>(50);

  // The filters as the API takes them; the platform's log alone filters by team.
  const outcome = OUTCOMES.find((o) => o === filters.outcome);
  const query = { from: filters.from, to: filters.to, actorId: filters.actorId, event: filters.event, ...(outcome ? { outcome } : {}) };
  const teamFilter = scope.kind === 'platform' ? { teamId: filters.teamId } : {};
  const pageQuery = { ...query, ...teamFilter, before: cursor ?? undefined, limit: pageSize };
  const pageKey =
    scope.kind === 'platform' ? apiUrl('/api/audit', { query: pageQuery }) : apiUrl('/api/teams/{teamId}/audit', { path: { teamId: scope.teamId }, query: pageQuery });
  const page = useResource(
    () => (scope.kind === 'platform' ? api.get('/api/audit', { query: pageQuery }) : api.get('/api/teams/{teamId}/audit', { path: { teamId: scope.teamId }, query: pageQuery })),
    pageKey,
  );

  const people = useResource<Person[]>(
    async () => {
      if (scope.kind === 'platform') {
        return (await api.get('/api/platform/users')).map((u) => ({ id: u.id, label: `${u.name} <${u.email}>` }));
      }
      return (await api.get('/api/teams/{teamId}/members', { path: { teamId: scope.teamId } })).map((m) => ({ id: m.id, label: `${m.name} <${m.email}>` }));
    },
    scope.kind === 'platform' ? 'platform' : scope.teamId,
  );

  // Admins filter by any team of the platform, not only the ones they belong to.
  const allTeams = useResource<Array<{ id: string; name: string }>>(
    async () => (scope.kind === 'platform' ? api.get('/api/platform/teams') : []),
    scope.kind === 'platform' ? 'all-teams' : 'no-teams',
  );
  const teams: Array<{ id: string; name: string }> = scope.kind === 'platform' ? (allTeams.data ?? []) : (session?.teams ?? []);
  const apply = (next: AuditFilterValues) => {
    setCursor(null);
    setNewer([]);
    const search = new URLSearchParams();
    for (const key of FILTER_KEYS) if (next[key]) search.set(key, next[key]);
    setParams(search);
  };
  const exportUrl = (format: 'jsonl' | 'csv') =>
    scope.kind === 'platform'
      ? apiUrl('/api/audit/export', { query: { ...query, ...teamFilter, format } })
      : apiUrl('/api/teams/{teamId}/audit/export', { path: { teamId: scope.teamId }, query: { ...query, format } });

  return (
    <div className="stack-lg">
      <AuditFilters values={filters} onApply={apply} people={people.data ?? []} teams={scope.kind === 'platform' ? teams : null} />

      <div className="toolbar" role="group" aria-label="Export and verify">
        <a className="button" href={exportUrl('jsonl')} download>
          Export JSONL
        </a>
        <a className="button" href={exportUrl('csv')} download>
          Export CSV
        </a>
        {scope.kind === 'platform' && <VerifyChain />}
      </div>

      <section aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        {page.loading && <Loading what="events" />}
        <ProblemNotice problem={page.error} />
        {page.data && page.data.events.length === 0 && <p className="muted">No events match these filters.</p>}
        {page.data && page.data.events.length > 0 && <AuditTable events={page.data.events} people={people.data ?? []} teams={teams} showTeam={scope.kind === 'platform'} />}
        <nav className="pager" aria-label="Pages of events">
          <button
            type="button"
            disabled={newer.length === 0 || page.loading}
            onClick={() => {
              setCursor(newer[newer.length - 1] ?? null);
              setNewer(newer.slice(0, -1));
            }}
          >
            ← Newer
          </button>
          <span className="pager-middle">
            <span className="muted small">{cursor === null ? 'Newest events' : `Events before #${cursor}`}</span>
            <label className="small" htmlFor="audit-page-size">
              Per page
            </label>
            <select
              id="audit-page-size"
              value={pageSize}
              onChange={(e) => {
                setPageSize(Number(e.target.value));
                setCursor(null);
                setNewer([]);
              }}
            >
              {PAGE_SIZES.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          </span>
          <button
            type="button"
            disabled={!page.data?.nextBefore || page.loading}
            onClick={() => {
              setNewer([...newer, cursor]);
              setCursor(page.data?.nextBefore ?? null);
            }}
          >
            Older →
          </button>
        </nav>
      </section>
    </div>
  );
}

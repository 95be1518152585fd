import { useState } from 'react';
import { apiUrl, type Reply } from '../../api/client.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { can } from '../../policy.ts';
import { useSession } from '../../session.tsx';

type Page = Reply<'/api/compliance/inventory'>;
type Item = Page['items'][number];
type Detail = Reply<'/api/compliance/inventory/instances/{instanceId}'>;
type Suggestion = Detail['suggestions'][number];

const PAGE = 50;

/** A split drawn as one bar: each part's share of the whole, named for screen readers. */
function SplitBar({ label, parts }: { label: string; parts: Array<{ key: string; label: string; count: number; className: string }> }) {
  const total = parts.reduce((sum, p) => sum + p.count, 0);
  let x = 0;
  return (
    <div className="inventory-split">
      <span className="muted small">{label}</span>{' '}
      {parts.map((p) => (
        <span key={p.key} className="small">
          <strong>{p.count}</strong> {p.label}{' '}
        </span>
      ))}
      {total > 0 && (
        <svg className="summary-bar" viewBox="0 0 100 4" preserveAspectRatio="none" role="img" aria-label={`${label}: ${parts.map((p) => `${p.count} ${p.label}`).join(', ')}`}>
          {parts.map((p) => {
            const width = (p.count / total) * 100;
            const rect = <rect key={p.key} className={p.className} x={x} y={0} width={width} height={4} />;
            x += width;
            return rect;
          })}
        </svg>
      )}
    </div>
  );
}

const TEAM_SHADES = ['bar-added', 'bar-changed', 'bar-moved', 'bar-removed'];

/**
 * The automatic inventory (SR 7.8): every hosted instance and device, what its agent reads of
 * its machine, and, for the one opened, what it runs and the conduits that suggests.
 */
export function InventoryPage() {
  usePageTitle('Inventory');
  const { api, session } = useSession();
  const platformRole = session?.user?.platformRole;
  const mayDecide = can(platformRole, null, 'compliance:write');
  const [filter, setFilter] = useState<{ kind: '' | 'instance' | 'device'; online: '' | 'true' | 'false'; teamId: string }>({ kind: '', online: '', teamId: '' });
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<Item | null>(null);
  const call = {
    query: {
      kind: filter.kind || undefined,
      online: filter.online === '' ? undefined : filter.online === 'true',
      teamId: filter.teamId || undefined,
      limit: PAGE,
      offset,
    },
  };
  const page = useResource(() => api.get('/api/compliance/inventory', call), apiUrl('/api/compliance/inventory', call));
  // The teams to filter by: those of the unfiltered inventory, kept from the first answer.
  const [teams, setTeams] = useState<Page['summary']['teams']>([]);
  if (page.data && teams.length === 0 && page.data.summary.teams.length > 0 && !filter.teamId) setTeams(page.data.summary.teams);
  const change = (next: Partial<typeof filter>) => {
    setFilter((f) => ({ ...f, ...next }));
    setOffset(0);
  };
  if (!platformRole || !can(platformRole, null, 'compliance:read')) return <p>The inventory is for compliance leads and platform admins.</p>;
  const summary = page.data?.summary;

  return (
    <>
      <h1>Inventory</h1>
      <p className="muted">
        Every hosted instance and device, as its agent reports it and as its flows say: nobody types it. What it connects to is suggested below as conduits to confirm or dismiss.
      </p>
      <div className="filters" role="search" aria-label="Filter the inventory">
        <div className="field">
          <label htmlFor="inventory-kind">Kind</label>
          <select id="inventory-kind" value={filter.kind} onChange={(e) => change({ kind: e.target.value as typeof filter.kind })}>
            <option value="">All kinds</option>
            <option value="instance">Hosted instances</option>
            <option value="device">Devices</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="inventory-online">Online</label>
          <select id="inventory-online" value={filter.online} onChange={(e) => change({ online: e.target.value as typeof filter.online })}>
            <option value="">Any</option>
            <option value="true">Online</option>
            <option value="false">Offline</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="inventory-team">Team</label>
          <select id="inventory-team" value={filter.teamId} onChange={(e) => change({ teamId: e.target.value })}>
            <option value="">All teams</option>
            {teams.map((t) => (
              <option key={t.teamId} value={t.teamId}>
                {t.teamName}
              </option>
            ))}
          </select>
        </div>
      </div>
      {summary && (
        <div className="inventory-splits">
          <SplitBar
            label="Kind"
            parts={[
              { key: 'instances', label: 'instances', count: summary.instances, className: 'bar-moved' },
              { key: 'devices', label: 'devices', count: summary.devices, className: 'bar-changed' },
            ]}
          />
          <SplitBar
            label="Online"
            parts={[
              { key: 'online', label: 'online', count: summary.online, className: 'bar-added' },
              { key: 'offline', label: 'offline', count: summary.offline, className: 'bar-removed' },
            ]}
          />
          <SplitBar label="Teams" parts={summary.teams.map((t, i) => ({ key: t.teamId, label: t.teamName, count: t.count, className: TEAM_SHADES[i % TEAM_SHADES.length]! }))} />
        </div>
      )}
      <ProblemNotice problem={page.error} />
      {page.loading && !page.data && <Loading what="the inventory" />}
      {page.data && (
        <DataTable
          label="Inventory"
          rows={page.data.items}
          rowKey={(i) => `${i.kind}:${i.id}`}
          rowProps={(i) => ({ 'data-item': i.name })}
          empty="Nothing matches: no hosted instance or device."
          columns={[
            {
              key: 'name',
              header: 'Name',
              rowHeader: true,
              cell: (i) => (
                <button type="button" className="link-button" aria-expanded={open?.id === i.id} onClick={() => setOpen(open?.id === i.id ? null : i)}>
                  {i.name}
                </button>
              ),
            },
            { key: 'kind', header: 'Kind', nowrap: true, cell: (i) => (i.kind === 'instance' ? 'hosted' : 'device') },
            { key: 'team', header: 'Team', cell: (i) => i.teamName },
            {
              key: 'site',
              header: 'Site and zone',
              hide: 'narrow',
              cell: (i) => (
                <>
                  {i.siteName ?? <span className="muted">platform</span>}
                  <div className="muted small">{i.zones.length === 0 ? 'no zone' : i.zones.map((z) => `${z.zoneName} (${z.sucName})`).join(', ')}</div>
                </>
              ),
            },
            { key: 'agent', header: 'Agent', nowrap: true, hide: 'medium', cell: (i) => i.agentVersion ?? <span className="muted">—</span> },
            { key: 'nodeRed', header: 'Node-RED', nowrap: true, cell: (i) => i.nodeRedVersion ?? <span className="muted">—</span> },
            { key: 'node', header: 'Node.js', nowrap: true, hide: 'narrow', cell: (i) => i.nodeVersion ?? <span className="muted">—</span> },
            {
              key: 'os',
              header: 'OS',
              truncate: true,
              hide: 'medium',
              cell: (i) =>
                i.os ? <span title={`${i.os.type} ${i.os.release} ${i.os.arch}`}>{`${i.os.type} ${i.os.release} ${i.os.arch}`}</span> : <span className="muted">—</span>,
            },
            { key: 'modules', header: 'Modules', nowrap: true, hide: 'narrow', cell: (i) => i.modules.length },
            { key: 'seen', header: 'Last seen', nowrap: true, cell: (i) => <When at={i.lastSeenAt} relative never="never" /> },
            {
              key: 'online',
              header: 'State',
              nowrap: true,
              cell: (i) => <span className={`badge ${i.online ? 'badge-ok' : 'badge-warn'}`}>{i.online ? 'online' : 'offline'}</span>,
            },
            {
              key: 'hash',
              header: 'Runs',
              nowrap: true,
              hide: 'narrow',
              cell: (i) => (i.runningHash ? <code title={i.runningHash}>{i.runningHash.slice(0, 12)}</code> : <span className="muted">nothing</span>),
            },
          ]}
        />
      )}
      {page.data && page.data.total > PAGE && (
        <div className="row-between">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <span className="muted small">
            {offset + 1}–{Math.min(offset + PAGE, page.data.total)} of {page.data.total}
          </span>
          <button type="button" disabled={offset + PAGE >= page.data.total} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </div>
      )}
      {open && <ItemDetail key={`${open.kind}:${open.id}`} item={open} mayDecide={mayDecide} />}
    </>
  );
}

function address(s: Suggestion): string {
  if (s.source === 'env') return `from environment ${s.env.join(', ')}${s.port !== null ? ` (port ${s.port})` : ''}`;
  if (s.source === 'msg') return 'set by the message at run time';
  if (s.source === 'context') return 'from flow or global context';
  return `${s.host ?? '—'}${s.port !== null ? `:${s.port}` : ''}`;
}

/** What one item runs (from the flows of its running snapshot) and the conduits that suggests. */
function ItemDetail({ item, mayDecide }: { item: Item; mayDecide: boolean }) {
  const { api } = useSession();
  const load = () =>
    item.kind === 'instance'
      ? api.get('/api/compliance/inventory/instances/{instanceId}', { path: { instanceId: item.id } })
      : api.get('/api/compliance/inventory/devices/{deviceId}', { path: { deviceId: item.id } });
  const detail = useResource(load, `${item.kind}:${item.id}`);
  const decide = useAction(async (key: string, decision: 'confirmed' | 'dismissed' | null) => {
    const updated =
      item.kind === 'instance'
        ? await api.put('/api/compliance/inventory/instances/{instanceId}/conduits', { path: { instanceId: item.id }, body: { key, decision } })
        : await api.put('/api/compliance/inventory/devices/{deviceId}/conduits', { path: { deviceId: item.id }, body: { key, decision } });
    detail.setData(() => updated);
  });
  const data = detail.data;
  return (
    <section aria-labelledby="inventory-item-title" className="card">
      <h2 id="inventory-item-title">What {item.name} runs</h2>
      <ProblemNotice problem={detail.error ?? decide.error} />
      {!data && detail.loading && <Loading what="what it runs" />}
      {data && (
        <>
          {data.analysisProblem && <p className="muted">{data.analysisProblem}</p>}
          {data.analysis && (
            <ul className="inventory-facts">
              <li>
                <strong>{data.analysis.tabs.length}</strong> {data.analysis.tabs.length === 1 ? 'flow' : 'flows'}:{' '}
                {data.analysis.tabs.map((t) => `${t.label}${t.disabled ? ' (disabled)' : ''}`).join(', ') || '—'}
              </li>
              <li>
                <strong>{data.analysis.httpEndpoints.length}</strong> HTTP {data.analysis.httpEndpoints.length === 1 ? 'endpoint' : 'endpoints'}:{' '}
                {data.analysis.httpEndpoints.map((e) => `${e.method} ${e.url}`).join(', ') || '—'}
              </li>
              <li>
                <strong>{data.analysis.dashboards.filter((d) => d.kind === 'page').length}</strong> dashboard pages:{' '}
                {data.analysis.dashboards
                  .filter((d) => d.kind === 'page')
                  .map((d) => d.name)
                  .join(', ') || '—'}
              </li>
            </ul>
          )}
          <h3>Suggested conduits</h3>
          <DataTable
            label={`Suggested conduits of ${item.name}`}
            rows={data.suggestions}
            rowKey={(s) => s.configNodeId}
            rowProps={(s) => ({ 'data-conduit': s.key ?? undefined })}
            empty="Its flows connect to nothing the inventory reads."
            columns={[
              { key: 'protocol', header: 'Protocol', rowHeader: true, nowrap: true, cell: (s) => s.protocol },
              { key: 'address', header: 'Address', cell: (s) => address(s) },
              { key: 'node', header: 'Config node', hide: 'narrow', cell: (s) => `${s.name ?? s.configNodeId} (${s.nodeType})` },
              { key: 'tls', header: 'TLS', nowrap: true, hide: 'narrow', cell: (s) => (s.tls === null ? '—' : s.tls ? 'yes' : 'no') },
              { key: 'used', header: 'Used by', nowrap: true, hide: 'medium', cell: (s) => s.usedBy },
              {
                key: 'decision',
                header: 'Decision',
                nowrap: true,
                cell: (s) =>
                  s.decision ? <span className={`badge ${s.decision === 'confirmed' ? 'badge-ok' : 'badge-warn'}`}>{s.decision}</span> : <span className="muted">suggested</span>,
              },
              mayDecide && {
                key: 'actions',
                header: 'Actions',
                actions: true,
                cell: (s) =>
                  s.key === null ? null : (
                    <>
                      {s.decision !== 'confirmed' && (
                        <button type="button" disabled={decide.pending} onClick={() => void decide.run(s.key!, 'confirmed')}>
                          Confirm
                        </button>
                      )}{' '}
                      {s.decision !== 'dismissed' && (
                        <button type="button" disabled={decide.pending} onClick={() => void decide.run(s.key!, 'dismissed')}>
                          Dismiss
                        </button>
                      )}{' '}
                      {s.decision !== null && (
                        <button type="button" disabled={decide.pending} onClick={() => void decide.run(s.key!, null)}>
                          Undo
                        </button>
                      )}
                    </>
                  ),
              },
            ]}
          />
          {item.modules.length > 0 && (
            <>
              <h3>Node modules installed</h3>
              <p className="small">{item.modules.map((m) => `${m.name}@${m.version}`).join(', ')}</p>
            </>
          )}
        </>
      )}
    </section>
  );
}

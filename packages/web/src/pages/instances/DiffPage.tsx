import { useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { apiUrl } from '../../api/client.ts';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess } from '../../team-access.ts';
import type { EnvDiff, EnvVar, FlowNode, ModulesDiff, SettingChange, DiffSide } from '../../types.ts';
import { DiffSummary, groupByTab, NO_SIDES, TabGroupView, type DiffSides } from './DiffParts.tsx';

function labelOf(node: FlowNode): string {
  if (typeof node.name === 'string' && node.name) return node.name;
  if (node.type === 'tab' && typeof node.label === 'string' && node.label) return node.label;
  return `${node.type} ${node.id.slice(0, 6)}`;
}

function SnapshotCard({ title, snapshot }: { title: string; snapshot: DiffSide }) {
  return (
    <div className="card snapshot-card">
      <p className="card-kicker">
        {title}
        {snapshot.runningThere && <span className="badge badge-ok">running on {snapshot.instanceName}</span>}
      </p>
      <h2 className="snapshot-name">{snapshot.name}</h2>
      {snapshot.description && <p className="small">{snapshot.description}</p>}
      <dl className="facts small">
        <dt>Instance</dt>
        <dd>
          <Link to={`/instances/${snapshot.instanceId}`}>{snapshot.instanceName}</Link>
        </dd>
        <dt>Author</dt>
        <dd>{snapshot.createdBy ?? '—'}</dd>
        <dt>Taken</dt>
        <dd>
          <time dateTime={snapshot.createdAt}>{formatDateTime(snapshot.createdAt, true)}</time>
        </dd>
        <dt>Kind</dt>
        <dd>{snapshot.kind}</dd>
        <dt>Nodes</dt>
        <dd>{snapshot.nodeCount}</dd>
        <dt>Hash</dt>
        <dd className="mono hash">{snapshot.hash}</dd>
      </dl>
    </div>
  );
}

/** Node modules added, removed or at another version: part of what a change review shows. */
function ModulesChanges({ modules }: { modules: ModulesDiff }) {
  if (modules.added.length + modules.removed.length + modules.changed.length === 0) return null;
  return (
    <section aria-labelledby="modules-title">
      <h2 id="modules-title">Node modules</h2>
      <ul className="tab-changes">
        {modules.added.map((m) => (
          <li key={`a-${m.name}`} className="tab-add">
            <span className="badge badge-ok">added</span> <code>{m.name}</code> {m.version}
          </li>
        ))}
        {modules.removed.map((m) => (
          <li key={`r-${m.name}`} className="tab-del">
            <span className="badge badge-bad">removed</span> <code>{m.name}</code> {m.version}
          </li>
        ))}
        {modules.changed.map((m) => (
          <li key={`c-${m.name}`}>
            <span className="badge">version</span> <code>{m.name}</code> {m.before} → {m.after}
          </li>
        ))}
      </ul>
    </section>
  );
}

const SETTING_NAMES: Record<string, string> = { nodeRedVersion: 'Node-RED version' };

function settingText(value: unknown): string {
  if (value === null) return 'not recorded';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function envText(variable: EnvVar): string {
  return variable.secret ? 'secret (value not in snapshots)' : `“${variable.value ?? ''}”`;
}

/** The runtime the flows were made on and their environment: what else a change review must show beside the flows. */
function RuntimeChanges({ settings, env }: { settings: SettingChange[]; env: EnvDiff }) {
  if (settings.length + env.added.length + env.removed.length + env.changed.length === 0) return null;
  return (
    <section aria-labelledby="runtime-title">
      <h2 id="runtime-title">Runtime and environment</h2>
      <ul className="tab-changes">
        {settings.map((s) => (
          <li key={`s-${s.name}`}>
            <span className="badge">setting</span> {SETTING_NAMES[s.name] ?? <code>{s.name}</code>}: {settingText(s.before)} → {settingText(s.after)}
          </li>
        ))}
        {env.added.map((v) => (
          <li key={`a-${v.name}`} className="tab-add">
            <span className="badge badge-ok">added</span> variable <code>{v.name}</code> {envText(v)}
          </li>
        ))}
        {env.removed.map((v) => (
          <li key={`r-${v.name}`} className="tab-del">
            <span className="badge badge-bad">removed</span> variable <code>{v.name}</code> {envText(v)}
          </li>
        ))}
        {env.changed.map((v) => (
          <li key={`c-${v.name}`}>
            <span className="badge">changed</span> variable <code>{v.name}</code> {envText(v.before)} → {envText(v.after)}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A change review for a Management-of-Change meeting: two snapshots, what differs, per flow; printable. */
export function DiffPage() {
  const { instanceId = '' } = useParams();
  const [params] = useSearchParams();
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const { api, session } = useSession();
  const instance = useResource(() => api.get('/api/instances/{instanceId}', { path: { instanceId } }), instanceId);
  const diffCall = { path: { instanceId }, query: { from, to } };
  const diff = useResource(() => api.get('/api/instances/{instanceId}/diff', diffCall), apiUrl('/api/instances/{instanceId}/diff', diffCall));
  const access = useTeamAccess(instance.data?.teamId);
  const applicationId = instance.data?.applicationId;
  const application = useResource(() => (applicationId ? api.get('/api/applications/{applicationId}', { path: { applicationId } }) : Promise.resolve(null)), applicationId ?? '');
  // Both sides' flows, to name the nodes wires point at and show the code of nodes added or removed whole; the review works without them.
  const fromId = diff.data?.from.id;
  const toId = diff.data?.to.id;
  const sides = useResource<DiffSides>(async () => {
    if (!fromId || !toId) return NO_SIDES;
    const [before, after] = await Promise.all([fromId, toId].map((s) => api.get('/api/snapshots/{snapshotId}', { path: { snapshotId: s } }).catch(() => null)));
    const result: DiffSides = { names: new Map(), before: new Map(), after: new Map() };
    for (const node of before?.flows ?? []) {
      result.before.set(node.id, node);
      result.names.set(node.id, labelOf(node));
    }
    for (const node of after?.flows ?? []) {
      result.after.set(node.id, node);
      result.names.set(node.id, labelOf(node));
    }
    return result;
  }, `${fromId}:${toId}`);
  const groups = useMemo(() => (diff.data ? groupByTab(diff.data.diff) : []), [diff.data]);
  usePageTitle(instance.data ? `Changes to ${instance.data.name}` : 'Changes');

  const data = diff.data;
  const inst = instance.data;
  const empty = data !== null && data.diff.added.length + data.diff.removed.length + data.diff.changed.length + data.diff.moved.length === 0 && data.diff.tabs.renamed.length === 0;

  return (
    <div className="diff-page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> {inst && <Link to={`/teams/${inst.teamId}`}>{access.teamName ?? 'Team'}</Link>}{' '}
        <span aria-hidden="true">/</span> {inst && <Link to={`/applications/${inst.applicationId}`}>{application.data?.application.name ?? 'Application'}</Link>}{' '}
        <span aria-hidden="true">/</span> <Link to={`/instances/${instanceId}`}>{inst?.name ?? 'Instance'}</Link> <span aria-hidden="true">/</span>{' '}
        <span aria-current="page">Changes</span>
      </nav>
      <div className="page-head">
        <h1>Change review{inst ? `: ${inst.name}` : ''}</h1>
        <div className="toolbar no-print">
          <button type="button" onClick={() => window.print()}>
            Print
          </button>
          {data && (
            <Link className="button" to={`/instances/${instanceId}/diff?from=${data.to.id}&to=${data.from.id}`}>
              Swap before and after
            </Link>
          )}
          <Link className="button" to={`/instances/${instanceId}`}>
            Back to the instance
          </Link>
        </div>
      </div>
      <p className="print-only small">
        Printed {formatDateTime(new Date().toISOString())} by {session?.user?.name} ({session?.user?.email}) from Flowgate. Instance {instanceId}.
      </p>
      {diff.loading && !data && <Loading what="the differences" />}
      <ProblemNotice problem={diff.error} />
      {data && (
        <>
          <div className="grid-2 diff-sides">
            <SnapshotCard title="Before" snapshot={data.from} />
            <SnapshotCard title={to === 'running' ? 'After (running now)' : 'After'} snapshot={data.to} />
          </div>

          <section aria-labelledby="summary-title">
            <h2 id="summary-title">Summary</h2>
            <DiffSummary summary={data.diff.summary} />
          </section>

          <ModulesChanges modules={data.modules} />
          <RuntimeChanges settings={data.settings} env={data.env} />

          {empty ? (
            <p className="notice notice-success no-diff">No differences: both snapshots hold the same flows.</p>
          ) : (
            <>
              {(data.diff.tabs.renamed.length > 0 || data.diff.tabs.added.length > 0 || data.diff.tabs.removed.length > 0) && (
                <section aria-labelledby="tabs-title">
                  <h2 id="tabs-title">Flows (tabs) and subflows</h2>
                  <ul className="tab-changes">
                    {data.diff.tabs.added.map((t) => (
                      <li key={`a-${t.id}`} className="tab-add">
                        <span className="badge badge-ok">added</span> {t.type === 'tab' ? 'flow' : t.type} “{t.name}”
                      </li>
                    ))}
                    {data.diff.tabs.removed.map((t) => (
                      <li key={`r-${t.id}`} className="tab-del">
                        <span className="badge badge-bad">removed</span> {t.type === 'tab' ? 'flow' : t.type} “{t.name}”
                      </li>
                    ))}
                    {data.diff.tabs.renamed.map((t) => (
                      <li key={`n-${t.id}`}>
                        <span className="badge">renamed</span> {t.type === 'tab' ? 'flow' : t.type} “{t.before}” → “{t.after}”
                      </li>
                    ))}
                  </ul>
                </section>
              )}
              <section aria-labelledby="details-title">
                <h2 id="details-title">Changes by flow</h2>
                {groups.map((group) => (
                  <TabGroupView key={group.key} group={group} sides={sides.data ?? NO_SIDES} />
                ))}
              </section>
            </>
          )}

          <section className="print-only review-box" aria-label="Review">
            <h2>Review</h2>
            <dl className="sign-lines">
              <dt>Change request</dt>
              <dd />
              <dt>Reviewed by</dt>
              <dd />
              <dt>Decision</dt>
              <dd>approved / rejected</dd>
              <dt>Date and signature</dt>
              <dd />
            </dl>
          </section>
        </>
      )}
    </div>
  );
}

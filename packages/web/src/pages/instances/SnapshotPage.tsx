import { useCallback, useEffect, useMemo, useState } from 'react';
import { flushSync } from 'react-dom';
import { Link, useNavigate, useParams } from 'react-router';
import { apiUrl } from '../../api/client.ts';
import { usePageTitle } from '../../components/Layout.tsx';
import { SnapshotPicker } from '../../components/SnapshotPicker.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { formatDateTime } from '../../format.ts';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess } from '../../team-access.ts';
import type { EnvVar, Instance, Snapshot, SnapshotModule, SnapshotSettings } from '../../types.ts';
import { openByDefault, snapshotContents, type FlowGroup, type NodeRow } from './snapshot-contents.ts';

const KIND_TEXT: Record<string, string> = {
  manual: 'taken by hand',
  auto: 'kept at a deploy from the editor',
  import: 'imported from a file',
};

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Whether the snapshot is what the instance runs, or is on its way there. */
function RunState({ snapshot, instance }: { snapshot: Snapshot; instance: Instance | null }) {
  if (!instance) return <span className="muted">unknown</span>;
  if (instance.runningSnapshotId === snapshot.id) return <span className="badge badge-ok">running</span>;
  if (instance.targetSnapshotId === snapshot.id) return <span className="badge badge-warn">deploying</span>;
  if (snapshot.runsNow.instance) return <span className="badge badge-ok">running (same flows)</span>;
  return <span>no{instance.runningSnapshotId ? ': the instance runs another snapshot' : ': nothing runs on the instance yet'}</span>;
}

function NodeTable({ caption, rows }: { caption: string; rows: NodeRow[] }) {
  return (
    <DataTable
      label={caption}
      className="node-table"
      rows={rows}
      rowKey={(row) => row.id}
      rowProps={(row) => ({ className: row.disabled ? 'row-disabled' : undefined })}
      columns={[
        {
          key: 'type',
          header: 'Type',
          className: 'mono',
          cell: (row) => <span title={row.typeLabel === row.type ? undefined : row.type}>{row.typeLabel}</span>,
        },
        {
          key: 'name',
          header: 'Name',
          cell: (row) => (
            <>
              {row.named ? row.label : row.label ? <span className="muted">{row.label}</span> : <span className="muted">(no name)</span>}
              {row.disabled && <span className="badge">disabled</span>}
            </>
          ),
        },
        { key: 'id', header: 'ID', className: 'mono small', nowrap: true, cell: (row) => row.id },
      ]}
    />
  );
}

const GROUP_WORD: Record<FlowGroup['kind'], string> = { tab: 'Flow', subflow: 'Subflow', missing: 'Nodes of' };

/** A flow or subflow, folded or not; its table is built only while it is open, so a snapshot of thousands of nodes stays quick. */
function FlowGroupView({ group, open, onToggle }: { group: FlowGroup; open: boolean; onToggle: (open: boolean) => void }) {
  const title = group.kind === 'missing' ? group.label : `${GROUP_WORD[group.kind]} “${group.label}”`;
  return (
    <details
      className="flow-group"
      open={open}
      // The browser folds and unfolds on its own; follow it, not the echo of a change made here.
      onToggle={(e) => {
        if (e.currentTarget.open !== open) onToggle(e.currentTarget.open);
      }}
    >
      <summary>
        <span className="flow-group-title">{title}</span> <span className="badge">{plural(group.nodes.length, 'node')}</span>
        {group.disabled && <span className="badge badge-warn">disabled</span>} <span className="mono muted small">{group.id}</span>
      </summary>
      {open && (group.nodes.length > 0 ? <NodeTable caption={`Nodes of ${title}`} rows={group.nodes} /> : <p className="muted small">No nodes.</p>)}
    </details>
  );
}

/** The flows, one fold per flow and subflow; everything opens for printing. */
function FlowsSection({ groups, defaults, config }: { groups: FlowGroup[]; defaults: Map<string, boolean>; config: NodeRow[] }) {
  const [chosen, setChosen] = useState<Map<string, boolean>>(new Map());
  const [printing, setPrinting] = useState(false);
  useEffect(() => {
    // Synchronously, so that the printout holds every table.
    const before = () => flushSync(() => setPrinting(true));
    const after = () => setPrinting(false);
    window.addEventListener('beforeprint', before);
    window.addEventListener('afterprint', after);
    return () => {
      window.removeEventListener('beforeprint', before);
      window.removeEventListener('afterprint', after);
    };
  }, []);
  const isOpen = (group: FlowGroup) => printing || (chosen.get(group.id) ?? defaults.get(group.id) ?? false);
  const setAll = (open: boolean) => setChosen(new Map(groups.map((g) => [g.id, open])));

  return (
    <>
      <section aria-labelledby="flows-title">
        <div className="row-between">
          <h2 id="flows-title">Flows and subflows</h2>
          {groups.length > 1 && (
            <span className="button-group no-print" role="group" aria-label="Fold the flows">
              <button type="button" onClick={() => setAll(true)}>
                Expand all
              </button>
              <button type="button" onClick={() => setAll(false)}>
                Collapse all
              </button>
            </span>
          )}
        </div>
        {groups.length === 0 && <p className="muted">No flows: the snapshot holds an empty workspace.</p>}
        {groups.map((group) => (
          <FlowGroupView key={group.id} group={group} open={isOpen(group)} onToggle={(open) => setChosen((current) => new Map(current).set(group.id, open))} />
        ))}
      </section>
      <section aria-labelledby="config-title">
        <h2 id="config-title">Configuration nodes</h2>
        <p className="muted small">Shared by the flows: brokers, TLS settings, servers. Their credentials, if any, are not shown.</p>
        {config.length === 0 ? <p className="muted">None.</p> : <NodeTable caption="Configuration nodes" rows={config} />}
      </section>
    </>
  );
}

function RuntimeSection({ modules, settings, env, hasCredentials }: { modules: SnapshotModule[]; settings: SnapshotSettings; env: EnvVar[]; hasCredentials: boolean }) {
  return (
    <>
      <section aria-labelledby="runtime-title">
        <h2 id="runtime-title">Runtime</h2>
        <dl className="facts">
          <dt>Node-RED version</dt>
          <dd>{settings.nodeRedVersion ? <span className="mono">{settings.nodeRedVersion}</span> : <span className="muted">not recorded</span>}</dd>
          <dt>Credentials</dt>
          <dd>{hasCredentials ? 'held, encrypted; never shown' : 'none'}</dd>
        </dl>
      </section>
      <section aria-labelledby="modules-title">
        <h2 id="modules-title">Node modules</h2>
        {modules.length === 0 ? (
          <p className="muted">None beyond the nodes that come with Node-RED.</p>
        ) : (
          <ul className="module-list">
            {modules.map((m) => (
              <li key={m.name}>
                <code>
                  {m.name}@{m.version}
                </code>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="env-title">
        <h2 id="env-title">Environment variables</h2>
        <DataTable
          label="Environment variables"
          className="env-list"
          rows={env}
          rowKey={(v) => v.name}
          empty="None."
          columns={[
            { key: 'name', header: 'Name', rowHeader: true, className: 'mono', cell: (v) => v.name },
            {
              key: 'value',
              header: 'Value',
              cell: (v) =>
                v.secret ? (
                  <span className="muted">secret, value not stored</span>
                ) : v.value ? (
                  <code className="env-shown">{v.value}</code>
                ) : (
                  <span className="muted">(empty)</span>
                ),
            },
          ]}
        />
      </section>
    </>
  );
}

/** Any other snapshot of the team (another instance's: staging against production), as the "before" of a change review with this one. */
function CompareWithOther({ snapshot, teamId }: { snapshot: Snapshot; teamId: string }) {
  const navigate = useNavigate();
  const [other, setOther] = useState<string | null>(null);
  const pick = useCallback((id: string | null) => setOther(id), []);
  return (
    <section aria-labelledby="compare-title" className="card no-print">
      <h2 id="compare-title">Compare with another snapshot</h2>
      <p className="hint">Of any instance of the team, e.g. what a test instance holds against this one. It is the “before” of the review.</p>
      <SnapshotPicker teamId={teamId} idPrefix="compare" onChange={pick} />
      <button type="button" disabled={!other || other === snapshot.id} onClick={() => void navigate(`/instances/${snapshot.instanceId}/diff?from=${other}&to=${snapshot.id}`)}>
        Compare
      </button>
    </section>
  );
}

/** What a snapshot holds, for an engineer or an auditor to read or print: its flows node by node, modules, runtime and environment. */
export function SnapshotPage() {
  const { snapshotId = '' } = useParams();
  const { api, session } = useSession();
  const detail = useResource(() => api.get('/api/snapshots/{snapshotId}', { path: { snapshotId } }), snapshotId);
  const instanceId = detail.data?.snapshot.instanceId;
  const instance = useResource(() => (instanceId ? api.get('/api/instances/{instanceId}', { path: { instanceId } }) : Promise.resolve(null)), instanceId ?? '');
  const applicationId = instance.data?.applicationId;
  const application = useResource(() => (applicationId ? api.get('/api/applications/{applicationId}', { path: { applicationId } }) : Promise.resolve(null)), applicationId ?? '');
  const access = useTeamAccess(instance.data?.teamId);
  const contents = useMemo(() => (detail.data ? snapshotContents(detail.data.flows) : null), [detail.data]);
  const groups = useMemo(() => (contents ? [...contents.tabs, ...contents.subflows, ...contents.missing] : []), [contents]);
  const defaults = useMemo(() => new Map(contents ? groups.map((g) => [g.id, openByDefault(g, contents)]) : []), [contents, groups]);
  usePageTitle(detail.data ? `Snapshot ${detail.data.snapshot.name}` : 'Snapshot');

  if (detail.loading && !detail.data) return <Loading what="the snapshot" />;
  if (!detail.data || !contents) {
    return (
      <>
        <h1>Snapshot</h1>
        <ProblemNotice problem={detail.error} />
        <Link to="/teams">Back to your teams</Link>
      </>
    );
  }
  const { snapshot, env, modules, settings, hasCredentials } = detail.data;
  const inst = instance.data;
  const instancePath = `/instances/${snapshot.instanceId}`;

  return (
    <div className="snapshot-page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> {inst && <Link to={`/teams/${inst.teamId}`}>{access.teamName ?? 'Team'}</Link>}{' '}
        <span aria-hidden="true">/</span> {inst && <Link to={`/applications/${inst.applicationId}`}>{application.data?.application.name ?? 'Application'}</Link>}{' '}
        <span aria-hidden="true">/</span> <Link to={instancePath}>{inst?.name ?? 'Instance'}</Link> <span aria-hidden="true">/</span>{' '}
        <span aria-current="page">{snapshot.name}</span>
      </nav>
      <div className="page-head">
        <h1>
          {snapshot.name} <span className={`badge kind-${snapshot.kind}`}>{snapshot.kind}</span>
        </h1>
        <div className="toolbar no-print">
          <button type="button" onClick={() => window.print()}>
            Print
          </button>
          <a className="button" href={apiUrl('/api/snapshots/{snapshotId}/sbom', { path: { snapshotId: snapshot.id } })} download>
            Download SBOM
          </a>
          {inst?.runningSnapshotId && inst.runningSnapshotId !== snapshot.id && (
            <Link className="button" to={`${instancePath}/diff?from=${snapshot.id}&to=running`}>
              Compare with running
            </Link>
          )}
          <Link className="button" to={instancePath}>
            Back to the instance
          </Link>
        </div>
      </div>
      <p className="print-only small">
        Printed {formatDateTime(new Date().toISOString())} by {session?.user?.name} ({session?.user?.email}) from Flowgate. Snapshot {snapshot.id}.
      </p>
      {snapshot.description && <p className="snapshot-description">{snapshot.description}</p>}

      <section aria-labelledby="about-title" className="card">
        <h2 id="about-title" className="visually-hidden">
          About this snapshot
        </h2>
        <dl className="facts">
          <dt>Kind</dt>
          <dd>
            {snapshot.kind}
            {KIND_TEXT[snapshot.kind] && <span className="muted">: {KIND_TEXT[snapshot.kind]}</span>}
          </dd>
          <dt>Author</dt>
          <dd>{snapshot.createdBy ?? <span className="muted">unknown</span>}</dd>
          <dt>Taken</dt>
          <dd>
            <time dateTime={snapshot.createdAt}>{formatDateTime(snapshot.createdAt, true)}</time>
          </dd>
          <dt>Ran on the instance</dt>
          <dd>
            {snapshot.firstRanAt && snapshot.lastRanAt ? (
              <>
                first <time dateTime={snapshot.firstRanAt}>{formatDateTime(snapshot.firstRanAt, true)}</time>
                {snapshot.lastRanAt !== snapshot.firstRanAt && (
                  <>
                    , last started <time dateTime={snapshot.lastRanAt}>{formatDateTime(snapshot.lastRanAt, true)}</time>
                  </>
                )}
              </>
            ) : (
              <span className="muted">never: deploying it changes the flows, which an operator may not do</span>
            )}
          </dd>
          <dt>SHA-256</dt>
          <dd className="mono hash">{snapshot.hash}</dd>
          <dt>Nodes</dt>
          <dd>
            {/* The nodes on the flows, as the server counts them (countFlowNodes in core): not the tabs, subflow definitions or configuration nodes. */}
            {snapshot.nodeCount}{' '}
            <span className="muted">
              (on {plural(contents.tabs.length, 'flow')}; besides them {plural(contents.subflows.length, 'subflow')} and {plural(contents.config.length, 'configuration node')})
            </span>
          </dd>
          <dt>Instance</dt>
          <dd>
            <Link to={instancePath}>{inst?.name ?? snapshot.instanceId}</Link>
          </dd>
          <dt>Runs now</dt>
          <dd>
            <RunState snapshot={snapshot} instance={inst} />
          </dd>
        </dl>
        <ProblemNotice problem={instance.error} />
      </section>

      {inst && <CompareWithOther snapshot={snapshot} teamId={inst.teamId} />}
      <FlowsSection key={snapshot.id} groups={groups} defaults={defaults} config={contents.config} />
      <RuntimeSection modules={modules} settings={settings} env={env} hasCredentials={hasCredentials} />
    </div>
  );
}

import { Fragment, useId, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { ProblemError, type RequestBody } from '../../api/client.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Field } from '../../components/Field.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { TeamAccess } from '../../team-access.ts';
import type { Instance, Snapshot } from '../../types.ts';

const SECRET_MIN = 12;
const KIND_LABEL: Record<string, string> = { manual: 'manual', auto: 'auto', import: 'import' };

/** The file name the server gives an export, for the download made here. */
export function exportFileName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60) || 'snapshot'}.flowgate.json`;
}

type SnapshotFile = RequestBody<'/api/instances/{instanceId}/snapshots/import', 'post'>['file'];
type Nodes = NonNullable<RequestBody<'/api/instances/{instanceId}/snapshots', 'post'>['flows']>;

// A file's content goes to the server as read: the server checks it, names what is wrong, and
// records a refused snapshot or import in the audit trail. The browser parses the JSON only.
const asSentToServer = <T,>(parsed: unknown) => parsed as T;

function download(name: string, data: unknown): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** Snapshots of the instance, newest first: what runs, what is on its way, deploy and roll back, compare, export and import. */
export function SnapshotsSection({ instance, access, onDeployed }: { instance: Instance; access: TeamAccess; onDeployed: () => void }) {
  const { api } = useSession();
  const navigate = useNavigate();
  // A new running or target snapshot (a deploy from the editor, a rollback) brings the list up to date.
  const snapshots = useResource(
    () => api.get('/api/instances/{instanceId}/snapshots', { path: { instanceId: instance.id } }),
    `${instance.id}:${instance.runningSnapshotId}:${instance.targetSnapshotId}`,
  );
  const [selected, setSelected] = useState<string[]>([]);
  const [exporting, setExporting] = useState<string | null>(null);
  const mayWrite = access.allowed('snapshots:write');

  const deploy = useAction(async (snapshot: Snapshot) => {
    await api.post('/api/instances/{instanceId}/deploy', { path: { instanceId: instance.id }, body: { snapshotId: snapshot.id } });
    onDeployed();
  });

  const list = snapshots.data ?? [];
  const toggle = (id: string, on: boolean) => setSelected((current) => (on ? [...current.filter((x) => x !== id), id].slice(-2) : current.filter((x) => x !== id)));
  const compareSelected = () => {
    const pair = list.filter((s) => selected.includes(s.id));
    if (pair.length !== 2) return;
    // Older first: the diff reads as what changed since.
    const [newer, older] = pair;
    void navigate(`/instances/${instance.id}/diff?from=${older!.id}&to=${newer!.id}`);
  };
  const columns = 7;

  return (
    <section aria-labelledby="snapshots-title">
      <h2 id="snapshots-title">Snapshots</h2>
      <p className="muted">
        Every deploy from the editor is kept as an automatic snapshot. Deploying an earlier one rolls the instance back to it; each snapshot is identified by the hash of its
        content.
      </p>
      {snapshots.loading && !snapshots.data && <Loading what="snapshots" />}
      <ProblemNotice problem={snapshots.error} />
      <ProblemNotice problem={deploy.error} onDismiss={deploy.clearError} />
      {snapshots.data && list.length === 0 && <p className="muted">No snapshots yet. Deploy flows from the editor, or import a snapshot.</p>}
      {list.length > 0 && (
        <>
          <div className="toolbar snapshot-toolbar">
            <button type="button" disabled={selected.length !== 2} onClick={compareSelected}>
              Compare selected
            </button>
            <span className="muted small">{selected.length === 2 ? 'Two snapshots selected.' : 'Select two snapshots to compare them.'}</span>
          </div>
          <div className="table-wrap">
            <table className="snapshot-table">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="visually-hidden">Select to compare</span>
                  </th>
                  <th scope="col">Snapshot</th>
                  <th scope="col">Taken</th>
                  <th scope="col">Hash</th>
                  <th scope="col">Nodes</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((snapshot) => {
                  const isRunning = snapshot.id === instance.runningSnapshotId;
                  const isTarget = snapshot.id === instance.targetSnapshotId;
                  const ranHere = Boolean(snapshot.lastRanAt);
                  const deployLabel = ranHere ? 'Roll back to this' : 'Deploy';
                  const rowName = `${snapshot.name} (${formatDateTime(snapshot.createdAt, true)})`;
                  return (
                    <Fragment key={snapshot.id}>
                      <tr className={isRunning ? 'row-running' : isTarget ? 'row-target' : undefined} data-snapshot-id={snapshot.id}>
                        <td>
                          <input
                            type="checkbox"
                            className="checkbox-input"
                            aria-label={`Select ${rowName} to compare`}
                            checked={selected.includes(snapshot.id)}
                            onChange={(e) => toggle(snapshot.id, e.target.checked)}
                          />
                        </td>
                        <th scope="row" className="snapshot-name">
                          <Link to={`/snapshots/${snapshot.id}`}>{snapshot.name}</Link>{' '}
                          <span className={`badge kind-${snapshot.kind}`}>{KIND_LABEL[snapshot.kind] ?? snapshot.kind}</span>
                          {snapshot.description && <span className="muted small block">{snapshot.description}</span>}
                        </th>
                        <td className="small">
                          <time className="nowrap" dateTime={snapshot.createdAt}>
                            {formatDateTime(snapshot.createdAt, true)}
                          </time>
                          <span className="muted block">{snapshot.createdBy ? `by ${snapshot.createdBy}` : 'author unknown'}</span>
                        </td>
                        <td className="mono small" title={snapshot.hash}>
                          {snapshot.hash.slice(0, 12)}
                        </td>
                        <td className="small">{snapshot.nodeCount}</td>
                        <td>
                          {/* A stopped or crashed instance still names what it ran last: say so, not "running". */}
                          {isRunning &&
                            (instance.status === 'running' ? <span className="badge badge-ok">running</span> : <span className="badge">last run ({instance.status})</span>)}
                          {/* Another snapshot of the same flows (a named copy of an editor deploy) runs: so does this one, by its hash. */}
                          {!isRunning && snapshot.runsNow.instance && <span className="badge badge-ok">running (same flows)</span>}
                          {isTarget && !isRunning && <span className="badge badge-warn">deploying</span>}
                          {snapshot.runsNow.devices > 0 && (
                            <span className="muted small block">
                              on {snapshot.runsNow.devices} device{snapshot.runsNow.devices === 1 ? '' : 's'}
                            </span>
                          )}
                          {!isRunning && snapshot.lastRanAt && (
                            <span className="muted small block">
                              ran here, last from <time dateTime={snapshot.lastRanAt}>{formatDateTime(snapshot.lastRanAt, true)}</time>
                            </span>
                          )}
                        </td>
                        <td className="actions-cell">
                          <span className="button-group">
                            {/* Whether it may be deployed (an operator only rolls back) is the server's word, per snapshot. */}
                            {snapshot.allowed.deploy && !(isRunning && isTarget) && (
                              <ConfirmButton
                                label={deployLabel}
                                accessibleName={`${deployLabel}: ${rowName}`}
                                question={ranHere ? `Roll back to “${snapshot.name}”?` : `Deploy “${snapshot.name}”?`}
                                confirmLabel={ranHere ? 'Yes, roll back' : 'Yes, deploy'}
                                danger={false}
                                pending={deploy.pending}
                                onConfirm={() => deploy.run(snapshot)}
                              />
                            )}
                            {instance.runningSnapshotId && !isRunning && (
                              <Link className="button" to={`/instances/${instance.id}/diff?from=${snapshot.id}&to=running`} aria-label={`Compare ${rowName} with running`}>
                                Compare with running
                              </Link>
                            )}
                            {snapshot.allowed.export && (
                              <button
                                type="button"
                                aria-expanded={exporting === snapshot.id}
                                aria-label={`Export ${rowName}`}
                                onClick={() => setExporting(exporting === snapshot.id ? null : snapshot.id)}
                              >
                                Export
                              </button>
                            )}
                          </span>
                        </td>
                      </tr>
                      {exporting === snapshot.id && (
                        <tr className="row-form">
                          <td colSpan={columns}>
                            <ExportForm snapshot={snapshot} onDone={() => setExporting(null)} />
                          </td>
                        </tr>
                      )}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      {mayWrite && (
        <div className="grid-2">
          {/* A new snapshot is listed as the list route gives it: with what the caller may do with it, which its creation does not answer. */}
          <TakeSnapshotForm instance={instance} onTaken={snapshots.reload} />
          <ImportForm instance={instance} onImported={snapshots.reload} />
        </div>
      )}
    </section>
  );
}

function ExportForm({ snapshot, onDone }: { snapshot: Snapshot; onDone: () => void }) {
  const { api } = useSession();
  const [secret, setSecret] = useState('');
  const run = useAction(async () => {
    const file = await api.post('/api/snapshots/{snapshotId}/export', { path: { snapshotId: snapshot.id }, body: { secret } });
    download(exportFileName(snapshot.name), file);
    onDone();
  });
  return (
    <form
      className="stack export-form"
      aria-label={`Export ${snapshot.name}`}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void run.run();
      }}
    >
      <Field
        label="Export secret"
        type="password"
        autoComplete="new-password"
        required
        minLength={SECRET_MIN}
        value={secret}
        onChange={(e) => setSecret(e.target.value)}
        hint={`At least ${SECRET_MIN} characters. The flows' credentials are encrypted with it in the file; whoever imports the file needs it. Keep it apart from the file.`}
      />
      <ProblemNotice problem={run.error} />
      <div className="toolbar">
        <button type="submit" className="primary" disabled={run.pending || secret.length < SECRET_MIN}>
          Download export
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TakeSnapshotForm({ instance, onTaken }: { instance: Instance; onTaken: () => void }) {
  const { api } = useSession();
  const descriptionId = useId();
  const flowsFileId = useId();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [source, setSource] = useState<'running' | 'file'>('running');
  const [flowsFile, setFlowsFile] = useState<File | null>(null);
  const [inputKey, setInputKey] = useState(0);
  const take = useAction(async () => {
    let flows: Nodes | undefined;
    if (source === 'file') {
      if (!flowsFile) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(await flowsFile.text());
      } catch {
        throw new ProblemError({
          type: 'about:blank',
          title: 'Not a flows file',
          status: 0,
          detail: `${flowsFile.name} is not JSON: choose the flows.json of a Node-RED, or flows it exported.`,
        });
      }
      flows = asSentToServer<Nodes>(parsed);
    }
    await api.post('/api/instances/{instanceId}/snapshots', { path: { instanceId: instance.id }, body: { name, description, ...(flows ? { flows } : {}) } });
    onTaken();
    setName('');
    setDescription('');
    setFlowsFile(null);
    setInputKey((k) => k + 1);
  });
  const ready = source === 'file' ? flowsFile !== null : instance.runningSnapshotId !== null;
  return (
    <form
      className="card stack"
      aria-labelledby="take-snapshot-title"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void take.run();
      }}
    >
      <h3 id="take-snapshot-title">Take a snapshot</h3>
      <p className="hint">A named copy of what runs now, e.g. before a change or for a release; or of flows from a file, e.g. a Node-RED this instance replaces.</p>
      <fieldset>
        <legend>From</legend>
        <div className="checkbox">
          <input id={`${flowsFileId}-running`} type="radio" name={`${flowsFileId}-source`} checked={source === 'running'} onChange={() => setSource('running')} />
          <label htmlFor={`${flowsFileId}-running`}>What runs now</label>
        </div>
        <div className="checkbox">
          <input id={`${flowsFileId}-file`} type="radio" name={`${flowsFileId}-source`} checked={source === 'file'} onChange={() => setSource('file')} />
          <label htmlFor={`${flowsFileId}-file`}>A flows file</label>
        </div>
      </fieldset>
      {source === 'file' && (
        <div className="field">
          <label htmlFor={flowsFileId}>Flows file</label>
          <input key={inputKey} id={flowsFileId} type="file" accept=".json,application/json" required onChange={(e) => setFlowsFile(e.target.files?.[0] ?? null)} />
          <span className="hint">Node-RED JSON: its flows.json, or flows exported from its editor. Checked before anything is kept; it runs only once you deploy it.</span>
        </div>
      )}
      <Field label="Snapshot name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} />
      <div className="field">
        <label htmlFor={descriptionId}>Description</label>
        <textarea id={descriptionId} rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <ProblemNotice problem={take.error} />
      <div>
        <button
          type="submit"
          disabled={take.pending || !ready}
          title={ready ? undefined : source === 'file' ? 'Choose a flows file.' : 'Nothing runs yet: deploy flows first, or take one from a flows file.'}
        >
          Take snapshot
        </button>
      </div>
    </form>
  );
}

function ImportForm({ instance, onImported }: { instance: Instance; onImported: () => void }) {
  const { api } = useSession();
  const fileId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [secret, setSecret] = useState('');
  const [done, setDone] = useState('');
  const [inputKey, setInputKey] = useState(0);
  const run = useAction(async () => {
    setDone('');
    if (!file) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await file.text());
    } catch {
      throw new ProblemError({
        type: 'about:blank',
        title: 'Not a snapshot file',
        status: 0,
        detail: `${file.name} is not JSON: choose a .flowgate.json file exported from Flowgate.`,
      });
    }
    const created = await api.post('/api/instances/{instanceId}/snapshots/import', {
      path: { instanceId: instance.id },
      body: { secret, file: asSentToServer<SnapshotFile>(parsed) },
    });
    onImported();
    setDone(`Imported “${created.name}”. Deploy it to run it.`);
    setFile(null);
    setSecret('');
    setInputKey((k) => k + 1);
  });
  return (
    <form
      className="card stack"
      aria-labelledby="import-snapshot-title"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void run.run();
      }}
    >
      <h3 id="import-snapshot-title">Import a snapshot</h3>
      <p className="hint">A file exported from Flowgate. It is checked against its hash; it runs only once you deploy it.</p>
      <div className="field">
        <label htmlFor={fileId}>Snapshot file</label>
        <input key={inputKey} id={fileId} type="file" accept=".json,application/json" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </div>
      <Field label="Secret used at export" type="password" autoComplete="off" required minLength={SECRET_MIN} value={secret} onChange={(e) => setSecret(e.target.value)} />
      <ProblemNotice problem={run.error} />
      <div className="toolbar">
        <button type="submit" disabled={run.pending || !file || secret.length < SECRET_MIN}>
          Import snapshot
        </button>
        <span className="muted" role="status" aria-live="polite">
          {done}
        </span>
      </div>
    </form>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { DataTable } from '../../components/DataTable.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { EnvVar } from '../../types.ts';

interface Row {
  key: number;
  name: string;
  value: string;
  secret: boolean;
  /** A stored secret left as it is: sent without a value, so the server keeps it. */
  kept: boolean;
}

let nextKey = 1;
const rowOf = (v: EnvVar): Row => ({ key: nextKey++, name: v.name, value: v.value ?? '', secret: v.secret, kept: v.secret });
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment variables of the instance; secret values are write-only: shown as set, replaceable, never read back. */
export function EnvSection({ instanceId, mayWrite }: { instanceId: string; mayWrite: boolean }) {
  const { api } = useSession();
  const env = useResource(() => api.get('/api/instances/{instanceId}/env', { path: { instanceId } }), `${instanceId}:env`);
  const [rows, setRows] = useState<Row[]>([]);
  const [saved, setSaved] = useState('');
  useEffect(() => {
    if (env.data) setRows(env.data.map(rowOf));
  }, [env.data]);

  const update = (key: number, change: Partial<Row>) => setRows((list) => list.map((r) => (r.key === key ? { ...r, ...change } : r)));
  const save = useAction(async () => {
    setSaved('');
    await api.put('/api/instances/{instanceId}/env', {
      path: { instanceId },
      body: { env: rows.map((r) => (r.secret && r.kept ? { name: r.name, secret: true } : { name: r.name.trim(), value: r.value, secret: r.secret })) },
    });
    env.reload();
    setSaved('Saved. Node-RED restarts with the new values.');
  });

  const names = rows.map((r) => r.name.trim());
  const duplicate = names.find((n, i) => n && names.indexOf(n) !== i);
  const invalid = rows.find((r) => !NAME.test(r.name.trim()));
  const shape = (list: Array<Omit<Row, 'key'>>) => JSON.stringify(list.map(({ name, value, secret, kept }) => [name, value, secret, kept]));
  const dirty = env.data !== null && shape(rows) !== shape(env.data.map((v) => ({ name: v.name, value: v.value ?? '', secret: v.secret, kept: v.secret })));

  return (
    <section aria-labelledby="env-title">
      <h2 id="env-title">Environment variables</h2>
      <p className="muted">
        Flows read them as <code>$(NAME)</code> in node properties or <code>env.get("NAME")</code> in function nodes. Secret values are stored encrypted and never shown again.
      </p>
      {env.loading && !env.data && <Loading what="environment variables" />}
      <ProblemNotice problem={env.error} />
      {env.data && (
        <form
          className="stack"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <DataTable
            label="Environment variables"
            className="env-table"
            rows={rows}
            rowKey={(row) => row.key}
            empty="No variables."
            columns={[
              {
                key: 'name',
                header: 'Name',
                cell: (row, index) =>
                  mayWrite && !row.kept ? (
                    <input
                      aria-label={`Name of ${row.name || `variable ${index + 1}`}`}
                      className="mono"
                      value={row.name}
                      required
                      maxLength={128}
                      pattern="[A-Za-z_][A-Za-z0-9_]*"
                      spellCheck={false}
                      onChange={(e) => update(row.key, { name: e.target.value })}
                    />
                  ) : (
                    <span className="mono">{row.name}</span>
                  ),
              },
              {
                key: 'value',
                header: 'Value',
                cell: (row, index) =>
                  row.kept ? (
                    <span className="secret-set">
                      <span aria-label="secret value set">••• set</span>
                      {mayWrite && (
                        <button type="button" className="link-button" aria-label={`Replace the value of ${row.name}`} onClick={() => update(row.key, { kept: false, value: '' })}>
                          Replace
                        </button>
                      )}
                    </span>
                  ) : mayWrite ? (
                    <input
                      aria-label={`Value of ${row.name || `variable ${index + 1}`}`}
                      className="mono env-value"
                      type={row.secret ? 'password' : 'text'}
                      autoComplete={row.secret ? 'new-password' : 'off'}
                      value={row.value}
                      maxLength={16384}
                      spellCheck={false}
                      placeholder={row.secret ? 'new secret value' : ''}
                      onChange={(e) => update(row.key, { value: e.target.value })}
                    />
                  ) : (
                    <span className="mono break">{row.value}</span>
                  ),
              },
              {
                key: 'secret',
                header: 'Secret',
                cell: (row, index) =>
                  mayWrite ? (
                    <input
                      type="checkbox"
                      className="checkbox-input"
                      aria-label={`${row.name || `variable ${index + 1}`} is secret`}
                      checked={row.secret}
                      disabled={row.kept}
                      title={row.kept ? 'Replace the value to make it plain.' : undefined}
                      onChange={(e) => update(row.key, { secret: e.target.checked })}
                    />
                  ) : row.secret ? (
                    'yes'
                  ) : (
                    <span className="muted">no</span>
                  ),
              },
              mayWrite && {
                key: 'actions',
                header: '',
                actions: true,
                cell: (row, index) => (
                  <button type="button" aria-label={`Remove ${row.name || `variable ${index + 1}`}`} onClick={() => setRows((list) => list.filter((r) => r.key !== row.key))}>
                    Remove
                  </button>
                ),
              },
            ]}
          />
          {mayWrite && (
            <>
              {duplicate && <p className="hint warn-text">The name {duplicate} is given twice.</p>}
              <ProblemNotice problem={save.error} />
              <div className="toolbar">
                <button type="button" onClick={() => setRows((list) => [...list, { key: nextKey++, name: '', value: '', secret: false, kept: false }])}>
                  Add variable
                </button>
                <button type="submit" className="primary" disabled={save.pending || !dirty || Boolean(duplicate) || Boolean(invalid)}>
                  Save variables
                </button>
                {dirty && (
                  <button type="button" className="link-button" onClick={() => env.data && setRows(env.data.map(rowOf))}>
                    Discard changes
                  </button>
                )}
                <span className="muted" role="status" aria-live="polite">
                  {saved}
                </span>
              </div>
            </>
          )}
        </form>
      )}
    </section>
  );
}

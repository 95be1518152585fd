import { useId, useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Instance } from '../../types.ts';

/** Which Node-RED the instance runs, and (for those who may change it) moving it to another one the platform offers. */
export function NodeRedVersionSection({ instance, mayWrite, onChanged }: { instance: Instance; mayWrite: boolean; onChanged: (instance: Instance) => void }) {
  const { api } = useSession();
  const selectId = useId();
  const versions = useResource(() => (mayWrite ? api.get('/api/node-red-versions') : Promise.resolve([])), `versions:${mayWrite}`);
  const [chosen, setChosen] = useState('');
  const others = (versions.data ?? []).filter((version) => version !== instance.nodeRedVersion);
  const next = chosen || others[0] || '';
  const change = useAction(async () => {
    onChanged(await api.put('/api/instances/{instanceId}/node-red-version', { path: { instanceId: instance.id }, body: { nodeRedVersion: next } }));
    setChosen('');
  });

  return (
    <section aria-labelledby="node-red-version-title">
      <h2 id="node-red-version-title">Node-RED version</h2>
      <div className="card stack">
        <p>
          This instance runs Node-RED{' '}
          <strong className="mono" data-testid="node-red-version">
            {instance.nodeRedVersion}
          </strong>
          . Changing it starts the same flows again on the other version; deploying or rolling back a snapshot does not change it.
        </p>
        {mayWrite && others.length === 0 && versions.data && <p className="muted small">No other version is offered on this platform.</p>}
        {mayWrite && others.length > 0 && (
          <div className="toolbar">
            <label htmlFor={selectId}>Move to</label>
            <select id={selectId} value={next} onChange={(event) => setChosen(event.target.value)}>
              {others.map((version) => (
                <option key={version} value={version}>
                  Node-RED {version}
                </option>
              ))}
            </select>
            <ConfirmButton
              label="Change version"
              question={`Restart the flows on Node-RED ${next}?`}
              confirmLabel="Yes, restart on it"
              danger={false}
              pending={change.pending}
              onConfirm={() => change.run()}
            />
          </div>
        )}
        <ProblemNotice problem={versions.error ?? change.error} onDismiss={change.clearError} />
      </div>
    </section>
  );
}

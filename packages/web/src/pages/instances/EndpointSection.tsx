import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { CopyField } from '../../components/CopyField.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Instance } from '../../types.ts';

/** The flows' own HTTP endpoints and dashboards: where they are, and who may use them. */
export function EndpointSection({ instance, mayWrite, onChanged }: { instance: Instance; mayWrite: boolean; onChanged: (instance: Instance) => void }) {
  const { api } = useSession();
  // On the instance's own origin, not the platform's (docs/applications.md): what a flow serves there cannot act on the platform.
  const endpoint = instance.endpointUrl;
  const setAccess = useAction(async (endpointAccess: 'login' | 'public') => {
    onChanged(await api.patch('/api/instances/{instanceId}', { path: { instanceId: instance.id }, body: { endpointAccess } }));
  });
  const isPublic = instance.endpointAccess === 'public';

  return (
    <section aria-labelledby="endpoint-title">
      <h2 id="endpoint-title">Endpoints</h2>
      <div className="card stack">
        <p>
          HTTP-in nodes and dashboards of this instance answer under this address, an origin of the instance's own.{' '}
          {isPublic ? (
            <>
              <span className="badge badge-warn">public</span> Anyone who can reach the platform may use them, without signing in.
            </>
          ) : (
            <>
              <span className="badge">sign-in</span> Only signed-in members of the team may use them: a browser that opens them without having signed in there goes by the
              platform's sign-in and back.
            </>
          )}
        </p>
        <CopyField label="Endpoint URL" value={endpoint} />
        {mayWrite && (
          <div className="toolbar">
            {isPublic ? (
              <button type="button" disabled={setAccess.pending} onClick={() => void setAccess.run('login')}>
                Require sign-in
              </button>
            ) : (
              <ConfirmButton
                label="Make endpoints public"
                question="Anyone could call these endpoints. Make them public?"
                confirmLabel="Yes, make public"
                pending={setAccess.pending}
                onConfirm={() => setAccess.run('public')}
              />
            )}
          </div>
        )}
        <ProblemNotice problem={setAccess.error} onDismiss={setAccess.clearError} />
      </div>
    </section>
  );
}

import { useNavigate } from 'react-router';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { AccountSession } from '../../types.ts';
import { describeUserAgent } from '../../user-agent.ts';

export function SessionsSection() {
  const { api, refresh } = useSession();
  const navigate = useNavigate();
  const sessions = useResource(() => api.get('/api/account/sessions'), 'sessions');
  const revoke = useAction(async (session: AccountSession) => {
    await api.delete('/api/account/sessions/{sessionId}', { path: { sessionId: session.id } });
    if (session.current) {
      await refresh();
      void navigate('/sign-in', { replace: true });
    } else sessions.setData((list) => list?.filter((s) => s.id !== session.id) ?? null);
  });
  const revokeAll = useAction(async () => {
    await api.post('/api/account/sessions/revoke-all');
    await refresh();
    void navigate('/sign-in', { replace: true });
  });

  return (
    <section aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      {sessions.loading && !sessions.data && <Loading what="sessions" />}
      <ProblemNotice problem={sessions.error} />
      <ProblemNotice problem={revoke.error} onDismiss={revoke.clearError} />
      {sessions.data && (
        <DataTable
          label="Your sessions"
          rows={sessions.data}
          rowKey={(session) => session.id}
          empty="No sessions."
          columns={[
            {
              key: 'browser',
              header: 'Browser',
              rowHeader: true,
              cell: (session) => (
                <>
                  <span title={session.userAgent ?? undefined}>{describeUserAgent(session.userAgent)}</span>
                  {session.current && <span className="badge badge-ok">this browser</span>}
                </>
              ),
            },
            { key: 'ip', header: 'Address', className: 'mono small', cell: (session) => session.ip ?? '—' },
            { key: 'created', header: 'Signed in', nowrap: true, cell: (session) => <When at={session.createdAt} /> },
            { key: 'seen', header: 'Last seen', nowrap: true, cell: (session) => <When at={session.lastSeenAt} relative /> },
            {
              key: 'actions',
              header: '',
              actions: true,
              cell: (session) => (
                <button type="button" disabled={revoke.pending} onClick={() => void revoke.run(session)}>
                  Sign out{session.current ? ' here' : ''}
                </button>
              ),
            },
          ]}
        />
      )}
      <div className="row-between">
        <p className="muted">Lost a device, or signed in somewhere you should not have? End every session, this one included.</p>
        <ConfirmButton label="Sign out everywhere" question="End all your sessions?" pending={revokeAll.pending} onConfirm={() => revokeAll.run()} />
      </div>
      <ProblemNotice problem={revokeAll.error} />
    </section>
  );
}

import { useNavigate } from 'react-router';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { AccountSession } from '../../types.ts';

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
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Browser</th>
                <th scope="col">Address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last seen</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((session) => (
                <tr key={session.id}>
                  <th scope="row" className="truncate" title={session.userAgent ?? ''}>
                    {session.userAgent ?? 'unknown'}
                    {session.current && <span className="badge badge-ok">this browser</span>}
                  </th>
                  <td>{session.ip ?? '—'}</td>
                  <td>{formatDateTime(session.createdAt)}</td>
                  <td>{formatDateTime(session.lastSeenAt)}</td>
                  <td className="actions-cell">
                    <button type="button" disabled={revoke.pending} onClick={() => void revoke.run(session)}>
                      Sign out{session.current ? ' here' : ''}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row-between">
        <p className="muted">Lost a device, or signed in somewhere you should not have? End every session, this one included.</p>
        <ConfirmButton label="Sign out everywhere" question="End all your sessions?" pending={revokeAll.pending} onConfirm={() => revokeAll.run()} />
      </div>
      <ProblemNotice problem={revokeAll.error} />
    </section>
  );
}

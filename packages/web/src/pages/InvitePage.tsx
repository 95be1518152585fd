import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { Field } from '../components/Field.tsx';
import { FormCard } from '../components/FormCard.tsx';
import { LoginBanner } from '../components/LoginBanner.tsx';
import { PublicLayout, usePageTitle } from '../components/Layout.tsx';
import { assertSamePassword, NewPasswordFields } from '../components/NewPasswordFields.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { formatDateTime } from '../format.ts';
import { useAction, useResource } from '../hooks.ts';
import { TEAM_ROLE_DESCRIPTIONS } from '../policy.ts';
import { useSession } from '../session.tsx';

/**
 * An invitation link: join as the signed-in person, or create the account it is for,
 * which signs the person in at once (the login banner is shown here, as on the sign-in page).
 */
export function InvitePage() {
  usePageTitle('Invitation');
  const { token = '' } = useParams();
  const { api, session, adoptCsrfToken, refresh, signOut } = useSession();
  const navigate = useNavigate();
  const invitation = useResource(() => api.get('/api/invitations/{token}', { path: { token } }), token);
  const [form, setForm] = useState({ name: '', password: '', repeat: '' });

  const acceptSignedIn = useAction(async () => {
    const { teamId } = await api.post('/api/invitations/{token}/accept', { path: { token }, body: {} });
    await refresh();
    void navigate(`/teams/${teamId}`, { replace: true });
  });
  const createAccount = useAction(async () => {
    assertSamePassword(form.password, form.repeat);
    const { teamId, signIn } = await api.post('/api/invitations/{token}/accept', {
      path: { token },
      body: {
        name: form.name,
        password: form.password,
      },
    });
    const team = `/teams/${teamId}`;
    if (signIn) {
      // Signed in with the password just chosen; a policy that wants MFA first resumes at enrolment on the sign-in page.
      adoptCsrfToken(signIn.csrfToken);
      await refresh();
      void navigate(signIn.status === 'signed-in' ? team : `/sign-in?next=${encodeURIComponent(team)}`, { replace: true });
      return;
    }
    // An email domain whose identity provider signs its people in: there, from the sign-in page.
    const email = invitation.data?.email ?? '';
    void navigate(`/sign-in?joined=1&email=${encodeURIComponent(email)}&next=${encodeURIComponent(team)}`, { replace: true });
  });
  const config = useResource(() => api.get('/api/auth/config'), 'config');

  const info = invitation.data;
  const signedInAs = session?.signedIn ? session.user : undefined;
  return (
    <PublicLayout>
      {/* Whoever makes an account here is signed in without passing the sign-in page: the banner is shown here first. */}
      {!signedInAs && <LoginBanner text={config.data?.loginBanner} />}
      <h1>Join a team</h1>
      {invitation.loading && <Loading what="the invitation" />}
      <ProblemNotice problem={invitation.error} />
      {info && (
        <>
          <section className="card stack" aria-label="Invitation">
            <p className="lead">
              You are invited to <strong>{info.teamName}</strong> as <strong>{info.role}</strong>.
            </p>
            <p className="muted">{TEAM_ROLE_DESCRIPTIONS[info.role]}.</p>
            <dl className="facts">
              <dt>For</dt>
              <dd>{info.email}</dd>
              <dt>Valid until</dt>
              <dd>{formatDateTime(info.expiresAt)}</dd>
            </dl>
          </section>

          {signedInAs && signedInAs.email === info.email && (
            <div className="stack">
              <ProblemNotice problem={acceptSignedIn.error} />
              <div>
                <button type="button" className="primary" disabled={acceptSignedIn.pending} onClick={() => void acceptSignedIn.run()}>
                  Accept and join {info.teamName}
                </button>
              </div>
            </div>
          )}

          {signedInAs && signedInAs.email !== info.email && (
            <div className="notice" role="note">
              <p>
                This invitation is for {info.email}, but you are signed in as {signedInAs.email}.
              </p>
              <button type="button" onClick={() => void signOut()}>
                Sign out
              </button>
            </div>
          )}

          {!signedInAs && info.accountExists && (
            <div className="notice" role="note">
              <p>You have an account already. Sign in, then come back to this link to accept.</p>
              <Link className="button primary" to={`/sign-in?email=${encodeURIComponent(info.email)}&next=${encodeURIComponent(`/invite/${token}`)}`}>
                Sign in to accept
              </Link>
            </div>
          )}

          {!signedInAs && !info.accountExists && (
            <FormCard
              title="Create your account"
              onSubmit={() => void createAccount.run()}
              submitLabel="Create account and join"
              pending={createAccount.pending}
              error={createAccount.error}
            >
              <Field label="Email" value={info.email} readOnly hint="The invitation is for this address." />
              <Field label="Your name" autoComplete="name" required maxLength={120} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              <NewPasswordFields
                value={form.password}
                repeat={form.repeat}
                onChange={(password) => setForm({ ...form, password })}
                onRepeatChange={(repeat) => setForm({ ...form, repeat })}
                context={{ email: info.email, name: form.name }}
              />
              <p className="muted small">You are signed in as soon as the account is made.</p>
            </FormCard>
          )}
        </>
      )}
    </PublicLayout>
  );
}

import { useEffect, useState } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { apiUrl } from '../api/client.ts';
import { Field } from '../components/Field.tsx';
import { FormCard } from '../components/FormCard.tsx';
import { LoginBanner } from '../components/LoginBanner.tsx';
import { PublicLayout, usePageTitle } from '../components/Layout.tsx';
import { MfaEnrolment } from '../components/MfaEnrolment.tsx';
import { Loading } from '../components/ProblemNotice.tsx';
import { RecoveryCodes } from '../components/RecoveryCodes.tsx';
import { useAction, useResource } from '../hooks.ts';
import { PROXIED_PAGE_PATH } from '../policy.ts';
import { useSession } from '../session.tsx';
import type { DiscoveredProvider } from '../types.ts';

type Step = 'password' | 'mfa' | 'enrol';

/** Leaves this app for a page the platform serves itself. */
function LeaveFor({ url }: { url: string }) {
  useEffect(() => window.location.replace(url), [url]);
  return <p className="muted">Opening {url}…</p>;
}

/** Only paths inside the app, so a crafted ?next= cannot send people elsewhere. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/teams';
}

/** The identity provider that signs in this email's domain, asked once the address looks whole. */
function useSsoProvider(email: string): DiscoveredProvider | null {
  const { api } = useSession();
  const [provider, setProvider] = useState<DiscoveredProvider | null>(null);
  useEffect(() => {
    const trimmed = email.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]{2,}$/.test(trimmed)) {
      setProvider(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api.get('/api/auth/sso/discover', { query: { email: trimmed } }).then(
        (reply) => live && setProvider(reply.provider),
        () => live && setProvider(null),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, email]);
  return provider;
}

export function SignInPage() {
  usePageTitle('Sign in');
  const { api, session, adoptCsrfToken, refresh, signOut } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(params.get('next'));
  const goNext = () => {
    // A proxied page (an editor) is the platform's, not the single-page app's: the browser loads it whole.
    if (PROXIED_PAGE_PATH.test(next)) window.location.replace(next);
    else void navigate(next, { replace: true });
  };
  const config = useResource(() => api.get('/api/auth/config'), 'config');
  const [step, setStep] = useState<Step>('password');
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const provider = useSsoProvider(email);
  // A directory (LDAP) checks the password typed here; OIDC and SAML sign in on the provider's own page.
  const sso = provider && provider.kind !== 'ldap' ? provider : null;
  const directory = provider?.kind === 'ldap' ? provider : null;
  const ssoError = params.get('ssoError');

  // A reload in the middle of sign-in resumes at the step the session is waiting for.
  useEffect(() => {
    if (session?.stage === 'mfa') setStep('mfa');
    else if (session?.stage === 'enrol') setStep('enrol');
  }, [session?.stage]);

  const signIn = useAction(async () => {
    const reply = await api.post('/api/auth/login', { body: { email, password } });
    adoptCsrfToken(reply.csrfToken);
    setPassword('');
    // Signed in, the session's refresh renders the way onward (below): going there here as well
    // loaded an editor's address twice, the second load aborting the first.
    if (reply.status === 'signed-in') await refresh();
    else {
      setStep(reply.status === 'mfa-required' ? 'mfa' : 'enrol');
    }
  });
  const verify = useAction(async () => {
    const reply = await api.post('/api/auth/mfa', { body: { code: code.trim() } });
    adoptCsrfToken(reply.csrfToken);
    await refresh();
  });
  const cancel = async () => {
    await signOut().catch(() => {});
    setStep('password');
    setCode('');
  };

  if (session?.signedIn && !recoveryCodes) return PROXIED_PAGE_PATH.test(next) ? <LeaveFor url={next} /> : <Navigate to={next} replace />;

  return (
    <PublicLayout>
      <LoginBanner text={config.data?.loginBanner} />
      {config.loading && <Loading what="sign-in" />}
      {config.data?.setupRequired && (
        <div className="notice" role="note">
          <p>
            Flowgate has no users yet. Open the one-time setup link printed when the platform started (<code>/setup?token=…</code>).
          </p>
        </div>
      )}

      {step === 'password' && (
        <FormCard
          title="Sign in"
          level={1}
          onSubmit={() => void signIn.run()}
          submitLabel={`Sign in${sso ? ' with a password' : ''}`}
          primary={!sso}
          pending={signIn.pending}
          error={signIn.error}
        >
          {params.get('joined') && (
            <p className="notice notice-success" role="status">
              Your account is ready. Sign in to open your team.
            </p>
          )}
          {params.get('reset') && (
            <p className="notice notice-success" role="status">
              Your new password is set. Sign in with it.
            </p>
          )}
          {ssoError && (
            <p className="notice notice-error" role="alert">
              {ssoError}
            </p>
          )}
          <Field label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          {sso && (
            <p className="notice" role="status">
              <a className="button primary" href={apiUrl('/api/auth/sso/{providerId}/start', { path: { providerId: sso.id }, query: { returnTo: next } })}>
                Continue with {sso.name}
              </a>{' '}
              <span className="muted small">Your company signs you in. A platform admin may still use a password below.</span>
            </p>
          )}
          {directory && (
            <p className="notice" role="status">
              Sign in with your {directory.name} directory password.
            </p>
          )}
          <Field label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </FormCard>
      )}

      {step === 'mfa' && (
        <FormCard
          title="Two-step verification"
          level={1}
          onSubmit={() => void verify.run()}
          submitLabel="Verify"
          pending={verify.pending}
          error={verify.error}
          actions={
            <button type="button" onClick={() => void cancel()}>
              Cancel
            </button>
          }
        >
          <Field
            label="Authentication code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="one-time-code"
            required
            autoFocus
            hint="The six digits from your authenticator app, or one of your recovery codes."
          />
        </FormCard>
      )}

      {step === 'enrol' && (
        <section className="card stack" aria-labelledby="enrol-title">
          <h1 id="enrol-title">Set up two-step verification</h1>
          {recoveryCodes ? (
            <>
              <RecoveryCodes codes={recoveryCodes} />
              <div>
                <button type="button" className="primary" onClick={goNext}>
                  I have stored my codes, continue
                </button>
              </div>
            </>
          ) : (
            <>
              <p>Your platform or one of your teams requires MFA. Set it up now to finish signing in.</p>
              <MfaEnrolment
                onEnrolled={(reply) => {
                  setRecoveryCodes(reply.recoveryCodes);
                  void refresh();
                }}
              />
              <div>
                <button type="button" className="link-button" onClick={() => void cancel()}>
                  Cancel and sign out
                </button>
              </div>
            </>
          )}
        </section>
      )}
      <p className="muted small">
        Invited to a team? Open the link from your invitation.
        {/* Only while the platform has no user: once set up, the setup page has nothing to offer. */}
        {config.data?.setupRequired && (
          <>
            {' '}
            <Link to="/setup">First start?</Link>
          </>
        )}
      </p>
    </PublicLayout>
  );
}

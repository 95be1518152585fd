import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Field } from '../components/Field.tsx';
import { FormCard } from '../components/FormCard.tsx';
import { PublicLayout, usePageTitle } from '../components/Layout.tsx';
import { assertSamePassword, NewPasswordFields } from '../components/NewPasswordFields.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { useAction, useResource } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** What to do once the platform has its first admin: a setup link is of no more use. */
function SetUpAlready() {
  return (
    <div className="notice" role="note" data-testid="setup-done">
      <p className="notice-title">This setup link was used: Flowgate is set up.</p>
      <p>
        <Link className="button primary" to="/sign-in">
          Sign in
        </Link>
      </p>
      <p>
        No account yet? Ask a platform admin to invite you to a team. Whoever runs the server can add a platform admin there with{' '}
        <code>npx flowgate admin create --email you@example.com --password-file password.txt</code>.
      </p>
    </div>
  );
}

/** Creates the first platform admin with the one-time link printed at start. */
export function SetupPage() {
  usePageTitle('Set up Flowgate');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { api, adoptCsrfToken, refresh } = useSession();
  const navigate = useNavigate();
  // Whether the platform still waits for its first admin: a used link says so at once, not on submit.
  const config = useResource(() => api.get('/api/auth/config'), 'config');
  const [form, setForm] = useState({ email: '', name: '', password: '', repeat: '' });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  const create = useAction(async () => {
    assertSamePassword(form.password, form.repeat);
    const reply = await api.post('/api/setup', { body: { token, email: form.email, name: form.name, password: form.password } });
    adoptCsrfToken(reply.csrfToken);
    await refresh();
    void navigate(reply.status === 'signed-in' ? '/teams' : '/sign-in', { replace: true });
  });

  const setUpAlready = config.data ? !config.data.setupRequired : false;
  return (
    <PublicLayout>
      <h1>Set up Flowgate</h1>
      {config.loading && <Loading what="the platform's state" />}
      <ProblemNotice problem={config.error} />
      {setUpAlready && <SetUpAlready />}
      {config.data?.setupRequired && !token && (
        <div className="notice" role="note">
          <p>
            Open the setup link printed by <code>flowgate start</code> when the platform started: it holds a one-time token.
          </p>
        </div>
      )}
      {config.data?.setupRequired && token && (
        <FormCard
          title="Create the first platform administrator"
          onSubmit={() => void create.run()}
          submitLabel="Create admin account"
          pending={create.pending}
          error={create.error}
        >
          <p>This link works once.</p>
          <Field label="Email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} />
          <Field label="Name" autoComplete="name" required maxLength={120} value={form.name} onChange={set('name')} />
          <NewPasswordFields
            value={form.password}
            repeat={form.repeat}
            onChange={(password) => setForm({ ...form, password })}
            onRepeatChange={(repeat) => setForm({ ...form, repeat })}
            context={{ email: form.email, name: form.name }}
          />
        </FormCard>
      )}
    </PublicLayout>
  );
}

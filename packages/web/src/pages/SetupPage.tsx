import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Field } from '../components/Field.tsx';
import { PublicLayout, usePageTitle } from '../components/Layout.tsx';
import { assertSamePassword, NewPasswordFields } from '../components/NewPasswordFields.tsx';
import { ProblemNotice } from '../components/ProblemNotice.tsx';
import { useAction } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** Creates the first platform admin with the one-time link printed at start. */
export function SetupPage() {
  usePageTitle('Set up Flowgate');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { api, adoptCsrfToken, refresh } = useSession();
  const navigate = useNavigate();
  const [form, setForm] = useState({ email: '', name: '', password: '', repeat: '' });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  const create = useAction(async () => {
    assertSamePassword(form.password, form.repeat);
    const reply = await api.post('/api/setup', { body: { token, email: form.email, name: form.name, password: form.password } });
    adoptCsrfToken(reply.csrfToken);
    await refresh();
    void navigate(reply.status === 'signed-in' ? '/teams' : '/sign-in', { replace: true });
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run();
  };

  return (
    <PublicLayout>
      <h1>Set up Flowgate</h1>
      {!token ? (
        <div className="notice" role="note">
          <p>
            Open the setup link printed by <code>flowgate start</code> when the platform started: it holds a one-time token. If the platform is set up already,{' '}
            <Link to="/sign-in">sign in</Link>.
          </p>
        </div>
      ) : (
        <form className="card stack" onSubmit={submit}>
          <p>Create the first platform administrator. This link works once.</p>
          <Field label="Email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} />
          <Field label="Name" autoComplete="name" required maxLength={120} value={form.name} onChange={set('name')} />
          <NewPasswordFields
            value={form.password}
            repeat={form.repeat}
            onChange={(password) => setForm({ ...form, password })}
            onRepeatChange={(repeat) => setForm({ ...form, repeat })}
            context={{ email: form.email, name: form.name }}
          />
          <ProblemNotice problem={create.error} />
          <div>
            <button type="submit" className="primary" disabled={create.pending}>
              Create admin account
            </button>
          </div>
        </form>
      )}
    </PublicLayout>
  );
}

import { useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { Field } from '../components/Field.tsx';
import { PublicLayout, usePageTitle } from '../components/Layout.tsx';
import { assertSamePassword, NewPasswordFields } from '../components/NewPasswordFields.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { formatDateTime } from '../format.ts';
import { useAction, useResource } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** A one-time link a platform admin issued for a forgotten password: set a new one, then sign in. */
export function ResetPasswordPage() {
  usePageTitle('Set a new password');
  const { token = '' } = useParams();
  const { api } = useSession();
  const navigate = useNavigate();
  const reset = useResource(() => api.get('/api/password-resets/{token}', { path: { token } }), token);
  const [form, setForm] = useState({ password: '', repeat: '' });
  const save = useAction(async () => {
    assertSamePassword(form.password, form.repeat);
    await api.post('/api/password-resets/{token}', { path: { token }, body: { password: form.password } });
    void navigate(`/sign-in?reset=1&email=${encodeURIComponent(reset.data?.email ?? '')}`, { replace: true });
  });

  return (
    <PublicLayout>
      <h1>Set a new password</h1>
      {reset.loading && <Loading what="the link" />}
      <ProblemNotice problem={reset.error} />
      {reset.data && (
        <form
          className="card stack"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <Field
            label="Email"
            value={reset.data.email}
            readOnly
            hint={`The link works once, until ${formatDateTime(reset.data.expiresAt)}. Setting the password signs you out everywhere.`}
          />
          <NewPasswordFields
            label="New password"
            value={form.password}
            repeat={form.repeat}
            onChange={(password) => setForm({ ...form, password })}
            onRepeatChange={(repeat) => setForm({ ...form, repeat })}
            context={{ email: reset.data.email, name: '' }}
          />
          <ProblemNotice problem={save.error} />
          <div>
            <button type="submit" className="primary" disabled={save.pending}>
              Set password
            </button>
          </div>
        </form>
      )}
    </PublicLayout>
  );
}

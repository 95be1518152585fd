import { useState, type FormEvent } from 'react';
import { Field } from '../../components/Field.tsx';
import { assertSamePassword, NewPasswordFields } from '../../components/NewPasswordFields.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';

const EMPTY = { currentPassword: '', newPassword: '', repeat: '' };

export function PasswordSection() {
  const { api, session } = useSession();
  const [form, setForm] = useState(EMPTY);
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    setDone(false);
    assertSamePassword(form.newPassword, form.repeat, 'new passwords');
    await api.put('/api/account/password', { body: { currentPassword: form.currentPassword, newPassword: form.newPassword } });
    setForm(EMPTY);
    setDone(true);
  });

  return (
    <section aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <form
        className="card stack"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void change.run();
        }}
      >
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={form.currentPassword}
          onChange={(e) => setForm({ ...form, currentPassword: e.target.value })}
        />
        <NewPasswordFields
          label="New password"
          value={form.newPassword}
          repeat={form.repeat}
          onChange={(newPassword) => setForm({ ...form, newPassword })}
          onRepeatChange={(repeat) => setForm({ ...form, repeat })}
          context={{ email: session?.user?.email, name: session?.user?.name }}
        />
        <p className="hint">Your other sessions are signed out when the password changes.</p>
        <ProblemNotice problem={change.error} />
        {done && (
          <p className="notice notice-success" role="status">
            Your password was changed.
          </p>
        )}
        <div>
          <button type="submit" disabled={change.pending}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}

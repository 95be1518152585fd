import { useState, type FormEvent } from 'react';
import { Field } from '../../components/Field.tsx';
import { MfaEnrolment } from '../../components/MfaEnrolment.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { RecoveryCodes } from '../../components/RecoveryCodes.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Account } from '../../types.ts';

export function MfaSection({ account, onChanged }: { account: Account; onChanged: () => void }) {
  const { api, refresh } = useSession();
  const [codes, setCodes] = useState<string[] | null>(null);
  const [password, setPassword] = useState('');
  const removeMfa = useAction(async () => {
    await api.delete('/api/account/mfa', { body: { password } });
    setPassword('');
    setCodes(null);
    await refresh();
    onChanged();
  });

  return (
    <section aria-labelledby="mfa-title">
      <h2 id="mfa-title">Two-step verification (MFA)</h2>
      <div className="card stack">
        {codes && <RecoveryCodes codes={codes} />}
        {account.user.mfaEnrolled ? (
          <>
            <p>
              <span className="badge badge-ok">On</span> Sign-in asks for a code from your authenticator app. {account.recoveryCodesLeft} recovery code
              {account.recoveryCodesLeft === 1 ? '' : 's'} left.
            </p>
            {account.mfaRequired ? (
              <p className="muted">Your platform or a team requires MFA, so it cannot be turned off.</p>
            ) : (
              <form
                className="stack"
                onSubmit={(e: FormEvent) => {
                  e.preventDefault();
                  void removeMfa.run();
                }}
              >
                <Field label="Password to turn MFA off" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
                <ProblemNotice problem={removeMfa.error} />
                <div>
                  <button type="submit" className="danger-outline" disabled={removeMfa.pending}>
                    Turn off MFA
                  </button>
                </div>
              </form>
            )}
          </>
        ) : (
          <>
            <p>
              <span className="badge badge-warn">Off</span> {account.mfaRequired ? 'Your platform or a team requires MFA.' : 'Protect your account with a second step.'}
            </p>
            <MfaEnrolment
              onEnrolled={(reply) => {
                setCodes(reply.recoveryCodes);
                void refresh();
                onChanged();
              }}
            />
          </>
        )}
      </div>
    </section>
  );
}

import { useState, type FormEvent } from 'react';
import { useAction } from '../hooks.ts';
import { useSession } from '../session.tsx';
import type { MfaConfirm, MfaSetup } from '../types.ts';
import { Field } from './Field.tsx';
import { ProblemNotice } from './ProblemNotice.tsx';

/**
 * TOTP enrolment: start, scan the QR code (or type the secret), confirm with a code.
 * Used on the account page and in the sign-in step a policy forces.
 */
export function MfaEnrolment({ onEnrolled }: { onEnrolled: (reply: MfaConfirm) => void }) {
  const { api, adoptCsrfToken } = useSession();
  const [setup, setSetup] = useState<MfaSetup | null>(null);
  const [code, setCode] = useState('');
  const begin = useAction(async () => setSetup(await api.post('/api/account/mfa/setup')));
  const confirm = useAction(async () => {
    const reply = await api.post('/api/account/mfa/confirm', { body: { code: code.replace(/\s+/g, '') } });
    if (reply.csrfToken) adoptCsrfToken(reply.csrfToken);
    onEnrolled(reply);
  });

  if (!setup) {
    return (
      <div className="stack">
        <p>Use an authenticator app (for example FreeOTP, Aegis, Google or Microsoft Authenticator) on your phone.</p>
        <ProblemNotice problem={begin.error} />
        <div>
          <button type="button" className="primary" disabled={begin.pending} onClick={() => void begin.run()}>
            Set up MFA
          </button>
        </div>
      </div>
    );
  }

  const qr = `data:image/svg+xml;utf8,${encodeURIComponent(setup.qrSvg)}`;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void confirm.run();
  };
  return (
    <div className="mfa-enrol">
      <ol className="steps">
        <li>
          <p>Scan this code with your authenticator app.</p>
          <img className="qr" src={qr} alt="QR code to add Flowgate to your authenticator app" width={200} height={200} />
          <details>
            <summary>Cannot scan? Type the key instead</summary>
            <p>
              Key:{' '}
              <code className="secret" data-testid="totp-secret">
                {setup.secret}
              </code>
            </p>
            <p className="hint">Time-based (TOTP), 6 digits, every 30 seconds.</p>
          </details>
        </li>
        <li>
          <form onSubmit={submit} className="stack">
            <Field
              label="Code from the app"
              value={code}
              onChange={(e) => setCode(e.target.value)}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 ]{6,8}"
              required
              hint="Six digits; a new one every 30 seconds."
            />
            <ProblemNotice problem={confirm.error} />
            <div>
              <button type="submit" className="primary" disabled={confirm.pending}>
                Turn on MFA
              </button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}

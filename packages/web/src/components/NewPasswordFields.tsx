import { useId } from 'react';
import { ProblemError } from '../api/client.ts';
import { checkPassword, PASSWORD_MIN_LENGTH } from '../policy.ts';

/** Refuses, as a problem the form shows, a password whose repetition differs. */
export function assertSamePassword(password: string, repeat: string, what = 'passwords'): void {
  if (password !== repeat) throw new ProblemError({ type: 'about:blank', title: 'Passwords differ', status: 400, detail: `The two ${what} are not the same.` });
}

/**
 * A new password and its repetition, checked as you type with the same policy the
 * server applies (length, common passwords, your name or email, trivial patterns).
 * The server still decides; this only saves a round trip.
 */
export function NewPasswordFields({
  label = 'Password',
  value,
  repeat,
  onChange,
  onRepeatChange,
  context,
}: {
  label?: string;
  value: string;
  repeat: string;
  onChange: (value: string) => void;
  onRepeatChange: (value: string) => void;
  context: { email?: string; name?: string };
}) {
  const id = useId();
  const result = value ? checkPassword(value, context) : null;
  const mismatch = repeat !== '' && repeat !== value;
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-new`}>{label}</label>
        <input
          id={`${id}-new`}
          type="password"
          autoComplete="new-password"
          required
          value={value}
          aria-describedby={`${id}-policy`}
          aria-invalid={result !== null && !result.ok}
          onChange={(e) => onChange(e.target.value)}
        />
        <div id={`${id}-policy`} className="hint" aria-live="polite">
          {result === null && <p className="hint">At least {PASSWORD_MIN_LENGTH} characters. A few unrelated words make a strong password that is easy to remember.</p>}
          {result !== null && result.ok && <p className="hint password-ok">✓ This password meets the policy.</p>}
          {result !== null && !result.ok && (
            <ul className="password-reasons">
              {result.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${id}-repeat`}>Repeat {label.toLowerCase()}</label>
        <input
          id={`${id}-repeat`}
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          aria-invalid={mismatch}
          aria-describedby={`${id}-repeat-hint`}
          onChange={(e) => onRepeatChange(e.target.value)}
        />
        <p className="hint" id={`${id}-repeat-hint`} aria-live="polite">
          {mismatch ? 'The two passwords are not the same yet.' : ''}
        </p>
      </div>
    </>
  );
}

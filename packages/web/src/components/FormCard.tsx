import { useId, type FormEvent, type ReactNode } from 'react';
import type { ProblemError } from '../api/client.ts';
import { ProblemNotice } from './ProblemNotice.tsx';

/**
 * The scaffolding every form of the UI repeats: a card named by its title (a form landmark
 * assistive technology lists by that name), its fields, the server's problem with the
 * action, and the submit button, disabled while the action runs. `actions` are further
 * buttons beside the submit one (a cancel, a clear).
 */
export function FormCard({
  title,
  level = 2,
  onSubmit,
  submitLabel,
  pending,
  disabled = false,
  primary = true,
  error,
  onDismissError,
  actions,
  children,
}: {
  title: ReactNode;
  /** The heading's level where the form sits in its page. */
  level?: 1 | 2 | 3;
  onSubmit: () => void;
  submitLabel: ReactNode;
  /** The action is running: the submit button waits for it. */
  pending: boolean;
  /** Something the form still lacks (a choice not made yet). */
  disabled?: boolean;
  /** Whether the submit button is the page's main action (some forms offer a better way first). */
  primary?: boolean;
  error: ProblemError | null;
  onDismissError?: () => void;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const titleId = `${useId()}-title`;
  const Heading = `h${level}` as const;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <form className="card stack" aria-labelledby={titleId} onSubmit={submit}>
      <Heading id={titleId}>{title}</Heading>
      {children}
      <ProblemNotice problem={error} onDismiss={onDismissError} />
      <div className="actions">
        <button type="submit" className={primary ? 'primary' : undefined} disabled={pending || disabled}>
          {submitLabel}
        </button>
        {actions}
      </div>
    </form>
  );
}

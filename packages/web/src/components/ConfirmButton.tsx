import { useState, type ReactNode } from 'react';

/**
 * A destructive action in two clicks: the first asks, in place, the second does it.
 * No window.confirm: it cannot be styled, and screen readers announce it poorly.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
  pending,
  danger = true,
  accessibleName,
  title,
}: {
  label: string;
  /** A fuller name for screen readers when several rows share the visible label. */
  accessibleName?: string;
  /** Why the button is disabled, when it is. */
  title?: string;
  question: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown> | void;
  disabled?: boolean;
  pending?: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className={danger ? 'danger-outline' : ''} aria-label={accessibleName} title={title} disabled={disabled || pending} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={accessibleName ?? label}>
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className={danger ? 'danger' : 'primary'}
        disabled={pending}
        onClick={async () => {
          await onConfirm();
          setAsking(false);
        }}
      >
        {confirmLabel ?? `Yes, ${label.toLowerCase()}`}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

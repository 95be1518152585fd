import { useId, useRef, useState } from 'react';

/** A read-only value with a button that copies it, for links and secrets shown once. */
export function CopyField({ label, value, hint }: { label: string; value: string; hint?: string }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);

  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // No clipboard access (an insecure origin, or refused): select the text for Ctrl+C.
      input.current?.select();
      setCopied('select');
    }
  }

  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input id={id} ref={input} readOnly value={value} onFocus={(e) => e.currentTarget.select()} className="mono" />
        <button type="button" onClick={() => void copy()}>
          Copy {label.toLowerCase()}
        </button>
      </div>
      {hint && <p className="hint">{hint}</p>}
      <p className="hint" role="status" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'select' ? 'Selected: press Ctrl+C (⌘C) to copy.' : ''}
      </p>
    </div>
  );
}

import type { ProblemError } from '../api/client.ts';

/** Shows what the server said was wrong: its detail, and each field it named. */
export function ProblemNotice({ problem, onDismiss }: { problem: ProblemError | null; onDismiss?: () => void }) {
  if (!problem) return null;
  const fieldProblems = problem.errors.filter((e) => !problem.detail.includes(`${e.field}: ${e.message}`));
  return (
    <div className={`notice notice-error${problem.status === 403 ? ' notice-denied' : ''}`} role="alert">
      <p className="notice-title">{problem.title}</p>
      <p>{problem.detail}</p>
      {fieldProblems.length > 0 && (
        <ul>
          {fieldProblems.map((e) => (
            <li key={`${e.field}:${e.message}`}>
              {e.field}: {e.message}
            </li>
          ))}
        </ul>
      )}
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

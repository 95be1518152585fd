import { useState } from 'react';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { AuditVerification } from '../../types.ts';

/** Recomputes the hash chain and the signed checkpoints on the server, and says what it found. */
export function VerifyChain() {
  const { api } = useSession();
  const [result, setResult] = useState<AuditVerification | null>(null);
  const verify = useAction(async () => {
    setResult(null);
    setResult(await api.get('/api/audit/verify'));
  });
  return (
    <div className="verify">
      <button type="button" disabled={verify.pending} onClick={() => void verify.run()}>
        {verify.pending ? 'Verifying…' : 'Verify chain'}
      </button>
      <div role="status" aria-live="polite" className="verify-result">
        {result?.ok && (
          <p className="notice notice-success">
            <strong>Audit log intact.</strong> {result.events} events and {result.checkpoints} signed checkpoint{result.checkpoints === 1 ? '' : 's'} verified, up to event #
            {result.headSeq}.
          </p>
        )}
      </div>
      {result && !result.ok && (
        <div className="notice notice-error" role="alert">
          <p className="notice-title">Audit log broken</p>
          <p>
            {result.problem ? `At event #${result.problem.seq}: ${result.problem.reason}` : 'The chain does not verify.'} Checked {result.events} events and {result.checkpoints}{' '}
            checkpoints.
          </p>
        </div>
      )}
      <ProblemNotice problem={verify.error} />
    </div>
  );
}

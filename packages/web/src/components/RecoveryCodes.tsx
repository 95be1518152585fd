import { CopyField } from './CopyField.tsx';

/** Recovery codes, shown once right after MFA enrolment. */
export function RecoveryCodes({ codes }: { codes: string[] }) {
  const download = `data:text/plain;charset=utf-8,${encodeURIComponent(`Flowgate recovery codes\n\n${codes.join('\n')}\n`)}`;
  return (
    <section className="notice notice-success" aria-labelledby="recovery-title">
      <h3 id="recovery-title">Your recovery codes</h3>
      <p>
        Each code signs you in once if you lose your phone. <strong>They are shown only now:</strong> store them in your password manager or print them.
      </p>
      <ol className="recovery-codes mono" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ol>
      <CopyField label="Codes" value={codes.join(' ')} />
      <a className="button" href={download} download="flowgate-recovery-codes.txt">
        Download as a text file
      </a>
    </section>
  );
}

import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { MfaSection } from './MfaSection.tsx';
import { PasswordSection } from './PasswordSection.tsx';
import { SessionsSection } from './SessionsSection.tsx';
import { TokensSection } from './TokensSection.tsx';

export function AccountPage() {
  usePageTitle('Account');
  const { api } = useSession();
  const account = useResource(() => api.get('/api/account'), 'account');

  return (
    <>
      <h1>Your account</h1>
      {account.loading && !account.data && <Loading what="your account" />}
      <ProblemNotice problem={account.error} />
      {account.data && (
        <>
          <section aria-labelledby="profile-title">
            <h2 id="profile-title">Profile</h2>
            <dl className="facts card">
              <dt>Name</dt>
              <dd>{account.data.user.name}</dd>
              <dt>Email</dt>
              <dd>{account.data.user.email}</dd>
              <dt>Platform role</dt>
              <dd>{account.data.user.platformRole}</dd>
              <dt>Account created</dt>
              <dd>{formatDateTime(account.data.user.createdAt)}</dd>
            </dl>
          </section>
          <PasswordSection />
          <MfaSection account={account.data} onChanged={account.reload} />
          <SessionsSection />
          <TokensSection />
        </>
      )}
    </>
  );
}

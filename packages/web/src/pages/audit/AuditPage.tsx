import { Link, useParams } from 'react-router';
import { usePageTitle } from '../../components/Layout.tsx';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { AuditLogView } from './AuditLogView.tsx';

/** The whole platform's audit log (platform admins). */
export function PlatformAuditPage() {
  usePageTitle('Audit log');
  return (
    <>
      <h1>Audit log</h1>
      <p className="muted">Every sign-in, change and refusal on the platform, in a tamper-evident hash chain.</p>
      <AuditLogView scope={{ kind: 'platform' }} />
    </>
  );
}

/** One team's audit trail (owners and auditors of the team). */
export function TeamAuditPage() {
  const { teamId = '' } = useParams();
  const { api, session } = useSession();
  const known = session?.teams?.find((t) => t.id === teamId)?.name;
  // A compliance lead or auditor reads the trail of a team they are not in: its name is asked for.
  const asked = useResource(() => (known ? Promise.resolve(null) : api.get('/api/teams/{teamId}', { path: { teamId } })), `${teamId}:${known ?? ''}`);
  const teamName = known ?? asked.data?.name ?? 'Team';
  usePageTitle(`${teamName} audit trail`);
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${teamId}`}>{teamName}</Link> <span aria-hidden="true">/</span>{' '}
        <span aria-current="page">Audit trail</span>
      </nav>
      <h1>Audit trail of {teamName}</h1>
      <AuditLogView scope={{ kind: 'team', teamId }} />
    </>
  );
}

import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { usePageTitle } from '../../components/Layout.tsx';
import { useTeamAccess } from '../../team-access.ts';
import { DevicesSection } from './DevicesSection.tsx';
import { GroupsSection } from './GroupsSection.tsx';
import { ProvisioningSection } from './ProvisioningSection.tsx';
import { SitesSection } from './SitesSection.tsx';

/** A team's fleet: its sites (plants), device groups, and the tokens that let devices join. */
export function FleetPage() {
  const { teamId = '' } = useParams();
  const access = useTeamAccess(teamId);
  usePageTitle(`Fleet · ${access.teamName ?? 'Team'}`);
  // A new or deleted site or group changes what a token can be bound to; Refresh reloads it all.
  const [revision, setRevision] = useState(0);
  const changed = () => setRevision((r) => r + 1);

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${teamId}`}>{access.teamName ?? 'Team'}</Link>{' '}
        <span aria-hidden="true">/</span> <span aria-current="page">Fleet</span>
      </nav>
      <div className="page-head">
        <h1>Fleet</h1>
        {access.role && <span className={`badge badge-role-${access.role}`}>you: {access.role}</span>}
      </div>
      <p className="muted">
        The plants where this team's edge devices run, the groups that get the same application and rollouts, and the tokens that let a new device join.
      </p>
      <DevicesSection teamId={teamId} mayWrite={access.allowed('fleet:write')} mayRevoke={access.allowed('fleet:provision')} revision={revision} onRefresh={changed} />
      <SitesSection teamId={teamId} mayWrite={access.allowed('fleet:write')} onChanged={changed} />
      <GroupsSection teamId={teamId} mayWrite={access.allowed('fleet:write')} onChanged={changed} />
      <ProvisioningSection teamId={teamId} mayProvision={access.allowed('fleet:provision')} revision={revision} />
    </>
  );
}

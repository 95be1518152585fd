import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import { useTeamAccess } from '../../team-access.ts';
import { AlertsSection } from './AlertsSection.tsx';
import { DevicesSection } from './DevicesSection.tsx';
import { loadFleet } from './fleet-data.ts';
import { GroupsSection } from './GroupsSection.tsx';
import { ProvisioningSection } from './ProvisioningSection.tsx';
import { RolloutsSection } from './RolloutsSection.tsx';
import { SitesSection } from './SitesSection.tsx';

/**
 * A team's fleet, in the order a newcomer needs it: sites (plants), the tokens that let devices
 * join, the devices, then groups, rollouts and the offline alerts (a notice at the top when a
 * device is in alert).
 */
export function FleetPage() {
  const { teamId = '' } = useParams();
  const { api } = useSession();
  const access = useTeamAccess(teamId);
  usePageTitle(`Fleet · ${access.teamName ?? 'Team'}`);
  // The sections share one load: a change in one (a new site, a spent token) shows in the others.
  const [revision, setRevision] = useState(0);
  const reload = () => setRevision((r) => r + 1);
  const fleet = useResource(() => loadFleet(api, teamId), `${teamId}:${revision}`);

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teams">Teams</Link> <span aria-hidden="true">/</span> <Link to={`/teams/${teamId}`}>{access.teamName ?? 'Team'}</Link> <span aria-hidden="true">/</span>{' '}
        <span aria-current="page">Fleet</span>
      </nav>
      <div className="page-head">
        <h1>Fleet</h1>
        {access.role && <span className={`badge badge-role-${access.role}`}>you: {access.role}</span>}
      </div>
      <p className="muted">
        Where this team's edge devices run: add a site (a plant), make a provisioning token for it, and start the agent on the device with that token. Groups get the same
        application and rollouts.
      </p>
      {fleet.loading && !fleet.data && <Loading what="the fleet" />}
      <ProblemNotice problem={fleet.error} />
      {fleet.data && (
        <>
          {fleet.data.alerts.length > 0 && (
            <p className="notice notice-error" role="status">
              {fleet.data.alerts.length === 1 ? 'A device is' : `${fleet.data.alerts.length} devices are`} offline longer than the team allows:{' '}
              <a href="#alerts-title">see Offline alerts</a>.
            </p>
          )}
          <SitesSection teamId={teamId} sites={fleet.data.sites} mayWrite={access.allowed('fleet:write')} onChanged={reload} />
          <ProvisioningSection teamId={teamId} fleet={fleet.data} mayProvision={access.allowed('fleet:provision')} onChanged={reload} />
          <DevicesSection teamId={teamId} fleet={fleet.data} revision={revision} loading={fleet.loading} mayRevoke={access.allowed('fleet:provision')} onChanged={reload} />
          <GroupsSection teamId={teamId} groups={fleet.data.groups} mayWrite={access.allowed('fleet:write')} mayDeploy={access.allowed('fleet:deploy')} onChanged={reload} />
          <RolloutsSection teamId={teamId} fleet={fleet.data} mayDeploy={access.allowed('fleet:deploy')} />
          <AlertsSection
            key={`${fleet.data.settings.offlineAlertMinutes}:${fleet.data.settings.alertWebhookUrl}`}
            teamId={teamId}
            fleet={fleet.data}
            mayConfigure={access.allowed('fleet:provision')}
            onChanged={reload}
          />
        </>
      )}
    </>
  );
}

import type { ApiClient } from '../../api/client.ts';
import { useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { Application, DeviceGroup, FleetSettings, OfflineAlert, ProvisioningToken, Rollout, Site } from '../../types.ts';

/** What the fleet page's sections share, loaded once for all of them (the device list loads its own pages). */
export interface FleetData {
  sites: Site[];
  groups: DeviceGroup[];
  tokens: ProvisioningToken[];
  applications: Application[];
  rollouts: Rollout[];
  settings: FleetSettings;
  alerts: OfflineAlert[];
}

export async function loadFleet(api: ApiClient, teamId: string): Promise<FleetData> {
  const team = { path: { teamId } };
  const [sites, groups, tokens, applications, rollouts, settings, alerts] = await Promise.all([
    api.get('/api/teams/{teamId}/sites', team),
    api.get('/api/teams/{teamId}/device-groups', team),
    api.get('/api/teams/{teamId}/provisioning-tokens', team),
    api.get('/api/teams/{teamId}/applications', team),
    api.get('/api/teams/{teamId}/rollouts', team),
    api.get('/api/teams/{teamId}/fleet-settings', team),
    api.get('/api/teams/{teamId}/offline-alerts', team),
  ]);
  return { sites, groups, tokens, applications, rollouts, settings, alerts };
}

/** The name of what an id points at: null for no id, "deleted" for one that is gone. */
export function nameOf(list: ReadonlyArray<{ id: string; name: string }>, id: string | null): string | null {
  return id ? (list.find((x) => x.id === id)?.name ?? 'deleted') : null;
}

/** A team's sites and groups, for pages that name them (a device's, a rollout's); null until the team is known. */
export function useTeamPlaces(teamId: string) {
  const { api } = useSession();
  return useResource(
    async () =>
      teamId ? { sites: await api.get('/api/teams/{teamId}/sites', { path: { teamId } }), groups: await api.get('/api/teams/{teamId}/device-groups', { path: { teamId } }) } : null,
    teamId,
  );
}

import type { ApiClient } from '../../api.ts';
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
  const team = `/api/teams/${encodeURIComponent(teamId)}`;
  const [sites, groups, tokens, applications, rollouts, settings, alerts] = await Promise.all([
    api.get<Site[]>(`${team}/sites`),
    api.get<DeviceGroup[]>(`${team}/device-groups`),
    api.get<ProvisioningToken[]>(`${team}/provisioning-tokens`),
    api.get<Application[]>(`${team}/applications`),
    api.get<Rollout[]>(`${team}/rollouts`),
    api.get<FleetSettings>(`${team}/fleet-settings`),
    api.get<OfflineAlert[]>(`${team}/offline-alerts`),
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
    async () => (teamId ? { sites: await api.get<Site[]>(`/api/teams/${teamId}/sites`), groups: await api.get<DeviceGroup[]>(`/api/teams/${teamId}/device-groups`) } : null),
    teamId,
  );
}

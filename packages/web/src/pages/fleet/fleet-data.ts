import type { ApiClient } from '../../api.ts';
import type { Application, Device, DeviceGroup, ProvisioningToken, Site } from '../../types.ts';

/** Everything the fleet page shows, loaded once for all its sections. */
export interface FleetData {
  devices: Device[];
  sites: Site[];
  groups: DeviceGroup[];
  tokens: ProvisioningToken[];
  applications: Application[];
}

export async function loadFleet(api: ApiClient, teamId: string): Promise<FleetData> {
  const team = `/api/teams/${encodeURIComponent(teamId)}`;
  const [devices, sites, groups, tokens, applications] = await Promise.all([
    api.get<Device[]>(`${team}/devices`),
    api.get<Site[]>(`${team}/sites`),
    api.get<DeviceGroup[]>(`${team}/device-groups`),
    api.get<ProvisioningToken[]>(`${team}/provisioning-tokens`),
    api.get<Application[]>(`${team}/applications`),
  ]);
  return { devices, sites, groups, tokens, applications };
}

/** The name of what an id points at: null for no id, "deleted" for one that is gone. */
export function nameOf(list: ReadonlyArray<{ id: string; name: string }>, id: string | null): string | null {
  return id ? (list.find((x) => x.id === id)?.name ?? 'deleted') : null;
}

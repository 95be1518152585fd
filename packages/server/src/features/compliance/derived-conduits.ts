import { AGENT_API_ROOT, DEVICE_API_ROOT, MQTT_PATH, TUNNEL_PATH } from '@flowgate/protocol';
import type { Config } from '../../config.ts';
import type { ConduitsTable, ZoneMembersTable, ZonesTable } from '../../db/schema.ts';

/** The far end of a conduit Flowgate itself opens: the platform, or the people's browsers. */
export const PLATFORM_END = 'Flowgate platform';
export const BROWSERS_END = "People's browsers";

/**
 * A conduit that exists because Flowgate runs things in a zone: never typed by anyone, derived
 * from the platform's configuration and the SuC's zones each time it is read, so it cannot go
 * stale. `fromZoneId` null with `fromLabel` set: an end outside the SuC (the browsers).
 */
export interface DerivedConduit {
  key: string;
  name: string;
  fromZoneId: string | null;
  fromLabel: string;
  toLabel: string;
  protocols: string;
  ports: string;
  direction: ConduitsTable['direction'];
  initiator: ConduitsTable['initiator'];
  crossing: string;
}

function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
}

/**
 * Flowgate's own conduits for a SuC: devices ↔ platform (MQTT over WebSocket, HTTPS, the editor
 * tunnel) for each zone holding devices, hosted instances ↔ platform for each zone holding
 * instances, and the browsers ↔ platform. "from" is always the zone side, "to" the platform.
 */
export function derivedConduits(
  config: Pick<Config, 'publicUrl' | 'mqttPort' | 'externalMqtt' | 'instanceRuntime'>,
  zones: readonly ZonesTable[],
  zoneMembers: readonly ZoneMembersTable[],
): DerivedConduit[] {
  const platform = new URL(config.publicUrl);
  const web = platform.protocol === 'https:' ? 'HTTPS' : 'HTTP (no TLS: set an https public URL)';
  const ws = platform.protocol === 'https:' ? 'WebSocket over TLS (wss)' : 'WebSocket (ws, no TLS)';
  const port = `${portOf(platform)}/tcp`;
  const conduits: DerivedConduit[] = [
    {
      key: 'browsers',
      name: 'Browsers ↔ platform',
      fromZoneId: null,
      fromLabel: BROWSERS_END,
      toLabel: PLATFORM_END,
      protocols: `${web}; instances' editors and endpoints on their own origins`,
      ports: port,
      direction: 'both',
      initiator: 'from',
      crossing: 'Sign-in, the web UI and API calls, Node-RED editors and flow endpoints through the platform',
    },
  ];
  const kindsIn = (zoneId: string) => new Set(zoneMembers.filter((m) => m.zone_id === zoneId).map((m) => m.kind));
  for (const zone of zones) {
    const kinds = kindsIn(zone.id);
    if (kinds.has('device')) {
      const mqtt = config.externalMqtt
        ? { protocols: 'MQTT (external broker)', ports: `${portOf(new URL(config.externalMqtt.deviceUrl ?? config.externalMqtt.url))}/tcp` }
        : {
            protocols: `MQTT over ${ws} at ${MQTT_PATH}${config.mqttPort !== null ? '; MQTT over TCP' : ''}`,
            ports: config.mqttPort !== null ? `${port}, ${config.mqttPort}/tcp` : port,
          };
      conduits.push(
        {
          key: `device-mqtt:${zone.id}`,
          name: `${zone.name}: devices ↔ platform, MQTT`,
          fromZoneId: zone.id,
          fromLabel: zone.name,
          toLabel: PLATFORM_END,
          ...mqtt,
          direction: 'both',
          initiator: 'from',
          crossing: "Presence (last will) up; a notice that the device's desired state changed down. No flows, no data.",
        },
        {
          key: `device-https:${zone.id}`,
          name: `${zone.name}: devices ↔ platform, HTTPS`,
          fromZoneId: zone.id,
          fromLabel: zone.name,
          toLabel: PLATFORM_END,
          protocols: `${web} at ${DEVICE_API_ROOT}`,
          ports: port,
          direction: 'both',
          initiator: 'from',
          crossing: 'Desired state and snapshots (flows) down; status, logs and Node-RED audit events up',
        },
        {
          key: `device-tunnel:${zone.id}`,
          name: `${zone.name}: devices ↔ platform, editor tunnel`,
          fromZoneId: zone.id,
          fromLabel: zone.name,
          toLabel: PLATFORM_END,
          protocols: `${ws} at ${TUNNEL_PATH}, opened on demand`,
          ports: port,
          direction: 'both',
          initiator: 'from',
          crossing: "The read-only Node-RED editor's requests to the device's own Node-RED, while someone uses it",
        },
      );
    }
    if (kinds.has('instance')) {
      conduits.push({
        key: `instance-agent:${zone.id}`,
        name: `${zone.name}: hosted instances ↔ platform`,
        fromZoneId: zone.id,
        fromLabel: zone.name,
        toLabel: PLATFORM_END,
        protocols:
          config.instanceRuntime === 'kubernetes'
            ? `HTTP long poll at ${AGENT_API_ROOT} over the cluster network; the platform proxies to Node-RED in the Pod`
            : `HTTP long poll at ${AGENT_API_ROOT} on loopback; the platform proxies to Node-RED on loopback`,
        ports: 'platform port and each instance port, loopback or Pod network',
        direction: 'both',
        initiator: 'either',
        crossing: "Desired state and snapshots down, status, logs and audit up (agent's call); editor and endpoint requests (platform's call)",
      });
    }
  }
  return conduits;
}

import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { DevicesTable } from '../../db/schema.ts';
import { createPresence, desiredPayload, desiredTopic, statusTopic, TOPIC_ROOT, type DeviceBroker } from './device-broker.ts';

/**
 * An external Mosquitto instead of the embedded broker (FLOWGATE_MQTT_URL). The platform
 * signs in as an account of Mosquitto's dynamic-security plugin with the right to manage
 * it, and keeps one broker account per device there: user name the device id, password
 * its credential, and a role of its own that may publish only its status topic and
 * subscribe only to its desired topic. The platform learns a device's credential only
 * when the device presents it (it keeps a hash), so the account is made the first time
 * the device signs in over HTTPS in this process (`admit`; the agent does so before it
 * connects to MQTT) and deleted when the device is revoked, which also disconnects it.
 *
 * What the embedded broker audits itself (a refused sign-in or topic) the external broker
 * refuses in its own log: the platform does not see those attempts.
 */

const CONTROL = '$CONTROL/dynamic-security/v1';
const COMMAND_TIMEOUT_MS = 10_000;
export const PLATFORM_ROLE = 'flowgate-platform';
const deviceRole = (deviceId: string) => `flowgate-device-${deviceId}`;

type Command = Record<string, unknown> & { command: string };
type Response = { command: string; error?: string; correlationData?: string; data?: unknown };

export interface ExternalBrokerOptions {
  /** mqtt:// or mqtts://, where the platform connects. */
  url: string;
  username: string;
  password: string;
  /** Where devices are told to connect; the platform's own URL when not set. */
  deviceUrl: string | null;
  now(): Date;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Sends dynamic-security commands and waits for their answers, matched by correlation data. */
function dynamicSecurity(client: MqttClient) {
  const waiting = new Map<string, { resolve: (response: Response) => void; reject: (error: Error) => void }>();
  client.on('message', (topic, payload) => {
    if (topic !== `${CONTROL}/response`) return;
    let responses: Response[] = [];
    try {
      responses = (JSON.parse(payload.toString()) as { responses?: Response[] }).responses ?? [];
    } catch {
      return;
    }
    for (const response of responses) {
      if (response.correlationData) waiting.get(response.correlationData)?.resolve(response);
    }
  });
  return {
    async run(command: Command): Promise<Response> {
      const correlationData = randomUUID();
      const answer = new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(
          () => settle(new Error(`Mosquitto did not answer ${command.command} within ${COMMAND_TIMEOUT_MS / 1000} s: is its dynamic-security plugin loaded?`)),
          COMMAND_TIMEOUT_MS,
        );
        const settle = (outcome: Response | Error) => {
          clearTimeout(timer);
          waiting.delete(correlationData);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
        waiting.set(correlationData, { resolve: settle, reject: settle });
      });
      const [, response] = await Promise.all([client.publishAsync(CONTROL, JSON.stringify({ commands: [{ ...command, correlationData }] }), { qos: 1 }), answer]);
      return response;
    },
    /** Commands still waiting fail now: the platform is closing. */
    abandon(): void {
      for (const { reject } of [...waiting.values()]) reject(new Error('the platform is closing'));
    },
  };
}

const alreadyThere = (response: Response) => /already exists/i.test(response.error ?? '');

export async function connectExternalBroker(options: ExternalBrokerOptions): Promise<DeviceBroker> {
  const client = mqtt.connect(options.url, {
    username: options.username,
    password: options.password,
    clientId: `flowgate-platform-${randomUUID().slice(0, 8)}`,
    clean: true,
    reconnectPeriod: 2000,
    connectTimeout: 15_000,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (error) => reject(new Error(`the MQTT broker at ${options.url} refused the platform: ${error.message}`)));
  }).catch(async (error: unknown) => {
    await client.endAsync(true);
    throw error;
  });
  client.on('error', (error) => options.log.warn({ err: error }, 'external MQTT broker'));
  const control = dynamicSecurity(client);
  const run = control.run;
  await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });

  // The platform's own rights: tell devices of a change, hear their presence.
  const role = await run({
    command: 'createRole',
    rolename: PLATFORM_ROLE,
    acls: [
      { acltype: 'publishClientSend', topic: `${TOPIC_ROOT}/+/desired`, allow: true },
      { acltype: 'subscribePattern', topic: `${TOPIC_ROOT}/+/status`, allow: true },
      { acltype: 'publishClientReceive', topic: `${TOPIC_ROOT}/+/status`, allow: true },
    ],
  });
  if (role.error && !alreadyThere(role)) throw new Error(`Mosquitto refused the platform's role: ${role.error}`);
  const self = await run({ command: 'getClient', username: options.username });
  const roles = (self.data as { client?: { roles?: Array<{ rolename: string }> } } | undefined)?.client?.roles ?? [];
  if (!roles.some((r) => r.rolename === PLATFORM_ROLE)) {
    // Mosquitto disconnects a client whose roles change, this one too: the answer may be lost, the reconnect says it is done.
    const reconnected = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const grant = await Promise.race([run({ command: 'addClientRole', username: options.username, rolename: PLATFORM_ROLE }), reconnected.then(() => null)]);
    if (grant?.error && !alreadyThere(grant)) throw new Error(`Mosquitto refused to give the platform its role: ${grant.error}`);
  }
  // Devices are kept to their own topics by their roles only if nothing else is allowed by default.
  const defaults = await run({ command: 'getDefaultACLAccess' });
  const permissive = ((defaults.data as { acls?: Array<{ acltype: string; allow: boolean }> } | undefined)?.acls ?? []).filter(
    (a) => a.allow && (a.acltype === 'publishClientSend' || a.acltype === 'subscribe'),
  );
  if (permissive.length)
    options.log.error(
      { permissive },
      "Mosquitto allows publishing or subscribing by default: devices could use each other's topics. Set its default ACL access to deny for publishClientSend and subscribe.",
    );

  const presence = createPresence(options.now);
  client.on('message', (topic, payload) => presence.fromStatus(topic, payload));
  await client.subscribeAsync(`${TOPIC_ROOT}/+/status`, { qos: 1 });

  /** Devices with a broker account made or confirmed in this process, or being made. */
  const admitted = new Map<string, Promise<void>>();
  async function makeAccount(deviceId: string, credential: string): Promise<void> {
    const made = await run({
      command: 'createRole',
      rolename: deviceRole(deviceId),
      acls: [
        { acltype: 'publishClientSend', topic: statusTopic(deviceId), allow: true },
        { acltype: 'subscribeLiteral', topic: desiredTopic(deviceId), allow: true },
        { acltype: 'publishClientReceive', topic: desiredTopic(deviceId), allow: true },
      ],
    });
    if (made.error && !alreadyThere(made)) throw new Error(made.error);
    const account = await run({ command: 'createClient', username: deviceId, password: credential, roles: [{ rolename: deviceRole(deviceId) }] });
    if (account.error && !alreadyThere(account)) throw new Error(account.error);
  }

  options.log.info({ url: options.url }, 'using the external MQTT broker for devices');
  return {
    deviceUrl: options.deviceUrl ?? options.url,
    presence: presence.get,

    notifyDesired(deviceId: string): void {
      client.publish(desiredTopic(deviceId), desiredPayload(options.now()), { qos: 1 });
    },

    admit(device: DevicesTable, credential: string): void {
      if (admitted.has(device.id)) return;
      const making = makeAccount(device.id, credential).catch((error: unknown) => {
        // Tried again at the device's next request.
        admitted.delete(device.id);
        options.log.error({ err: error, deviceId: device.id }, "could not make the device's account on the MQTT broker");
      });
      admitted.set(device.id, making);
    },

    disconnect(deviceId: string): void {
      admitted.delete(deviceId);
      void (async () => {
        // Deleting the account disconnects the device, and it cannot sign in again.
        const removed = await run({ command: 'deleteClient', username: deviceId });
        if (removed.error) throw new Error(removed.error);
        await run({ command: 'deleteRole', rolename: deviceRole(deviceId) });
      })().catch((error: unknown) => options.log.error({ err: error, deviceId }, "could not remove the revoked device's account on the MQTT broker"));
    },

    // Devices reach the external broker directly.
    attach: () => undefined,
    listenTcp: () => Promise.reject(new Error('FLOWGATE_MQTT_PORT is for the embedded broker; with FLOWGATE_MQTT_URL devices connect to that broker')),

    async close(): Promise<void> {
      control.abandon();
      await client.endAsync();
    },
  };
}

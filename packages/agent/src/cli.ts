import readline from 'node:readline';
import { DEVICE_USAGE, loadDeviceConfig, loadDeviceIdentity, mqttUrlOf, provisionDevice, readsTokenFromStdin, type DeviceConfig } from './device.ts';
import { AGENT_USAGE, AgentConfigError, agentVersion, loadAgentConfig, startAgent } from './index.ts';
import { bundledNodeRed } from './node-red-installations.ts';

function fail(message: string): never {
  process.stderr.write(`flowgate-agent: ${message}\n\n${AGENT_USAGE}\n${DEVICE_USAGE}`);
  process.exit(2);
}

function writeLine(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} ${msg}\n`);
}

/**
 * On a device: register once with a provisioning token, then run as that device until
 * stopped. A refused credential does not stop it: Node-RED keeps running (pollDesiredState).
 */
async function runDevice(config: DeviceConfig): Promise<void> {
  let identity = loadDeviceIdentity(config.dir);
  if (identity && config.provisionToken) {
    writeLine('warn', `already registered as device ${identity.deviceId}: the provisioning token is not used (remove ${config.dir}/device.json to register again)`);
  }
  if (!identity) {
    try {
      identity = await provisionDevice(config, { agent: agentVersion(), nodeRed: bundledNodeRed().version });
    } catch (err) {
      writeLine('error', (err as Error).message);
      process.exit(1);
    }
    writeLine('info', `registered as device ${identity.deviceId} (team ${identity.teamId}, site ${identity.siteId}); credential kept in ${config.dir}/device.json`);
  }
  writeLine('info', `device ${identity.deviceId} checking in with ${config.platformUrl}`);
  const mqttUrl = mqttUrlOf(config, identity);
  const agent = startAgent({
    platformUrl: config.platformUrl,
    token: identity.credential,
    dir: config.dir,
    protocol: 'device',
    nodeRedPort: config.nodeRedPort,
    mqtt: mqttUrl ? { url: mqttUrl, deviceId: identity.deviceId } : null,
    ...(config.checkInSeconds ? { statusIntervalMs: config.checkInSeconds * 1000 } : {}),
  });
  const shutdown = () => {
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`flowgate-agent: stopping failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/** A hosted instance's agent, spawned by the server: runs until SIGTERM or SIGINT, then stops Node-RED and flushes what it owes the platform. */
function runInstance(): void {
  let config;
  try {
    config = loadAgentConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof AgentConfigError)) throw err;
    fail(err.message);
  }
  const agent = startAgent(config);
  const shutdown = () => {
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`flowgate-agent: stopping failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/**
 * `--token-file -`: the token on standard input. Piped, all of it; at a terminal, one line
 * after a prompt (pasted there, it is in neither `ps` nor the shell's history).
 */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const answer = await new Promise<string>((resolve) => rl.question('Provisioning token (fgp_...): ', resolve));
    rl.close();
    return answer;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${DEVICE_USAGE}\n${AGENT_USAGE}`);
    process.exit(0);
  }
  const stdin = readsTokenFromStdin(argv) ? await readStdin() : null;
  let device: DeviceConfig | null;
  try {
    device = loadDeviceConfig(argv, process.env, process.cwd(), {
      ...(stdin === null ? {} : { stdin: () => stdin }),
      warn: (message) => process.stderr.write(`flowgate-agent: ${message}\n`),
    });
  } catch (err) {
    if (!(err instanceof AgentConfigError)) throw err;
    fail(err.message);
  }
  if (device) void runDevice(device);
  else runInstance();
}

void main();

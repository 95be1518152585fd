/**
 * Stopping the platform: what `npm start` runs (`node packages/server/dist/cli.mjs start`,
 * the bundle, built here first) with 10 hosted instances running the real Node-RED through
 * their agents, and 100 devices connected with real credentials, each holding a long poll
 * for its desired state and an MQTT connection over WebSocket (the agent's default, on
 * the platform's HTTP port). Then SIGTERM: the time to exit, its exit code, and whether any
 * Node-RED or agent outlived it. Three stops, each after a start on the same data directory
 * (the instances resume by themselves, the devices connect again).
 *
 *   node --import tsx bench/stop.ts
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { until } from '../packages/server/test/harness.ts';
import { browser, fmt, line, machineNote, startBuiltPlatform, withCleanup, type BuiltPlatform } from './lib.ts';

/** The platform, ten Node-RED and a hundred devices start on a loaded machine: longer than a test waits. */
const waitUpTo90s = <T>(what: string, probe: Parameters<typeof until<T>>[1]) => until(what, probe, { timeoutMs: 90_000 });

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INSTANCES = 10;
const DEVICES = 100;
const RUNS = Number(process.env.FLOWGATE_BENCH_STOP_RUNS ?? 3);
const TARGET_S = 5;
const ADMIN = { email: 'ops@plant.example', name: 'Olga Ops', password: 'quiet copper valley morning' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The processes working in the data directory: Node-RED (its working directory is its user directory) and the agents (their environment names it). */
function processesIn(dir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        if (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) return false;
        return fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir) || fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

type Device = { deviceId: string; credential: string };

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-bench-stop-'));
const instancesDir = path.join(dataDir, 'instances');
let server: ChildProcess | null = null;
const clients: MqttClient[] = [];

async function startPlatform(port: number): Promise<BuiltPlatform> {
  // A hundred devices register from one address: above the sign-in rate limit (20 a minute).
  const platform = await startBuiltPlatform({ dataDir, port, env: { FLOWGATE_LOGIN_RATE_LIMIT: '1000' } });
  server = platform.child;
  return platform;
}

/** A device as its agent holds it: an MQTT connection over WebSocket, and a long poll for its desired state, asked again when answered. */
function connectDevice(base: string, device: Device, stopped: { value: boolean }): Promise<void> {
  const auth = { authorization: `Bearer ${device.credential}` };
  const poll = async (): Promise<void> => {
    let generation: number | undefined;
    while (!stopped.value) {
      try {
        const response = await fetch(`${base}/api/fleet/v1/desired${generation === undefined ? '' : `?generation=${generation}&wait=30`}`, { headers: auth });
        if (!response.ok) return;
        generation = ((await response.json()) as { generation: number }).generation;
      } catch {
        return;
      }
    }
  };
  void poll();
  const client = mqtt.connect(`${base.replace('http:', 'ws:')}/api/fleet/v1/mqtt`, {
    username: device.deviceId,
    password: device.credential,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
  });
  clients.push(client);
  client.on('error', () => {});
  return new Promise(
    (resolve, reject) => (client.once('connect', () => resolve()), client.once('close', () => reject(new Error(`device ${device.deviceId}: MQTT closed before it connected`)))),
  );
}

await withCleanup(
  async () => {
    for (const client of clients) client.end(true);
    if (server && server.exitCode === null) server.kill('SIGKILL');
    for (const pid of processesIn(dataDir)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  },
  async () => {
    execFileSync(process.execPath, ['scripts/build-server.mjs'], { cwd: ROOT, stdio: 'inherit' });
    line(
      `stop: ${machineNote()}; ${INSTANCES} hosted instances (real Node-RED), ${DEVICES} devices each holding a long poll and an MQTT connection over WebSocket; the bundle as npm start runs it`,
    );

    // Set up once: the first admin, a team, ten instances, a hundred registered devices.
    let port = await freePort();
    let platform = await startPlatform(port);
    let base = `http://127.0.0.1:${port}`;
    const link = await waitUpTo90s('the setup link', () => /\/setup\?token=(\S+)/.exec(platform.output())?.[1]);
    const setUp = browser(base);
    await setUp('POST', '/api/setup', { token: link, ...ADMIN });
    const teamId = (await setUp<{ id: string }>('POST', '/api/teams', { name: 'Packaging' })).id;
    const applicationId = (await setUp<{ id: string }>('POST', `/api/teams/${teamId}/applications`, { name: 'Line gateways' })).id;
    const [nodeRedVersion] = await setUp<string[]>('GET', '/api/node-red-versions');
    for (let i = 1; i <= INSTANCES; i++) await setUp('POST', `/api/applications/${applicationId}/instances`, { name: `line-${i}`, nodeRedVersion });
    const siteId = (await setUp<{ id: string }>('POST', `/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).id;
    const { token } = await setUp<{ token: string }>('POST', `/api/teams/${teamId}/provisioning-tokens`, { siteId });
    const devices: Device[] = [];
    for (let i = 1; i <= DEVICES; i++) {
      const response = await fetch(`${base}/api/fleet/v1/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name: `gw-${i}`, agentVersion: '0.1.0' }),
      });
      if (response.status !== 201) throw new Error(`registering device ${i}: ${response.status} ${await response.text()}`);
      devices.push((await response.json()) as Device);
    }

    const seconds: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      if (run > 1) {
        port = await freePort();
        platform = await startPlatform(port);
        base = `http://127.0.0.1:${port}`;
      }
      const as = browser(base);
      await as('POST', '/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
      const startedAt = performance.now();
      let statuses: string[] = [];
      await waitUpTo90s(`${INSTANCES} instances running`, async () => {
        const { instances } = await as<{ instances: Array<{ status: string; statusDetail: string | null }> }>('GET', `/api/applications/${applicationId}`);
        statuses = instances.map((i) => (i.statusDetail ? `${i.status}: ${i.statusDetail}` : i.status));
        return instances.filter((i) => i.status === 'running').length === INSTANCES;
      }).catch((error: Error) => {
        throw new Error(`${error.message} (${statuses.join(', ')}):\n${platform.output()}`);
      });
      const nodeRedCount = processesIn(instancesDir).length;
      const stopped = { value: false };
      await Promise.all(devices.map((device) => connectDevice(base, device, stopped)));
      // The long polls are held on the server now.
      await new Promise((r) => setTimeout(r, 1000));
      line(
        `stop run ${run}: ${INSTANCES} instances running after ${fmt((performance.now() - startedAt) / 1000, 1)} s (${nodeRedCount} agent and Node-RED processes), ${DEVICES} devices connected`,
      );

      const signalled = performance.now();
      platform.child.kill('SIGTERM');
      const code = await Promise.race([platform.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 60_000))]);
      const took = (performance.now() - signalled) / 1000;
      stopped.value = true;
      for (const client of clients.splice(0)) client.end(true);
      if (code === 'still running') throw new Error(`still running 60 s after SIGTERM:\n${platform.output()}`);
      const left = processesIn(instancesDir);
      seconds.push(took);
      line(
        `stop run ${run}: exited ${code} ${fmt(took, 2)} s after SIGTERM; ${left.length} of its processes left — target <= ${TARGET_S} s: ${took <= TARGET_S && left.length === 0 && code === 0 ? 'MET' : 'MISSED'}`,
      );
      for (const pid of left) process.kill(pid, 'SIGKILL');
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    line(`stop: ${sorted.map((s) => fmt(s, 2)).join(', ')} s to exit after SIGTERM over ${RUNS} runs (median ${fmt(sorted[Math.floor(RUNS / 2)]!, 2)} s)`);
  },
);

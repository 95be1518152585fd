/**
 * A fleet at scale: DEVICES protocol-level devices (bench/support/device-sim.mjs, in a
 * process of its own, no Node-RED) against one platform on SQLite in this process. Each
 * device holds an MQTT connection to the embedded broker (plain TCP here) to hear of
 * changes, or with FLOWGATE_BENCH_TRANSPORT=long-poll an HTTP long poll instead, and
 * checks in over HTTP every HEARTBEAT_S seconds.
 * Then one snapshot is rolled out to all of them in waves of WAVE_PERCENT %, each wave
 * gated on the health of the one before (HEALTH_S seconds of running it).
 * Reports: time to connect all, time for the rollout to reach 100 %, platform RSS and CPU,
 * and the p99 heartbeat (check-in) latency as the devices saw it.
 *
 *   npm run bench -- fleet-rollout    (FLOWGATE_BENCH_DEVICES=2000 for a smaller fleet)
 * The platform runs with the heap cap `npm start` gives it (docs/fleet.md, "Memory").
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { LISTEN_BACKLOG } from '../packages/server/src/features/fleet/device-broker.ts';
import { setupAdmin, startTestApp } from '../packages/server/test/harness.ts';
import { fmt, line, machineNote } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEVICES = Number(process.env.FLOWGATE_BENCH_DEVICES ?? 10_000);
const TRANSPORT = process.env.FLOWGATE_BENCH_TRANSPORT === 'long-poll' ? 'long-poll' : 'mqtt';
const HEARTBEAT_S = 60;
const WAVE_PERCENT = 20;
const HEALTH_S = 5;
const TARGET_ROLLOUT_S = 60;
const TARGET_RSS_MB = 500;

line(`fleet-rollout: ${machineNote()}`);
const t = await startTestApp('sqlite', { FLOWGATE_LOG_LEVEL: 'warn', FLOWGATE_LOGIN_RATE_LIMIT: '1000000' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-bench-'));
let sim: ReturnType<typeof spawn> | null = null;
try {
  await t.app.listen({ host: '127.0.0.1', port: 0, backlog: LISTEN_BACKLOG });
  // Ten thousand long polls stay open, each for up to 25 s: no idle timeout may cut them first.
  t.app.server.keepAliveTimeout = 120_000;
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const owner = await setupAdmin(t);
  const teamId = (await owner.post('/api/teams', { name: 'Bench' })).json().id;
  const siteIds = [];
  for (const name of ['Plant Aachen', 'Plant Bremen', 'Plant Celle', 'Plant Dresden'])
    siteIds.push((await owner.post(`/api/teams/${teamId}/sites`, { name, timeZone: 'Europe/Berlin' })).json().id as string);
  const groupId = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'All fillers' })).json().id;
  const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Filler control' })).json().id;
  const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0];
  // Stopped: the bench measures the fleet, not a hosted Node-RED.
  const instanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'dev', nodeRedVersion })).json().id;
  await owner.post(`/api/instances/${instanceId}/stop`);
  const flows = [{ id: 't1', type: 'tab', label: 'Filler' }, ...Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, type: 'inject', z: 't1', name: `tick ${i}`, wires: [] }))];
  const snapshot = (await owner.post(`/api/instances/${instanceId}/snapshots`, { name: 'v2', flows })).json();

  const tokens = [];
  for (const siteId of siteIds) tokens.push((await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, groupId, expiresInHours: 720 })).json().token as string);
  const registering = performance.now();
  const credentials: Array<{ id: string; credential: string }> = [];
  for (let i = 0; i < DEVICES; i++) {
    const r = await owner.post('/api/fleet/v1/register', {
      token: tokens[i % tokens.length],
      name: `filler-${String(i).padStart(5, '0')}`,
      agentVersion: '0.1.0',
      nodeRedVersion: '4.1.8',
    });
    if (r.statusCode !== 201) throw new Error(`registration ${i}: ${r.statusCode} ${r.body}`);
    credentials.push({ id: r.json().deviceId as string, credential: r.json().credential as string });
  }
  line(`fleet-rollout setup: ${fmt(DEVICES)} devices registered in ${((performance.now() - registering) / 1000).toFixed(1)} s over 4 sites (not part of the figures below)`);
  const credentialsFile = path.join(dir, 'credentials.json');
  fs.writeFileSync(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  const mqttArgs = TRANSPORT === 'mqtt' ? [`mqtt://127.0.0.1:${await t.context.broker.listenTcp('127.0.0.1', 0)}`] : [];

  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  sim = spawn(process.execPath, ['--max-old-space-size=2048', path.join(ROOT, 'bench/support/device-sim.mjs'), base, credentialsFile, String(HEARTBEAT_S), ...mqttArgs], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events = readline.createInterface({ input: sim.stdout! });
  const waiters: Array<(e: Record<string, unknown>) => boolean> = [];
  events.on('line', (text) => {
    const event = JSON.parse(text) as Record<string, unknown>;
    for (const w of [...waiters]) if (w(event)) waiters.splice(waiters.indexOf(w), 1);
  });
  const next = (kind: string, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${kind}" from the simulator within ${timeoutMs / 1000} s`)), timeoutMs);
      waiters.push((e) => (e.event === kind ? (clearTimeout(timer), resolve(e), true) : false));
    });
  const stats = async () => {
    const answer = next('stats', 30_000);
    sim!.stdin!.write('stats\n');
    return answer;
  };

  await next('connected', 300_000);
  const connectSeconds = (performance.now() - wallBefore) / 1000;
  const rssConnected = process.memoryUsage().rss / 1024 / 1024;
  const heapConnected = process.memoryUsage().heapUsed / 1024 / 1024;

  const rolloutStarted = performance.now();
  const rollout = await owner.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: snapshot.id, batchPercent: WAVE_PERCENT, healthSeconds: HEALTH_S, maxFailures: 0 });
  if (rollout.statusCode !== 201) throw new Error(`rollout: ${rollout.statusCode} ${rollout.body}`);
  let state = 'running';
  let peakRss = rssConnected;
  // When each wave started, seconds from the rollout's start: where the time goes.
  const waveStarts: string[] = [];
  while (state === 'running') {
    await new Promise((r) => setTimeout(r, 250));
    const seen = (await owner.get(`/api/rollouts/${rollout.json().id}`)).json().rollout;
    state = seen.state;
    if (seen.currentWave > waveStarts.length) waveStarts.push(((performance.now() - rolloutStarted) / 1000).toFixed(1));
    peakRss = Math.max(peakRss, process.memoryUsage().rss / 1024 / 1024);
    if (performance.now() - rolloutStarted > 600_000) throw new Error('the rollout did not finish in 10 minutes');
  }
  const rolloutSeconds = (performance.now() - rolloutStarted) / 1000;
  if (state !== 'completed') throw new Error(`the rollout ended ${state}: ${JSON.stringify((await owner.get(`/api/rollouts/${rollout.json().id}`)).json())}`);
  // Twenty seconds more of heartbeats alone, for their latency once the rollout is over.
  await new Promise((r) => setTimeout(r, 20_000));
  const s = await stats();
  const cpu = process.cpuUsage(cpuBefore);
  const wall = performance.now() - wallBefore;
  peakRss = Math.max(peakRss, process.memoryUsage().rss / 1024 / 1024);
  line(
    `fleet-rollout: ${fmt(DEVICES)} devices connected (${TRANSPORT === 'mqtt' ? 'MQTT over TCP' : 'HTTP long poll'} each) in ${connectSeconds.toFixed(1)} s; rollout to 100 % in ${rolloutSeconds.toFixed(1)} s ` +
      `(waves of ${WAVE_PERCENT} %, each healthy after ${HEALTH_S} s, ${fmt(Number(s.applied))} snapshots downloaded and hash-checked, ${s.refusedHash} refused, ${s.errors} errors${Number(s.errors) ? ` (most: ${JSON.stringify(s.errorKinds)})` : ''}); ` +
      `waves started at ${waveStarts.join(', ')} s; platform RSS ${fmt(rssConnected)} MB connected (heap ${fmt(heapConnected)} MB in use, capped at ${fmt(v8.getHeapStatistics().heap_size_limit / 1024 / 1024)} MB), peak ${fmt(peakRss)} MB; platform CPU ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)} % of a core over ${(wall / 1000).toFixed(0)} s; ` +
      `heartbeat (check-in) latency once all are connected, through the rollout: p50 ${Number(s.p50).toFixed(1)} ms, p99 ${Number(s.p99).toFixed(1)} ms over ${fmt(Number(s.heartbeats))} heartbeats ` +
      `(during the connect storm: p99 ${Number(s.stormP99 ?? 0).toFixed(0)} ms over ${fmt(Number(s.stormHeartbeats))}) — ` +
      `targets: rollout <= ${TARGET_ROLLOUT_S} s ${rolloutSeconds <= TARGET_ROLLOUT_S ? 'MET' : 'MISSED'}, RSS <= ${TARGET_RSS_MB} MB ${peakRss <= TARGET_RSS_MB ? 'MET' : 'MISSED'}`,
  );
} finally {
  sim?.kill('SIGKILL');
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

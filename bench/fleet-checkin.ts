/**
 * Device check-ins over HTTP under load: 1,000 devices registered through the API, then
 * autocannon (in a process of its own) sends check-ins with 50 connections for 10 s, each
 * request with the next device's credential. The platform runs in this process on SQLite;
 * its CPU and memory are read around the load.
 *
 *   node --import tsx bench/fleet-checkin.ts
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setupAdmin, startTestApp } from '../packages/server/test/harness.ts';
import { fmt, line, machineNote } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEVICES = 1000;
const CONNECTIONS = 50;
const SECONDS = 10;
const TARGET_RATE = 2500;
const TARGET_P99_MS = 50;

line(`fleet-checkin: ${machineNote()}`);
const t = await startTestApp('sqlite', { FLOWGATE_LOG_LEVEL: 'warn', FLOWGATE_LOGIN_RATE_LIMIT: '1000000' });
const credentialsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-bench-')), 'credentials.json');
try {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const owner = await setupAdmin(t);
  const teamId = (await owner.post('/api/teams', { name: 'Bench' })).json().id;
  const siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant', timeZone: 'UTC' })).json().id;
  const { token } = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, expiresInHours: 720 })).json();
  const started = performance.now();
  const credentials: string[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const r = await owner.post('/api/fleet/v1/register', { token, name: `gw-${i}`, agentVersion: '0.1.0', nodeRedVersion: '4.1.8' });
    if (r.statusCode !== 201) throw new Error(`registration ${i}: ${r.statusCode} ${r.body}`);
    credentials.push(r.json().credential as string);
  }
  line(`fleet-checkin setup: ${fmt(DEVICES)} devices registered in ${((performance.now() - started) / 1000).toFixed(1)} s (not part of the figures below)`);
  fs.writeFileSync(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });

  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bench/support/checkin-load.mjs'), base, credentialsFile, String(CONNECTIONS), String(SECONDS)], {
    cwd: ROOT,
  });
  const cpu = process.cpuUsage(cpuBefore);
  const wall = performance.now() - wallBefore;
  const r = JSON.parse(stdout) as { requestsPerSecond: number; total: number; p50: number; p99: number; errors: number; timeouts: number; non2xx: number };
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`check-ins failed: ${JSON.stringify(r)}`);
  const flushed = await t.context.fleet.flushPresence();
  const rssMb = process.memoryUsage().rss / 1024 / 1024;
  line(
    `fleet-checkin HTTP: ${fmt(r.requestsPerSecond)} check-ins/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${fmt(r.total)} check-ins of ${fmt(DEVICES)} devices, ${CONNECTIONS} connections, ${SECONDS} s, autocannon in its own process, SQLite; ` +
      `platform CPU ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)} % of a core, RSS ${fmt(rssMb)} MB; one flush wrote ${fmt(flushed)} last-seen times) — ` +
      `targets >= ${fmt(TARGET_RATE)}/s: ${r.requestsPerSecond >= TARGET_RATE ? 'MET' : 'MISSED'}, p99 <= ${TARGET_P99_MS} ms: ${r.p99 <= TARGET_P99_MS ? 'MET' : 'MISSED'}`,
  );
} finally {
  await t.close();
  fs.rmSync(path.dirname(credentialsFile), { recursive: true, force: true });
}

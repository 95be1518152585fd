/**
 * Hosted instances, on the real platform, agent and Node-RED:
 *  - create-to-running: from POST .../instances to the instance reporting `running`
 *    (agent spawned, Node-RED started, health-checked), 3 instances one after another;
 *  - editor proxy overhead: latency of GET /flows and of a full deploy (POST /flows), through
 *    the platform's proxy and straight to Node-RED on loopback with the same token, 50 each,
 *    with 21 nodes deployed and with 301.
 *
 *   npm run bench -- instance
 */
import type { AddressInfo } from 'node:net';
import { fmt, line, machineNote, percentile } from './lib.ts';
import { Client, setupAdmin, startTestApp } from '../packages/server/test/harness.ts';

const CREATE_TARGET_MS = 3000;
const PROXY_TARGET = 0.1;
const RUNS = 50;

async function until(probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const flows = (n: number) => [
  { id: 'tab1', type: 'tab', label: 'Bench' },
  ...Array.from({ length: n }, (_, i) => ({ id: `inj${i}`, type: 'inject', z: 'tab1', name: `n${i}`, topic: `t${i}`, payload: String(i), payloadType: 'num', repeat: '', x: 100, y: 40 + i * 40, wires: [] })),
];

line(`instance: ${machineNote()}`);
const t = await startTestApp('sqlite', { FLOWGATE_LOG_LEVEL: 'warn' });
try {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const admin: Client = await setupAdmin(t);
  const teamId = (await admin.post('/api/teams', { name: 'Bench' })).json().id;
  const appId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Bench' })).json().id;
  const [version] = (await admin.get('/api/node-red-versions')).json() as string[];

  const times: number[] = [];
  let instanceId = '';
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    instanceId = (await admin.post(`/api/applications/${appId}/instances`, { name: `bench-${i}`, nodeRedVersion: version })).json().id;
    await until(async () => (await admin.get(`/api/instances/${instanceId}`)).json().status === 'running');
    times.push(performance.now() - started);
  }
  const createP50 = percentile([...times].sort((a, b) => a - b), 50);
  line(`instance create-to-running: ${times.map((ms) => fmt(ms)).join(', ')} ms (p50 ${fmt(createP50)} ms; Node-RED ${version}, empty flows) — target <= ${fmt(CREATE_TARGET_MS)} ms: ${createP50 <= CREATE_TARGET_MS ? 'MET' : 'MISSED'}`);

  // The editor's token, as the editor gets it from the platform, used both ways.
  const cookie = admin.cookie!;
  const opened = await fetch(`${base}/instances/${instanceId}/editor/`, { headers: { cookie }, redirect: 'manual' });
  const token = /access_token=([^&]+)/.exec(opened.headers.get('location') ?? '')![1]!;
  const port = t.context.runtime.port(instanceId)!;
  const via = { proxy: `${base}/instances/${instanceId}/editor/flows`, direct: `http://127.0.0.1:${port}/instances/${instanceId}/editor/flows` };
  const headers = { authorization: `Bearer ${token}`, cookie, 'node-red-api-version': 'v1' };

  async function once(url: string, init: RequestInit): Promise<number> {
    const started = performance.now();
    const r = await fetch(url, init);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return performance.now() - started;
  }
  // A small flow, and one of the size a plant's application reaches (the 300 nodes of the
  // snapshot target): the proxy's cost is the same for both, Node-RED's own grows.
  for (const size of [20, 300]) {
    const deploy = { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flows(size)) };
    await once(via.direct, deploy);
    for (const [what, init] of [
      [`GET /flows (${size + 1} nodes deployed)`, { headers }],
      [`deploy (POST /flows, ${size + 1} nodes, full)`, deploy],
    ] as const) {
      // Alternating, request by request, so that load and Node-RED's own drift fall on both alike.
      const direct: number[] = [];
      const proxied: number[] = [];
      for (let i = 0; i < RUNS + 5; i++) {
        const d = await once(via.direct, init as RequestInit);
        const p = await once(via.proxy, init as RequestInit);
        if (i >= 5) {
          direct.push(d);
          proxied.push(p);
        }
      }
      const dP50 = percentile(direct.sort((a, b) => a - b), 50);
      const pP50 = percentile(proxied.sort((a, b) => a - b), 50);
      const overhead = (pP50 - dP50) / dP50;
      line(`editor proxy ${what}: direct p50 ${fmt(dP50, 2)} ms, through the platform p50 ${fmt(pP50, 2)} ms, overhead ${fmt(pP50 - dP50, 2)} ms = ${fmt(overhead * 100, 1)} % (${RUNS} requests each, alternating) — target <= ${PROXY_TARGET * 100} %: ${overhead <= PROXY_TARGET ? 'MET' : 'MISSED'}`);
    }
  }

  // For scale: what the platform costs on its own, without Node-RED behind it. The proxy
  // pays the signed-in request's price, then a second HTTP hop and the streamed body.
  for (const [what, url, init] of [
    ['GET /api/health (public: routing, hooks, headers)', `${base}/api/health`, {}],
    ['GET /api/instances/:id (session, team role, one query)', `${base}/api/instances/${instanceId}`, { headers: { cookie } }],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < RUNS + 5; i++) {
      const ms = await once(url, init as RequestInit);
      if (i >= 5) times.push(ms);
    }
    line(`platform alone ${what}: p50 ${fmt(percentile(times.sort((a, b) => a - b), 50), 2)} ms (${RUNS} requests, the same in-process fetch client; for scale)`);
  }
} finally {
  await t.close();
}

/**
 * Hosted instances, on the real platform, agent and Node-RED:
 *  - create-to-running: from POST .../instances to the instance reporting `running`
 *    (agent spawned, Node-RED started, health-checked), 3 instances one after another;
 *  - a snapshot by hand of a 300-node flow through the API, the whole request;
 *  - editor proxy overhead: latency of GET /flows and of a full deploy (POST /flows), through
 *    the platform's proxy and straight to Node-RED on loopback with the same token, 50 each,
 *    with 21 nodes deployed and with 301, from a client process of its own (as a browser is);
 *    beside them, for scale, two proxies that do nothing else (a TCP pipe, node:http).
 *
 *   npm run bench -- instance   (FLOWGATE_INSTANCE_SANDBOX=none for the instances without their sandbox)
 */
import { fork, type Serializable } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { fmt, line, machineNote, percentile } from './lib.ts';
import { makeFlow } from '../packages/core/src/test-fixtures/flows.ts';
import { Client, setupAdmin, startTestApp } from '../packages/server/test/harness.ts';

const CREATE_TARGET_MS = 3000;
const SNAPSHOT_TARGET_MS = 10;
const PROXY_TARGET = 0.1;
/** GETs are cheap and their figures small: many, for a steady median. Deploys each wait for the one before. */
const GET_RUNS = 300;
const RUNS = 50;

async function until(probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `n` inject nodes on a tab whose label the editor client changes at every deploy. */
const flows = (n: number) => [
  { id: 'tab1', type: 'tab', label: 'Bench __DEPLOY__' },
  ...Array.from({ length: n }, (_, i) => ({
    id: `inj${i}`,
    type: 'inject',
    z: 'tab1',
    name: `n${i}`,
    topic: `t${i}`,
    payload: String(i),
    payloadType: 'num',
    repeat: '',
    x: 100,
    y: 40 + i * 40,
    wires: [],
  })),
];

// With each instance in its sandbox (the default), or as run before it: FLOWGATE_INSTANCE_SANDBOX=none npm run bench -- instance.
const sandbox = process.env.FLOWGATE_INSTANCE_SANDBOX ?? 'bubblewrap';
line(`instance: ${machineNote()}; sandbox ${sandbox}`);
const t = await startTestApp('sqlite', { FLOWGATE_LOG_LEVEL: 'warn', FLOWGATE_INSTANCE_SANDBOX: sandbox });
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
  const createP50 = percentile(
    [...times].sort((a, b) => a - b),
    50,
  );
  line(
    `instance create-to-running: ${times.map((ms) => fmt(ms)).join(', ')} ms (p50 ${fmt(createP50)} ms; Node-RED ${version}, empty flows) — target <= ${fmt(CREATE_TARGET_MS)} ms: ${createP50 <= CREATE_TARGET_MS ? 'MET' : 'MISSED'}`,
  );

  // A snapshot by hand of a 300-node flow, whole: validate the flows, hash, store, audit, answer.
  const plant = makeFlow(300, 7);
  const snapshotTimes: number[] = [];
  for (let i = 0; i < 25; i++) {
    const started = performance.now();
    const made = await admin.post(`/api/instances/${instanceId}/snapshots`, { name: `bench ${i}`, flows: plant });
    if (made.statusCode !== 201) throw new Error(`snapshot: ${made.statusCode} ${made.body}`);
    if (i >= 5) snapshotTimes.push(performance.now() - started);
  }
  const snapshotP50 = percentile(
    snapshotTimes.sort((a, b) => a - b),
    50,
  );
  line(
    `snapshot by hand of a ${plant.length}-node flow through the API (validate, hash, store, audit; app.inject, no socket): p50 ${fmt(snapshotP50, 2)} ms of 20 — target <= ${SNAPSHOT_TARGET_MS} ms: ${snapshotP50 <= SNAPSHOT_TARGET_MS ? 'MET' : 'MISSED'}`,
  );

  // The editor's token, as the editor gets it from the platform, used both ways; the editor
  // is on the instance's own origin, signed in there through the platform's one-time code.
  const there = await admin.onInstance(instanceId, 'editor');
  const cookie = there.cookie!;
  const instanceBase = `http://${instanceId}.localhost:${new URL(base).port}`;
  const opened = await there.get(`/instances/${instanceId}/editor/`);
  const token = /access_token=([^&]+)/.exec(String(opened.headers.location))![1]!;
  const port = t.context.runtime.port(instanceId)!;
  const headers = { authorization: `Bearer ${token}`, cookie, 'node-red-api-version': 'v1' };

  // For scale, two proxies in the platform's process that do nothing but proxy, to the same
  // Node-RED: a TCP pipe (the price of the hop alone) and node:http with keep-alive (the price
  // of reading and writing each request and answer again, which any HTTP proxy pays).
  const pipe = net.createServer((socket) => {
    const toNodeRed = net.connect(port, '127.0.0.1');
    socket.pipe(toNodeRed).pipe(socket);
    toNodeRed.on('error', () => socket.destroy());
    socket.on('error', () => toNodeRed.destroy());
  });
  const keepAlive = new http.Agent({ keepAlive: true });
  const bare = http.createServer((request, response) => {
    const forwarded = http.request({ host: '127.0.0.1', port, path: request.url, method: request.method, headers: request.headers, agent: keepAlive }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    request.pipe(forwarded);
  });
  const portOf = async (server: net.Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const flowsPath = `/instances/${instanceId}/editor/flows`;
  const targets = {
    direct: `http://127.0.0.1:${port}${flowsPath}`,
    platform: `${instanceBase}${flowsPath}`,
    tcp: `http://127.0.0.1:${await portOf(pipe)}${flowsPath}`,
    http: `http://127.0.0.1:${await portOf(bare)}${flowsPath}`,
  };

  /** After a deploy: the agent records it as a snapshot, which then becomes what runs. */
  let running = (await admin.get(`/api/instances/${instanceId}`)).json().runningSnapshotId as string | null;
  async function settled(): Promise<void> {
    await until(async () => {
      const now = (await admin.get(`/api/instances/${instanceId}`)).json().runningSnapshotId as string | null;
      if (now === running) return false;
      running = now;
      return true;
    });
    await new Promise((r) => setTimeout(r, 100));
  }

  type Times = Record<string, number[]>;
  function client(job: Serializable): Promise<Record<string, Times>> {
    return new Promise((resolve, reject) => {
      const child = fork(fileURLToPath(new URL('./support/editor-client.mjs', import.meta.url)), { stdio: 'inherit' });
      child.on('message', (m: { ready?: true; settle?: true; results?: Record<string, Times> }) => {
        if (m.ready) child.send(job);
        else if (m.settle) settled().then(() => child.send({ settled: true }), reject);
        else if (m.results) resolve(m.results);
      });
      child.on('exit', (code) => code === 0 || reject(new Error(`the editor client exited with ${code}`)));
    });
  }

  // A small flow, and one of the size a plant's application reaches (the 300 nodes of the
  // snapshot target): the proxy's cost is the same for both, Node-RED's own grows.
  const signed = (ms: number) => `${ms < 0 ? '' : '+'}${fmt(ms, 2)}`;
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  for (const size of [20, 300]) {
    const deploy = { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flows(size)) };
    const first = await fetch(targets.direct, { ...deploy, body: deploy.body.replace('__DEPLOY__', `${size}`) });
    if (!first.ok) throw new Error(`deploy: ${first.status}`);
    await settled();
    const results = await client({
      warmup: 5,
      cases: [
        { name: `GET /flows (${size + 1} nodes deployed)`, runs: GET_RUNS, init: { headers }, settle: false, targets },
        { name: `deploy (POST /flows, ${size + 1} nodes, full; each after the platform recorded the one before)`, runs: RUNS, init: deploy, settle: true, targets },
      ],
    });
    for (const [what, times] of Object.entries(results)) {
      const direct = p50(times.direct!);
      const added = (label: keyof typeof targets) => p50(times[label]!) - direct;
      const overhead = added('platform') / direct;
      line(
        `editor proxy ${what}: direct p50 ${fmt(direct, 2)} ms, through the platform p50 ${fmt(p50(times.platform!), 2)} ms, overhead ${fmt(added('platform'), 2)} ms = ${fmt(overhead * 100, 1)} % (${times.direct!.length} requests each, from a client process of its own) — target <= ${PROXY_TARGET * 100} %: ${overhead <= PROXY_TARGET ? 'MET' : 'MISSED'}`,
      );
      line(
        `  for scale, proxies that only proxy: TCP pipe ${signed(added('tcp'))} ms (${fmt((added('tcp') / direct) * 100, 1)} %), node:http keep-alive ${signed(added('http'))} ms (${fmt((added('http') / direct) * 100, 1)} %)`,
      );
    }
  }
  pipe.close();
  bare.close();
  keepAlive.destroy();

  // For scale: what the platform costs on its own, without Node-RED behind it. The proxy
  // pays the signed-in request's price, then a second HTTP hop and the streamed body.
  const alone = await client({
    warmup: 5,
    cases: [
      {
        name: 'alone',
        runs: GET_RUNS,
        init: { headers: { cookie: admin.cookie! } },
        settle: false,
        targets: {
          'GET /api/health (public: routing, hooks, headers)': `${base}/api/health`,
          'GET /api/instances/:id (session, team role, one query)': `${base}/api/instances/${instanceId}`,
        },
      },
    ],
  });
  for (const [what, times] of Object.entries(alone.alone!))
    line(`platform alone ${what}: p50 ${fmt(p50(times), 2)} ms (${times.length} requests, the same client process; for scale)`);
} finally {
  await t.close();
}

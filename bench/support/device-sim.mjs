// The device side of bench/fleet-rollout.ts, in a process of its own: thousands of
// protocol-level agents (no Node-RED). Each device holds a long poll for its desired
// state, checks in every HEARTBEAT_S seconds (the first at a random moment inside that
// period, so heartbeats spread as they would in a real fleet), and when its desired state
// names a new snapshot it downloads it, checks its SHA-256 against the hash it was told,
// and reports it running: what a real agent does, minus Node-RED. With MQTT_URL, each
// device holds an MQTT connection instead of the long poll (the agent's default): it
// hears of a change there and then fetches its desired state.
//   node bench/support/device-sim.mjs URL CREDENTIALS_FILE HEARTBEAT_S [MQTT_URL]
// Reads commands on stdin ("stats"), writes one JSON line per event on stdout.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';

const [base, file, heartbeatText, mqttUrl] = process.argv.slice(2);
const credentials = JSON.parse(fs.readFileSync(file, 'utf8'));
const mqtt = mqttUrl ? (await import('mqtt')).default : null;
const heartbeatMs = Number(heartbeatText) * 1000;
// Connections kept alive, and few enough to stay inside this machine's limit of 20,000
// open files, in this process and the platform's: 5,000 beside each device's MQTT
// connection, or 15,000 when each device holds a long poll open instead.
const agent = new http.Agent({ keepAlive: true, maxSockets: mqttUrl ? 5000 : 15_000 });

const heartbeatLatencies = [];
let connected = 0;
let applied = 0;
let errors = 0;
const errorKinds = new Map();
const failed = (where, err) => {
  errors += 1;
  const kind = `${where}: ${String(err?.message ?? err)
    .replace(/[0-9a-f-]{36}/g, '<id>')
    .slice(0, 80)}`;
  errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
};
let refusedHash = 0;
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
// Heartbeat latency is counted for heartbeats sent once the whole fleet is connected: the
// connect storm itself is reported as the time to connect all, and a heartbeat sent inside
// it is counted with it even when its answer comes after.
const stormLatencies = [];
let connectedAt = Infinity;
function allConnected() {
  connectedAt = performance.now();
  say({ event: 'connected' });
}

function call(credential, method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const request = http.request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${credential}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (response) => {
        const chunks = [];
        response.on('data', (c) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode >= 300) reject(new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 200)}`));
          else resolve(text);
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

function device({ id, credential }) {
  const state = { generation: null, running: null };
  // One check-in at a time, like the real agent's status sender: a report never overtakes a newer one.
  let inFlight = Promise.resolve();
  const checkIn = () => {
    const run = inFlight.then(sendCheckIn);
    inFlight = run.catch(() => undefined);
    return run;
  };
  const sendCheckIn = async () => {
    const started = performance.now();
    await call(credential, 'POST', '/api/fleet/v1/check-in', {
      agentVersion: '0.1.0',
      nodeRedVersion: '4.1.8',
      state: 'running',
      runningSnapshotId: state.running?.id ?? null,
      runningHash: state.running?.hash ?? null,
      error: null,
      cpuPercent: 3,
      memoryMb: 180,
    });
    return performance.now() - started;
  };
  const heartbeat = async () => {
    const sent = performance.now();
    try {
      const ms = await checkIn();
      (sent >= connectedAt ? heartbeatLatencies : stormLatencies).push(ms);
    } catch (err) {
      failed('heartbeat', err);
    }
  };
  const apply = async (desired) => {
    state.generation = desired.generation;
    const target = desired.snapshot;
    if (!target || target.id === state.running?.id) return;
    const text = await call(credential, 'GET', `/api/fleet/v1/snapshots/${target.id}`);
    if (createHash('sha256').update(text).digest('hex') !== target.hash) {
      refusedHash += 1;
      return;
    }
    state.running = target;
    await checkIn();
    applied += 1;
  };
  const poll = async () => {
    let first = true;
    for (;;) {
      try {
        const query = state.generation === null ? '' : `?generation=${state.generation}&wait=25`;
        const desired = JSON.parse(await call(credential, 'GET', `/api/fleet/v1/desired${query}`));
        if (first) {
          first = false;
          connected += 1;
          if (connected === credentials.length) allConnected();
        }
        if (desired.generation !== state.generation) await apply(desired);
      } catch (err) {
        failed('long poll', err);
        await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
      }
    }
  };
  const listen = () => {
    const client = mqtt.connect(mqttUrl, {
      username: id,
      password: credential,
      clientId: `sim-${id}`,
      keepalive: 60,
      reconnectPeriod: 2000 + Math.random() * 3000,
      will: { topic: `flowgate/v1/devices/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: false },
    });
    let first = true;
    let busy = false;
    let again = false;
    const fetchDesired = async () => {
      if (busy) return void (again = true);
      busy = true;
      try {
        do {
          again = false;
          const desired = JSON.parse(await call(credential, 'GET', '/api/fleet/v1/desired'));
          if (desired.generation !== state.generation) await apply(desired);
        } while (again);
      } catch (err) {
        failed('desired', err);
      } finally {
        busy = false;
      }
    };
    client.on('connect', () => {
      client.publish(`flowgate/v1/devices/${id}/status`, 'online', { qos: 1 });
      client.subscribe(`flowgate/v1/devices/${id}/desired`, { qos: 1 }, () => {
        // As the real agent does: on every (re)connect, ask for the desired state once.
        void fetchDesired();
        if (!first) return;
        first = false;
        connected += 1;
        if (connected === credentials.length) allConnected();
      });
    });
    client.on('message', () => void fetchDesired());
    client.on('error', (err) => failed('mqtt', err));
  };
  setTimeout(() => {
    void heartbeat();
    setInterval(() => void heartbeat(), heartbeatMs);
  }, Math.random() * heartbeatMs);
  if (mqtt) listen();
  else void poll();
}

for (const credential of credentials) device(credential);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return;
  const sorted = [...heartbeatLatencies].sort((a, b) => a - b);
  const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);
  const storm = [...stormLatencies].sort((a, b) => a - b);
  say({
    event: 'stats',
    connected,
    applied,
    errors,
    refusedHash,
    heartbeats: sorted.length,
    p50: at(50),
    p99: at(99),
    errorKinds: [...errorKinds].sort((a, b) => b[1] - a[1]).slice(0, 3),
    stormHeartbeats: storm.length,
    stormP99: storm.length ? storm[Math.ceil(0.99 * storm.length) - 1] : null,
  });
});

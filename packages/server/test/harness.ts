import dns from 'node:dns';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type BuiltApp } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database, type Dialect } from '../src/db/database.ts';
import type { Mail, Mailer } from '../src/mailer.ts';
import type { Clock } from '../src/context.ts';
import { sha256Hex } from '../src/security/crypto.ts';

/**
 * Test harness: real databases (a temporary SQLite file, or a fresh schema in the
 * PostgreSQL on 127.0.0.1:5432), the real app built by the composition root, and a
 * client that behaves like a browser (cookie + CSRF header).
 */
export const POSTGRES_URL = process.env.FLOWGATE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  database: Database;
  dataDir: string;
  url: string;
  schema: string | null;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-test-'));
  if (dialect === 'sqlite') {
    const url = `sqlite:${path.join(dataDir, 'flowgate.db')}`;
    const database = await openDatabase(url);
    return {
      database,
      dataDir,
      url,
      schema: null,
      async drop() {
        await database.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const database = await openDatabase(POSTGRES_URL, { schema });
  return {
    database,
    dataDir,
    url: POSTGRES_URL,
    schema,
    async drop() {
      await database.close();
      const again = new pg.Client({ connectionString: POSTGRES_URL });
      await again.connect();
      await again.query(`drop schema ${schema} cascade`);
      await again.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until `probe` answers something (which it returns), asking every `everyMs`; after
 * `timeoutMs` it fails naming what it waited for. For what real processes do in their own time.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  { timeoutMs = 60_000, everyMs = 250 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Resolves `<anything>.localhost` to loopback in this process, as browsers do (Chromium,
 * Firefox) and glibc does not: instances' own origins default to `<id>.localhost`, and
 * tests reach them with fetch and WebSockets as a browser would.
 */
export function resolveLocalhostSubdomains(): void {
  const original = dns.lookup;
  if ((original as { flowgateLocalhost?: true }).flowgateLocalhost) return;
  const patched = function (this: unknown, hostname: string, options: unknown, callback?: unknown) {
    const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    if (/\.localhost\.?$/i.test(hostname)) return all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4);
    return (original as (...args: unknown[]) => unknown).call(this, hostname, options, callback);
  };
  Object.assign(patched, { flowgateLocalhost: true });
  (dns as { lookup: unknown }).lookup = patched;
}

/** A clock the test moves by hand, for timeouts and expiry. */
export function createManualClock(start = new Date()): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A mailer that keeps what it was given, for tests that read the invitation mail. */
export function createMailbox(): Mailer & { sent: Mail[] } {
  const sent: Mail[] = [];
  return {
    delivers: true,
    sent,
    async send(mail) {
      sent.push(mail);
    },
  };
}

export interface TestApp extends BuiltApp {
  db: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

export async function startTestApp(dialect: Dialect, env: Record<string, string> = {}, extra: { mailer?: Mailer; clock?: Clock } = {}): Promise<TestApp> {
  const db = await createTestDatabase(dialect);
  const config = loadConfig({ FLOWGATE_DATA_DIR: db.dataDir, FLOWGATE_LOGIN_RATE_LIMIT: '1000', ...env });
  const built = await buildApp({ config, database: db.database, logger: false, ...extra });
  await built.app.ready();
  const t: TestApp = {
    ...built,
    db,
    config,
    async close() {
      // The app running now: restart() may have replaced the first one.
      await t.app.close();
      await db.drop();
    },
  };
  return t;
}

/**
 * Stops the platform (its server, broker and timers; the database stays) and builds it
 * again on the same database and port, as a restart of `flowgate start` would. `whileDown`
 * runs in between.
 */
export async function restartTestApp(t: TestApp, port: number, whileDown: () => Promise<void> = async () => {}, extra: { clock?: Clock } = {}): Promise<void> {
  await t.app.close();
  await whileDown();
  const built = await buildApp({ config: t.config, database: t.db.database, logger: false, ...extra });
  await built.app.listen({ host: '127.0.0.1', port });
  t.app = built.app;
  t.context = built.context;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A browser-like client: keeps the session cookie and sends the CSRF header on writes. With
 * `host`, it is on that host (an instance's own origin) and keeps that origin's cookie.
 */
export class Client {
  cookie: string | null = null;
  csrf: string | null = null;
  bearer: string | null = null;
  host: string | null = null;

  constructor(readonly built: BuiltApp) {}

  /**
   * The same person on an instance's own origin, signed in there as a browser is: the
   * platform's route (`app`: the endpoints', for anyone who may read the instance; `editor`:
   * the editor's) mints a one-time code, and the instance's origin takes it for its cookie.
   */
  async onInstance(instanceId: string, via: 'app' | 'editor' = 'app'): Promise<Client> {
    const opened = await this.get(`/instances/${instanceId}/${via}`);
    if (opened.statusCode !== 303) throw new Error(`the platform gave no code for the instance's origin: ${opened.statusCode} ${opened.body}`);
    const location = new URL(opened.headers.location as string);
    const there = new Client(this.built);
    there.host = location.host;
    const exchanged = await there.get(location.pathname + location.search);
    if (exchanged.statusCode !== 303 || !there.cookie) throw new Error(`the instance's origin refused the code: ${exchanged.statusCode} ${exchanged.body}`);
    return there;
  }

  async request(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const h: Record<string, string> = { 'user-agent': 'flowgate-test', ...(this.host ? { host: this.host } : {}), ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && method !== 'GET') h['x-csrf-token'] = this.csrf;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    const response = await this.built.app.inject({
      method,
      url,
      headers: h,
      ...(body === undefined ? {} : typeof body === 'string' ? { payload: body, headers: { ...h, 'content-type': 'application/json' } } : { payload: body as object }),
    });
    const setCookie = response.cookies.find((c) => c.name === (this.host ? 'fg_instance' : 'fg_session'));
    if (setCookie) this.cookie = setCookie.value ? `${setCookie.name}=${setCookie.value}` : null;
    const json = response.headers['content-type']?.toString().startsWith('application/json') ? (response.json() as { csrfToken?: string }) : null;
    if (json && typeof json === 'object' && json !== null && 'csrfToken' in json && json.csrfToken) this.csrf = json.csrfToken;
    return response;
  }

  get = (url: string) => this.request('GET', url);
  post = (url: string, body?: unknown) => this.request('POST', url, body ?? {});
  put = (url: string, body?: unknown) => this.request('PUT', url, body ?? {});
  patch = (url: string, body?: unknown) => this.request('PATCH', url, body ?? {});
  delete = (url: string, body?: unknown) => this.request('DELETE', url, body);
}

/**
 * Speaks for an instance's agent, for tests that start none (no port, so the platform spawns
 * no agent): gives the instance a fresh agent token, as a spawn does, and reports through the
 * agent protocol that `snapshotId` runs (or, null, that nothing does).
 */
export async function reportAsAgent(
  t: TestApp,
  instanceId: string,
  state: 'running' | 'starting' | 'crashed' | 'error',
  snapshotId: string | null,
  extra: { nodeRedPort?: number; error?: string } = {},
): Promise<void> {
  const token = `fgi_test_${randomBytes(16).toString('hex')}`;
  await t.db.database.db
    .updateTable('instances')
    .set({ agent_token_hash: sha256Hex(token) })
    .where('id', '=', instanceId)
    .execute();
  const agent = new Client(t);
  agent.bearer = token;
  const response = await agent.post('/api/agent/v1/status', {
    state,
    runningSnapshotId: snapshotId,
    runningHash: null,
    nodeRedPort: extra.nodeRedPort ?? null,
    nodeRedVersion: '4.1.8',
    agentVersion: '0.1.0',
    error: extra.error ?? null,
  });
  if (response.statusCode !== 204) throw new Error(`the agent's status report was refused: ${response.statusCode} ${response.body}`);
}

export const ADMIN = { email: 'admin@plant.example', name: 'Ada Admin', password: 'correct horse battery staple' };

/** Sets the platform up through the setup route and returns the admin's client. */
export async function setupAdmin(t: TestApp): Promise<Client> {
  const client = new Client(t);
  const response = await client.post('/api/setup', { token: t.context.setup.token, ...ADMIN });
  if (response.statusCode !== 201) throw new Error(`setup failed: ${response.statusCode} ${response.body}`);
  return client;
}

/** The password every invited test member chooses. */
export const MEMBER_PASSWORD = 'gentle river quartz lantern 42';

/** Invites a person into a team with a role and returns their signed-in client. */
export async function addMember(t: TestApp, owner: Client, teamId: string, email: string, role: string): Promise<Client> {
  const invited = await owner.post(`/api/teams/${teamId}/invitations`, { email, role });
  if (invited.statusCode !== 201) throw new Error(`invite failed: ${invited.statusCode} ${invited.body}`);
  const link = (invited.json() as { link: string }).link;
  const token = link.split('/invite/')[1]!;
  const client = new Client(t);
  const accepted = await client.post(`/api/invitations/${token}/accept`, { name: 'Member', password: MEMBER_PASSWORD });
  if (accepted.statusCode !== 200) throw new Error(`accept failed: ${accepted.statusCode} ${accepted.body}`);
  // Accepting signs a new account in (one session, as a person has); an existing one signs in here.
  const signIn = (accepted.json() as { signIn?: { status: string; csrfToken: string } | null }).signIn;
  if (signIn?.status === 'signed-in') {
    client.csrf = signIn.csrfToken;
    return client;
  }
  const login = await client.post('/api/auth/login', { email, password: MEMBER_PASSWORD });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
  return client;
}

export type RegisteredDevice = { id: string; credential: string; mqttUrl: string | null };

/**
 * A team with a site, devices registered into it over the device protocol, and a snapshot
 * (of a stopped instance) to target: what the fleet's protocol tests start from.
 */
export async function teamWithDevices(t: TestApp, owner: Client, names: string[]): Promise<{ teamId: string; siteId: string; devices: RegisteredDevice[]; snapshotId: string }> {
  const teamId = (await owner.post('/api/teams', { name: 'Packaging' })).json().id as string;
  const siteId = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Hamburg', timeZone: 'Europe/Berlin' })).json().id as string;
  const devices: RegisteredDevice[] = [];
  for (const name of names) {
    const { token } = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId })).json();
    const r = (await new Client(t).post('/api/fleet/v1/register', { token, name, agentVersion: '0.1.0' })).json();
    devices.push({ id: r.deviceId, credential: r.credential, mqttUrl: r.mqttUrl });
  }
  const applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Gateway' })).json().id;
  const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0];
  const instanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'dev', nodeRedVersion })).json().id;
  await owner.post(`/api/instances/${instanceId}/stop`);
  const snapshotId = (await owner.post(`/api/instances/${instanceId}/snapshots`, { name: 'v1', flows: [{ id: 't1', type: 'tab', label: 'v1' }] })).json().id as string;
  return { teamId, siteId, devices, snapshotId };
}

/** A TCP port free on loopback now (for a server a test starts: the platform, a broker). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Another Node-RED version in the platform's FLOWGATE_NODE_RED_DIR, as `npm install --prefix`
 * would leave it, but whose red.js runs the real Node-RED of this repository: a second real
 * one from the registry takes a minute and the network. `nodeRange` as its engines.node;
 * `runs: false` leaves red.js empty (a version that cannot run here is never started).
 */
export function installNodeRedStandIn(nodeRedDir: string, version: string, options: { nodeRange?: string; runs?: boolean } = {}): void {
  const packageDir = path.join(nodeRedDir, version, 'node_modules', 'node-red');
  fs.mkdirSync(packageDir, { recursive: true });
  fs.writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ name: 'node-red', version, engines: { node: options.nodeRange ?? '>=18.5' } }));
  const realEntry = createRequire(import.meta.url).resolve('node-red/red.js');
  fs.writeFileSync(path.join(packageDir, 'red.js'), options.runs === false ? '' : `require(${JSON.stringify(realEntry)});\n`);
}

/**
 * A palette module in a Node-RED user directory, as npm leaves it, whose node types do
 * nothing: Node-RED loads any package in userDir/node_modules that declares itself a Node-RED
 * module, so a flow using a config node of, say, node-red-contrib-modbus starts without the
 * real package (and its serial-port build) or a registry. The agent reads its version from here.
 */
export function installNodeModuleStandIn(userDir: string, name: string, version: string, types: string[]): void {
  const dir = path.join(userDir, 'node_modules', ...name.split('/'));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version, keywords: ['node-red'], 'node-red': { nodes: { standin: 'standin.js' } } }));
  fs.writeFileSync(
    path.join(dir, 'standin.js'),
    `module.exports = function (RED) {\n${types
      .map((type) => `  RED.nodes.registerType(${JSON.stringify(type)}, function (config) { RED.nodes.createNode(this, config); });\n`)
      .join('')}};\n`,
  );
}

/** Line 3's flows: a plant MQTT broker and the press PLC over Modbus/TCP, and an HTTP endpoint (the inventory's tests, server and browser). */
export const LINE3_FLOWS = [
  { id: 'tab-line3', type: 'tab', label: 'Line 3 press', disabled: false, info: '' },
  {
    id: 'broker',
    type: 'mqtt-broker',
    name: 'Plant broker',
    broker: '127.0.0.1',
    port: '1884',
    clientid: '',
    autoConnect: true,
    usetls: false,
    protocolVersion: '4',
    keepalive: '60',
  },
  {
    id: 'plc',
    type: 'modbus-client',
    name: 'Press PLC',
    clienttype: 'tcp',
    bufferCommands: true,
    tcpHost: '10.0.3.5',
    tcpPort: '502',
    tcpType: 'DEFAULT',
    unit_id: 1,
    clientTimeout: 1000,
  },
  { id: 'read', type: 'modbus-read', z: 'tab-line3', name: 'counters', server: 'plc', x: 120, y: 80, wires: [['pub']] },
  { id: 'pub', type: 'mqtt out', z: 'tab-line3', topic: 'line3/counters', qos: '0', broker: 'broker', x: 320, y: 80, wires: [] },
  { id: 'in', type: 'http in', z: 'tab-line3', url: '/counters', method: 'get', x: 120, y: 160, wires: [['out']] },
  { id: 'out', type: 'http response', z: 'tab-line3', x: 320, y: 160, wires: [] },
];

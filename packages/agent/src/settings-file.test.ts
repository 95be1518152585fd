import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { moduleAllowed } from '@flowgate/core';
import { mintEditorToken, verifyEditorToken } from './editor-token.ts';
import type { EditorTokenPayload } from './editor-token.ts';
import { NODE_RED_SETTINGS_ENV, NODE_RED_SETTINGS_MODULE, nodeRedSettingsValues, renderSettingsValues } from './settings-file.ts';
import type { NodeRedIpcMessage, NodeRedSettingsInput } from './settings-file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-settings-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const input: NodeRedSettingsInput = {
  instanceId: 'inst-1',
  port: 41234,
  safeMode: false,
  settings: {
    credentialSecret: 'secret "with" quotes\n',
    editorTokenKey: randomBytes(32).toString('hex'),
    httpAdminRoot: '/instances/inst-1/editor/',
    httpNodeRoot: '/instances/inst-1/app/',
    endpointKey: null,
    palette: { allow: [], deny: ['node-red-contrib-bad'] },
    nodeRedVersion: null,
  },
};

type LoadedSettings = {
  uiHost: string;
  uiPort: number;
  httpAdminRoot: string;
  httpNodeRoot: string;
  httpNodeAuth: (req: { headers: Record<string, string> }, res: { status(code: number): { send(text: string): void } }, next: () => void) => void;
  credentialSecret: string;
  flowFile: string;
  safeMode: boolean;
  lang: string;
  disableEditor: boolean;
  editorTheme: { page: { title: string }; projects: { enabled: boolean }; tours: boolean; palette: { catalogues: string[] } };
  externalModules: { palette: { allowList: string[]; denyList: string[] }; modules: { allowList: string[]; denyList: string[] } };
  adminAuth: { type: string; users: unknown[]; tokens: (token: string) => Promise<{ username: string; permissions: string } | null> };
  logging: Record<string, { level: string; audit: boolean; handler: unknown }>;
};

let counter = 0;
/** The values file, as the agent writes it before a start. */
function writeSettings(overrides: Partial<NodeRedSettingsInput> = {}): string {
  const file = path.join(dir, `settings-${++counter}.json`);
  fs.writeFileSync(file, renderSettingsValues({ ...input, ...overrides }));
  return file;
}

/** The settings module, loaded as Node-RED loads it: require(), the values file named in the environment. */
function load(overrides: Partial<NodeRedSettingsInput> = {}): LoadedSettings {
  const require = createRequire(import.meta.url);
  process.env[NODE_RED_SETTINGS_ENV] = writeSettings(overrides);
  delete require.cache[NODE_RED_SETTINGS_MODULE];
  try {
    return require(NODE_RED_SETTINGS_MODULE) as LoadedSettings;
  } finally {
    delete process.env[NODE_RED_SETTINGS_ENV];
  }
}

describe('Node-RED settings', () => {
  test('Node-RED loads a static module of the agent; what changes per start is data in a JSON file', () => {
    assert.equal(path.dirname(NODE_RED_SETTINGS_MODULE), path.dirname(new URL(import.meta.url).pathname));
    const values = JSON.parse(fs.readFileSync(writeSettings(), 'utf8')) as unknown;
    assert.deepEqual(values, nodeRedSettingsValues(input));
    assert.deepEqual(Object.keys(values as object).sort(), [
      'credentialSecret',
      'editorTokenKey',
      'endpointKey',
      'host',
      'httpAdminRoot',
      'httpNodeRoot',
      'instanceId',
      'palette',
      'port',
      'safeMode',
    ]);
    // Without the values file named, Node-RED does not start on settings of its own.
    const require = createRequire(import.meta.url);
    delete require.cache[NODE_RED_SETTINGS_MODULE];
    assert.throws(() => require(NODE_RED_SETTINGS_MODULE), /NODE_RED_SETTINGS_VALUES names no file/);
  });

  test("a hosted instance's HTTP-in endpoints need the platform's endpoint key; a device's do not", () => {
    const gate = (settings: LoadedSettings, headers: Record<string, string>) => {
      let status = 0;
      let passed = false;
      const req = { headers: { ...headers } };
      settings.httpNodeAuth(req, { status: (code) => ({ send: () => void (status = code) }) }, () => void (passed = true));
      return { status, passed, forwarded: req.headers };
    };
    const key = 'cd'.repeat(32);
    const hosted = load({ settings: { ...input.settings, endpointKey: key } });
    assert.deepEqual(gate(hosted, {}), { status: 401, passed: false, forwarded: {} });
    assert.deepEqual(gate(hosted, { 'x-flowgate-endpoint-key': 'ab'.repeat(32) }), { status: 401, passed: false, forwarded: {} });
    // Through, and the key goes no further than the gate.
    assert.deepEqual(gate(hosted, { 'x-flowgate-endpoint-key': key, accept: 'text/html' }), { status: 0, passed: true, forwarded: { accept: 'text/html' } });
    assert.equal(gate(load(), {}).passed, true, 'a device (no key) serves the people beside it');
  });

  test('serves under the platform paths, on loopback, with the instance secret, no projects and no tour', () => {
    const settings = load();
    assert.equal(settings.uiHost, '127.0.0.1');
    assert.equal(settings.uiPort, 41234);
    assert.equal(load({ host: '0.0.0.0' }).uiHost, '0.0.0.0', "in a Kubernetes Pod, the Pod's address (FLOWGATE_AGENT_NODE_RED_HOST)");
    assert.equal(settings.httpAdminRoot, '/instances/inst-1/editor/');
    assert.equal(settings.httpNodeRoot, '/instances/inst-1/app/');
    assert.equal(settings.credentialSecret, input.settings.credentialSecret);
    assert.equal(settings.flowFile, 'flows.json');
    assert.equal(settings.disableEditor, false);
    assert.equal(settings.safeMode, false);
    assert.equal(settings.lang, 'en-US');
    assert.equal(settings.editorTheme.projects.enabled, false);
    assert.equal(settings.editorTheme.page.title, 'Flowgate');
    // No welcome tour; the palette's catalogue is the one the settings serve (e2e/editor.test.ts opens the editor).
    assert.equal(settings.editorTheme.tours, false);
    assert.deepEqual(settings.editorTheme.palette.catalogues, ['flowgate-palette-catalogue.json']);
    assert.deepEqual(settings.adminAuth.users, []);
    assert.equal(settings.adminAuth.type, 'credentials');
    assert.equal(settings.logging.flowgate?.audit, true);
    assert.equal(typeof settings.logging.flowgate?.handler, 'function');
  });

  test('palette: an empty allow list allows all; a non-empty one only what it names; safe mode passes through', () => {
    assert.deepEqual(load().externalModules.palette, { allowList: ['*'], denyList: ['node-red-contrib-bad'] });
    // A function node's own modules are held to the same lists: otherwise its Setup tab installs anything.
    assert.deepEqual(load().externalModules.modules, { allowList: ['*'], denyList: ['node-red-contrib-bad'] });
    const listed = load({ settings: { ...input.settings, palette: { allow: ['node-red-dashboard', '@flowgate/*'], deny: [] } }, safeMode: true });
    // Node-RED lets in what no rule matches: the deny-all rule is what makes an allow list one.
    assert.deepEqual(listed.externalModules.palette, { allowList: ['node-red-dashboard', '@flowgate/*'], denyList: ['*'] });
    assert.deepEqual(listed.externalModules.modules, listed.externalModules.palette);
    assert.equal(listed.safeMode, true);
  });

  test("palette: Node-RED's own check on the generated lists decides as the agent's does", () => {
    // The rule the editor's palette applies, from the installed Node-RED.
    const { checkModuleAllowed, parseModuleList } = createRequire(createRequire(import.meta.url).resolve('node-red/package.json'))('@node-red/registry/lib/util.js') as {
      checkModuleAllowed: (name: string, version: string | null, allow: unknown, deny: unknown) => boolean;
      parseModuleList: (list: string[]) => unknown;
    };
    const cases: Array<{ allow: string[]; deny: string[] }> = [
      { allow: [], deny: [] },
      { allow: [], deny: ['node-red-contrib-bad', '@evil/*'] },
      { allow: ['node-red-dashboard', '@flowgate/*'], deny: [] },
      { allow: ['node-red-contrib-*'], deny: ['node-red-contrib-bad', 'node-red-*'] },
    ];
    const names = ['node-red-dashboard', 'node-red-contrib-bad', 'node-red-contrib-modbus', '@flowgate/s7', '@evil/nodes', 'left-pad'];
    for (const lists of cases) {
      const palette = load({ settings: { ...input.settings, palette: lists } }).externalModules.palette;
      for (const name of names) {
        const nodeRed = checkModuleAllowed(name, null, parseModuleList(palette.allowList), parseModuleList(palette.denyList));
        assert.equal(moduleAllowed(name, lists), nodeRed, `${name} with ${JSON.stringify(lists)}`);
      }
    }
  });

  test('adminAuth.tokens accepts what verifyEditorToken accepts, for this instance only', async () => {
    const { adminAuth } = load();
    const key = input.settings.editorTokenKey;
    const now = Math.floor(Date.now() / 1000);
    const base: EditorTokenPayload = { sub: 'u-1', email: 'ada@example.com', name: 'Ada', permissions: '*', iid: 'inst-1', exp: now + 300 };
    const cases: Array<{ token: string; iidMatches: boolean }> = [
      { token: mintEditorToken(key, base), iidMatches: true },
      { token: mintEditorToken(key, { ...base, permissions: 'read' }), iidMatches: true },
      { token: mintEditorToken(key, { ...base, exp: now - 1 }), iidMatches: true },
      { token: mintEditorToken(key, { ...base, iid: 'inst-2' }), iidMatches: false },
      { token: mintEditorToken(randomBytes(32).toString('hex'), base), iidMatches: true },
      { token: mintEditorToken(key, base).slice(0, -2), iidMatches: true },
      { token: mintEditorToken(key, { ...base, permissions: 'write' } as unknown as EditorTokenPayload), iidMatches: true },
      { token: 'garbage', iidMatches: true },
      { token: '', iidMatches: true },
    ];
    for (const { token, iidMatches } of cases) {
      const expected = verifyEditorToken(key, token, Date.now() / 1000);
      const user = await adminAuth.tokens(token);
      if (expected && iidMatches)
        assert.deepEqual(user && { username: user.username, permissions: user.permissions }, { username: expected.email, permissions: expected.permissions });
      else assert.equal(user, null, `token should be refused: ${token.slice(0, 40)}`);
    }
  });

  test('the log handler sends log lines and audit events over IPC; Node-RED stops itself when the agent goes', async () => {
    const settingsFile = writeSettings();
    const script = path.join(dir, 'emit.cjs');
    fs.writeFileSync(
      script,
      `const settings = require(${JSON.stringify(NODE_RED_SETTINGS_MODULE)});
const log = settings.logging.flowgate.handler(settings.logging.flowgate);
log({ level: 40, msg: 'Started flows', timestamp: 1 });
log({ level: 20, msg: new Error('boom'), type: 'function', name: 'calc', timestamp: 2 });
log({ level: 98, event: 'auth.invalid-token', timestamp: 3 });
log({ level: 98, event: 'comms.open', timestamp: 4 });
log({ level: 98, event: 'comms.auth', user: { username: 'ada@example.com', permissions: '*', userId: 'u-1' }, timestamp: 4 });
log({ level: 98, event: 'flows.set', type: 'full', user: { username: 'ada@example.com', permissions: '*', userId: 'u-1' }, path: '/flows', ip: '127.0.0.1', timestamp: 4 });
log({ level: 98, event: 'comms.close', user: { username: 'ada@example.com', permissions: '*', userId: 'u-1' }, session: 'abc', timestamp: 5 });
log({ level: 98, event: 'comms.auth.fail', timestamp: 6 });
settings.adminAuth.tokens('nonsense');
process.send('ready');
setInterval(() => {}, 1000);
`,
    );
    const child = fork(script, [], { execArgv: [], env: { ...process.env, [NODE_RED_SETTINGS_ENV]: settingsFile }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const messages: NodeRedIpcMessage[] = [];
    await new Promise<void>((resolve) => child.on('message', (m) => (m === 'ready' ? resolve() : messages.push(m as NodeRedIpcMessage))));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.disconnect();
    const timeout = setTimeout(() => child.kill('SIGKILL'), 5000);
    assert.equal(await exited, 'SIGTERM');
    clearTimeout(timeout);

    assert.deepEqual(messages[0], { kind: 'log', level: 'info', ts: 1, msg: 'Started flows' });
    assert.equal(messages[1]?.kind, 'log');
    assert.match((messages[1] as { msg: string }).msg, /^\[function:calc\] Error: boom/);
    // Node-RED's own session-token miss is dropped, and so are the editor's WebSocket opening,
    // signing in and closing; a failed sign-in on it and the real refusal come through.
    assert.deepEqual(messages[2], {
      kind: 'audit',
      event: 'flows.set',
      user: 'ada@example.com',
      ts: 4,
      details: { type: 'full', path: '/flows', ip: '127.0.0.1', userId: 'u-1' },
    });
    assert.deepEqual(messages[3], { kind: 'audit', event: 'comms.auth.fail', user: null, ts: 6, details: {} });
    assert.equal(messages[4]?.kind, 'audit');
    assert.deepEqual({ ...(messages[4] as object), ts: 0 }, { kind: 'audit', event: 'auth.invalid-token', user: null, ts: 0, details: { reason: 'malformed' } });
    assert.equal(messages.length, 5);
  });

  test('refuses a port that is not one', () => {
    assert.throws(() => renderSettingsValues({ ...input, port: 0 }), RangeError);
  });
});

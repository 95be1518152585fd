import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveLocalhostSubdomains, setupAdmin, startTestApp, type Client, type TestApp, until } from '../../../test/harness.ts';
import { createSandbox } from './sandbox.ts';

/**
 * A flow is code a team member writes. Here a member's flow, on the real Node-RED, runs a
 * shell through an exec node and tries what an attacker would: read the platform's master
 * key and database, another instance's flows and credentials, the platform's process
 * environment in /proc, and signal the platform's process. In the sandbox each attempt
 * fails; with the sandbox turned off (FLOWGATE_INSTANCE_SANDBOX=none) each succeeds, which
 * is what shows the sandbox is what stops them.
 */
const PROBE_URL = '/probe';
const asRoot = process.getuid?.() === 0;
const LIMITS = { openFiles: 4096, processes: 256 };

/** The member's flow: GET /probe runs the shell script and answers with what it printed. */
function probeFlows(script: string) {
  return [
    { id: 'tabP', type: 'tab', label: 'Probe' },
    { id: 'inP', type: 'http in', z: 'tabP', name: '', url: PROBE_URL, method: 'get', upload: false, swaggerDoc: '', wires: [['execP']] },
    {
      id: 'execP',
      type: 'exec',
      z: 'tabP',
      command: script,
      addpay: '',
      append: '',
      useSpawn: 'false',
      timer: '10',
      winHide: false,
      oldrc: false,
      name: 'probe',
      wires: [['resP'], [], []],
    },
    { id: 'resP', type: 'http response', z: 'tabP', name: '', statusCode: '', headers: {}, wires: [] },
  ];
}

for (const sandbox of ['bubblewrap', 'none'] as const) {
  describe(`a member's flow against the platform, sandbox ${sandbox}`, () => {
    let t: TestApp;
    let admin: Client;
    let base: string;
    let instanceId: string;

    before(async () => {
      resolveLocalhostSubdomains();
      t = await startTestApp('sqlite', { FLOWGATE_INSTANCE_SANDBOX: sandbox });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const address = t.app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      admin = await setupAdmin(t);
      const teamId = (await admin.post('/api/teams', { name: 'Packaging' })).json().id;
      const appId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Line 3' })).json().id;
      const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
      instanceId = (await admin.post(`/api/applications/${appId}/instances`, { name: 'prod', nodeRedVersion: version })).json().id;
    });
    after(() => t.close());

    test(sandbox === 'bubblewrap' ? 'every attempt fails' : 'every attempt succeeds, as it did before the sandbox', async () => {
      // Secrets the flow must not reach: the platform's master key and database, and another instance's files.
      const dataDir = t.config.dataDir;
      const otherInstance = path.join(dataDir, 'instances', 'another-teams-instance');
      fs.mkdirSync(otherInstance, { recursive: true });
      fs.writeFileSync(path.join(otherInstance, 'flows_cred.json'), '{"secret":"another team\'s password"}');
      const targets = [path.join(dataDir, 'master.key'), path.join(dataDir, 'flowgate.db'), path.join(otherInstance, 'flows_cred.json')];
      for (const file of targets) assert.ok(fs.existsSync(file), `${file} exists on the platform`);
      const platformPid = process.pid;
      const script = [
        ...targets.map((file) => `if cat '${file}' >/dev/null 2>&1; then echo "read ${path.basename(file)}"; else echo "no ${path.basename(file)}"; fi`),
        // The platform's environment as it started (PATH is in every one).
        `if grep -qa PATH= /proc/${platformPid}/environ 2>/dev/null; then echo "read environ"; else echo "no environ"; fi`,
        `if kill -0 ${platformPid} 2>/dev/null; then echo "signal platform"; else echo "no signal"; fi`,
        // Destroy rather than read: another team's instance, deleted from the platform's disk.
        `rm -rf '${otherInstance}' 2>/dev/null; echo "tried delete"`,
        // Under root each instance is an OS user of its own: a root-only file elsewhere on the system is closed to it.
        ...(asRoot ? [`if cat /etc/shadow >/dev/null 2>&1; then echo "read shadow"; else echo "no shadow"; fi`] : []),
      ].join('; ');

      await until('running', async () => (await admin.get(`/api/instances/${instanceId}`)).json().status === 'running');
      const snapshotId = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'probe', flows: probeFlows(script) })).json().id;
      assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId })).statusCode, 202);
      await until('the probe running', async () => {
        const i = (await admin.get(`/api/instances/${instanceId}`)).json();
        return i.runningSnapshotId === snapshotId && i.status === 'running';
      });
      // The flows' endpoints are served on the instance's own origin, signed in there through the platform.
      const there = await admin.onInstance(instanceId, 'app');
      const answer = await fetch(`http://${instanceId}.localhost:${new URL(base).port}/instances/${instanceId}/app${PROBE_URL}`, { headers: { cookie: there.cookie! } });
      assert.equal(answer.status, 200);
      const lines = (await answer.text()).trim().split('\n');
      const expected =
        sandbox === 'bubblewrap'
          ? ['no master.key', 'no flowgate.db', 'no flows_cred.json', 'no environ', 'no signal', 'tried delete', ...(asRoot ? ['no shadow'] : [])]
          : ['read master.key', 'read flowgate.db', 'read flows_cred.json', 'read environ', 'signal platform', 'tried delete', ...(asRoot ? ['read shadow'] : [])];
      assert.deepEqual(lines, expected);
      // Whether the other team's instance survived is seen on the platform's disk: inside the sandbox it is not there to delete.
      assert.equal(fs.existsSync(path.join(otherInstance, 'flows_cred.json')), sandbox === 'bubblewrap');
    });
  });
}

test('where bubblewrap cannot run, no instance starts: the reason names the fix and the opt-out, and nothing falls back', () => {
  const missing = createSandbox('bubblewrap', LIMITS, '/nonexistent/bwrap');
  assert.match(missing.unavailable ?? '', /bubblewrap \(bwrap\) is not installed: install it \(Debian: apt-get install bubblewrap\)/);
  assert.match(missing.unavailable ?? '', /FLOWGATE_INSTANCE_SANDBOX=none/);
  assert.equal(createSandbox('none', LIMITS).unavailable, null, 'run unsandboxed only when an admin chose it');
  assert.deepEqual(createSandbox('none', LIMITS).wrap(['node', 'agent.js'], { dataDir: '/d', instanceDir: '/d/i', readOnly: [] }), [
    'prlimit',
    '--nofile=4096',
    '--',
    'node',
    'agent.js',
  ]);
});

test('a stop signal reaches the sandboxed process itself, which ends cleanly (bubblewrap signalled would kill it at once)', async () => {
  const sandbox = createSandbox('bubblewrap', LIMITS);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-sandbox-'));
  const instanceDir = path.join(dataDir, 'instances', 'i1');
  fs.mkdirSync(instanceDir, { recursive: true });
  const uid = asRoot ? 299_999 : null;
  if (uid !== null) fs.chownSync(instanceDir, uid, uid);
  const script = `process.on('SIGTERM', () => { require('fs').writeFileSync('stopped-cleanly', 'yes'); process.exit(0); }); setInterval(() => {}, 1000); console.log('ready');`;
  const [command, ...args] = sandbox.wrap([process.execPath, '-e', script], { dataDir, instanceDir, readOnly: [], uid });
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const target = sandbox.stopTarget(child.pid!);
    process.kill(target, 'SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(fs.readFileSync(path.join(instanceDir, 'stopped-cleanly'), 'utf8'), 'yes');
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("the sandbox shows the instance's code even where it hides the place it lies (a checkout under /tmp or /home), and hides the data directory again inside it", () => {
  const args = createSandbox('bubblewrap', LIMITS).wrap(['node', 'agent.js'], {
    dataDir: '/tmp/flowgate/data',
    instanceDir: '/tmp/flowgate/data/instances/i1',
    readOnly: [],
    code: ['/tmp/flowgate'],
  });
  const at = (...seq: string[]) => args.findIndex((_, i) => seq.every((part, j) => args[i + j] === part));
  assert.ok(at('--tmpfs', '/tmp') >= 0 && at('--tmpfs', '/tmp') < at('--ro-bind', '/tmp/flowgate', '/tmp/flowgate'), 'the code is bound over the emptied /tmp');
  assert.ok(at('--ro-bind', '/tmp/flowgate', '/tmp/flowgate') < at('--tmpfs', '/tmp/flowgate/data'), 'and its data directory emptied after');
  assert.ok(at('--tmpfs', '/tmp/flowgate/data') < at('--bind', '/tmp/flowgate/data/instances/i1', '/tmp/flowgate/data/instances/i1'), 'then only the instance let back in');
});

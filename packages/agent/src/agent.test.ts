import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canonicalJson, snapshotHash } from '@flowgate/core';
import type { NodeRedNode, SnapshotContent } from '@flowgate/core';
import { bundledNodeRed } from './node-red-installations.ts';
import type { SnapshotRef, StatusReport } from './platform-client.ts';
import { admin, editorToken, isAlive, nodeRedPids, spawnAgent, stopAgent } from './test-support/agent-harness.ts';
import type { RunningAgent } from './test-support/agent-harness.ts';
import { FakePlatform } from './test-support/fake-platform.ts';
import { LocalNpmRegistry } from './test-support/npm-registry.ts';

/**
 * The agent end to end: the real CLI, a real Node-RED, and a fake platform (see
 * fake-platform.ts for why that one part is fake). Tests run in order and share one
 * agent, because each Node-RED start costs seconds on the 2-core CI machine.
 */

const flowsA: NodeRedNode[] = [
  { id: 'tabA', type: 'tab', label: 'Line A' },
  { id: 'injA', type: 'inject', z: 'tabA', name: 'tick', props: [{ p: 'payload' }], repeat: '', once: false, topic: '', payload: '', payloadType: 'date', wires: [['dbgA']] },
  { id: 'dbgA', type: 'debug', z: 'tabA', name: 'out', active: true, complete: 'false', wires: [] },
];
const flowsB: NodeRedNode[] = [
  { id: 'tabB', type: 'tab', label: 'Line B' },
  { id: 'fnB', type: 'function', z: 'tabB', name: 'scale', func: 'msg.payload *= 2;\nreturn msg;', outputs: 1, wires: [[]] },
];
/** Flows with a node from a node module ("fg gauge", of node-red-contrib-fg-gauge). */
const flowsGauge: NodeRedNode[] = [
  { id: 'tabG', type: 'tab', label: 'Line G' },
  { id: 'gauge', type: 'fg gauge', z: 'tabG', name: 'pressure', wires: [[]] },
];
/** Flows Node-RED cannot run: no node type 's7 in' is installed. */
const flowsMissingType: NodeRedNode[] = [
  { id: 'tabM', type: 'tab', label: 'Line M' },
  { id: 'plc', type: 's7 in', z: 'tabM', wires: [[]] },
];

function content(flows: NodeRedNode[]): SnapshotContent {
  return { flows, credentials: null, settings: {}, env: [], modules: [] };
}

const platform = new FakePlatform();
const registry = new LocalNpmRegistry();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-agent-'));
/** npm in the agent's environment: the local registry, a cache of its own. */
let npmEnv: Record<string, string>;
const agents: RunningAgent[] = [];
let agent: RunningAgent;
let refA: SnapshotRef;
let refB: SnapshotRef;
let editorRef: SnapshotRef;
let editorFlows: NodeRedNode[];

function running(ref: SnapshotRef) {
  return (status: StatusReport) => status.state === 'running' && status.runningHash === ref.hash;
}

async function deployedFlows(port: number): Promise<unknown> {
  const response = await admin(platform, port, 'flows', { token: editorToken(platform, 'read') });
  assert.equal(response.status, 200);
  return response.json();
}

function nodeRedPid(of: RunningAgent): number {
  const pids = nodeRedPids(of.process.pid!);
  assert.equal(pids.length, 1, `the agent should run exactly one Node-RED, runs ${pids.join(', ')}`);
  return pids[0]!;
}

function startings(): number {
  return platform.statuses.filter((status) => status.state === 'starting').length;
}

before(async () => {
  await platform.start();
  await registry.start();
  registry.publishNodeRedNode('node-red-contrib-fg-gauge', '1.0.0', 'fg gauge');
  registry.publishNodeRedNode('node-red-contrib-fg-gauge', '1.1.0', 'fg gauge');
  registry.publishNodeRedNode('@flowgate-test/node-red-extra', '1.0.0', 'fg extra');
  npmEnv = { npm_config_registry: registry.url, npm_config_cache: path.join(dir, 'npm-cache'), npm_config_update_notifier: 'false' };
  refA = platform.addSnapshot(content(flowsA));
  refB = platform.addSnapshot(content(flowsB));
  platform.setTarget(refA);
  agent = spawnAgent({ platformUrl: platform.url, token: platform.token, dir, env: npmEnv });
  agents.push(agent);
});

after(async () => {
  await registry.stop();
  for (const running of agents) {
    const children = running.process.pid ? nodeRedPids(running.process.pid) : [];
    await stopAgent(running, 10_000);
    for (const pid of children) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await platform.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('agent with a real Node-RED', { timeout: 240_000 }, () => {
  test('(1) runs snapshot A; the admin API needs a platform token; a read token cannot deploy', async () => {
    const status = await platform.waitForStatus('A running', running(refA), 0, 30_000);
    assert.equal(status.runningSnapshotId, refA.id);
    assert.equal(status.error, null);
    assert.equal(status.nodeRedVersion, bundledNodeRed().version);
    assert.equal(status.agentVersion, (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version);
    const port = status.nodeRedPort!;
    assert.ok(Number.isInteger(port) && port > 0);

    assert.deepEqual(await deployedFlows(port), flowsA);
    assert.equal((await admin(platform, port, 'flows')).status, 401);
    // Not only the admin API: the editor's page and what it loads answer nothing without a token either.
    for (const route of ['', 'red/red.min.js', 'locales/editor', 'icons', 'auth/login', 'settings', 'theme']) {
      const tokenless = await admin(platform, port, route);
      assert.equal(tokenless.status, 401, `GET ${route || '/'} without a token`);
      assert.equal(await tokenless.text(), 'Served through the Flowgate platform only.');
    }
    const page = await admin(platform, port, '', { token: editorToken(platform, 'read') });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Flowgate<\/title>/);
    const forged = editorToken(platform, '*').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await admin(platform, port, 'flows', { token: forged })).status, 401);
    const otherInstance = editorToken({ ...platform, instanceId: 'inst-other' } as FakePlatform, '*');
    assert.equal((await admin(platform, port, 'flows', { token: otherInstance })).status, 401);
    const refusals = await platform.waitFor('token refusals audited', () => {
      const reasons = platform.audits.filter((e) => e.event === 'auth.invalid-token').map((e) => e.details.reason);
      return reasons.filter((reason) => reason !== 'missing').length >= 2 ? reasons : undefined;
    });
    assert.deepEqual(
      refusals.filter((reason) => reason !== 'missing'),
      ['bad-signature', 'other-instance'],
    );
    assert.ok(refusals.includes('missing'), 'a request with no token at all is audited too');

    // Node-RED refuses a deploy beyond the token's permissions with 401 (its
    // needsPermission answers 401, not 403), and audits it as permission.fail.
    const readOnly = editorToken(platform, 'read', 'viewer@example.com');
    const refused = await admin(platform, port, 'flows', { token: readOnly, method: 'POST', body: flowsB });
    assert.equal(refused.status, 401);
    assert.deepEqual(await deployedFlows(port), flowsA);
    const denial = await platform.waitFor('permission.fail audit', () => platform.audits.find((e) => e.event === 'permission.fail'));
    assert.equal(denial.user, 'viewer@example.com');
    assert.equal(denial.details.permissions, 'flows.write');

    // Platform tokens are not in Node-RED's reach, and what the agent writes is owner-only.
    const environ = fs.readFileSync(`/proc/${nodeRedPid(agent)}/environ`, 'utf8');
    assert.ok(!environ.includes(platform.token) && !environ.includes('FLOWGATE_'), 'Node-RED must not inherit FLOWGATE_* variables');
    for (const file of ['state.json', 'desired.json', 'settings.json', `snapshots/${refA.hash}.json`, 'userdir/flows.json']) {
      assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')), {
      runningSnapshotId: refA.id,
      runningHash: refA.hash,
      lastGoodSnapshotId: refA.id,
      lastGoodHash: refA.hash,
    });
    await platform.waitFor('Node-RED log lines', () => platform.logs.find((line) => line.msg === 'Started flows'));
  });

  test('(2) target B runs, then back to A (rollback)', async () => {
    let mark = platform.statuses.length;
    platform.setTarget(refB);
    const onB = await platform.waitForStatus('B running', running(refB), mark);
    assert.deepEqual(await deployedFlows(onB.nodeRedPort!), flowsB);

    mark = platform.statuses.length;
    platform.setTarget(refA);
    const onA = await platform.waitForStatus('A running again', running(refA), mark);
    assert.equal(canonicalJson(await deployedFlows(onA.nodeRedPort!)), canonicalJson(flowsA));
    // The proxy keeps working: the port stays the same across restarts when it is free.
    assert.equal(onA.nodeRedPort, onB.nodeRedPort);
  });

  test("(2b) Node-RED runs with the instance's variables, not the ones a snapshot recorded", async () => {
    const recorded = platform.addSnapshot({
      ...content(flowsB),
      env: [
        { name: 'REMOVED_SINCE', value: 'from the snapshot', secret: false },
        { name: 'LINE', value: 'old', secret: false },
      ],
    });
    platform.env = [{ name: 'LINE', value: 'line 3' }];
    const mark = platform.statuses.length;
    platform.setTarget(recorded);
    const onRecorded = await platform.waitForStatus('the snapshot with variables running', running(recorded), mark, 30_000);
    assert.equal(onRecorded.runningSnapshotId, recorded.id);
    const environ = fs.readFileSync(`/proc/${nodeRedPid(agent)}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('LINE=line 3'), 'the instance variable');
    assert.ok(!environ.some((entry) => entry.startsWith('REMOVED_SINCE=')), 'a variable only the snapshot holds');

    platform.env = [];
    const back = platform.statuses.length;
    platform.setTarget(refA);
    await platform.waitForStatus('A running again', running(refA), back, 30_000);
  });

  test('(3) a snapshot whose content does not match its hash is refused; A keeps running', async () => {
    const pid = nodeRedPid(agent);
    const starts = startings();
    const mark = platform.statuses.length;
    const liar = platform.addSnapshot(
      content(flowsB),
      refA.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    platform.setTarget(liar);
    const refusal = await platform.waitForStatus('the refusal', (status) => status.state === 'error', mark);
    assert.match(refusal.error!, new RegExp(`snapshot ${liar.id} refused: its content hashes to ${refB.hash}`));
    assert.equal(refusal.runningHash, refA.hash);
    assert.deepEqual(await deployedFlows(refusal.nodeRedPort!), flowsA);
    assert.equal(nodeRedPid(agent), pid, 'Node-RED was not restarted');
    assert.equal(startings(), starts);

    // Back to a good target: nothing to apply, and the error clears.
    const back = platform.statuses.length;
    platform.setTarget(refA);
    await platform.waitForStatus('A running, error cleared', (s) => running(refA)(s) && s.error === null, back);
    assert.equal(nodeRedPid(agent), pid);
  });

  test('(4) a deploy in the editor is audited with the user and recorded as a snapshot, without a restart', async () => {
    const port = platform.statuses.at(-1)!.nodeRedPort!;
    const pid = nodeRedPid(agent);
    const starts = startings();
    const mark = platform.statuses.length;
    const auditMark = platform.audits.length;
    const deployed: NodeRedNode[] = [
      { id: 'tabE', type: 'tab', label: 'Line E' },
      {
        id: 'req',
        type: 'http request',
        z: 'tabE',
        name: 'mes',
        method: 'GET',
        ret: 'txt',
        url: 'http://127.0.0.1:9/',
        wires: [[]],
        credentials: { user: 'plc', password: 's3cret' },
      },
    ];
    // A module installed from the palette, as Node-RED lists it in the user directory.
    const manifest = path.join(dir, 'userdir', 'package.json');
    fs.writeFileSync(
      manifest,
      JSON.stringify({ name: 'node-red-project', private: true, dependencies: { 'node-red-contrib-fg-gauge': '1.0.0', '@flowgate-test/node-red-extra': '1.0.0' } }),
    );
    // The editor reads the flows before a deploy: a read is not an event for the trail.
    assert.equal((await admin(platform, port, 'flows', { token: editorToken(platform, '*', 'engineer@example.com') })).status, 200);
    const response = await admin(platform, port, 'flows', {
      token: editorToken(platform, '*', 'engineer@example.com'),
      method: 'POST',
      body: deployed,
      headers: { 'Node-RED-Deployment-Type': 'full' },
    });
    assert.equal(response.status, 204);

    const setEvent = await platform.waitFor('flows.set audit', () => platform.audits.slice(auditMark).find((e) => e.event === 'flows.set'));
    assert.equal(setEvent.user, 'engineer@example.com');
    assert.equal(setEvent.details.type, 'full');
    // Uploaded in order: had the read before it been forwarded, it would be here by now.
    assert.deepEqual(
      platform.audits.slice(auditMark).filter((e) => e.event.endsWith('.get')),
      [],
    );
    const recorded = await platform.waitFor('POST /snapshots', () => platform.recordedDeploys[0]);
    assert.equal(recorded.user, 'engineer@example.com');
    editorFlows = deployed.map(({ credentials: _credentials, ...node }) => node);
    assert.deepEqual(recorded.flows, editorFlows);
    // Credentials travel as Node-RED's encrypted file, never in clear.
    assert.equal(typeof recorded.credentials, 'string');
    assert.deepEqual(Object.keys(JSON.parse(recorded.credentials!) as object), ['$']);
    assert.ok(!JSON.stringify(recorded).includes('s3cret'));

    editorRef = platform.target!;
    const status = await platform.waitForStatus('the editor snapshot running', running(editorRef), mark);
    assert.equal(status.runningSnapshotId, editorRef.id);
    // The snapshot holds the installed modules, by name.
    const modules = [
      { name: '@flowgate-test/node-red-extra', version: '1.0.0' },
      { name: 'node-red-contrib-fg-gauge', version: '1.0.0' },
    ];
    assert.deepEqual(recorded.modules, modules);
    assert.equal(editorRef.hash, snapshotHash({ flows: editorFlows, credentials: recorded.credentials, settings: {}, env: [], modules }));
    fs.rmSync(manifest);
    // The platform made it the target; the agent saw it runs already.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(startings(), starts, 'no restart for a snapshot that already runs');
    assert.equal(nodeRedPid(agent), pid);
    assert.deepEqual(await deployedFlows(port), editorFlows);
    // Files Node-RED itself writes are owner-only too (the settings set its umask).
    assert.equal(fs.statSync(path.join(dir, 'userdir', 'flows_cred.json')).mode & 0o777, 0o600);
    // The agent's own health checks do not appear in the audit trail.
    assert.ok(!platform.audits.some((e) => e.user === 'flowgate-agent'));
  });

  test('a deploy in the editor that the platform refuses to record is put back to the target', async () => {
    const port = platform.statuses.at(-1)!.nodeRedPort!;
    const mark = platform.statuses.length;
    platform.refuseSnapshots = 403;
    try {
      const response = await admin(platform, port, 'flows', {
        token: editorToken(platform, '*', 'intruder@example.com'),
        method: 'POST',
        body: flowsB,
      });
      assert.equal(response.status, 204);
      const refused = await platform.waitForStatus('the refusal', (status) => status.state === 'error', mark);
      assert.match(refused.error!, /the platform did not record the editor deploy by intruder@example\.com: .*HTTP 403/);
      const restored = await platform.waitForStatus('the target restored', running(editorRef), mark);
      assert.equal(restored.error, null);
      assert.deepEqual(await deployedFlows(restored.nodeRedPort!), editorFlows);
      assert.equal(platform.recordedDeploys.length, 1);
    } finally {
      platform.refuseSnapshots = null;
    }
  });

  test('an editor deploy while the platform cannot take it is retried until recorded, no target applied over it; a platform deploy made meanwhile then runs', async () => {
    const port = platform.statuses.at(-1)!.nodeRedPort!;
    const mark = platform.statuses.length;
    const deploys = platform.recordedDeploys.length;
    platform.refuseSnapshots = 503;
    const response = await admin(platform, port, 'flows', { token: editorToken(platform, '*', 'engineer@example.com'), method: 'POST', body: flowsB });
    assert.equal(response.status, 204);
    const pending = await platform.waitForStatus('not recorded yet', (status) => status.state === 'error', mark);
    assert.match(pending.error!, /the editor deploy by engineer@example\.com is not recorded yet: .*HTTP 503/);
    // A target set meanwhile waits: applying it now would lose the deploy.
    platform.setTarget(refA);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await deployedFlows(port), flowsB);
    platform.refuseSnapshots = null;
    await platform.waitFor('the deploy recorded', () => (platform.recordedDeploys.length > deploys ? true : undefined));
    assert.deepEqual(platform.recordedDeploys.at(-1)!.flows, flowsB);
    assert.equal(platform.recordedDeploys.at(-1)!.basedOn, editorRef.id, 'the snapshot the editor deployed over');
    // The platform's deploy came after the editor's: it is the decision that stands, and runs.
    assert.equal(platform.target, refA);
    const applied = await platform.waitForStatus('the platform deploy running', running(refA), mark);
    assert.equal(applied.error, null);
    assert.deepEqual(await deployedFlows(applied.nodeRedPort!), flowsA);
    // The editor's deploy is kept as a snapshot: deployed through the platform, it runs again (what later tests build on).
    const recordedId = [...platform.snapshots.keys()].at(-1)!;
    editorRef = { id: recordedId, hash: platform.snapshots.get(recordedId)!.hash };
    editorFlows = flowsB;
    const before = platform.statuses.length;
    platform.setTarget(editorRef);
    const again = await platform.waitForStatus('the editor deploy running again', running(editorRef), before);
    assert.deepEqual(await deployedFlows(again.nodeRedPort!), flowsB);
  });

  test('(6) flows with a node type Node-RED lacks fail the health check: back to the last good, error reported', async () => {
    const mark = platform.statuses.length;
    const broken = platform.addSnapshot(content(flowsMissingType));
    platform.setTarget(broken);
    const failed = await platform.waitForStatus('the revert', (status) => status.state === 'error', mark, 40_000);
    assert.match(
      failed.error!,
      new RegExp(`snapshot ${broken.id} failed its health check: Node-RED is waiting for missing node types: s7 in; reverted to the last good snapshot ${editorRef.id}`),
    );
    assert.equal(failed.runningHash, editorRef.hash);
    assert.deepEqual(await deployedFlows(failed.nodeRedPort!), editorFlows);
    // The reverted runtime has its credentials file back: the one of the editor's last deploy.
    assert.equal(fs.readFileSync(path.join(dir, 'userdir', 'flows_cred.json'), 'utf8'), platform.recordedDeploys.at(-1)!.credentials);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as Record<string, string>;
    assert.equal(state.lastGoodHash, editorRef.hash);
    assert.equal(state.runningHash, editorRef.hash);
  });

  test('a crash loop (3 crashes within 60 s) ends in safe mode; a new target leaves it', async () => {
    let mark = platform.statuses.length;
    for (let crash = 1; crash <= 3; crash++) {
      const pid = nodeRedPid(agent);
      process.kill(pid, 'SIGKILL');
      await platform.waitForStatus(`crash ${crash} reported`, (status) => status.state === 'crashed', mark);
      mark = platform.statuses.length;
      if (crash < 3) await platform.waitForStatus(`running after crash ${crash}`, running(editorRef), mark, 30_000);
      mark = platform.statuses.length;
    }
    const safe = await platform.waitForStatus('safe mode', (status) => status.state === 'safe-mode', mark, 30_000);
    assert.match(safe.error!, /crashed 3 times within 60 s/);
    assert.equal(safe.runningHash, editorRef.hash);
    assert.equal(((await admin(platform, safe.nodeRedPort!, 'flows/state', { token: editorToken(platform, 'read') }).then((r) => r.json())) as { state: string }).state, 'safe');

    mark = platform.statuses.length;
    platform.setTarget(refA);
    const onA = await platform.waitForStatus('A running out of safe mode', running(refA), mark, 30_000);
    assert.deepEqual(await deployedFlows(onA.nodeRedPort!), flowsA);
  });

  test("(7) a snapshot's node modules are installed before Node-RED starts with it; going back removes them", async () => {
    const userDir = path.join(dir, 'userdir');
    const gaugeManifest = path.join(userDir, 'node_modules', 'node-red-contrib-fg-gauge', 'package.json');
    const withGauge = platform.addSnapshot({ ...content(flowsGauge), modules: [{ name: 'node-red-contrib-fg-gauge', version: '1.1.0' }] });
    let mark = platform.statuses.length;
    platform.setTarget(withGauge);
    const onGauge = await platform.waitForStatus('the gauge snapshot running', running(withGauge), mark, 90_000);
    // Node-RED runs the flow with the module's node type: without the module it would wait for it.
    assert.deepEqual(await deployedFlows(onGauge.nodeRedPort!), flowsGauge);
    assert.equal((JSON.parse(fs.readFileSync(gaugeManifest, 'utf8')) as { version: string }).version, '1.1.0');
    assert.ok(
      registry.requests.some((request) => request.endsWith('node-red-contrib-fg-gauge-1.1.0.tgz')),
      'fetched from the registry the agent was given',
    );
    assert.ok(platform.logs.some((line) => line.msg.includes('node modules: installing node-red-contrib-fg-gauge@1.1.0')));

    // Back to A, made without the module: it is gone from the user directory too.
    mark = platform.statuses.length;
    platform.setTarget(refA);
    const onA = await platform.waitForStatus('A running again', running(refA), mark, 90_000);
    assert.deepEqual(await deployedFlows(onA.nodeRedPort!), flowsA);
    assert.equal(fs.existsSync(gaugeManifest), false);
    assert.deepEqual((JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8')) as { dependencies: object }).dependencies, {});
  });

  test("(5b) the editor's palette installs and removals and library saves reach the platform's audit, with who did them", async () => {
    const onA = await platform.waitForStatus('A running', running(refA), 0, 30_000);
    const engineer = editorToken(platform, '*', 'engineer@example.com');
    const seen = platform.audits.length;
    const installed = await admin(platform, onA.nodeRedPort!, 'nodes', { token: engineer, method: 'POST', body: { module: 'node-red-contrib-fg-gauge', version: '1.0.0' } });
    assert.equal(installed.status, 200, await installed.text());
    const saved = await admin(platform, onA.nodeRedPort!, 'library/local/flows/line3/filler', { token: engineer, method: 'POST', body: flowsA });
    assert.equal(saved.status, 204);
    const removed = await admin(platform, onA.nodeRedPort!, 'nodes/node-red-contrib-fg-gauge', { token: engineer, method: 'DELETE' });
    assert.equal(removed.status, 204);
    const trail = await platform.waitFor('the three audited', () => {
      const events = platform.audits.slice(seen).filter((e) => ['nodes.install', 'library.set', 'nodes.remove'].includes(e.event));
      return events.length >= 3 ? events : undefined;
    });
    assert.deepEqual(
      trail.map((e) => ({
        event: e.event,
        user: e.user,
        what: e.details.module ?? `${String(e.details.type)}:${String(e.details.path)}`,
        version: e.details.version,
        error: e.details.error,
      })),
      [
        { event: 'nodes.install', user: 'engineer@example.com', what: 'node-red-contrib-fg-gauge', version: '1.0.0', error: undefined },
        // Node-RED says no user for a library save: the agent's settings do.
        { event: 'library.set', user: 'engineer@example.com', what: 'flows:line3/filler', version: undefined, error: undefined },
        { event: 'nodes.remove', user: 'engineer@example.com', what: 'node-red-contrib-fg-gauge', version: undefined, error: undefined },
      ],
    );
    assert.equal(platform.audits.slice(seen).filter((e) => e.event === 'library.set').length, 1, "Node-RED's own userless event is not sent as well");
    // A read-only editor cannot install: Node-RED refuses, and says so to the trail.
    const viewerInstall = await admin(platform, onA.nodeRedPort!, 'nodes', {
      token: editorToken(platform, 'read', 'viewer@example.com'),
      method: 'POST',
      body: { module: 'node-red-contrib-fg-gauge', version: '1.0.0' },
    });
    assert.equal(viewerInstall.status, 401);
    const refusal = await platform.waitFor('the refusal audited', () => platform.audits.slice(seen).find((e) => e.event === 'permission.fail' && e.user === 'viewer@example.com'));
    assert.equal(refusal.details.permissions, 'nodes.write');
  });

  test('(8) a module the registry does not have, or the palette lists keep out: back to the last good, the reason named', async () => {
    const missing = platform.addSnapshot({ ...content(flowsGauge), modules: [{ name: 'node-red-contrib-fg-gauge', version: '9.9.9' }] });
    let mark = platform.statuses.length;
    platform.setTarget(missing);
    const failed = await platform.waitForStatus('the failed install reported', (status) => status.state === 'error', mark, 90_000);
    assert.match(
      failed.error!,
      new RegExp(
        `snapshot ${missing.id} failed its health check: installing the node modules \\(node-red-contrib-fg-gauge@9\\.9\\.9\\) failed: npm exited with code \\d+: .*; reverted to the last good snapshot ${refA.id}`,
      ),
    );
    assert.equal(failed.runningHash, refA.hash);
    assert.deepEqual(await deployedFlows(failed.nodeRedPort!), flowsA);
    assert.equal(fs.existsSync(path.join(dir, 'userdir', 'node_modules', 'node-red-contrib-fg-gauge')), false);

    // The team keeps node-red-contrib-fg-* out: npm is not even asked.
    const denied = platform.addSnapshot({ ...content(flowsGauge), modules: [{ name: 'node-red-contrib-fg-gauge', version: '1.1.0' }] });
    const asked = registry.requests.length;
    platform.settings.palette = { allow: [], deny: ['node-red-contrib-fg-*'] };
    mark = platform.statuses.length;
    platform.setTarget(denied);
    try {
      const refused = await platform.waitForStatus('the refusal reported', (status) => status.state === 'error', mark, 60_000);
      assert.match(
        refused.error!,
        new RegExp(
          `snapshot ${denied.id} failed its health check: the team's palette lists do not allow the node module node-red-contrib-fg-gauge; reverted to the last good snapshot ${refA.id}`,
        ),
      );
      assert.equal(refused.runningHash, refA.hash);
      assert.equal(registry.requests.length, asked);
    } finally {
      platform.settings.palette = { allow: [], deny: [] };
    }
    mark = platform.statuses.length;
    platform.setTarget(refA);
    await platform.waitForStatus('A running, error cleared', (status) => running(refA)(status) && status.error === null, mark, 60_000);
  });

  test('SIGTERM stops Node-RED and the agent cleanly, reporting stopped', async () => {
    const pid = nodeRedPid(agent);
    const started = Date.now();
    const exit = await stopAgent(agent);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - started < 8000, `stopping took ${Date.now() - started} ms`);
    assert.equal(isAlive(pid), false);
    const last = platform.statuses.at(-1)!;
    assert.equal(last.state, 'stopped');
    assert.equal(last.runningHash, refA.hash);
    assert.equal(last.nodeRedPort, null);
    // Everything Node-RED audited reached the platform before the agent exited.
    assert.equal(fs.readFileSync(path.join(dir, 'audit-spool.jsonl'), 'utf8'), '');
    assert.ok(platform.logs.some((line) => line.msg.includes('agent stopped')));
  });

  test('(5) with the platform unreachable at start, the cached last good snapshot runs; the platform hears later', async () => {
    const port = platform.port;
    await platform.stop();
    const offline = spawnAgent({ platformUrl: platform.url, token: platform.token, dir, env: npmEnv });
    agents.push(offline);
    // No status can reach the platform: find Node-RED's port in the settings the agent wrote.
    const settingsFile = path.join(dir, 'settings.json');
    const before = fs.statSync(settingsFile).mtimeMs;
    const nodeRedPort = await platform.waitFor(
      'Node-RED started offline',
      () => {
        if (fs.statSync(settingsFile).mtimeMs === before || nodeRedPids(offline.process.pid!).length !== 1) return undefined;
        return (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as { port: number }).port;
      },
      30_000,
    );
    const deadline = Date.now() + 20_000;
    let served: unknown = null;
    while (Date.now() < deadline) {
      try {
        served = await deployedFlows(nodeRedPort);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    assert.deepEqual(served, flowsA);
    assert.ok(offline.output.join('').includes('the platform is unreachable: starting the last good, snapshot'));

    // The platform comes back: the agent reports what runs, and does not restart for it.
    const mark = platform.statuses.length;
    await platform.start(port);
    const status = await platform.waitForStatus('status after the platform returns', running(refA), mark, 40_000);
    assert.equal(status.nodeRedPort, nodeRedPort);
  });
});

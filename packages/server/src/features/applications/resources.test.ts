import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { addMember, resolveLocalhostSubdomains, setupAdmin, startTestApp, type Client, type TestApp, until } from '../../../test/harness.ts';
import { detectCgroups } from './cgroups.ts';

/**
 * Resource limits per hosted instance (SR 7.2), with the real Node-RED in its sandbox: an
 * owner gives an instance its memory, CPU and disk; a member's flow then does what a careless
 * or hostile flow does (a fork bomb, a memory hog, an endless loop, a disk filler) and the
 * platform and another team's instance keep answering, while the platform reports and
 * audits what happened. The kernel's limits need control groups the platform may make
 * (cgroup v1 as root, as on CI's machine); elsewhere the limit tests are skipped with why.
 */
const cgroups = detectCgroups(null);
const noGroups = cgroups.layout === null ? `the kernel's limits need control groups: ${cgroups.unavailable}` : false;
const PROCESSES = 48;

function endpoint(id: string, url: string, func: string | null, exec: string | null) {
  const nodes: object[] = [{ id: `in${id}`, type: 'http in', z: 'tabR', name: '', url, method: 'get', upload: false, swaggerDoc: '', wires: [[`do${id}`]] }];
  if (url === '/fill') nodes[0] = { ...nodes[0], wires: [['mbfill']] };
  if (url === '/fill')
    nodes.push({
      id: 'mbfill',
      type: 'function',
      z: 'tabR',
      name: 'mb',
      func: 'msg.payload = String(Number(msg.req.query.mb) || 0); return msg;',
      outputs: 1,
      wires: [['dofill']],
    });
  if (func !== null) nodes.push({ id: `do${id}`, type: 'function', z: 'tabR', name: id, func, outputs: 1, timeout: 0, noerr: 0, wires: [['resR']] });
  if (exec !== null)
    nodes.push({
      id: `do${id}`,
      type: 'exec',
      z: 'tabR',
      command: exec,
      addpay: url === '/fill' ? 'payload' : '',
      append: '',
      useSpawn: 'false',
      timer: '',
      winHide: false,
      oldrc: false,
      name: id,
      wires: [['resR'], [], []],
    });
  return nodes;
}

/** What a careless or hostile flow does, one endpoint each. */
const FLOWS = [
  { id: 'tabR', type: 'tab', label: 'Resources' },
  ...endpoint('ping', '/ping', 'msg.payload = "pong"; return msg;', null),
  // Holds 100 MiB more at every call, out of the heap (Buffers): only the kernel's limit stops it.
  ...endpoint(
    'hog',
    '/hog',
    'const held = context.get("held") || []; for (let i = 0; i < 10; i++) held.push(Buffer.alloc(10 * 1024 * 1024, 1)); context.set("held", held); msg.payload = String(held.length); return msg;',
    null,
  ),
  // Forks for ever, each child kept alive: a fork bomb that holds what it gets.
  ...endpoint('bomb', '/bomb', null, "sh -c 'while :; do sleep 600 & done' >/dev/null 2>&1 & echo started"),
  ...endpoint('spin', '/spin', 'for (;;) {}', null),
  // GET /fill?mb=N writes N MiB in the instance's directory (the exec node appends the payload: $0 of the script).
  ...endpoint('fill', '/fill', null, "sh -c 'dd if=/dev/zero of=filler bs=1M count=$0 2>&1 | tail -1'"),
  { id: 'resR', type: 'http response', z: 'tabR', name: '', statusCode: '', headers: {}, wires: [] },
];

describe('resource limits per hosted instance', () => {
  let t: TestApp;
  let admin: Client;
  let base: string;
  let teamId: string;
  let noisy: string;
  let quiet: string;

  const instance = async (id: string) => (await admin.get(`/api/instances/${id}`)).json();
  /** The admin's cookie on each instance's own origin, where its endpoints are served. */
  const signedIn = new Map<string, string>();
  const call = async (id: string, path: string, timeoutMs = 5000) => {
    if (!signedIn.has(id)) signedIn.set(id, (await admin.onInstance(id, 'app')).cookie!);
    const origin = `http://${id}.localhost:${new URL(base).port}`;
    return fetch(`${origin}/instances/${id}/app${path}`, { headers: { cookie: signedIn.get(id)! }, signal: AbortSignal.timeout(timeoutMs) });
  };
  /** The platform and the other instance answer, each within a second. */
  async function othersAnswer(): Promise<void> {
    const started = Date.now();
    assert.equal((await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(1000) })).status, 200);
    assert.equal(await (await call(quiet, '/ping', 1000)).text(), 'pong');
    assert.ok(Date.now() - started < 2000);
  }
  async function deploy(id: string): Promise<void> {
    await until(`${id} running`, async () => (await instance(id)).status === 'running', { timeoutMs: 60_000 });
    const snapshotId = (await admin.post(`/api/instances/${id}/snapshots`, { name: 'resources', flows: FLOWS })).json().id;
    assert.equal((await admin.post(`/api/instances/${id}/deploy`, { snapshotId })).statusCode, 202);
    await until(`${id} runs the flows`, async () => {
      const i = await instance(id);
      return i.runningSnapshotId === snapshotId && i.status === 'running';
    });
  }
  const events = async (event: string) =>
    ((await admin.get(`/api/audit?event=${event}`)).json() as { events: Array<{ targetId: string; details: string }> }).events.map((e) => ({
      targetId: e.targetId,
      details: JSON.parse(e.details) as Record<string, unknown>,
    }));

  before(async () => {
    resolveLocalhostSubdomains();
    t = await startTestApp('sqlite', { FLOWGATE_INSTANCE_PROCESSES: String(PROCESSES) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    admin = await setupAdmin(t);
    teamId = (await admin.post('/api/teams', { name: 'Packaging' })).json().id;
    const appId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Line 3' })).json().id;
    const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
    noisy = (await admin.post(`/api/applications/${appId}/instances`, { name: 'noisy', nodeRedVersion: version })).json().id;
    quiet = (await admin.post(`/api/applications/${appId}/instances`, { name: 'quiet', nodeRedVersion: version })).json().id;
    await deploy(quiet);
  });
  after(() => t.close());

  test('an owner sets memory, CPU and disk within the platform range; others may not; out of range is refused with what is allowed', async () => {
    const member = await addMember(t, admin, teamId, 'member@example.com', 'member');
    const refused = await member.put(`/api/instances/${noisy}/resources`, { memoryMb: 4096, cpuPercent: null, diskMb: null });
    assert.equal(refused.statusCode, 403);
    const outOfRange = await admin.put(`/api/instances/${noisy}/resources`, { memoryMb: 64, cpuPercent: 1000, diskMb: null });
    assert.equal(outOfRange.statusCode, 400);
    assert.match(outOfRange.json().detail, /memoryMb must be between 128 and 4096 MiB of memory.*cpuPercent must be between 10 and 400 % of a CPU core/);
    assert.equal((await admin.put(`/api/instances/${noisy}/resources`, { memoryMb: '256', cpuPercent: null, diskMb: null })).statusCode, 400);

    const set = await admin.put(`/api/instances/${noisy}/resources`, { memoryMb: 256, cpuPercent: 50, diskMb: 256 });
    assert.equal(set.statusCode, 200);
    const view = set.json();
    assert.deepEqual(view.limits, { memoryMb: 256, cpuPercent: 50, diskMb: 256 });
    assert.deepEqual(view.custom, { memoryMb: true, cpuPercent: true, diskMb: true });
    // What a member reads: the limits, and what holds the instance apart.
    const read = (await member.get(`/api/instances/${noisy}/resources`)).json();
    assert.deepEqual(read.limits, view.limits);
    assert.equal(read.isolation.sandbox.kind, 'bubblewrap');
    assert.equal(read.isolation.controlGroups.memory, cgroups.layout !== null);
    assert.ok(read.isolation.notProvided.some((s: string) => /share the machine's network/.test(s)));
    const [audited] = await events('instance.resources.updated');
    assert.deepEqual(audited!.details, { before: { memoryMb: 512, cpuPercent: 100, diskMb: 2048 }, after: { memoryMb: 256, cpuPercent: 50, diskMb: 256 } });
    await deploy(noisy);
  });

  test('a fork bomb stops at the process limit; the platform and the other instance go on answering', { skip: noGroups }, async () => {
    assert.equal(await (await call(noisy, '/bomb')).text(), 'started\n');
    const pidsDir = cgroups.layout!.kind === 'v1' ? `${cgroups.layout!.pids}/${noisy}` : `${cgroups.layout!.base}/${noisy}`;
    await until('the bomb at its limit', async () => Number(fs.readFileSync(`${pidsDir}/pids.current`, 'utf8')) >= PROCESSES - 2, { timeoutMs: 20_000 });
    await othersAnswer();
    assert.ok(Number(fs.readFileSync(`${pidsDir}/pids.current`, 'utf8')) <= PROCESSES);
    assert.ok(Number(/^max (\d+)$/m.exec(fs.readFileSync(`${pidsDir}/pids.events`, 'utf8'))?.[1]) > 0, 'the kernel refused forks past the limit');
    // Restarting ends the bomb with the sandbox's PID namespace.
    assert.equal((await admin.post(`/api/instances/${noisy}/restart`, {})).statusCode, 202);
    await until('noisy running again', async () => (await instance(noisy)).status === 'running' && (await call(noisy, '/ping')).ok, { timeoutMs: 60_000 });
  });

  test('a flow past its memory limit: the kernel stops its Node-RED, not the platform; it runs again, reported and audited', { skip: noGroups }, async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await call(noisy, '/hog', 10_000).catch(() => null);
      if (!answer?.ok) break;
    }
    await othersAnswer();
    await until(
      'the memory limit reported',
      async () => {
        await t.context.resources.check();
        return (await events('instance.memory.exceeded')).length > 0;
      },
      { timeoutMs: 30_000 },
    );
    const [exceeded] = await events('instance.memory.exceeded');
    assert.equal(exceeded!.targetId, noisy);
    assert.equal(exceeded!.details.memoryMb, 256);
    const logs = (await admin.get(`/api/instances/${noisy}/logs`)).json() as Array<{ msg: string }>;
    assert.ok(
      logs.some((l) => /memory limit reached \(256 MiB\)/.test(l.msg)),
      'the instance log says why Node-RED stopped',
    );
    await until('noisy answering again', async () => (await call(noisy, '/ping').catch(() => null))?.ok === true, { timeoutMs: 60_000 });
    const resources = (await admin.get(`/api/instances/${noisy}/resources`)).json();
    assert.ok(resources.warnings.some((w: string) => /exceeded its 256 MiB memory limit/.test(w)));
  });

  test('an endless loop takes its own CPU share; the platform and the other instance answer', async () => {
    void call(noisy, '/spin', 3000).catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await othersAnswer();
    const answered = await call(noisy, '/ping', 1000).then(
      () => true,
      () => false,
    );
    assert.equal(answered, false, 'the looping instance itself no longer answers');
    assert.equal((await admin.post(`/api/instances/${noisy}/restart`, {})).statusCode, 202);
    await until('noisy answering again', async () => (await call(noisy, '/ping').catch(() => null))?.ok === true, { timeoutMs: 60_000 });
  });

  test('a directory at 80 % of its disk limit is a warning; past it the instance is stopped, reported and audited', async () => {
    assert.match(await (await call(noisy, '/fill?mb=215', 30_000)).text(), /copied/);
    await t.context.resources.check();
    const warned = (await admin.get(`/api/instances/${noisy}/resources`)).json();
    assert.ok(warned.usage.diskBytes >= 215 * 1024 * 1024);
    assert.ok(
      warned.warnings.some((w: string) => /of its 256 MiB disk limit/.test(w)),
      JSON.stringify(warned.warnings),
    );
    assert.equal((await events('instance.disk.warning'))[0]?.targetId, noisy);

    assert.match(await (await call(noisy, '/fill?mb=300', 30_000)).text(), /copied/);
    await t.context.resources.check();
    const stopped = await instance(noisy);
    assert.equal(stopped.desiredState, 'stopped');
    assert.match(stopped.statusDetail, /over its disk limit of 256 MiB/);
    assert.equal((await events('instance.disk.exceeded'))[0]?.targetId, noisy);
    await othersAnswer();
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createInstanceCgroups, detectCgroups } from './cgroups.ts';

const UNLIMITED = { memoryMb: null, cpuPercent: null, diskMb: null };
const real = detectCgroups(null);
/** The kernel's own control groups, where this machine lets the platform make them (cgroup v1, as root: CI's machine). */
const noRealGroups = real.layout === null ? `no control group the tests may make here: ${real.unavailable}` : false;

test('cgroup v2: a delegated group is used as the admin named it, limits written in its files', () => {
  // A directory laid out as a delegated cgroup v2 group: the file protocol, not the kernel (this machine has v1).
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'fg-cg2-'));
  fs.writeFileSync(path.join(base, 'cgroup.subtree_control'), 'cpu memory pids\n');
  const cgroups = createInstanceCgroups(detectCgroups(base));
  assert.deepEqual(cgroups.layout, { kind: 'v2', base, memory: true, pids: true, cpu: true });
  const prefix = cgroups.prepare('0b5e-instance', { memoryMb: 256, cpuPercent: 50, diskMb: 1024 }, 64);
  const dir = path.join(base, '0b5e-instance');
  assert.equal(fs.readFileSync(path.join(dir, 'memory.max'), 'utf8'), String(256 * 1024 * 1024));
  assert.equal(fs.readFileSync(path.join(dir, 'cpu.max'), 'utf8'), '50000 100000');
  assert.equal(fs.readFileSync(path.join(dir, 'pids.max'), 'utf8'), '64');
  assert.deepEqual(prefix, ['sh', '-c', `echo $$ > '${dir}/cgroup.procs' && exec "$@"`, 'flowgate-cgroup']);
  cgroups.update('0b5e-instance', UNLIMITED, 64);
  assert.equal(fs.readFileSync(path.join(dir, 'memory.max'), 'utf8'), 'max');
  assert.equal(fs.readFileSync(path.join(dir, 'cpu.max'), 'utf8'), 'max 100000');
  fs.writeFileSync(path.join(dir, 'memory.current'), '1048576\n');
  fs.writeFileSync(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
  assert.deepEqual(cgroups.usage('0b5e-instance'), { memoryBytes: 1048576, oomKills: 1 });
  assert.throws(() => cgroups.prepare("x'; rm -rf /; '", UNLIMITED, 64), /not an instance id/);
  fs.rmSync(base, { recursive: true });
});

test('where no group can be made, the platform says why instead of limiting nothing in silence', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'fg-cgnone-'));
  const none = detectCgroups(null, empty);
  assert.equal(none.layout, null);
  assert.match(none.unavailable!, /no control group the platform may write/);
  assert.deepEqual(createInstanceCgroups(none).prepare('i1', UNLIMITED, 64), []);
  fs.writeFileSync(path.join(empty, 'cgroup.controllers'), 'memory pids\n');
  assert.match(detectCgroups(null, empty).unavailable!, /cgroup v2: name a delegated group in FLOWGATE_INSTANCE_CGROUP/);
  assert.match(detectCgroups(path.join(empty, 'missing'), empty).unavailable!, /is not a cgroup v2 group/);
  fs.rmSync(empty, { recursive: true });
});

/** Runs `script` with sh inside the instance's group; its exit code and signal. */
function runInGroup(prefix: string[], script: string, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(prefix[0]!, [...prefix.slice(1), 'sh', '-c', script], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

test("the kernel holds an instance's processes to its memory and process limits", { skip: noRealGroups }, async () => {
  const cgroups = createInstanceCgroups(real);
  const id = `test-${process.pid}`;
  const prefix = cgroups.prepare(id, { memoryMb: 128, cpuPercent: 50, diskMb: null }, 32);
  try {
    // 300 MiB held at once, in a group of 128 MiB: the kernel kills it (SIGKILL), the test process lives on.
    const hog = await runInGroup(
      prefix,
      `exec ${JSON.stringify(process.execPath)} -e "const a=[]; for (let i=0;i<30;i++) a.push(Buffer.alloc(10*1024*1024,1)); console.log(a.length)"`,
    );
    assert.equal(hog.signal, 'SIGKILL', `killed for memory, got ${JSON.stringify(hog)}`);
    assert.ok(cgroups.usage(id)!.oomKills >= 1, 'the kill is counted where the platform reads it');

    // A fork bomb stops at 32 processes; the group's count shows it while it tries.
    const bomb = runInGroup(prefix, 'for i in $(seq 1 200); do sleep 30 & done; wait');
    let most = 0;
    const pidsDir = real.layout!.kind === 'v1' ? path.join(real.layout!.pids!, id) : path.join(real.layout!.base, id);
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      most = Math.max(most, Number(fs.readFileSync(path.join(pidsDir, 'pids.current'), 'utf8')));
    }
    assert.ok(most > 10 && most <= 32, `at most 32 processes at once, saw ${most}`);
    // What the bomb started goes with its group.
    await cgroups.remove(id);
    await bomb;
  } finally {
    await cgroups.remove(id);
  }
  assert.equal(cgroups.usage(id), null, 'the group is removed once its processes are gone');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstanceDriver, InstanceLaunch } from './instance-driver.ts';
import { createInstanceRuntime } from './instance-runtime.ts';

/** A driver that only records what it was asked: the runtime's turn-taking is what is tested here (the real drivers have their own tests). */
function recordingDriver() {
  const started: string[] = [];
  const running = new Set<string>();
  const driver: InstanceDriver = {
    kind: 'process',
    unavailable: null,
    start: (launch) => {
      started.push(launch.instanceId);
      running.add(launch.instanceId);
    },
    stop: async (id) => void running.delete(id),
    isRunning: (id) => running.has(id),
    removeFiles: async () => {},
    nodeRedHost: () => '127.0.0.1',
    stopAll: async () => running.clear(),
  };
  return { driver, started };
}

const launch = (instanceId: string): InstanceLaunch => ({ instanceId, agentToken: `fgi_${instanceId}`, resources: { memoryMb: null, cpuPercent: null, diskMb: null } });

test('instances start two at a time on two cores: the next when one reports it started, failed, or was stopped', async () => {
  const { driver, started } = recordingDriver();
  const runtime = createInstanceRuntime(driver, 2);
  runtime.activate();
  for (const id of ['a', 'b', 'c', 'd', 'e']) assert.equal(runtime.start(launch(id)), null);
  assert.deepEqual(started, ['a', 'b']);
  assert.ok(runtime.isRunning('e'), 'one waiting its turn counts as running: a second Start does not queue it twice');
  runtime.start(launch('e'));
  runtime.started('a');
  assert.deepEqual(started, ['a', 'b', 'c']);
  await runtime.stop('d'); // stopped while it waited: never started
  await runtime.stop('b'); // stopped while starting: its turn goes to the next
  assert.deepEqual(started, ['a', 'b', 'c', 'e']);
  assert.equal(runtime.isRunning('d'), false);
  await runtime.stopAll();
});

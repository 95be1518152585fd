import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createJobs } from './jobs.ts';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("background jobs start and stop as one; a failing run is logged under the job's name and the next run comes", async () => {
  const lines: Array<[string | undefined, string]> = [];
  const log = { error: (fields: { job: string }, message: string) => void lines.push([fields.job, message]) };
  const jobs = createJobs(log);
  let runs = 0;
  let engine = 'never started';
  jobs.every('the flaky flush', 20, async () => {
    runs++;
    if (runs === 1) throw new Error('disk full');
  });
  jobs.add({ name: 'an engine', start: () => (engine = 'running'), stop: () => (engine = 'stopped') });
  assert.deepEqual(jobs.names(), ['the flaky flush', 'an engine']);

  await wait(60);
  assert.equal(runs, 0, 'nothing runs before start');
  jobs.start();
  jobs.start();
  assert.equal(engine, 'running');
  await wait(110);
  assert.ok(runs >= 3, `ran ${runs} times: on after the failure, once per interval, and not twice per interval after a second start`);
  assert.ok(runs <= 6, `ran ${runs} times in 110 ms at 20 ms`);
  assert.deepEqual(lines, [['the flaky flush', 'the flaky flush failed']]);

  jobs.stop();
  assert.equal(engine, 'stopped');
  const stoppedAt = runs;
  await wait(60);
  assert.equal(runs, stoppedAt, 'no run after stop');
});

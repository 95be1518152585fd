import assert from 'node:assert/strict';
import { test } from 'node:test';
import { snapshotOptionLabel, whereItRuns } from './snapshot-label.ts';

const deploy = { name: 'Deployed from the editor', hash: '2f6c001a9b', createdBy: 'ada@plant.example', createdAt: '2026-12-07T09:15:02.000Z' };

test('two editor deploys of the same name read apart by author, time and where they run', () => {
  const running = snapshotOptionLabel({ ...deploy, runsNow: { instance: true, devices: 3 } }, 'dev');
  const older = snapshotOptionLabel({ ...deploy, createdBy: 'bo@plant.example', createdAt: '2026-12-07T08:00:00.000Z', runsNow: { instance: false, devices: 0 } }, 'dev');
  assert.notEqual(running, older);
  assert.match(running, /^Deployed from the editor · by ada@plant\.example · .+ · runs on dev and 3 devices · 2f6c001a$/);
  assert.match(older, /^Deployed from the editor · by bo@plant\.example · .+ · 2f6c001a$/);
});

test('where it runs', () => {
  assert.equal(whereItRuns({ instance: false, devices: 0 }, 'dev'), null);
  assert.equal(whereItRuns({ instance: true, devices: 0 }, 'dev'), 'on dev');
  assert.equal(whereItRuns({ instance: false, devices: 1 }, 'dev'), 'on 1 device');
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPlatformClient } from './platform-client.ts';
import type { AuditEvent } from './platform-client.ts';
import { FakePlatform } from './test-support/fake-platform.ts';
import { AuditUploader, LOG_BUFFER_MAX, LogUploader, StatusReporter } from './uploaders.ts';

const platform = new FakePlatform();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-uploads-'));
const quiet = () => undefined;

before(() => platform.start());
after(async () => {
  await platform.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function client() {
  return createPlatformClient({ baseUrl: platform.url, token: platform.token });
}

function event(n: number): AuditEvent {
  return { event: 'flows.get', user: 'ada@example.com', ts: 1_700_000_000_000 + n, details: { n } };
}

describe('uploads to the platform', () => {
  test('audit: batched, and nothing is lost while the platform refuses, not even across an agent restart', async () => {
    platform.refuseAudit = true;
    const first = new AuditUploader({ client: client(), log: quiet, dir });
    first.start();
    for (let n = 0; n < 250; n++) first.add(event(n));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(platform.audits.length, 0);
    assert.equal(first.pending, 250);
    first.close(); // the agent dies without a flush

    const spool = path.join(dir, 'audit-spool.jsonl');
    assert.equal(fs.statSync(spool).mode & 0o777, 0o600);
    platform.refuseAudit = false;
    const second = new AuditUploader({ client: client(), log: quiet, dir });
    assert.equal(second.pending, 250);
    second.start();
    await platform.waitFor('all audit events', () => (platform.audits.length >= 250 ? true : undefined), 10_000);
    second.add(event(250));
    await second.flush(2000);
    assert.deepEqual(
      platform.audits.map((e) => e.details.n),
      Array.from({ length: 251 }, (_, n) => n),
    );
    assert.equal(fs.readFileSync(spool, 'utf8'), '');
    second.close();
  });

  test('logs: the oldest lines go beyond 1,000 while the platform is away, and the gap is said', async () => {
    const port = platform.port;
    await platform.stop();
    const logs = new LogUploader({ client: client(), log: quiet });
    logs.start();
    for (let n = 0; n < 1500; n++) logs.add('info', `line ${n}`);
    assert.equal(logs.pending, LOG_BUFFER_MAX);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await platform.start(port);
    await logs.flush(5000);
    const received = platform.logs.map((line) => line.msg);
    assert.equal(received[0], '500 log lines were dropped while the platform was unreachable');
    assert.deepEqual(
      received.slice(1),
      Array.from({ length: 1000 }, (_, n) => `line ${n + 500}`),
    );
    logs.close();
  });

  test('long lines and long status errors are cut to what the platform takes', async () => {
    const logs = new LogUploader({ client: client(), log: quiet });
    const before = platform.logs.length;
    logs.add('error', 'x'.repeat(20_000));
    await logs.flush(2000);
    assert.equal(platform.logs[before]!.msg.length, 8000);
    logs.close();
    const status = new StatusReporter({ client: client(), log: quiet, nodeRedVersion: '4.1.8', agentVersion: '0.1.0' });
    status.set({ state: 'error', runningSnapshotId: null, runningHash: null, nodeRedPort: null, nodeRedVersion: '4.1.8', error: 'y'.repeat(10_000) });
    await status.flush(2000);
    assert.equal(platform.statuses.at(-1)!.error!.length, 4000);
    status.close();
  });

  test('status: sent at once on a change, not again for the same fields', async () => {
    const status = new StatusReporter({ client: client(), log: quiet, nodeRedVersion: '4.1.8', agentVersion: '0.1.0' });
    const mark = platform.statuses.length;
    const fields = { state: 'running', runningSnapshotId: 's', runningHash: 'h', nodeRedPort: 1880, nodeRedVersion: '4.1.8', error: null } as const;
    status.set(fields);
    await platform.waitForStatus('running', (s) => s.state === 'running', mark, 5000);
    status.set(fields);
    status.set({ ...fields, state: 'error', error: 'boom' });
    await status.flush(2000);
    assert.deepEqual(
      platform.statuses.slice(mark).map((s) => s.state),
      ['running', 'error'],
    );
    assert.deepEqual(platform.statuses.at(-1), { ...fields, state: 'error', error: 'boom', nodeRedVersion: '4.1.8', agentVersion: '0.1.0' });
    status.close();
  });
});

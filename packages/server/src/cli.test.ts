import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Client, createTestDatabase } from '../test/harness.ts';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const run = promisify(execFile);
const CLI = new URL('../bin/flowgate.js', import.meta.url).pathname;

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('flowgate admin create makes the first admin, who can then sign in; the creation is audited', async () => {
  const db = await createTestDatabase('sqlite');
  await db.database.close();
  const env = { FLOWGATE_DATABASE_URL: db.url, FLOWGATE_DATA_DIR: db.dataDir };
  const passwordFile = path.join(db.dataDir, 'password.txt');
  try {
    fs.writeFileSync(passwordFile, 'password\n');
    const weak = await cli(['admin', 'create', '--email', 'ops@plant.example', '--password-file', passwordFile], env);
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /password is not allowed/);

    fs.writeFileSync(passwordFile, 'quiet copper valley morning\n');
    const made = await cli(['admin', 'create', '--email', 'ops@plant.example', '--password-file', passwordFile], env);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created platform admin ops@plant.example/);

    const { openDatabase } = await import('./db/database.ts');
    const database = await openDatabase(db.url);
    const built = await buildApp({ config: loadConfig({ FLOWGATE_DATA_DIR: db.dataDir }), database, logger: false });
    try {
      assert.equal(built.context.setup.token, null, 'no setup link once an admin exists');
      const c = new Client(built);
      const login = await c.post('/api/auth/login', { email: 'ops@plant.example', password: 'quiet copper valley morning' });
      assert.equal(login.statusCode, 200);
      const events = (await c.get('/api/audit?event=platform.setup.completed')).json().events;
      assert.equal(events.length, 1);
      const created = (await c.get('/api/audit?event=user.created')).json().events[0];
      assert.match(created.actorLabel, /^cli:/);
    } finally {
      await built.app.close();
      await database.close();
    }
  } finally {
    fs.rmSync(db.dataDir, { recursive: true, force: true });
  }
});

test('flowgate with an unknown command prints usage and exits 2', async () => {
  const r = await cli(['frobnicate'], {});
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: flowgate/);
});

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { DIALECTS, freePort, POSTGRES_URL } from './harness.ts';

/**
 * Crash consistency, as an operator would meet it: the platform killed with SIGKILL (a power
 * cut, the OOM killer) in the middle of a stream of writes, then started again. Every write
 * it acknowledged is there, and the audit chain verifies (`flowgate audit verify`).
 */

const CLI = new URL('../bin/flowgate.js', import.meta.url).pathname;
const ADMIN = { email: 'ops@plant.example', password: 'quiet copper valley morning' };
const KILLS = 3;

/** A database of its own for the run: a SQLite file in a fresh directory, or a fresh PostgreSQL database. */
async function freshDatabase(dialect: (typeof DIALECTS)[number], dataDir: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') return { url: `sqlite:${path.join(dataDir, 'flowgate.db')}`, drop: async () => {} };
  const name = `flowgate_crash_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = new pg.Client({ connectionString: POSTGRES_URL });
      await again.connect();
      await again.query(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

function environment(dataDir: string, databaseUrl: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOWGATE_DATA_DIR: dataDir,
    FLOWGATE_DATABASE_URL: databaseUrl,
    FLOWGATE_PORT: String(port),
    FLOWGATE_LOG_LEVEL: 'error',
    FLOWGATE_LOGIN_RATE_LIMIT: '1000',
  };
  for (const name of Object.keys(env))
    if (name.startsWith('FLOWGATE_') && !(name in { FLOWGATE_DATA_DIR: 1, FLOWGATE_DATABASE_URL: 1, FLOWGATE_PORT: 1, FLOWGATE_LOG_LEVEL: 1, FLOWGATE_LOGIN_RATE_LIMIT: 1 }))
      delete env[name];
  return env;
}

async function startPlatform(env: NodeJS.ProcessEnv, base: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the platform exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`the platform did not answer within 30 s:\n${out}`);
    if (
      await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, output: () => out };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Signs in as the admin over real HTTP: the session cookie and the CSRF header a browser would send. */
async function signIn(base: string): Promise<Record<string, string>> {
  const r = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  assert.equal(r.status, 200, await r.clone().text());
  const cookie = /fg_session=[^;]+/.exec(r.headers.get('set-cookie') ?? '')![0];
  return { cookie, 'x-csrf-token': ((await r.json()) as { csrfToken: string }).csrfToken, 'content-type': 'application/json' };
}

for (const dialect of DIALECTS) {
  describe(`crash consistency (${dialect})`, () => {
    test(`killed with SIGKILL mid-write ${KILLS} times: every acknowledged write is there and the audit chain verifies`, { timeout: 180_000 }, async (ctx) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-crash-'));
      const database = await freshDatabase(dialect, dataDir);
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const env = environment(dataDir, database.url, port);
      try {
        fs.writeFileSync(path.join(dataDir, 'password.txt'), ADMIN.password);
        const made = spawnSync(process.execPath, [CLI, 'admin', 'create', '--email', ADMIN.email, '--password-file', path.join(dataDir, 'password.txt')], {
          env,
          encoding: 'utf8',
        });
        assert.equal(made.status, 0, made.stderr);

        const acknowledged: Array<{ id: string; name: string }> = [];
        let sent = 0;
        for (let round = 0; round < KILLS; round++) {
          const platform = await startPlatform(env, base);
          const headers = await signIn(base);
          // Four writers at once, so the kill lands with writes in flight, not between two.
          let stop = false;
          const writer = async () => {
            while (!stop) {
              const name = `Line ${round}-${sent++}`;
              const r = await fetch(`${base}/api/teams`, { method: 'POST', headers, body: JSON.stringify({ name }) }).catch(() => null);
              if (!r) return; // the connection died with the platform
              if (r.status === 201) acknowledged.push({ id: ((await r.json()) as { id: string }).id, name });
              else assert.fail(`a write was refused before the kill: ${r.status} ${await r.text()}`);
            }
          };
          const writers = [writer(), writer(), writer(), writer()];
          const before = acknowledged.length;
          while (acknowledged.length < before + 30 + Math.floor(Math.random() * 30)) await new Promise((resolve) => setTimeout(resolve, 5));
          platform.child.kill('SIGKILL');
          await Promise.all(writers);
          stop = true;
          await new Promise((resolve) => (platform.child.exitCode !== null || platform.child.signalCode !== null ? resolve(null) : platform.child.once('exit', resolve)));
          assert.equal(platform.child.signalCode, 'SIGKILL');
        }

        const platform = await startPlatform(env, base);
        try {
          const headers = await signIn(base);
          const teams = (await (await fetch(`${base}/api/teams`, { headers })).json()) as Array<{ id: string; name: string }>;
          const present = new Map(teams.map((team) => [team.id, team.name]));
          const lost = acknowledged.filter((a) => present.get(a.id) !== a.name);
          ctx.diagnostic(`${sent} writes sent over ${KILLS} kills, ${acknowledged.length} acknowledged, ${teams.length} present after the restarts`);
          assert.deepEqual(lost, [], 'acknowledged writes lost in a crash');
          // Each acknowledged team has its audit event, written in the same transaction.
          const audit = (await (await fetch(`${base}/api/audit?event=team.created&limit=1000`, { headers })).json()) as { events: Array<{ targetId: string }> };
          const audited = new Set(audit.events.map((e) => e.targetId));
          assert.deepEqual(
            acknowledged.filter((a) => !audited.has(a.id)),
            [],
            'acknowledged writes without their audit event',
          );
        } finally {
          platform.child.kill('SIGTERM');
          await new Promise((resolve) => (platform.child.exitCode !== null ? resolve(null) : platform.child.once('exit', resolve)));
        }
        const verified = spawnSync(process.execPath, [CLI, 'audit', 'verify'], { env, encoding: 'utf8' });
        assert.equal(verified.status, 0, `flowgate audit verify:\n${verified.stdout}${verified.stderr}`);
        ctx.diagnostic(verified.stdout.trim().split('\n').slice(-1)[0] ?? '');
      } finally {
        await database.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

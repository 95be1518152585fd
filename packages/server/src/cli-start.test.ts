import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../test/harness.ts';
import { loadConfig } from './config.ts';

const CLI = new URL('../bin/flowgate.js', import.meta.url).pathname;

/** Whether anything accepts a TCP connection at host:port. */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 }, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => (socket.destroy(), resolve(false)));
  });
}

test('with nothing configured it listens on 127.0.0.1:3000 and keeps its data in ./data', () => {
  const config = loadConfig({}, '/srv/flowgate');
  assert.deepEqual(
    { host: config.host, port: config.port, dataDir: config.dataDir, db: config.databaseUrl },
    { host: '127.0.0.1', port: 3000, dataDir: '/srv/flowgate/data', db: 'sqlite:/srv/flowgate/data/flowgate.db' },
  );
});

test('flowgate start on a fresh directory: SQLite under ./data, a one-time setup link that makes the first admin, loopback only, a clean stop', { timeout: 60_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-start-'));
  const port = await freePort();
  const env: Record<string, string | undefined> = { ...process.env, FLOWGATE_PORT: String(port), FLOWGATE_LOG_LEVEL: 'warn' };
  for (const name of Object.keys(env)) if (name.startsWith('FLOWGATE_') && name !== 'FLOWGATE_PORT' && name !== 'FLOWGATE_LOG_LEVEL') delete env[name];
  const child = spawn(process.execPath, [CLI, 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no setup link within 30 s:\n${out}`)), 30_000);
      const look = () => {
        const found = /(http:\/\/\S+\/setup\?token=\S+)/.exec(out)?.[1];
        if (found) return (clearTimeout(timer), resolve(found));
        if (child.exitCode !== null) return (clearTimeout(timer), reject(new Error(`it exited ${child.exitCode}:\n${out}`)));
        setTimeout(look, 100);
      };
      look();
    });
    const base = `http://127.0.0.1:${port}`;
    assert.ok(link.startsWith(`${base}/setup?token=`), link);
    assert.match(out, /npx flowgate admin create --email/, 'it shows the automation route too');
    assert.equal((await fetch(`${base}/api/health`)).status, 200);
    assert.ok(fs.existsSync(path.join(cwd, 'data', 'flowgate.db')), 'SQLite under ./data');
    const outside = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (outside) assert.equal(await answers(outside, port), false, `nothing answers on ${outside}`);

    // The link's page makes the first admin, once.
    const token = new URL(link).searchParams.get('token')!;
    assert.equal((await fetch(link)).status, 200, 'the setup page');
    const setup = (body: object) => fetch(`${base}/api/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const made = await setup({ token, email: 'ops@plant.example', name: 'Olga Ops', password: 'quiet copper valley morning' });
    assert.equal(made.status, 201, await made.clone().text());
    assert.equal((await setup({ token, email: 'eve@plant.example', name: 'Eve', password: 'quiet copper valley morning' })).status, 403, 'the link works once');
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
    fs.rmSync(cwd, { recursive: true, force: true });
    assert.equal(code, 0, `a clean stop:\n${out}`);
  }
});

/** Starts `flowgate start` in `cwd` under a umask of 022, as a shell of a default account would; resolves once it answers. */
async function startUnderUmask022(cwd: string, port: number): Promise<{ child: ReturnType<typeof spawn>; output: () => string; stop: () => Promise<number | null> }> {
  const env: Record<string, string | undefined> = { ...process.env, FLOWGATE_PORT: String(port), FLOWGATE_LOG_LEVEL: 'warn' };
  for (const name of Object.keys(env)) if (name.startsWith('FLOWGATE_') && name !== 'FLOWGATE_PORT' && name !== 'FLOWGATE_LOG_LEVEL') delete env[name];
  const child = spawn('/bin/sh', ['-c', `umask 022 && exec "${process.execPath}" "${CLI}" start`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`it exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no answer within 30 s:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    output: () => out,
    stop: () => {
      child.kill('SIGTERM');
      return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
    },
  };
}

test("the data directory is its own user's only (0700, files 0600) under a umask of 022, and a looser file is warned about at start", { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-modes-'));
  const data = path.join(cwd, 'data');
  const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);
  try {
    const first = await startUnderUmask022(cwd, await freePort());
    try {
      assert.equal(mode(data), '700');
      // The WAL files exist while the database is open.
      for (const file of ['flowgate.db', 'flowgate.db-wal', 'flowgate.db-shm', 'master.key']) assert.equal(mode(path.join(data, file)), '600', file);
      assert.doesNotMatch(first.output(), /others may read/);
    } finally {
      assert.equal(await first.stop(), 0, first.output());
    }

    // An installation from before, or a hand-made copy: still started, and told.
    fs.chmodSync(path.join(data, 'flowgate.db'), 0o644);
    fs.chmodSync(data, 0o755);
    const second = await startUnderUmask022(cwd, await freePort());
    try {
      assert.match(second.output(), new RegExp(`others may read ${path.join(data, 'flowgate.db')} \\(mode 644\\).*chmod 600`));
      assert.match(second.output(), new RegExp(`others may read ${data} \\(mode 755\\).*chmod 700`));
    } finally {
      assert.equal(await second.stop(), 0, second.output());
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

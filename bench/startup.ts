/**
 * Server start-up: spawn what `npm start` runs, `node packages/server/dist/cli.mjs start`
 * (the bundle scripts/build-server.mjs makes; built here first), with a fresh data
 * directory and a free port; time from spawn to the first 200 on /api/health, then read
 * the idle resident memory 5 s later from /proc/<pid>/status. For comparison, the
 * development path through tsx (`node --import tsx packages/server/src/cli.ts start`),
 * cold (tsx's transform cache empty: a fresh TMPDIR) and warm.
 *
 *   node --import tsx bench/startup.ts
 */
import { execFileSync } from 'node:child_process';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, line, machineNote, withCleanup } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TARGET_MS = 1500;
const TARGET_RSS_MB = 120;
const IDLE_MS = 5000;
const WARM_RUNS = 2;
const READY_TIMEOUT_MS = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function memory(pid: number): { rssMb: number; hwmMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

async function waitForHealth(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before it was ready:\n${output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/health`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`no 200 from /api/health within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function startOnce(command: string[], tmpDir: string, label: string): Promise<{ readyMs: number; rssMb: number; hwmMb: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-bench-startup-data-'));
  const port = await freePort();
  let out = '';
  let child: ChildProcess | null = null;
  try {
    const started = performance.now();
    child = spawn(process.execPath, command, {
      cwd: ROOT,
      env: { ...process.env, FLOWGATE_DATA_DIR: dataDir, FLOWGATE_PORT: String(port), FLOWGATE_HOST: '127.0.0.1', TMPDIR: tmpDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await waitForHealth(port, child, () => out);
    const readyMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const { rssMb, hwmMb } = memory(child.pid!);
    line(
      `startup ${label}: ${fmt(readyMs)} ms from spawn to first 200 on /api/health; idle RSS ${fmt(rssMb, 1)} MB after ${IDLE_MS / 1000} s (peak ${fmt(hwmMb, 1)} MB) ` +
        `— targets <= ${fmt(TARGET_MS)} ms: ${readyMs <= TARGET_MS ? 'MET' : 'MISSED'}, <= ${TARGET_RSS_MB} MB: ${rssMb <= TARGET_RSS_MB ? 'MET' : 'MISSED'}`,
    );
    return { readyMs, rssMb, hwmMb };
  } finally {
    if (child) await stop(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Idle RSS of a process doing nothing, for scale: what node itself and the tsx loader cost. */
async function baselineRss(args: string[], tmpDir: string): Promise<number> {
  const child = spawn(process.execPath, [...args, '-e', 'setInterval(() => {}, 1000)'], { cwd: ROOT, env: { ...process.env, TMPDIR: tmpDir }, stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    return memory(child.pid!).rssMb;
  } finally {
    await stop(child);
  }
}

execFileSync(process.execPath, ['scripts/build-server.mjs'], { cwd: ROOT, stdio: 'inherit' });
// As `npm start` and the flowgate bin run it, heap cap included.
const BUNDLE = ['--max-old-space-size=1024', 'packages/server/dist/cli.mjs', 'start'];
const TSX = ['--max-old-space-size=1024', '--import', 'tsx', 'packages/server/src/cli.ts', 'start'];
line(
  `startup: ${machineNote()}; fresh FLOWGATE_DATA_DIR each run (SQLite, migrations run), web UI ${fs.existsSync(path.join(ROOT, 'packages/web/dist/index.html')) ? 'built' : 'not built'}`,
);
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-bench-startup-tmp-'));
await withCleanup(
  async () => fs.rmSync(tmpDir, { recursive: true, force: true }),
  async () => {
    for (let i = 1; i <= WARM_RUNS + 1; i++) await startOnce(BUNDLE, tmpDir, `npm start (node packages/server/dist/cli.mjs) #${i}`);
    await startOnce(TSX, tmpDir, 'development, tsx cold (empty tsx cache)');
    await startOnce(TSX, tmpDir, 'development, tsx warm');
    const [bare, withTsx] = await Promise.all([baselineRss([], tmpDir), baselineRss(['--import', 'tsx'], tmpDir)]);
    line(
      `startup baseline: idle RSS of an empty node process ${fmt(bare, 1)} MB, of an empty node --import tsx process ${fmt(withTsx, 1)} MB (the tsx loader runs in its own thread)`,
    );
  },
);

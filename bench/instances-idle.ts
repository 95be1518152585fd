/**
 * Many idle hosted instances on one machine (issue 19): what `npm start` runs (the bundle,
 * built here first, with its heap cap) in a process of its own, N hosted instances created
 * through the API (50 by default), each an agent running the real Node-RED with its default
 * (empty) flows, in its bubblewrap sandbox unless FLOWGATE_INSTANCE_SANDBOX=none. Measured:
 *  - the time from the first create to all N running, with progress on the way;
 *  - after they settle, the memory of each instance's whole process tree (the sandbox's
 *    processes, the agent, Node-RED, anything else they started), found from the platform's
 *    child processes through /proc: RSS, and PSS (smaps_rollup), which shares the pages
 *    several processes map among them and so adds up; per instance min / median / max, the
 *    total, and by kind of process;
 *  - the CPU the idle instances use, over a window after settling;
 *  - the platform's own RSS, and the machine's MemAvailable (/proc/meminfo), before and after;
 *  - the platform's answer time (GET /api/health, and a signed-in GET of the application
 *    listing every instance) with none and with all N idle;
 *  - the time from SIGTERM to the platform and every instance process gone.
 *
 *   npm run bench -- instances-idle
 *   FLOWGATE_BENCH_INSTANCES=5 npm run bench -- instances-idle      (the count; 50 by default)
 *   FLOWGATE_BENCH_STARTING=2: at most 2 starting at a time (all at once by default)
 *   FLOWGATE_BENCH_SETTLE_S=30, FLOWGATE_BENCH_TIMEOUT_S (to all running; 60 + 10 per instance by default)
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, until } from '../packages/server/test/harness.ts';
import { browser, fmt, line, machineNote, percentile, startBuiltPlatform, withCleanup } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INSTANCES = Number(process.env.FLOWGATE_BENCH_INSTANCES ?? 50);
const SETTLE_S = Number(process.env.FLOWGATE_BENCH_SETTLE_S ?? 30);
/** At most this many instances starting at a time: the next is created when one runs (or fails). All at once by default. */
const STARTING = Number(process.env.FLOWGATE_BENCH_STARTING ?? INSTANCES);
const TIMEOUT_S = Number(process.env.FLOWGATE_BENCH_TIMEOUT_S ?? 60 + 10 * INSTANCES);
const CPU_WINDOW_S = 10;
const REQUESTS = 100;
const ADMIN = { email: 'ops@plant.example', name: 'Olga Ops', password: 'quiet copper valley morning' };
const sandbox = process.env.FLOWGATE_INSTANCE_SANDBOX ?? 'bubblewrap';
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// /proc

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** Clock ticks of CPU, user and system. */
  cpuTicks: number;
}

function readProc(pid: number): Proc | null {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z') return null;
    return { pid, ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function allProcs(): Proc[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => readProc(Number(e)))
    .filter((p): p is Proc => p !== null);
}

/** `pid` and everything below it. */
function tree(pid: number, procs: Proc[]): Proc[] {
  const byParent = new Map<number, Proc[]>();
  for (const p of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const root = procs.find((p) => p.pid === pid);
  const out: Proc[] = root ? [root] : [];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]!.pid) ?? []));
  return out;
}

/** Resident and proportional memory in bytes (0 for a process gone meanwhile). */
function memoryOf(pid: number): { rss: number; pss: number } {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), pss: kb('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** What a process of an instance is: the sandbox's (bwrap, and its reaper), the agent, Node-RED, or something else. */
function kindOf(p: Proc): string {
  if (p.comm === 'bwrap') return 'sandbox';
  const args = cmdline(p.pid);
  // Node-RED names its process node-red (process.title), which replaces its command line.
  if (p.comm === 'node-red' || /red\.js/.test(args)) return 'Node-RED';
  if (/agent/.test(args)) return 'agent';
  // The agent runs its TypeScript through tsx, whose esbuild runs as a service process.
  if (p.comm === 'esbuild') return "esbuild (tsx, the agent's)";
  return p.comm;
}

function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;
}

interface InstanceMemory {
  root: number;
  processes: number;
  rss: number;
  pss: number;
  byKind: Map<string, { rss: number; pss: number; count: number }>;
}

/** Each child of the platform is an instance (its sandbox, or its agent without one): its whole tree. */
function instanceMemory(platformPid: number): InstanceMemory[] {
  const procs = allProcs();
  return procs
    .filter((p) => p.ppid === platformPid)
    .map((child) => {
      const m: InstanceMemory = { root: child.pid, processes: 0, rss: 0, pss: 0, byKind: new Map() };
      for (const p of tree(child.pid, procs)) {
        const { rss, pss } = memoryOf(p.pid);
        const kind = kindOf(p);
        const k = m.byKind.get(kind) ?? { rss: 0, pss: 0, count: 0 };
        m.byKind.set(kind, { rss: k.rss + rss, pss: k.pss + pss, count: k.count + 1 });
        m.processes += 1;
        m.rss += rss;
        m.pss += pss;
      }
      return m;
    });
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => percentile(sorted(xs), 50);
const mb = (bytes: number, digits = 1) => `${fmt(bytes / MB, digits)} MB`;
const spread = (xs: number[]) => `min ${mb(Math.min(...xs))}, median ${mb(median(xs))}, max ${mb(Math.max(...xs))}`;

async function answerTimes(url: string, headers: Record<string, string> = {}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS + 5; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
    if (i >= 5) times.push(performance.now() - started);
  }
  return sorted(times);
}
const p50p95 = (xs: number[]) => `p50 ${fmt(percentile(xs, 50), 2)} ms, p95 ${fmt(percentile(xs, 95), 2)} ms`;

// ---------------------------------------------------------------------------------------

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-bench-idle-'));
let server: ChildProcess | null = null;
let failure: string | null = null;

await withCleanup(
  async () => {
    if (server && server.exitCode === null && server.pid !== undefined) {
      const left = tree(server.pid, allProcs());
      server.kill('SIGKILL');
      for (const p of left) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  },
  async () => {
    execFileSync(process.execPath, ['scripts/build-server.mjs'], { cwd: ROOT, stdio: 'inherit' });
    const memBefore = memAvailable();
    line(
      `instances-idle: ${machineNote()}; ${INSTANCES} hosted instances (agent and real Node-RED each, default flows; ${STARTING >= INSTANCES ? 'all created at once' : `at most ${STARTING} starting at a time`}), sandbox ${sandbox}; the bundle as npm start runs it; MemAvailable ${mb(memBefore, 0)} of ${mb(os.totalmem(), 0)}`,
    );

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const spawnedAt = performance.now();
    const platform = await startBuiltPlatform({ dataDir, port, env: { FLOWGATE_INSTANCE_SANDBOX: sandbox } });
    const child = platform.child;
    server = child;
    const platformPid = child.pid!;
    line(`instances-idle: the platform answers /api/health ${fmt((performance.now() - spawnedAt) / 1000, 1)} s after its start`);

    const link = await until('the setup link', () => /\/setup\?token=(\S+)/.exec(platform.output())?.[1], { timeoutMs: 30_000 });
    const as = browser(base);
    await as('POST', '/api/setup', { token: link, ...ADMIN });
    const teamId = (await as<{ id: string }>('POST', '/api/teams', { name: 'Packaging' })).id;
    const applicationId = (await as<{ id: string }>('POST', `/api/teams/${teamId}/applications`, { name: 'Line gateways' })).id;
    const [nodeRedVersion] = await as<string[]>('GET', '/api/node-red-versions');

    // The platform with no instance: its memory and answer times, for comparison.
    await new Promise((r) => setTimeout(r, 2000));
    const platformBefore = memoryOf(platformPid);
    const availableIdle = memAvailable();
    // The signed-in listing, with the session the browser holds: read it from a request.
    let cookie = '';
    {
      const response = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
      });
      cookie = /fg_session=[^;]*/.exec(response.headers.get('set-cookie') ?? '')?.[0] ?? '';
      if (!response.ok || !cookie) throw new Error(`sign-in: ${response.status} ${await response.text()}`);
    }
    const listing = `${base}/api/applications/${applicationId}`;
    const healthBefore = await answerTimes(`${base}/api/health`);
    const listingBefore = await answerTimes(listing, { cookie });
    line(
      `instances-idle platform with no instance: RSS ${mb(platformBefore.rss)} (PSS ${mb(platformBefore.pss)}); MemAvailable ${mb(availableIdle, 0)}; GET /api/health ${p50p95(healthBefore)}; GET /api/applications/:id (signed in, the instance list) ${p50p95(listingBefore)} (${REQUESTS} requests each, one after another)`,
    );

    // N instances, created one after another, at most STARTING of them starting at a time
    // (all at once by default); until all run, or none is still starting.
    const startedAt = performance.now();
    const createdAt = new Map<string, number>();
    const ranAfter = new Map<string, number>();
    let statuses: string[] = [];
    let lastProgress = 0;
    let allCreatedS = 0;
    const countBy = (xs: string[]) =>
      Object.entries(xs.reduce<Record<string, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {}))
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
    const allRunning = await until(
      `${INSTANCES} instances running`,
      async () => {
        const { instances } = await as<{ instances: Array<{ id: string; status: string; statusDetail: string | null }> }>('GET', `/api/applications/${applicationId}`);
        statuses = instances.map((i) => (i.statusDetail ? `${i.status} (${i.statusDetail})` : i.status));
        for (const i of instances) if (i.status === 'running' && !ranAfter.has(i.id)) ranAfter.set(i.id, performance.now() - createdAt.get(i.id)!);
        const running = instances.filter((i) => i.status === 'running').length;
        const failed = instances.filter((i) => i.status === 'error').length;
        let starting = instances.length - running - failed;
        while (createdAt.size < INSTANCES && starting < STARTING) {
          const posted = performance.now();
          const { id } = await as<{ id: string }>('POST', `/api/applications/${applicationId}/instances`, { name: `line-${createdAt.size + 1}`, nodeRedVersion });
          createdAt.set(id, posted);
          starting += 1;
          if (createdAt.size === INSTANCES) {
            allCreatedS = (performance.now() - startedAt) / 1000;
            line(`  ${fmt(allCreatedS, 1)} s: all ${INSTANCES} created`);
          }
        }
        const elapsed = (performance.now() - startedAt) / 1000;
        const done = running === INSTANCES || (createdAt.size === INSTANCES && starting === 0);
        if (elapsed - lastProgress >= 10 || done) {
          lastProgress = elapsed;
          line(`  ${fmt(elapsed, 0)} s: ${running}/${INSTANCES} running (${countBy(statuses)}); load ${os.loadavg()[0]!.toFixed(2)}; MemAvailable ${mb(memAvailable(), 0)}`);
        }
        if (done && running < INSTANCES) throw new Error(`${INSTANCES - running} of ${INSTANCES} instances did not run`);
        return done;
      },
      { timeoutMs: TIMEOUT_S * 1000, everyMs: 250 },
    ).catch((error: Error) => {
      failure = `${error.message}: ${countBy(statuses)}`;
      line(`instances-idle: NOT ALL RUNNING after ${fmt((performance.now() - startedAt) / 1000, 1)} s: ${failure}`);
      return false;
    });
    const toRunningS = (performance.now() - startedAt) / 1000;
    const each = sorted([...ranAfter.values()]);
    if (allRunning)
      line(
        `instances-idle create-to-all-running: ${INSTANCES} instances in ${fmt(toRunningS, 1)} s from the first create, ${STARTING >= INSTANCES ? 'all created at once' : `at most ${STARTING} starting at a time`} (all created after ${fmt(allCreatedS, 1)} s); each instance's create-to-running p50 ${fmt(percentile(each, 50) / 1000, 1)} s, max ${fmt(each[each.length - 1]! / 1000, 1)} s`,
      );

    // Settle, then the CPU the idle instances use over a window, then their memory.
    line(`instances-idle: settling ${SETTLE_S} s`);
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const ticks = () => tree(platformPid, allProcs()).reduce((sum, p) => sum + (p.pid === platformPid ? 0 : p.cpuTicks), 0);
    const platformTicks = () => readProc(platformPid)?.cpuTicks ?? 0;
    const [ticks0, platformTicks0] = [ticks(), platformTicks()];
    await new Promise((r) => setTimeout(r, CPU_WINDOW_S * 1000));
    const hz = 100; // USER_HZ on Linux
    const instancesCpu = (ticks() - ticks0) / hz / CPU_WINDOW_S;
    const platformCpu = (platformTicks() - platformTicks0) / hz / CPU_WINDOW_S;

    const instances = instanceMemory(platformPid);
    const platformAfter = memoryOf(platformPid);
    const availableAfter = memAvailable();
    const rss = instances.map((i) => i.rss);
    const pss = instances.map((i) => i.pss);
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    line(
      `instances-idle memory, ${instances.length} instances idle ${SETTLE_S} s after ${allRunning ? 'all' : 'not all'} ran (${sandbox} sandbox; each instance's whole process tree, ${fmt(median(instances.map((i) => i.processes)))} processes each):`,
    );
    line(`  per instance RSS: ${spread(rss)}; PSS: ${spread(pss)}`);
    line(`  all instances: PSS ${mb(total(pss))} (RSS summed ${mb(total(rss))}, counting shared pages once per process)`);
    const kinds = [...new Set(instances.flatMap((i) => [...i.byKind.keys()]))];
    for (const kind of kinds) {
      const of = instances.map((i) => i.byKind.get(kind)).filter((k) => k !== undefined);
      line(
        `  ${kind} (${fmt(median(of.map((k) => k.count)))} per instance): RSS median ${mb(median(of.map((k) => k.rss)))}, PSS median ${mb(median(of.map((k) => k.pss)))}, PSS all ${mb(total(of.map((k) => k.pss)))}`,
      );
    }
    line(
      `  platform: RSS ${mb(platformBefore.rss)} before the instances, ${mb(platformAfter.rss)} with them (PSS ${mb(platformBefore.pss)}, ${mb(platformAfter.pss)}); CPU over ${CPU_WINDOW_S} s idle: platform ${fmt(platformCpu * 100, 1)} % of a core, all instances ${fmt(instancesCpu * 100, 1)} % (${fmt((instancesCpu * 100) / Math.max(1, instances.length), 2)} % each)`,
    );
    line(
      `  machine: MemAvailable ${mb(memBefore, 0)} before the platform, ${mb(availableIdle, 0)} with it and no instance, ${mb(availableAfter, 0)} with ${instances.length} instances idle: ${mb(availableIdle - availableAfter, 0)} taken by them (${mb((availableIdle - availableAfter) / Math.max(1, instances.length), 1)} each; others' work on the machine moves this); load ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
    );

    const healthAfter = await answerTimes(`${base}/api/health`);
    const listingAfter = await answerTimes(listing, { cookie });
    line(
      `instances-idle platform answers with ${instances.length} instances idle: GET /api/health ${p50p95(healthAfter)} (with none: ${p50p95(healthBefore)}); GET /api/applications/:id listing them ${p50p95(listingAfter)} (with none: ${p50p95(listingBefore)})`,
    );

    // Stop: SIGTERM, until the platform and every process of its instances are gone.
    const pids = tree(platformPid, allProcs()).map((p) => p.pid);
    const signalled = performance.now();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([platform.exited, new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 120_000)))]);
    clearTimeout(timer);
    const exitS = (performance.now() - signalled) / 1000;
    if (code === 'still running') throw new Error(`still running 120 s after SIGTERM:\n${platform.output().slice(-3000)}`);
    const alive = () => pids.filter((pid) => readProc(pid) !== null);
    await until('every instance process gone', () => alive().length === 0, { timeoutMs: 30_000, everyMs: 50 }).catch(() => false);
    const goneS = (performance.now() - signalled) / 1000;
    const left = alive();
    line(
      `instances-idle stop with ${instances.length} instances: the platform exited ${code} ${fmt(exitS, 2)} s after SIGTERM; all ${pids.length - 1} instance processes gone after ${fmt(goneS, 2)} s${left.length ? `; ${left.length} LEFT` : ''}; MemAvailable ${mb(memAvailable(), 0)} after`,
    );
    if (failure) throw new Error(failure);
  },
);

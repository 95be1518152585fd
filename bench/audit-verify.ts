/**
 * Audit chain verification speed: a log of one million events (a valid chain with a
 * signed checkpoint every 1,000 events, the server's default) written straight into
 * SQLite, then verifyAuditLog timed in-process (in one thread, then with its default
 * worker threads) and `flowgate audit verify` end to end.
 * PostgreSQL the same with 200,000 events.
 *
 *   node --import tsx bench/audit-verify.ts [sqlite|postgres] [events]
 */
import { execFile } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Dialect } from '../packages/server/src/db/database.ts';
import { createAuditStore } from '../packages/server/src/features/audit/audit.store.ts';
import { verifyAuditLog } from '../packages/server/src/features/audit/audit.verify.ts';
import { createTestDatabase } from '../packages/server/test/harness.ts';
import { fillPostgres, fillSqlite, fmt, line, machineNote, perSecond, withCleanup } from './lib.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../packages/server/bin/flowgate.js', import.meta.url));
const TARGET = 300_000;
const EVENTS: Record<Dialect, number> = { sqlite: 1_000_000, postgres: 200_000 };

async function bench(dialect: Dialect, events: number): Promise<void> {
  const t = await createTestDatabase(dialect);
  await withCleanup(
    () => t.drop(),
    async () => {
      const fill = dialect === 'sqlite' ? fillSqlite(t.url.replace(/^sqlite:/, ''), t.dataDir, events) : await fillPostgres(t.url, t.schema!, t.dataDir, events);
      line(
        `audit-verify ${dialect} fill: ${fmt(fill.events)} events + ${fmt(fill.checkpoints)} signed checkpoints written directly in ${(fill.ms / 1000).toFixed(1)} s (not part of the figures below)`,
      );

      const store = createAuditStore(t.database);
      // One thread, then the default: worker threads checking ranges side by side (one a core).
      for (const [label, options] of [
        ['single thread (threads: 0)', { threads: 0 }],
        [`parallel (default: ${Math.min(availableParallelism(), 8)} worker threads)`, {}],
      ] as const) {
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        const result = await verifyAuditLog(t.database, store, () => {}, options);
        const ms = performance.now() - started;
        const cpu = process.cpuUsage(cpuBefore);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        if (!result.ok || result.events !== events) throw new Error(`verification did not pass: ${JSON.stringify(result)}`);
        const rate = (events * 1000) / ms;
        line(
          `audit-verify ${dialect} verifyAuditLog ${label}: ${perSecond(events, ms)} events/s (${fmt(events)} events, ${fmt(result.checkpoints)} checkpoints, ${(ms / 1000).toFixed(2)} s, in-process; ` +
            `the process (all its threads) used ${(cpuMs / 1000).toFixed(2)} s of CPU = ${perSecond(events, cpuMs)} events per CPU-second; load average ${loadavg()[0]!.toFixed(2)}) — ` +
            `target >= ${fmt(TARGET)}/s: ${rate >= TARGET ? 'MET' : 'MISSED'}`,
        );
      }

      // The CLI as an operator runs it: a new process, tsx, config, migration check, verify.
      const env = {
        ...process.env,
        FLOWGATE_DATABASE_URL: t.url,
        FLOWGATE_DATA_DIR: t.dataDir,
        ...(t.schema ? { PGOPTIONS: `-c search_path=${t.schema}` } : {}),
      };
      const cliStarted = performance.now();
      const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify'], { env, timeout: 300_000 });
      const cliMs = performance.now() - cliStarted;
      if (!stdout.startsWith('audit log intact')) throw new Error(`flowgate audit verify said: ${stdout}`);
      line(
        `audit-verify ${dialect} cli: ${(cliMs / 1000).toFixed(2)} s end to end for ${fmt(events)} events = ${perSecond(events, cliMs)} events/s ` +
          `(node packages/server/bin/flowgate.js audit verify, default threads; it printed "${stdout.trim()}"; load average ${loadavg()[0]!.toFixed(2)})`,
      );
    },
  );
}

const only = process.argv[2] as Dialect | undefined;
const count = process.argv[3] ? Number(process.argv[3]) : undefined;
line(`audit-verify: ${machineNote()}`);
for (const dialect of ['sqlite', 'postgres'] as const) {
  if (only && only !== dialect) continue;
  await bench(dialect, count ?? EVENTS[dialect]);
}

/**
 * Audit page latency through the real app: 100,000 events, an admin signed in, then
 * GET /api/audit?limit=1000 (newest first) and the same filtered to event=team.created,
 * each 50 times through app.inject (routing, session, permission check, query, response
 * serialisation; no socket). For scale, each also over a real socket, and what app.inject
 * alone costs for a body that size.
 *
 *   node --import tsx bench/audit-page.ts [sqlite|postgres]
 */
import http from 'node:http';
import Fastify from 'fastify';
import { buildApp } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import type { Dialect } from '../packages/server/src/db/database.ts';
import { createTestDatabase, setupAdmin, type TestApp } from '../packages/server/test/harness.ts';
import { fillPostgres, fillSqlite, fmt, line, machineNote, percentile, withCleanup } from './lib.ts';

const EVENTS = 100_000;
const REQUESTS = 50;
const WARMUP = 5;
const TARGET_P50_MS = 10;

const PAGES: Array<{ name: string; url: string }> = [
  { name: 'page', url: '/api/audit?limit=1000' },
  { name: 'filtered page', url: '/api/audit?limit=1000&event=team.created' },
];

async function bench(dialect: Dialect): Promise<void> {
  const db = await createTestDatabase(dialect);
  let app: TestApp | null = null;
  await withCleanup(
    async () => {
      await app?.app.close().catch(() => {});
      await db.drop();
    },
    async () => {
      const fill = dialect === 'sqlite' ? fillSqlite(db.url.replace(/^sqlite:/, ''), db.dataDir, EVENTS) : await fillPostgres(db.url, db.schema!, db.dataDir, EVENTS);
      line(`audit-page ${dialect} fill: ${fmt(fill.events)} events + ${fmt(fill.checkpoints)} checkpoints in ${(fill.ms / 1000).toFixed(1)} s`);

      const config = loadConfig({ FLOWGATE_DATA_DIR: db.dataDir, FLOWGATE_LOGIN_RATE_LIMIT: '1000' });
      const built = await buildApp({ config, database: db.database, logger: false });
      await built.app.ready();
      app = { ...built, db, config, close: async () => {} };
      const admin = await setupAdmin(app);

      const address = await built.app.listen({ host: '127.0.0.1', port: 0 });
      let lastBytes = 0;
      for (const page of PAGES) {
        // For scale: the database query and row mapping alone (auditStore.page), no HTTP.
        const filter = page.url.includes('event=') ? { event: 'team.created' } : {};
        const storeTimes: number[] = [];
        for (let i = 0; i < WARMUP + REQUESTS; i++) {
          const started = performance.now();
          await built.context.auditStore.page(filter, null, 1000);
          if (i >= WARMUP) storeTimes.push(performance.now() - started);
        }
        storeTimes.sort((a, b) => a - b);

        const times: number[] = [];
        let bytes = 0;
        let count = 0;
        for (let i = 0; i < WARMUP + REQUESTS; i++) {
          // app.inject directly with the admin's session: the harness client would also
          // parse every 600 KiB reply inside the timing.
          const started = performance.now();
          const response = await built.app.inject({ method: 'GET', url: page.url, headers: { cookie: admin.cookie!, 'user-agent': 'flowgate-bench' } });
          const ms = performance.now() - started;
          if (response.statusCode !== 200) throw new Error(`${page.url}: ${response.statusCode} ${response.body.slice(0, 200)}`);
          if (i >= WARMUP) times.push(ms);
          bytes = response.rawPayload.length;
          lastBytes = bytes;
          count = (response.json() as { events: unknown[] }).events.length;
        }
        if (count !== 1000) throw new Error(`${page.url} returned ${count} events, not 1000`);
        times.sort((a, b) => a - b);
        const p50 = percentile(times, 50);
        line(
          `audit-page ${dialect} ${page.name}: p50 ${p50.toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms ` +
            `(GET ${page.url}, ${fmt(count)} events = ${fmt(bytes / 1024)} KiB JSON, ${REQUESTS} requests after ${WARMUP} warm-up, app.inject as admin, ${fmt(EVENTS)} events in the log) — ` +
            `target p50 <= ${TARGET_P50_MS} ms: ${p50 <= TARGET_P50_MS ? 'MET' : 'MISSED'}`,
        );
        line(
          `audit-page ${dialect} ${page.name}, query only: p50 ${percentile(storeTimes, 50).toFixed(1)} ms, p95 ${percentile(storeTimes, 95).toFixed(1)} ms (auditStore.page, same filter, no HTTP, for scale)`,
        );

        // For scale: the same request over a real socket (keep-alive, body read to its last byte, not parsed).
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const socketTimes: number[] = [];
        for (let i = 0; i < WARMUP + REQUESTS; i++) {
          const started = performance.now();
          const status = await new Promise<number>((resolve, reject) => {
            http
              .get(`${address}${page.url}`, { agent, headers: { cookie: admin.cookie!, 'user-agent': 'flowgate-bench' } }, (res) => {
                res.on('data', () => {});
                res.on('end', () => resolve(res.statusCode ?? 0));
              })
              .on('error', reject);
          });
          if (status !== 200) throw new Error(`${page.url} over a socket: ${status}`);
          if (i >= WARMUP) socketTimes.push(performance.now() - started);
        }
        agent.destroy();
        socketTimes.sort((a, b) => a - b);
        line(
          `audit-page ${dialect} ${page.name}, over a socket: p50 ${percentile(socketTimes, 50).toFixed(1)} ms, p95 ${percentile(socketTimes, 95).toFixed(1)} ms (node:http client on loopback, keep-alive, for scale)`,
        );
      }

      // For scale: what app.inject alone costs for a body this size, on this machine: a bare
      // Fastify answering a constant Buffer of the same number of bytes.
      const bare = Fastify();
      const body = Buffer.alloc(lastBytes, 'a');
      bare.get('/', (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
      await bare.ready();
      const bareTimes: number[] = [];
      for (let i = 0; i < WARMUP + REQUESTS; i++) {
        const started = performance.now();
        await bare.inject({ method: 'GET', url: '/' });
        if (i >= WARMUP) bareTimes.push(performance.now() - started);
      }
      await bare.close();
      bareTimes.sort((a, b) => a - b);
      line(
        `audit-page ${dialect} app.inject floor: p50 ${percentile(bareTimes, 50).toFixed(1)} ms, p95 ${percentile(bareTimes, 95).toFixed(1)} ms ` +
          `(a bare Fastify answering a constant ${fmt(lastBytes / 1024)} KiB Buffer through app.inject: no database, no hooks, no serialisation; ${machineNote()})`,
      );
    },
  );
}

const only = process.argv[2] as Dialect | undefined;
line(`audit-page: ${machineNote()}`);
for (const dialect of ['sqlite', 'postgres'] as const) {
  if (only && only !== dialect) continue;
  await bench(dialect);
}

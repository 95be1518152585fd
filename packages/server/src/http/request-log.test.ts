import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { ADMIN, createTestDatabase, type TestDatabase } from '../../test/harness.ts';
import { loggerOptions, prettyLine } from './request-log.ts';

/**
 * The server's console as a person reads it: the real app, logging where a terminal would
 * show it, after the requests a browser and an agent make.
 */
async function consoleAfterRequests(env: Record<string, string>, isTTY = false): Promise<{ lines: string[]; teardown: () => Promise<void> }> {
  const db: TestDatabase = await createTestDatabase('sqlite');
  // A web UI of two files, so that a static asset is served as it is in production.
  const webDir = path.join(db.dataDir, 'web');
  fs.mkdirSync(path.join(webDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Flowgate</title>');
  fs.writeFileSync(path.join(webDir, 'assets', 'index-abc123.js'), 'console.log(1)');
  const config = loadConfig({ FLOWGATE_DATA_DIR: db.dataDir, FLOWGATE_WEB_DIR: webDir, ...env });
  const lines: string[] = [];
  const destination = { isTTY, write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) };
  const { app, context } = await buildApp({ config, database: db.database, logDestination: destination });
  await app.ready();
  for (let i = 0; i < 5; i++) assert.equal((await app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/assets/index-abc123.js' })).statusCode, 200);
  const setup = await app.inject({ method: 'POST', url: '/api/setup', payload: { token: context.setup.token, ...ADMIN } });
  assert.equal(setup.statusCode, 201, setup.body);
  const cookie = `fg_session=${setup.cookies.find((c) => c.name === 'fg_session')!.value}`;
  assert.equal((await app.inject({ method: 'GET', url: '/api/teams', headers: { cookie } })).statusCode, 200);
  await app.inject({ method: 'GET', url: '/instances/i1/editor/?access_token=eyJ.secret.token', headers: { cookie } });
  return {
    lines,
    teardown: async () => {
      await app.close();
      await db.drop();
    },
  };
}

describe('the server console', () => {
  const teardowns: Array<() => Promise<void>> = [];
  after(async () => {
    for (const teardown of teardowns) await teardown();
  });

  test('pretty: a line a person reads per request, and no health polls or static files at the default level', async () => {
    const { lines, teardown } = await consoleAfterRequests({ FLOWGATE_LOG_FORMAT: 'pretty' });
    teardowns.push(teardown);
    const text = lines.join('\n');
    assert.match(text, /^\d\d:\d\d:\d\d INFO {2}GET \/api\/teams 200 \d+(\.\d)? ms$/m, text);
    assert.match(text, /^\d\d:\d\d:\d\d INFO {2}POST \/api\/setup 201 \d+(\.\d)? ms$/m);
    assert.doesNotMatch(text, /\/api\/health/, 'health polls stay out');
    assert.doesNotMatch(text, /\/assets\//, 'static files stay out');
    assert.doesNotMatch(text, /^\{/m, 'no JSON');
    assert.doesNotMatch(text, /incoming request|request completed/, 'one line a request, not two');
    // The editor is opened with its token in the query: the log keeps the path only.
    assert.match(text, /GET \/instances\/i1\/editor\/ \d{3} /);
    assert.ok(!text.includes('secret.token'), text);
  });

  test('json, for log shippers: one JSON object per line, the request in fields', async () => {
    const { lines, teardown } = await consoleAfterRequests({ FLOWGATE_LOG_FORMAT: 'json' });
    teardowns.push(teardown);
    const entries = lines.map(
      (line) => JSON.parse(line) as { level: number; msg: string; req?: { method: string; url: string }; res?: { statusCode: number }; responseTime?: number },
    );
    const teams = entries.find((e) => e.req?.url === '/api/teams');
    assert.ok(teams, lines.join('\n'));
    assert.equal(teams.level, 30);
    assert.equal(teams.res?.statusCode, 200);
    assert.equal(typeof teams.responseTime, 'number');
    assert.match(teams.msg, /^GET \/api\/teams 200 /);
    assert.equal(
      entries.some((e) => e.req?.url === '/api/health'),
      false,
    );
    assert.ok(!lines.join('\n').includes('secret.token'));
  });

  test('at debug, the health polls and static files are there too', async () => {
    const { lines, teardown } = await consoleAfterRequests({ FLOWGATE_LOG_FORMAT: 'pretty', FLOWGATE_LOG_LEVEL: 'debug' });
    teardowns.push(teardown);
    assert.equal(lines.filter((line) => / DEBUG GET \/api\/health 200 /.test(line)).length, 5, lines.join('\n'));
    assert.ok(lines.some((line) => / DEBUG GET \/assets\/index-abc123\.js 200 /.test(line)));
  });

  test('auto (nothing set): readable on a terminal, JSON elsewhere', () => {
    const config = loadConfig({});
    assert.equal(config.logFormat, 'auto');
    const written: string[] = [];
    const terminal = { isTTY: true, write: (text: string) => written.push(text) };
    assert.notEqual(loggerOptions(config, terminal).stream, terminal, 'a terminal gets the pretty stream');
    const pipe = { write: (text: string) => written.push(text) };
    assert.equal(loggerOptions(config, pipe).stream, pipe, 'a pipe gets the JSON as it is');
    assert.throws(() => loadConfig({ FLOWGATE_LOG_FORMAT: 'xml' }), /FLOWGATE_LOG_FORMAT must be pretty, json or auto/);
  });

  test("a line that is not a request: its fields as key=value, an error's stack below it", () => {
    const time = new Date(2026, 0, 5, 12, 0, 1).getTime();
    assert.equal(prettyLine(JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', signal: 'SIGTERM', msg: 'shutting down' })), '12:00:01 WARN  shutting down signal=SIGTERM');
    const line = prettyLine(
      JSON.stringify({ level: 50, time, msg: 'audit checkpoint failed', err: { type: 'Error', message: 'disk full', stack: 'Error: disk full\n    at write (x.ts:1:1)' } }),
    );
    assert.equal(line, '12:00:01 ERROR audit checkpoint failed\n    Error: disk full\n        at write (x.ts:1:1)');
  });
});

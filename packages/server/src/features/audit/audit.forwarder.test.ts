import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { AuditRecord } from '@flowgate/core';
import { createAlerts, type AlertKind } from '../../alerts.ts';
import { SYSTEM_CONTEXT, systemClock, type RequestContext } from '../../context.ts';
import type { Dialect } from '../../db/database.ts';
import { createTestDatabase, DIALECTS } from '../../../test/harness.ts';
import { FACILITY_AUTHPRIV, createSyslogForwarder, formatSyslogMessage, frameOctetCounted, type SyslogForwarderDeps, type SyslogTarget } from './audit.forwarder.ts';
import { createAuditLog } from './audit.service.ts';
import { createAuditStore } from './audit.store.ts';

// Everything here is real: SQLite on disk, TCP and TLS syslog receivers on loopback,
// certificates made by openssl. Nothing is mocked.

const run = promisify(execFile);

interface SyslogMessage {
  connection: number;
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sdId: string;
  params: Record<string, string>;
  msg: string;
}

/** A strict RFC 5424 parser: it throws on anything the forwarder must not send. */
function parseSyslog(text: string): Omit<SyslogMessage, 'connection'> {
  const head = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) \[/.exec(text);
  if (!head) throw new Error(`not an RFC 5424 message with structured data: ${text.slice(0, 120)}`);
  let i = head[0].length;
  const idEnd = i + text.slice(i).search(/[ \]]/);
  const sdId = text.slice(i, idEnd);
  i = idEnd;
  const params: Record<string, string> = {};
  while (text[i] === ' ') {
    const eq = text.indexOf('="', i);
    if (eq === -1) throw new Error('SD-PARAM without ="');
    const name = text.slice(i + 1, eq);
    i = eq + 2;
    let value = '';
    for (;;) {
      const c = text[i++];
      if (c === undefined) throw new Error(`unterminated PARAM-VALUE for ${name}`);
      if (c === '"') break;
      if (c === ']') throw new Error(`unescaped ] in PARAM-VALUE for ${name}`);
      if (c === '\\') {
        const next = text[i++];
        value += next === '"' || next === '\\' || next === ']' ? next : `\\${next}`;
      } else value += c;
    }
    params[name] = value;
  }
  if (text[i] !== ']' || text[i + 1] !== ' ') throw new Error(`bad end of structured data at ${i}: ${text.slice(i, i + 20)}`);
  return {
    pri: Number(head[1]),
    version: head[2]!,
    timestamp: head[3]!,
    hostname: head[4]!,
    appName: head[5]!,
    procId: head[6]!,
    msgId: head[7]!,
    sdId,
    params,
    msg: text.slice(i + 2),
  };
}

interface ReceiverOptions {
  tls?: { key: Buffer; cert: Buffer };
  port?: number;
  /** Drops the first connection after this many frames, discarding what it read beyond them. */
  dropFirstConnectionAfter?: number;
}

/** A syslog receiver that parses RFC 6587 octet-counted frames. */
async function startReceiver(options: ReceiverOptions = {}) {
  const messages: SyslogMessage[] = [];
  const protocolErrors: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let tlsFailures = 0;

  function onConnection(socket: net.Socket): void {
    const connection = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let frames = 0;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        const prefix = buffer.subarray(0, space === -1 ? buffer.length : space).toString('latin1');
        if (!/^[0-9]*$/.test(prefix) || prefix.startsWith('0') || prefix.length > 9) {
          protocolErrors.push(`bad MSG-LEN ${JSON.stringify(prefix.slice(0, 20))}`);
          socket.destroy();
          return;
        }
        if (space === -1) return;
        const length = Number(prefix);
        if (buffer.length < space + 1 + length) return;
        const body = buffer.subarray(space + 1, space + 1 + length);
        buffer = buffer.subarray(space + 1 + length);
        try {
          messages.push({ connection, ...parseSyslog(body.toString('utf8')) });
        } catch (error) {
          protocolErrors.push(String(error));
        }
        frames += 1;
        if (connection === 0 && frames === options.dropFirstConnectionAfter) {
          socket.destroy();
          return;
        }
      }
    });
  }

  const server = options.tls ? tls.createServer({ key: options.tls.key, cert: options.tls.cert }, onConnection) : net.createServer(onConnection);
  server.on('tlsClientError', () => {
    tlsFailures += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    messages,
    protocolErrors,
    connections: () => connections,
    tlsFailures: () => tlsFailures,
    seqs: () => messages.map((m) => Number(m.params.seq)),
    dropConnections(): void {
      for (const socket of sockets) socket.destroy();
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function selfSignedCertificate(dir: string, name: string): Promise<{ key: Buffer; cert: Buffer; certFile: string }> {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { timeout: 15_000 },
  );
  return { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile), certFile };
}

async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** A database, an audit log and a way to make forwarders, all removed when the test ends. */
async function createEnv(t: TestContext, dialect: Dialect = 'sqlite') {
  const testDb = await createTestDatabase(dialect);
  const dir = testDb.dataDir;
  const cleanups: Array<() => Promise<void> | void> = [() => testDb.drop()];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const database = testDb.database;
  const store = createAuditStore(database);
  const raised: AlertKind[] = [];
  const alerts = createAlerts((alert) => raised.push(alert.kind));
  const auditLog = createAuditLog({ database, store, clock: systemClock, alerts });
  const logs: LogEntry[] = [];
  const log = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg: string) => logs.push({ level: 'error', obj, msg }),
  };

  async function records(filter: { event?: string } = {}): Promise<AuditRecord[]> {
    const all: AuditRecord[] = [];
    for await (const batch of store.iterate(filter)) all.push(...batch);
    return all;
  }

  return {
    dir,
    database,
    store,
    alerts,
    raised,
    auditLog,
    logs,
    records,
    /** Registers fn to run when the test ends, before the ones registered earlier. */
    defer(fn: () => Promise<void> | void): void {
      cleanups.push(fn);
    },
    forwarder(target: SyslogTarget, extra: Partial<Pick<SyslogForwarderDeps, 'settleMs' | 'retryMs'>> = {}) {
      const forwarder = createSyslogForwarder({
        database,
        store,
        auditLog,
        alerts,
        clock: systemClock,
        target,
        log,
        retryMs: { min: 20, max: 200 },
        ...extra,
      });
      cleanups.push(() => forwarder.stop());
      return forwarder;
    },
    async cursor(): Promise<number | undefined> {
      const row = await database.db.selectFrom('audit_forwarding').select('last_seq').where('target', '=', 'syslog').executeTakeFirst();
      return row === undefined ? undefined : Number(row.last_seq);
    },
    /** True when the receiver holds every event of the log, which is at least minSeq long. */
    async deliveredAll(receiver: Receiver, minSeq = 1): Promise<boolean> {
      const head = (await store.head()).seq;
      if (head < minSeq) return false;
      const got = new Set(receiver.seqs());
      for (let seq = 1; seq <= head; seq++) if (!got.has(seq)) return false;
      return true;
    },
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Within one connection events arrive consecutively; a new connection never skips ahead. */
function assertInOrderWithoutGaps(receiver: Receiver): void {
  let highest = 0;
  let previous: { connection: number; seq: number } | null = null;
  for (const message of receiver.messages) {
    const seq = Number(message.params.seq);
    if (previous && previous.connection === message.connection) {
      assert.equal(seq, previous.seq + 1, `connection ${message.connection}: ${seq} after ${previous.seq}`);
    } else {
      assert.ok(seq <= highest + 1, `connection ${message.connection} starts at ${seq} after ${highest} was the highest sent`);
    }
    highest = Math.max(highest, seq);
    previous = { connection: message.connection, seq };
  }
}

const tcpTarget = (port: number): SyslogTarget => ({ host: '127.0.0.1', port, tls: false, caFile: null, appName: 'flowgate-test' });

// The cursor and the catch-up read the log through the store: on both databases.
for (const dialect of DIALECTS) {
  test(`forwards every event in order as octet-counted RFC 5424 carrying the chain, and resumes from its cursor (${dialect})`, { timeout: 30_000 }, async (t) => {
    const env = await createEnv(t, dialect);
    const person: RequestContext = {
      actor: { type: 'user', userId: 'u1', label: 'Zoë "root] \\admin' },
      ip: '192.0.2.7',
      userAgent: 'test-agent',
    };
    await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId: 't1', target: { type: 'team', id: 't1' } });
    await env.auditLog.record(person, { event: 'auth.access.denied', outcome: 'denied', teamId: 't1', details: { route: 'GET /api/x', note: 'ünïcödé ✓ 𝄞' } });
    await env.auditLog.record(SYSTEM_CONTEXT, { event: 'member.joined', outcome: 'failure' });

    const receiver = await startReceiver();
    env.defer(() => receiver.close());
    const forwarder = env.forwarder(tcpTarget(receiver.port));
    forwarder.start();
    await waitUntil('the first three events', () => receiver.messages.length >= 3);

    // Appended while running: onAppended wakes the forwarder.
    await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', teamId: 't1', target: { type: 'team', id: 't1' } });
    await waitUntil('the fourth event', () => receiver.messages.length >= 4);

    assert.deepEqual(receiver.protocolErrors, []);
    assert.deepEqual(receiver.seqs(), [1, 2, 3, 4]);
    const stored = await env.records();
    for (const [i, message] of receiver.messages.entries()) {
      const record = stored[i]!;
      assert.equal(message.pri, record.outcome === 'success' ? 13 * 8 + 6 : 13 * 8 + 4, `PRI of ${record.event}`);
      assert.equal(message.version, '1');
      assert.equal(message.timestamp, record.occurredAt);
      assert.equal(message.hostname, os.hostname());
      assert.equal(message.appName, 'flowgate-test');
      assert.equal(message.procId, '-');
      assert.equal(message.msgId, record.event);
      assert.equal(message.sdId, 'flowgate@32473');
      assert.equal(message.params.seq, String(record.seq));
      assert.equal(message.params.hash, record.hash);
      assert.equal(message.params.outcome, record.outcome);
      assert.equal(message.params.actor, record.actorLabel);
      assert.equal(message.params.team, record.teamId ?? undefined);
      assert.equal(message.params.target, record.targetId ? `${record.targetType}:${record.targetId}` : undefined);
      assert.match(message.msg, /^[\x20-\x7e]+$/, 'MSG is plain ASCII JSON (no BOM needed)');
      assert.deepEqual(JSON.parse(message.msg), record);
    }
    // The escaped label survived the trip, and the multi-byte characters were counted in bytes.
    assert.equal(receiver.messages[1]!.params.actor, 'Zoë "root] \\admin');
    assert.deepEqual(JSON.parse(JSON.parse(receiver.messages[1]!.msg).details), { route: 'GET /api/x', note: 'ünïcödé ✓ 𝄞' });
    assert.equal(forwarder.status().connected, true);
    assert.equal(forwarder.status().lastForwardedSeq, 4);

    await forwarder.stop();
    assert.equal(forwarder.status().connected, false);
    assert.equal(await env.cursor(), 4, 'a clean close confirms everything the receiver read');
    assert.deepEqual(env.alerts.list(), []);
    assert.deepEqual(env.raised, []);

    // A new forwarder on the same database starts after the durable cursor.
    await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.deleted', teamId: 't1' });
    const next = env.forwarder(tcpTarget(receiver.port));
    next.start();
    await waitUntil('the event appended while stopped', () => receiver.messages.length >= 5);
    await delay(100);
    assert.deepEqual(receiver.seqs(), [1, 2, 3, 4, 5]);
    await next.stop();
    assert.equal(await env.cursor(), 5);
  });

  test(`receiver down at first: alerts once, keeps the events, then delivers all of them in order (${dialect})`, { timeout: 30_000 }, async (t) => {
    const env = await createEnv(t, dialect);
    const port = await freePort();
    for (const teamId of ['t1', 't2', 't3']) await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId });

    const forwarder = env.forwarder(tcpTarget(port));
    forwarder.start();
    await waitUntil('several failed attempts', () => env.raised.length >= 4);
    for (const teamId of ['t4', 't5']) await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId });
    await waitUntil('more failed attempts', () => env.raised.length >= 6);

    assert.deepEqual(
      env.alerts.list().map((a) => a.kind),
      ['audit-forwarding-failed'],
    );
    const status = forwarder.status();
    assert.equal(status.connected, false);
    assert.ok(status.failingSince);
    assert.match(status.lastError ?? '', /ECONNREFUSED/);
    assert.equal(status.lastForwardedSeq, 0);
    const failed = await env.records({ event: 'audit.forwarding.failed' });
    assert.equal(failed.length, 1, 'one failed event per outage, not one per retry');
    assert.equal(failed[0]!.outcome, 'failure');
    assert.equal(env.logs.filter((l) => l.level === 'error').length, 1);
    assert.ok(env.logs.filter((l) => l.level === 'warn').length >= 4);

    const receiver = await startReceiver({ port });
    env.defer(() => receiver.close());
    await waitUntil('everything, up to the recovered event', async () => {
      const recovered = await env.records({ event: 'audit.forwarding.recovered' });
      return recovered.length === 1 && (await env.deliveredAll(receiver, recovered[0]!.seq));
    });

    const stored = await env.records();
    assert.deepEqual(receiver.protocolErrors, []);
    // Nothing had been written before, so nothing was sent twice.
    assert.deepEqual(receiver.seqs(), range(1, stored.length));
    assert.deepEqual(
      receiver.messages.map((m) => m.msgId),
      stored.map((r) => r.event),
    );
    const failedMessage = receiver.messages.find((m) => m.msgId === 'audit.forwarding.failed')!;
    const recoveredMessage = receiver.messages.find((m) => m.msgId === 'audit.forwarding.recovered')!;
    assert.equal(failedMessage.pri, 13 * 8 + 4);
    assert.equal(recoveredMessage.pri, 13 * 8 + 6);
    assert.ok(Number(failedMessage.params.seq) < Number(recoveredMessage.params.seq));
    assert.equal(recoveredMessage.params.target, `syslog:127.0.0.1:${port}`);
    assert.deepEqual(env.alerts.list(), []);
    assert.equal(forwarder.status().failingSince, null);
    assert.equal(forwarder.status().lastError, null);
    assert.equal((await env.records({ event: 'audit.forwarding.failed' })).length, 1);
  });

  test(`receiver drops the connection mid-stream: reconnects and resends from the cursor, losing nothing (${dialect})`, { timeout: 30_000 }, async (t) => {
    const env = await createEnv(t, dialect);
    await env.auditLog.recordMany(
      SYSTEM_CONTEXT,
      range(1, 40).map((n) => ({ event: 'team.created' as const, teamId: `t${n}`, details: { padding: 'x'.repeat(200) } })),
    );
    // The receiver reads the whole burst, keeps five frames and crashes: the rest was
    // written to the socket successfully and still never arrived.
    const receiver = await startReceiver({ dropFirstConnectionAfter: 5 });
    env.defer(() => receiver.close());
    const forwarder = env.forwarder(tcpTarget(receiver.port), { settleMs: 5_000 });
    forwarder.start();

    await waitUntil('everything, up to the recovered event', async () => {
      const recovered = await env.records({ event: 'audit.forwarding.recovered' });
      return recovered.length === 1 && (await env.deliveredAll(receiver, recovered[0]!.seq));
    });

    assert.deepEqual(receiver.protocolErrors, []);
    assert.ok(receiver.connections() >= 2);
    assert.deepEqual(
      receiver.messages.filter((m) => m.connection === 0).map((m) => Number(m.params.seq)),
      [1, 2, 3, 4, 5],
    );
    assertInOrderWithoutGaps(receiver);
    const head = (await env.store.head()).seq;
    assert.deepEqual(
      [...new Set(receiver.seqs())].sort((a, b) => a - b),
      range(1, head),
    );
    assert.ok(env.raised.includes('audit-forwarding-failed'));
    assert.deepEqual(env.alerts.list(), []);
    assert.equal((await env.records({ event: 'audit.forwarding.failed' })).length, 1);

    await forwarder.stop();
    assert.equal(await env.cursor(), head);
  });
}

test('an idle connection closed by the receiver is no outage: the next event reconnects', { timeout: 30_000 }, async (t) => {
  const env = await createEnv(t);
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId: 't1' });
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId: 't2' });
  const receiver = await startReceiver();
  env.defer(() => receiver.close());
  const forwarder = env.forwarder(tcpTarget(receiver.port), { settleMs: 50 });
  forwarder.start();
  await waitUntil('both events confirmed', () => receiver.messages.length >= 2 && forwarder.status().confirmedSeq === 2);
  assert.equal(await env.cursor(), 2);

  // As a load balancer's idle timeout would: nothing was in flight, so nothing can be lost.
  receiver.dropConnections();
  await waitUntil('the forwarder to notice', () => !forwarder.status().connected);
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', teamId: 't1' });
  await waitUntil('the next event on a new connection', () => receiver.messages.length >= 3);

  assert.deepEqual(receiver.seqs(), [1, 2, 3]);
  assert.deepEqual(
    receiver.messages.map((m) => m.connection),
    [0, 0, 1],
  );
  assert.deepEqual(env.raised, []);
  assert.equal((await env.records({ event: 'audit.forwarding.failed' })).length, 0);
  assert.ok(env.logs.some((l) => l.level === 'info' && /idle/.test(l.msg)));
  await forwarder.stop();
  assert.equal(await env.cursor(), 3);
});

test('TLS: delivers to a receiver whose certificate the configured CA vouches for', { timeout: 30_000 }, async (t) => {
  const env = await createEnv(t);
  const certificate = await selfSignedCertificate(env.dir, 'receiver');
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId: 't1' });
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'auth.login.failed', outcome: 'failure' });

  const receiver = await startReceiver({ tls: { key: certificate.key, cert: certificate.cert } });
  env.defer(() => receiver.close());
  // By name, so the certificate is checked against DNS:localhost and SNI is sent.
  const forwarder = env.forwarder({ host: 'localhost', port: receiver.port, tls: true, caFile: certificate.certFile, appName: 'flowgate' });
  forwarder.start();
  await waitUntil('both events over TLS', () => receiver.messages.length >= 2);
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', teamId: 't1' });
  await waitUntil('the event appended after start', () => receiver.messages.length >= 3);

  assert.deepEqual(receiver.protocolErrors, []);
  assert.deepEqual(receiver.seqs(), [1, 2, 3]);
  assert.deepEqual(
    receiver.messages.map((m) => [m.msgId, m.pri, m.appName]),
    [
      ['team.created', 110, 'flowgate'],
      ['auth.login.failed', 108, 'flowgate'],
      ['team.updated', 110, 'flowgate'],
    ],
  );
  assert.equal(receiver.tlsFailures(), 0);
  assert.deepEqual(env.raised, []);
  await forwarder.stop();
  assert.equal(await env.cursor(), 3);
});

test('TLS: never delivers to a receiver the configured CA does not vouch for, and alerts', { timeout: 30_000 }, async (t) => {
  const env = await createEnv(t);
  const receiverCertificate = await selfSignedCertificate(env.dir, 'receiver');
  const otherCa = await selfSignedCertificate(env.dir, 'other-ca');
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.created', teamId: 't1' });

  const receiver = await startReceiver({ tls: { key: receiverCertificate.key, cert: receiverCertificate.cert } });
  env.defer(() => receiver.close());
  const forwarder = env.forwarder({ host: '127.0.0.1', port: receiver.port, tls: true, caFile: otherCa.certFile, appName: 'flowgate' });
  forwarder.start();
  await waitUntil('several refused handshakes', () => env.raised.length >= 3 && receiver.tlsFailures() >= 3);
  await env.auditLog.record(SYSTEM_CONTEXT, { event: 'team.updated', teamId: 't1' });
  await delay(200);

  assert.equal(receiver.connections(), 0, 'no TLS session was ever established');
  assert.deepEqual(receiver.messages, []);
  assert.deepEqual(
    env.alerts.list().map((a) => a.kind),
    ['audit-forwarding-failed'],
  );
  assert.match(forwarder.status().lastError ?? '', /certificate|verify/i);
  assert.equal(forwarder.status().connected, false);
  assert.equal((await env.records({ event: 'audit.forwarding.failed' })).length, 1);
  await forwarder.stop();
  assert.equal(await env.cursor(), 0);
  // Still failing when it stopped: the alert stays for the admin to see.
  assert.deepEqual(
    env.alerts.list().map((a) => a.kind),
    ['audit-forwarding-failed'],
  );
});

test('message format: header fields are bounded printable ASCII, absent values are left out', () => {
  const record: AuditRecord = {
    seq: 7,
    occurredAt: '2025-01-02T03:04:05.678Z',
    actorType: 'anonymous',
    actorId: null,
    actorLabel: null,
    event: 'some.very.long.event.name.beyond thirty-two.characters',
    outcome: 'denied',
    targetType: null,
    targetId: null,
    teamId: null,
    ip: null,
    userAgent: null,
    details: '{}',
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
  };
  const message = formatSyslogMessage(record, { hostname: 'plant 1 ✓', appName: '', facility: FACILITY_AUTHPRIV });
  const parsed = parseSyslog(message);
  assert.equal(parsed.pri, 10 * 8 + 4);
  assert.equal(parsed.hostname, 'plant_1__');
  assert.equal(parsed.appName, '-');
  assert.equal(parsed.msgId, 'some.very.long.event.name.beyond');
  assert.equal(parsed.msgId.length, 32);
  assert.deepEqual(parsed.params, { seq: '7', hash: 'b'.repeat(64), outcome: 'denied', actor: 'anonymous' });
  assert.deepEqual(JSON.parse(parsed.msg), record);

  const framed = frameOctetCounted('<110>1 - - - - - - é');
  assert.equal(framed.toString('utf8'), `${Buffer.byteLength('<110>1 - - - - - - é')} <110>1 - - - - - - é`);
});

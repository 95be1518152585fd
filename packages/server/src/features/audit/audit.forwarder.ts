import { readFile } from 'node:fs/promises';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { AuditEventName, AuditOutcome, AuditRecord } from '@flowgate/core';
import type { AlertSink } from '../../alerts.ts';
import { SYSTEM_CONTEXT, type Clock } from '../../context.ts';
import type { Database } from '../../db/database.ts';
import type { AuditLog } from './audit.service.ts';
import type { AuditStore } from './audit.store.ts';

/**
 * Forwards the audit log to a SIEM as RFC 5424 syslog over TCP or TLS, with RFC 6587
 * octet-counting framing (62443-3-3 SR 2.8 RE 1, SR 6.1).
 *
 * Delivery is at-least-once, in seq order. The position is kept in audit_forwarding, so
 * a restart resumes where forwarding stopped. Plain syslog over TCP has no
 * acknowledgement: a write callback only means the bytes reached our kernel, and a
 * receiver that drops the connection discards whatever it had not read yet. So the
 * durable cursor trails the socket: it moves to an event only once the event was
 * written (socket.write callback) and the connection then stayed up for settleMs, or
 * the receiver closed cleanly after reading everything at stop(). When a connection is
 * lost, sending resumes from the durable cursor. The price is duplicates: after a crash
 * or a dropped connection the last few events can arrive twice. Receivers tell them
 * apart by the seq and hash in the structured data. The one loss left is a receiver
 * that accepts bytes and then silently dies more than settleMs later; closing that gap
 * needs an acknowledged protocol such as RELP.
 *
 * Run one forwarder per database: two replicas forwarding to the same target would
 * both send every event.
 */

export type SyslogFacility = typeof FACILITY_LOG_AUDIT | typeof FACILITY_AUTHPRIV;

export const FACILITY_LOG_AUDIT = 13;
export const FACILITY_AUTHPRIV = 10;

export interface SyslogTarget {
  host: string;
  port: number;
  tls: boolean;
  /** PEM file of the CA that issued the receiver's certificate; null trusts the system's CAs. */
  caFile: string | null;
  appName: string;
  /** 13 (log audit, the default) or 10 (authpriv), whichever the SIEM's rules expect. */
  facility?: SyslogFacility;
}

export interface ForwarderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SyslogForwarderDeps {
  database: Pick<Database, 'db'>;
  store: Pick<AuditStore, 'iterate' | 'head'>;
  auditLog: Pick<AuditLog, 'record' | 'onAppended'>;
  alerts: AlertSink;
  clock: Clock;
  target: SyslogTarget;
  log: ForwarderLog;
  /** Reconnection backoff bounds; exponential with jitter between them. */
  retryMs?: { min: number; max: number };
  /** How long a written event must stay on a live connection before the cursor passes it. */
  settleMs?: number;
}

export interface ForwarderStatus {
  /** The last event written to the current connection. */
  lastForwardedSeq: number;
  /** The durable cursor: after a restart or a lost connection, sending resumes after it. */
  confirmedSeq: number;
  connected: boolean;
  lastError: string | null;
  /** Events appended in this process and not yet written to the receiver. */
  backlog: number;
  /** When the current outage began; null while forwarding works. */
  failingSince: string | null;
}

export interface SyslogForwarder {
  start(): void;
  stop(): Promise<void>;
  /** New events were committed: send them. Wired to auditLog.onAppended by start(). */
  wake(): void;
  status(): ForwarderStatus;
}

export interface SyslogHeader {
  hostname: string;
  appName: string;
  facility: SyslogFacility;
}

const CURSOR_TARGET = 'syslog';
// 32473 is the private enterprise number RFC 5612 reserves for documentation; a
// deployment that owns a PEN can change it, SIEM rules match on the SD-ID.
const SD_ID = 'flowgate@32473';
const SEVERITY_WARNING = 4;
const SEVERITY_INFO = 6;
const DEFAULT_RETRY_MS = { min: 200, max: 30_000 };
const DEFAULT_SETTLE_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 2_000;
const WRITE_TIMEOUT_MS = 30_000;
const KEEPALIVE_MS = 30_000;
const BATCH_SIZE = 500;
const CHUNK_BYTES = 64 * 1024;

/** RFC 5424 header fields are PRINTUSASCII (33..126) with a length limit; empty is NILVALUE. */
function headerField(value: string, maxLength: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '_').slice(0, maxLength);
  return printable === '' ? '-' : printable;
}

/** RFC 5424 section 6.3.3: inside PARAM-VALUE, '"', '\' and ']' must be escaped. */
function paramValue(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/**
 * JSON with every non-ASCII character escaped: the MSG is then plain ASCII, valid as
 * MSG-ANY without the UTF-8 BOM that some SIEM parsers show as garbage. details stays
 * the stored text, so a receiver can recompute the event's hash from the message.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatSyslogMessage(record: AuditRecord, header: SyslogHeader): string {
  const severity = record.outcome === 'success' ? SEVERITY_INFO : SEVERITY_WARNING;
  const target = record.targetType && record.targetId ? `${record.targetType}:${record.targetId}` : (record.targetId ?? record.targetType);
  // Absent values are left out rather than sent empty, so a SIEM rule can test presence.
  const params: Array<[string, string | null]> = [
    ['seq', String(record.seq)],
    ['hash', record.hash],
    ['outcome', record.outcome],
    ['actor', record.actorLabel ?? record.actorId ?? record.actorType],
    ['team', record.teamId],
    ['target', target],
  ];
  const sd = `[${SD_ID}${params
    .filter((p): p is [string, string] => p[1] !== null)
    .map(([name, value]) => ` ${name}="${paramValue(value)}"`)
    .join('')}]`;
  return [
    `<${header.facility * 8 + severity}>1`,
    record.occurredAt,
    headerField(header.hostname, 255),
    headerField(header.appName, 48),
    '-',
    headerField(record.event, 32),
    sd,
    asciiJson(record),
  ].join(' ');
}

/** RFC 6587 octet counting: the message's length in bytes, a space, the message. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

interface Connection {
  socket: Socket;
  /** Why the connection ended, once it has; set by the socket's events. */
  lost: Error | null;
  peerClosed: boolean;
}

interface Session {
  active: boolean;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

export function createSyslogForwarder(deps: SyslogForwarderDeps): SyslogForwarder {
  const { database, store, auditLog, alerts, clock, target, log } = deps;
  const { db } = database;
  const retry = deps.retryMs ?? DEFAULT_RETRY_MS;
  const settleMs = deps.settleMs ?? DEFAULT_SETTLE_MS;
  const header: SyslogHeader = { hostname: os.hostname(), appName: target.appName, facility: target.facility ?? FACILITY_LOG_AUDIT };
  const where = `${target.host}:${target.port}`;

  let session: Session | null = null;
  let loop: Promise<void> | null = null;
  let subscribed = false;
  let connecting: Socket | null = null;
  let connection: Connection | null = null;
  let confirmedSeq: number | null = null;
  let sentSeq = 0;
  let knownHeadSeq = 0;
  // Written but not yet confirmed, oldest first: the seq ending each write and when it completed.
  let unconfirmed: Array<{ seq: number; writtenAt: number }> = [];
  let lastError: string | null = null;
  let outage: { since: string; attempts: number } | null = null;
  let signalled = false;
  let onSignal: (() => void) | null = null;
  let cancelPause: (() => void) | null = null;

  const isActive = (s: Session) => s.active;

  function signal(): void {
    signalled = true;
    onSignal?.();
  }

  /** Resolves on wake(), a lost connection, stop() or after timeoutMs. */
  function waitForSignal(s: Session, timeoutMs: number | null): Promise<void> {
    return new Promise((resolve) => {
      if (signalled || !isActive(s)) {
        signalled = false;
        resolve();
        return;
      }
      const timer = timeoutMs === null ? null : setTimeout(done, timeoutMs);
      function done(): void {
        if (timer) clearTimeout(timer);
        onSignal = null;
        signalled = false;
        resolve();
      }
      onSignal = done;
    });
  }

  /** A backoff pause: new events do not cut it short (no reconnect storm), stop() does. */
  function pause(s: Session, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (!isActive(s)) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        cancelPause = null;
        resolve();
      }
      cancelPause = done;
    });
  }

  function backoffDelay(attempt: number): number {
    // Attempt n waits between min*2^n and min*2^(n+1), capped to [max/2, max].
    const ceiling = Math.min(retry.max, retry.min * 2 ** Math.min(attempt + 1, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  async function loadCursor(): Promise<number> {
    await db
      .insertInto('audit_forwarding')
      .values({ target: CURSOR_TARGET, last_seq: 0, updated_at: clock.now().toISOString() })
      .onConflict((oc) => oc.column('target').doNothing())
      .execute();
    const row = await db.selectFrom('audit_forwarding').select('last_seq').where('target', '=', CURSOR_TARGET).executeTakeFirstOrThrow();
    return Number(row.last_seq);
  }

  /** Moves the durable cursor past every write that completed at or before writtenBy. */
  async function confirmWrittenBy(writtenBy: number): Promise<void> {
    let seq: number | null = null;
    while (unconfirmed.length > 0 && unconfirmed[0]!.writtenAt <= writtenBy) seq = unconfirmed.shift()!.seq;
    if (seq === null) return;
    await db.updateTable('audit_forwarding').set({ last_seq: seq, updated_at: clock.now().toISOString() }).where('target', '=', CURSOR_TARGET).execute();
    confirmedSeq = seq;
  }

  async function confirmSettled(conn: Connection): Promise<void> {
    if (conn.lost) return;
    await confirmWrittenBy(performance.now() - settleMs);
  }

  async function connect(): Promise<Connection> {
    const ca = target.tls && target.caFile ? await readFile(target.caFile) : undefined;
    const socket: Socket = target.tls
      ? tls.connect({
          host: target.host,
          port: target.port,
          ca,
          // SNI takes a host name only (RFC 6066); for an IP the certificate is checked against it anyway.
          servername: net.isIP(target.host) === 0 ? target.host : undefined,
          rejectUnauthorized: true,
        })
      : net.connect({ host: target.host, port: target.port });
    const conn: Connection = { socket, lost: null, peerClosed: false };
    const lose = (error: Error) => {
      conn.lost ??= error;
      signal();
    };
    // Listening from the start, so no error can go unhandled at any point of the socket's life.
    socket.on('error', lose);
    socket.on('close', () => lose(new Error(`connection to ${where} closed`)));
    socket.on('end', () => {
      conn.peerClosed = true;
      lose(new Error(`${where} closed the connection`));
    });
    connecting = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        const readyEvent = target.tls ? 'secureConnect' : 'connect';
        const timer = setTimeout(() => socket.destroy(new Error(`connecting to ${where} timed out`)), CONNECT_TIMEOUT_MS);
        const settle = (error: Error | null) => {
          clearTimeout(timer);
          socket.off('error', onError);
          socket.off('close', onClose);
          socket.off(readyEvent, onReady);
          if (error) {
            socket.destroy();
            reject(error);
          } else resolve();
        };
        const onError = (error: Error) => settle(error);
        const onClose = () => settle(conn.lost ?? new Error(`connection to ${where} closed before it was ready`));
        const onReady = () => settle(null);
        socket.once('error', onError);
        socket.once('close', onClose);
        socket.once(readyEvent, onReady);
      });
    } finally {
      connecting = null;
    }
    socket.setKeepAlive(true, KEEPALIVE_MS);
    // A syslog receiver sends nothing; reading anyway is how we see it close the connection.
    socket.on('data', () => {});
    return conn;
  }

  function write(conn: Connection, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      // A receiver that accepts but stops reading would otherwise hold us here with no alert.
      const timer = setTimeout(() => conn.socket.destroy(new Error(`writing to ${where} timed out`)), WRITE_TIMEOUT_MS);
      conn.socket.write(data, (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Sends every event after sentSeq, in order, in writes of about CHUNK_BYTES. */
  async function sendBacklog(s: Session, conn: Connection): Promise<void> {
    for await (const batch of store.iterate({}, sentSeq, BATCH_SIZE)) {
      let frames: Buffer[] = [];
      let bytes = 0;
      for (let i = 0; i < batch.length; i++) {
        const record = batch[i]!;
        const frame = frameOctetCounted(formatSyslogMessage(record, header));
        frames.push(frame);
        bytes += frame.length;
        if (bytes < CHUNK_BYTES && i < batch.length - 1) continue;
        if (!isActive(s)) return;
        if (conn.lost) throw conn.lost;
        await write(conn, Buffer.concat(frames, bytes));
        sentSeq = record.seq;
        unconfirmed.push({ seq: sentSeq, writtenAt: performance.now() });
        frames = [];
        bytes = 0;
      }
      knownHeadSeq = Math.max(knownHeadSeq, sentSeq);
      await confirmSettled(conn);
    }
  }

  async function recordQuietly(event: AuditEventName, outcome: AuditOutcome, details: Record<string, unknown>): Promise<void> {
    try {
      await auditLog.record(SYSTEM_CONTEXT, { event, outcome, target: { type: 'syslog', id: where }, details });
    } catch (error) {
      log.error({ err: error, event }, 'could not record the audit forwarding event');
    }
  }

  async function onFailure(error: unknown): Promise<void> {
    const message = describe(error);
    lastError = message;
    // Raised on every attempt so the alert's lastSeen and message stay current.
    alerts.raise('audit-forwarding-failed', `Audit events cannot be forwarded to syslog at ${where}: ${message}`);
    if (outage) {
      outage.attempts += 1;
      log.warn({ target: where, err: message, attempts: outage.attempts }, 'syslog receiver still unavailable; retrying');
      return;
    }
    // One audit event per outage, not per retry: a receiver down for a day must not flood the log.
    outage = { since: clock.now().toISOString(), attempts: 1 };
    log.error({ target: where, err: error }, 'audit forwarding to syslog failed; events are kept and will be sent when the receiver is back');
    await recordQuietly('audit.forwarding.failed', 'failure', { error: message, confirmedSeq });
  }

  async function onRecovered(): Promise<void> {
    const ended = outage!;
    outage = null;
    lastError = null;
    alerts.clear('audit-forwarding-failed');
    log.info({ target: where, since: ended.since, attempts: ended.attempts, seq: sentSeq }, 'audit forwarding to syslog recovered and caught up');
    // Appending this event wakes the loop, which then forwards it too.
    await recordQuietly('audit.forwarding.recovered', 'success', { failingSince: ended.since, failedAttempts: ended.attempts, caughtUpToSeq: sentSeq });
  }

  function dropConnection(): void {
    connection?.socket.destroy();
    connection = null;
    // Whatever was written but not confirmed may never have been read: send it again.
    unconfirmed = [];
    if (confirmedSeq !== null) sentSeq = confirmedSeq;
  }

  /** Ends the connection at stop(); true when the receiver closed its side after reading all we sent. */
  function closeGracefully(conn: Connection): Promise<boolean> {
    if (conn.lost) {
      conn.socket.destroy();
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => conn.socket.destroy(), CLOSE_TIMEOUT_MS);
      conn.socket.once('close', (hadError: boolean) => {
        clearTimeout(timer);
        resolve(!hadError && conn.peerClosed);
      });
      conn.socket.end();
    });
  }

  async function shutdown(): Promise<void> {
    const conn = connection;
    connection = null;
    if (conn && (await closeGracefully(conn))) {
      try {
        await confirmWrittenBy(Number.POSITIVE_INFINITY);
      } catch (error) {
        log.warn({ err: error }, 'could not save the syslog forwarding cursor; the last events will be sent again');
      }
    }
    unconfirmed = [];
  }

  async function run(s: Session): Promise<void> {
    confirmedSeq = null;
    let failedAttempts = 0;
    // After an idle connection closes, reconnect only once there is something to send.
    let connectLazily = false;
    while (isActive(s)) {
      try {
        if (confirmedSeq === null) {
          confirmedSeq = await loadCursor();
          sentSeq = confirmedSeq;
          knownHeadSeq = Math.max(knownHeadSeq, (await store.head()).seq);
        }
        if (connection?.lost) {
          if (unconfirmed.length > 0) throw connection.lost;
          // Nothing was in flight, so nothing is lost: a receiver or load balancer closing
          // an idle connection is no outage.
          log.info({ target: where, reason: connection.lost.message }, 'syslog connection closed while idle');
          dropConnection();
          connectLazily = true;
        }
        if (!connection) {
          if (connectLazily && (await store.head()).seq <= sentSeq) {
            await waitForSignal(s, null);
            continue;
          }
          connection = await connect();
          connectLazily = false;
          if (!isActive(s)) break;
        }
        await sendBacklog(s, connection);
        if (!isActive(s)) break;
        failedAttempts = 0;
        if (outage) await onRecovered();
        await confirmSettled(connection);
        const oldest = unconfirmed[0];
        await waitForSignal(s, oldest ? Math.max(0, oldest.writtenAt + settleMs - performance.now()) + 1 : null);
      } catch (error) {
        dropConnection();
        if (!isActive(s)) break;
        await onFailure(error);
        await pause(s, backoffDelay(failedAttempts++));
      }
    }
    await shutdown();
  }

  return {
    start(): void {
      if (session?.active) return;
      if (!subscribed) {
        subscribed = true;
        auditLog.onAppended((records) => {
          knownHeadSeq = Math.max(knownHeadSeq, records[records.length - 1]?.seq ?? 0);
          if (session?.active) signal();
        });
      }
      const s: Session = { active: true };
      session = s;
      signalled = false;
      const previous = loop;
      // A start() right after stop() waits for the old loop to let go of the connection.
      loop = (async () => {
        if (previous) await previous;
        await run(s);
      })().catch((error: unknown) => {
        log.error({ err: error }, 'audit forwarding stopped unexpectedly');
      });
    },

    async stop(): Promise<void> {
      if (session) session.active = false;
      signal();
      cancelPause?.();
      connecting?.destroy();
      // A write blocked on a receiver that stopped reading must not hold stop() forever.
      const force = setTimeout(() => connection?.socket.destroy(), CLOSE_TIMEOUT_MS);
      try {
        await loop;
      } finally {
        clearTimeout(force);
      }
    },

    wake(): void {
      if (session?.active) signal();
    },

    status(): ForwarderStatus {
      return {
        lastForwardedSeq: sentSeq,
        confirmedSeq: confirmedSeq ?? 0,
        connected: connection !== null && connection.lost === null,
        lastError,
        backlog: Math.max(0, knownHeadSeq - sentSeq),
        failingSince: outage?.since ?? null,
      };
    },
  };
}

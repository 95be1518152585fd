import fs from 'node:fs';
import path from 'node:path';
import { backoffAfter, backoffDelay, PlatformError } from './platform-client.ts';
import type { MachineFacts } from '@flowgate/protocol';
import type { AgentState, AuditEvent, LogLine, PlatformClient, StatusReport } from './platform-client.ts';

/**
 * What the agent sends on its own schedule: status, audit events, log lines. Each
 * sender owns one buffer and one in-flight request at a time, and backs off when the
 * platform is away (slowly when it refuses the credential); they differ in what they may lose:
 * - status: only the latest report matters, older ones are replaced;
 * - audit: nothing is lost, the buffer is spooled to disk until the platform has it;
 * - logs: the oldest lines go first once 1,000 wait.
 */

export type AgentLog = (level: 'info' | 'warn' | 'error', msg: string) => void;

type SenderOptions = { client: PlatformClient; log: AgentLog };

/** Runs `send` whenever asked, never two at a time, pausing by backoff after failures. */
class SendLoop {
  private sending = false;
  private again = false;
  private failures = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];
  readonly abort = new AbortController();

  /** `send` returns true when there is more to send right away. */
  constructor(
    private readonly name: string,
    private readonly send: (signal: AbortSignal) => Promise<boolean>,
    private readonly log: AgentLog,
  ) {}

  kick(): void {
    if (this.abort.signal.aborted) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    const wait = this.retryAt - Date.now();
    if (wait > 0) return this.retryIn(wait);
    void this.run();
  }

  private retryIn(wait: number): void {
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, wait);
  }

  private async run(): Promise<void> {
    this.sending = true;
    try {
      for (;;) {
        this.again = false;
        let more: boolean;
        try {
          more = await this.send(this.abort.signal);
          if (this.failures > 0) this.log('info', `${this.name}: the platform takes uploads again`);
          this.failures = 0;
        } catch (err) {
          if (this.abort.signal.aborted) return;
          if (this.failures === 0) this.log('warn', `${this.name}: upload failed, will retry: ${(err as Error).message}`);
          const delay = backoffDelay(this.failures++, backoffAfter(err));
          this.retryAt = Date.now() + delay;
          this.retryIn(delay);
          return;
        }
        if (!more && !this.again) return;
      }
    } finally {
      this.sending = false;
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Sends now, ignoring backoff, until nothing is left or in flight, the platform fails, or `timeoutMs` passes. */
  async drain(hasWork: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((hasWork() || this.sending) && Date.now() < deadline && !this.abort.signal.aborted) {
      this.retryAt = 0;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      this.kick();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      if (this.failures > 0 && !this.sending) return; // the platform is away: waiting longer will not help within a shutdown
    }
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort.abort();
    this.notifyIdle();
  }
}

// ---------------------------------------------------------------------------------------

export type StatusFields = {
  state: AgentState;
  runningSnapshotId: string | null;
  runningHash: string | null;
  nodeRedPort: number | null;
  nodeRedVersion: string;
  error: string | null;
};

export const STATUS_INTERVAL_MS = 30_000;
const STATUS_ERROR_MAX_CHARS = 4000;

export class StatusReporter {
  private current: StatusReport;
  private dirty = false;
  private readonly loop: SendLoop;
  private timer: NodeJS.Timeout | null = null;

  private readonly intervalMs: number;

  constructor(options: SenderOptions & { nodeRedVersion: string; agentVersion: string; intervalMs?: number }) {
    this.intervalMs = options.intervalMs ?? STATUS_INTERVAL_MS;
    this.current = {
      state: 'starting',
      runningSnapshotId: null,
      runningHash: null,
      nodeRedPort: null,
      nodeRedVersion: options.nodeRedVersion,
      agentVersion: options.agentVersion,
      error: null,
    };
    this.loop = new SendLoop(
      'status',
      async (signal) => {
        if (!this.dirty) return false;
        this.dirty = false;
        const report = this.current;
        try {
          await options.client.postStatus(report, signal);
        } catch (err) {
          this.dirty = true;
          throw err;
        }
        return this.dirty;
      },
      options.log,
    );
  }

  get report(): StatusReport {
    return this.current;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.dirty = true;
      this.loop.kick();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Sends at once when anything changed; the 30-second heartbeat repeats it anyway. */
  set(fields: StatusFields): void {
    // The platform bounds the error text; a long list of missing types must not get the report refused.
    const error = fields.error !== null && fields.error.length > STATUS_ERROR_MAX_CHARS ? `${fields.error.slice(0, STATUS_ERROR_MAX_CHARS - 1)}…` : fields.error;
    const next: StatusReport = { ...this.current, ...fields, error };
    const changed = (Object.keys(fields) as Array<keyof StatusFields>).some((key) => next[key] !== this.current[key]);
    this.current = next;
    if (!changed) return;
    this.dirty = true;
    this.loop.kick();
  }

  /** The machine facts (machine-facts.ts), sent with the next report when they differ from the last. */
  setFacts(facts: MachineFacts): void {
    if (this.current.facts && JSON.stringify(this.current.facts) === JSON.stringify(facts)) return;
    this.current = { ...this.current, facts };
    this.dirty = true;
    this.loop.kick();
  }

  flush(timeoutMs: number): Promise<void> {
    return this.loop.drain(() => this.dirty, timeoutMs);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.loop.close();
  }
}

// ---------------------------------------------------------------------------------------

export const AUDIT_FLUSH_MS = 250;
export const AUDIT_BATCH = 100;

/** A batch the platform refuses as malformed would block every later event; these statuses isolate it. */
const POISON_STATUSES = new Set([400, 413, 422]);

/**
 * Audit events from Node-RED, kept until the platform confirms them: in memory and in a
 * JSON Lines spool under the agent's directory, so neither an unreachable platform nor
 * a restart of the agent loses one. An event the platform refuses on its own (400/413/422
 * after splitting the batch down to it) moves to audit-rejected.jsonl, kept, not sent again.
 */
export class AuditUploader {
  private queue: AuditEvent[] = [];
  private batchLimit = AUDIT_BATCH;
  private readonly loop: SendLoop;
  private timer: NodeJS.Timeout | null = null;
  private readonly spoolFile: string;
  private readonly rejectedFile: string;

  constructor(private readonly options: SenderOptions & { dir: string }) {
    this.spoolFile = path.join(options.dir, 'audit-spool.jsonl');
    this.rejectedFile = path.join(options.dir, 'audit-rejected.jsonl');
    this.queue = readSpool(this.spoolFile, options.log);
    this.loop = new SendLoop('audit', (signal) => this.sendBatch(signal), options.log);
  }

  get pending(): number {
    return this.queue.length;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.queue.length > 0) this.loop.kick();
    }, AUDIT_FLUSH_MS);
    this.timer.unref();
    if (this.queue.length > 0) this.loop.kick();
  }

  add(event: AuditEvent): void {
    this.queue.push(event);
    fs.appendFileSync(this.spoolFile, JSON.stringify(event) + '\n', { mode: 0o600 });
    if (this.queue.length >= AUDIT_BATCH) this.loop.kick();
  }

  private async sendBatch(signal: AbortSignal): Promise<boolean> {
    if (this.queue.length === 0) return false;
    const batch = this.queue.slice(0, this.batchLimit);
    try {
      await this.options.client.postAudit(batch, signal);
    } catch (err) {
      if (!(err instanceof PlatformError) || err.status === null || !POISON_STATUSES.has(err.status)) throw err;
      if (batch.length > 1) {
        this.batchLimit = Math.max(1, Math.floor(batch.length / 2));
        return true;
      }
      fs.appendFileSync(this.rejectedFile, JSON.stringify({ event: batch[0], error: err.message }) + '\n', { mode: 0o600 });
      this.options.log('error', `audit: the platform refused an event (${err.message}); kept in ${this.rejectedFile}`);
    }
    this.queue.splice(0, batch.length);
    this.batchLimit = AUDIT_BATCH;
    writeSpool(this.spoolFile, this.queue);
    return this.queue.length > 0;
  }

  flush(timeoutMs: number): Promise<void> {
    return this.loop.drain(() => this.queue.length > 0, timeoutMs);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.loop.close();
  }
}

function readSpool(file: string, log: AgentLog): AuditEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const events: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as AuditEvent);
    } catch {
      // A line cut short by a power loss during append; the rest of the spool is intact.
      log('warn', `audit: skipped an unreadable line in ${file}`);
    }
  }
  return events;
}

function writeSpool(file: string, events: AuditEvent[]): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, events.map((event) => JSON.stringify(event) + '\n').join(''), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------

export const LOG_BUFFER_MAX = 1000;
export const LOG_FLUSH_MS = 500;
const LOG_BATCH = 500;
/** Including the ellipsis of a cut line; the platform takes up to 8,000 characters a line. */
const LOG_LINE_MAX_CHARS = 8000;

export class LogUploader {
  private buffer: LogLine[] = [];
  private dropped = 0;
  private readonly loop: SendLoop;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: SenderOptions) {
    this.loop = new SendLoop(
      'logs',
      async (signal) => {
        if (this.buffer.length === 0) return false;
        if (this.dropped > 0) {
          // Say that lines are missing, in the stream itself, where someone reading it looks.
          const note: LogLine = { ts: Date.now(), level: 'warn', msg: `${this.dropped} log lines were dropped while the platform was unreachable` };
          this.dropped = 0;
          this.buffer.unshift(note);
        }
        const batch = this.buffer.slice(0, LOG_BATCH);
        try {
          await options.client.postLogs(batch, signal);
        } catch (err) {
          // Unlike audit events, log lines may go: a batch refused as such must not block the rest.
          if (!(err instanceof PlatformError) || err.status === null || !POISON_STATUSES.has(err.status)) throw err;
        }
        // Lines may have been dropped from the front meanwhile; remove what was sent, by identity.
        const sent = new Set(batch);
        this.buffer = this.buffer.filter((line) => !sent.has(line));
        return this.buffer.length > 0;
      },
      // Failures of the log upload itself are not logged into the log upload.
      () => undefined,
    );
  }

  get pending(): number {
    return this.buffer.length;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.buffer.length > 0) this.loop.kick();
    }, LOG_FLUSH_MS);
    this.timer.unref();
  }

  add(level: string, msg: string, ts = Date.now()): void {
    this.buffer.push({ ts, level, msg: msg.length > LOG_LINE_MAX_CHARS ? `${msg.slice(0, LOG_LINE_MAX_CHARS - 1)}…` : msg });
    if (this.buffer.length > LOG_BUFFER_MAX) {
      const excess = this.buffer.length - LOG_BUFFER_MAX;
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
  }

  flush(timeoutMs: number): Promise<void> {
    return this.loop.drain(() => this.buffer.length > 0, timeoutMs);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.loop.close();
  }
}

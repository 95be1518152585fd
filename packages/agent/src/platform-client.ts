import type { NodeRedNode, SnapshotContent, SnapshotModule } from '@flowgate/core';
import { AGENT_API_ROOT, DEVICE_API_ROOT } from '@flowgate/protocol';
import type { AuditEvent, DesiredState, DeviceCheckIn, EditorDeploy as ProtocolEditorDeploy, LogLine, RecordedDeploy, StatusReport } from '@flowgate/protocol';
import { checkDesiredState, checkRecordedDeploy } from '@flowgate/protocol/check';

/**
 * The agent's side of the platform's agent API (/api/agent/v1), over HTTP with the
 * instance's bearer token. What goes either way is @flowgate/protocol's: the platform
 * declares those schemas on its routes, and the agent checks its answers against them. Every call either returns the parsed answer or throws a
 * PlatformError that says whether trying again later can help (network, timeout, 5xx,
 * 408, 429) or not (other 4xx, a malformed answer is retryable: a server fix helps).
 */

export type { AgentState, AuditEvent, DesiredSettings, DesiredState, LogLine, PaletteSettings, RecordedDeploy, SnapshotRef, StatusReport } from '@flowgate/protocol';

/** `basedOn`: the snapshot the runtime ran when the editor deployed over it. */
export type EditorDeploy = Omit<ProtocolEditorDeploy, 'flows'> & { flows: NodeRedNode[]; modules: SnapshotModule[]; basedOn: string | null };

export class PlatformError extends Error {
  /** HTTP status, or null when no answer came (network, timeout). */
  readonly status: number | null;
  readonly retryable: boolean;

  constructor(message: string, status: number | null, retryable: boolean) {
    super(message);
    this.name = 'PlatformError';
    this.status = status;
    this.retryable = retryable;
  }
}

/** Answer time allowed beyond the long-poll hold, so a slow but alive platform is not taken for a dead one. */
const LONG_POLL_MARGIN_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

export type PlatformClient = {
  getDesired(generation: number | null, waitSeconds: number, signal: AbortSignal): Promise<DesiredState>;
  getSnapshot(id: string, signal: AbortSignal): Promise<SnapshotContent>;
  postStatus(report: StatusReport, signal: AbortSignal): Promise<void>;
  postAudit(events: AuditEvent[], signal: AbortSignal): Promise<void>;
  postLogs(lines: LogLine[], signal: AbortSignal): Promise<void>;
  postSnapshot(deploy: EditorDeploy, signal: AbortSignal): Promise<RecordedDeploy>;
};

export type PlatformClientOptions = {
  baseUrl: string;
  token: string;
  /**
   * 'instance': a hosted instance's agent (/api/agent/v1, instance token). 'device': an edge
   * device's agent (/api/fleet/v1, device credential), whose status report is its check-in.
   */
  protocol?: 'instance' | 'device';
  /** The device's CPU and memory, sent with each check-in. */
  load?: () => { cpuPercent: number; memoryMb: number };
};

export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const device = options.protocol === 'device';
  const root = device ? DEVICE_API_ROOT : AGENT_API_ROOT;
  let factsRefused = false;

  async function call(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      // Our own shutdown is not the platform's fault: say so, so callers stop rather than retry.
      if (signal.aborted) throw new PlatformError(`${method} ${path}: aborted`, null, false);
      throw new PlatformError(`${method} ${path}: ${describeNetworkError(err)}`, null, true);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      throw new PlatformError(`${method} ${path}: HTTP ${response.status}${text ? ` ${text.slice(0, 300)}` : ''}`, response.status, retryable);
    }
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new PlatformError(`${method} ${path}: the answer is not JSON`, response.status, true);
    }
  }

  return {
    async getDesired(generation, waitSeconds, signal) {
      const query = new URLSearchParams({ wait: String(waitSeconds) });
      if (generation !== null) query.set('generation', String(generation));
      // Without a generation the platform answers at once: no reason to wait out a long poll
      // before counting it as away (and starting offline).
      const timeout = generation === null ? REQUEST_TIMEOUT_MS : waitSeconds * 1000 + LONG_POLL_MARGIN_MS;
      const body = await call('GET', `${root}/desired?${query}`, undefined, timeout, signal);
      return parseDesiredState(body);
    },
    async getSnapshot(id, signal) {
      const body = await call('GET', `${root}/snapshots/${encodeURIComponent(id)}`, undefined, REQUEST_TIMEOUT_MS, signal);
      return parseSnapshotContent(body);
    },
    async postStatus(report, signal) {
      if (!device) {
        await call('POST', `${root}/status`, report, REQUEST_TIMEOUT_MS, signal);
        return;
      }
      // A device's port is its own business; its load rides along.
      const { state, runningSnapshotId, runningHash, nodeRedVersion, agentVersion, error, facts } = report;
      const checkIn: DeviceCheckIn = { state, runningSnapshotId, runningHash, nodeRedVersion, agentVersion, error, ...options.load?.() };
      if (facts && !factsRefused) {
        try {
          await call('POST', `${root}/check-in`, { ...checkIn, facts }, REQUEST_TIMEOUT_MS, signal);
          return;
        } catch (err) {
          // A platform older than the facts refuses a check-in with a field it does not know
          // (its schema is closed): check in without them from now on, rather than not at all.
          if (!(err instanceof PlatformError) || err.status !== 400 || !err.message.includes('facts')) throw err;
          factsRefused = true;
        }
      }
      await call('POST', `${root}/check-in`, checkIn, REQUEST_TIMEOUT_MS, signal);
    },
    async postAudit(events, signal) {
      await call('POST', `${root}/audit`, { events }, REQUEST_TIMEOUT_MS, signal);
    },
    async postLogs(lines, signal) {
      await call('POST', `${root}/logs`, { lines }, REQUEST_TIMEOUT_MS, signal);
    },
    async postSnapshot(deploy, signal) {
      // A device runs only what the platform targets: a deploy made on it is put back.
      if (device) throw new PlatformError('a device runs only the snapshot the platform targets; deploy through the platform', null, false);
      const body = await call('POST', `${root}/snapshots`, deploy, REQUEST_TIMEOUT_MS, signal);
      // An older platform says nothing of becameTarget: it always made the deploy the target (the schema's default).
      const recorded = checkRecordedDeploy(body);
      if (!recorded.ok) throw new PlatformError(`POST ${root}/snapshots: the answer is not a recorded deploy (${recorded.error})`, 201, false);
      return recorded.value;
    },
  };
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${err.message} (${cause.message})`;
    return err.message;
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------
// Answers are checked before use: a field of the wrong type would otherwise surface as
// a broken settings file or a Node-RED that never starts, far from its cause. The desired
// state by the protocol's schema; a snapshot's content by its shape here and its hash in
// reconcile.ts.

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function malformed(what: string): PlatformError {
  return new PlatformError(`malformed answer from the platform: ${what}`, 200, true);
}

/** The desired state as @flowgate/protocol's schema has it, or a PlatformError that says where it is not. */
export function parseDesiredState(value: unknown): DesiredState {
  const checked = checkDesiredState(value);
  if (!checked.ok) throw malformed(`desired state ${checked.error}`);
  return checked.value;
}

/** Shape only: whether the content is the one wanted is decided by its hash (reconcile.ts). */
export function parseSnapshotContent(value: unknown): SnapshotContent {
  if (!isRecord(value)) throw malformed('snapshot content must be an object');
  const { flows, credentials, settings, env, modules } = value;
  if (!Array.isArray(flows) || !flows.every((node) => isRecord(node) && typeof node.id === 'string' && typeof node.type === 'string')) {
    throw malformed('snapshot flows must be an array of nodes with id and type');
  }
  if (credentials !== null && typeof credentials !== 'string') throw malformed('snapshot credentials must be a string or null');
  if (!isRecord(settings)) throw malformed('snapshot settings must be an object');
  if (
    !Array.isArray(env) ||
    !env.every((item) => isRecord(item) && typeof item.name === 'string' && (item.value === null || typeof item.value === 'string') && typeof item.secret === 'boolean')
  ) {
    throw malformed('snapshot env must be an array of { name, value, secret }');
  }
  if (!Array.isArray(modules) || !modules.every((item) => isRecord(item) && typeof item.name === 'string' && typeof item.version === 'string')) {
    throw malformed('snapshot modules must be an array of { name, version }');
  }
  return value as SnapshotContent;
}

// ---------------------------------------------------------------------------------------
// Retry

export type Backoff = {
  /** The first step; each retry doubles it. */
  firstMs: number;
  /** Where the doubling stops. */
  maxMs: number;
  /**
   * 'full': anywhere from 0 to the step, which spreads a fleet that lost its connection at
   * the same moment the most. 'upper-half': in the upper half of the step and never under
   * `firstMs`, which still spreads it yet never retries at once.
   */
  jitter: 'full' | 'upper-half';
};

export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** Calls to the platform that failed (away, 5xx, ...): 500 ms doubling to 30 s. */
export const HTTP_BACKOFF: Backoff = { firstMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS, jitter: 'upper-half' };
/**
 * The platform refuses the credential (401: revoked, replaced, or a proxy in between that
 * answers 401): only a change elsewhere heals that, so ask slowly, 5 s doubling to 5 min.
 */
export const REFUSED_BACKOFF: Backoff = { firstMs: 5_000, maxMs: 5 * 60_000, jitter: 'full' };

/** Delay before retry number `attempt` (0-based) on `schedule`: exponential, capped, with jitter. */
export function backoffDelay(attempt: number, schedule: Backoff = HTTP_BACKOFF, random: () => number = Math.random): number {
  const step = Math.min(schedule.maxMs, schedule.firstMs * 2 ** Math.min(attempt, 16));
  if (schedule.jitter === 'full') return Math.round(step * random());
  return Math.max(schedule.firstMs, Math.round(step / 2 + (step / 2) * random()));
}

/** The schedule to retry on after `err`: the slow one when the platform refuses the credential. */
export function backoffAfter(err: unknown): Backoff {
  return err instanceof PlatformError && err.status === 401 ? REFUSED_BACKOFF : HTTP_BACKOFF;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls `fn` until it succeeds, waiting `backoffDelay` between retryable failures.
 * Throws the first non-retryable error, or the last one once `signal` aborts or
 * `shouldContinue` turns false (a newer desired state makes a fetch pointless).
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  options: { signal: AbortSignal; onRetry?: (err: PlatformError, delayMs: number) => void; shouldContinue?: () => boolean },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof PlatformError) || !err.retryable || options.signal.aborted) throw err;
      if (options.shouldContinue && !options.shouldContinue()) throw err;
      const delay = backoffDelay(attempt);
      options.onRetry?.(err, delay);
      await sleep(delay, options.signal);
      if (options.signal.aborted) throw err;
    }
  }
}

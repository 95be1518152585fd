import type { NodeRedNode, SnapshotContent, SnapshotModule } from '@flowgate/core';
import { isEnvName, isNodeRedVersion } from '@flowgate/core';

/**
 * The agent's side of the platform's agent API (/api/agent/v1), over HTTP with the
 * instance's bearer token. Every call either returns the parsed answer or throws a
 * PlatformError that says whether trying again later can help (network, timeout, 5xx,
 * 408, 429) or not (other 4xx, a malformed answer is retryable: a server fix helps).
 */

export type PaletteSettings = { allow: string[]; deny: string[] };

export type DesiredSettings = {
  credentialSecret: string;
  /** Hex HMAC-SHA256 key for editor tokens (editor-token.ts). */
  editorTokenKey: string;
  /** Paths the platform proxies verbatim to Node-RED, e.g. '/instances/<id>/editor/'. */
  httpAdminRoot: string;
  httpNodeRoot: string;
  /**
   * Hex key a hosted instance's HTTP-in endpoints require (header x-flowgate-endpoint-key),
   * which only the platform's proxy sends: its sign-in choice cannot be gone round on the
   * loopback port. Null on a device, whose endpoints are for the people beside it.
   */
  endpointKey: string | null;
  palette: PaletteSettings;
  /** The Node-RED version to run (node-red-installations.ts); null: the agent's own. */
  nodeRedVersion: string | null;
};

export type SnapshotRef = { id: string; hash: string };

export type DesiredState = {
  generation: number;
  instanceId: string;
  snapshot: SnapshotRef | null;
  settings: DesiredSettings;
  env: Array<{ name: string; value: string }>;
  /** A device only: someone opens its editor, so it should open its editor tunnel (tunnel.ts). */
  editorTunnel: boolean;
};

export type AgentStateName = 'starting' | 'running' | 'crashed' | 'stopped' | 'safe-mode' | 'error';

export type StatusReport = {
  state: AgentStateName;
  runningSnapshotId: string | null;
  runningHash: string | null;
  nodeRedPort: number | null;
  nodeRedVersion: string;
  agentVersion: string;
  error: string | null;
};

export type AuditEvent = { event: string; user: string | null; ts: number; details: Record<string, unknown> };

export type LogLine = { ts: number; level: string; msg: string };

/** `basedOn`: the snapshot the runtime ran when the editor deployed over it. */
export type EditorDeploy = { flows: NodeRedNode[]; credentials: string | null; modules: SnapshotModule[]; user: string | null; basedOn: string | null };

/** The recorded editor deploy; `becameTarget` false: the platform's target changed meanwhile, and stays. */
export type RecordedDeploy = SnapshotRef & { becameTarget: boolean };

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
  const root = device ? '/api/fleet/v1' : '/api/agent/v1';

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
      const { state, runningSnapshotId, runningHash, nodeRedVersion, agentVersion, error } = report;
      await call('POST', `${root}/check-in`, { state, runningSnapshotId, runningHash, nodeRedVersion, agentVersion, error, ...options.load?.() }, REQUEST_TIMEOUT_MS, signal);
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
      if (!isRecord(body) || typeof body.id !== 'string' || typeof body.hash !== 'string') {
        throw new PlatformError('POST /api/agent/v1/snapshots: the answer has no id and hash', 201, false);
      }
      // An older platform says nothing: it always made the deploy the target.
      return { id: body.id, hash: body.hash, becameTarget: body.becameTarget !== false };
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
// a broken settings file or a Node-RED that never starts, far from its cause.

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function malformed(what: string): PlatformError {
  return new PlatformError(`malformed answer from the platform: ${what}`, 200, true);
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw malformed(`${what} must be an array of strings`);
  return value as string[];
}

const HEX_KEY = /^(?:[0-9a-fA-F]{2})+$/;
const ROOT_PATH = /^\/[A-Za-z0-9._~\-/]*$/;

export function parseDesiredState(value: unknown): DesiredState {
  if (!isRecord(value)) throw malformed('desired state must be an object');
  const { generation, instanceId, snapshot, settings, env } = value;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation)) throw malformed('generation must be an integer');
  if (typeof instanceId !== 'string' || instanceId === '') throw malformed('instanceId must be a non-empty string');
  let ref: SnapshotRef | null = null;
  if (snapshot !== null) {
    if (!isRecord(snapshot) || typeof snapshot.id !== 'string' || typeof snapshot.hash !== 'string' || snapshot.id === '' || snapshot.hash === '') {
      throw malformed('snapshot must be null or { id, hash }');
    }
    ref = { id: snapshot.id, hash: snapshot.hash };
  }
  if (!isRecord(settings)) throw malformed('settings must be an object');
  const { credentialSecret, editorTokenKey, httpAdminRoot, httpNodeRoot, palette } = settings;
  const endpointKey = settings.endpointKey ?? null;
  const nodeRedVersion = settings.nodeRedVersion ?? null;
  if (nodeRedVersion !== null && !isNodeRedVersion(nodeRedVersion)) throw malformed('settings.nodeRedVersion must be a version or null');
  if (endpointKey !== null && (typeof endpointKey !== 'string' || !HEX_KEY.test(endpointKey))) throw malformed('settings.endpointKey must be hex or null');
  if (typeof credentialSecret !== 'string' || credentialSecret === '') throw malformed('settings.credentialSecret must be a non-empty string');
  if (typeof editorTokenKey !== 'string' || !HEX_KEY.test(editorTokenKey)) throw malformed('settings.editorTokenKey must be hex');
  // The roots end up in Node-RED's routes and in URLs the agent builds: a plain path only.
  if (typeof httpAdminRoot !== 'string' || !ROOT_PATH.test(httpAdminRoot)) throw malformed('settings.httpAdminRoot must be a path starting with /');
  if (typeof httpNodeRoot !== 'string' || !ROOT_PATH.test(httpNodeRoot)) throw malformed('settings.httpNodeRoot must be a path starting with /');
  if (!isRecord(palette)) throw malformed('settings.palette must be an object');
  const allow = stringList(palette.allow, 'settings.palette.allow');
  const deny = stringList(palette.deny, 'settings.palette.deny');
  if (!Array.isArray(env)) throw malformed('env must be an array');
  const vars = env.map((item: unknown) => {
    if (!isRecord(item) || !isEnvName(item.name) || typeof item.value !== 'string') {
      throw malformed('env entries must be { name, value } with a valid variable name');
    }
    return { name: item.name, value: item.value };
  });
  return {
    generation,
    instanceId,
    snapshot: ref,
    settings: { credentialSecret, editorTokenKey, httpAdminRoot, httpNodeRoot, endpointKey, palette: { allow, deny }, nodeRedVersion },
    env: vars,
    editorTunnel: value.editorTunnel === true,
  };
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
  if (!Array.isArray(env) || !env.every((item) => isRecord(item) && typeof item.name === 'string' && (item.value === null || typeof item.value === 'string') && typeof item.secret === 'boolean')) {
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

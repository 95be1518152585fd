import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { snapshotHash } from '@flowgate/core';
import type { NodeRedNode, SnapshotContent, SnapshotModule } from '@flowgate/core';
import type { AuditEvent, DesiredSettings, LogLine, SnapshotRef, StatusReport } from '../platform-client.ts';

/**
 * A stand-in for the platform's agent API (/api/agent/v1), for the agent's tests only.
 * This fake is deliberate: the real server side is being written at the same time
 * against the same protocol, so the agent is tested against the protocol as specified.
 * Everything on the agent's side of it (Node-RED included) is real.
 */

type Held = { res: http.ServerResponse; timer: NodeJS.Timeout };

export class FakePlatform {
  readonly token = `fgi_${randomBytes(16).toString('hex')}`;
  readonly instanceId = `inst-${randomBytes(4).toString('hex')}`;
  readonly settings: DesiredSettings;
  env: Array<{ name: string; value: string }> = [];
  generation = 1;
  target: SnapshotRef | null = null;
  /** id → what GET /snapshots/:id answers and the hash the platform claims for it. */
  readonly snapshots = new Map<string, { hash: string; content: SnapshotContent }>();
  readonly statuses: StatusReport[] = [];
  readonly audits: AuditEvent[] = [];
  readonly logs: LogLine[] = [];
  readonly recordedDeploys: Array<{ flows: NodeRedNode[]; credentials: string | null; modules: SnapshotModule[]; user: string | null; basedOn: string | null }> = [];
  /** When set, POST /audit answers 503 (the platform "away" for audit only). */
  refuseAudit = false;
  /** Answer POST /snapshots with this status instead of recording (e.g. 403). */
  refuseSnapshots: number | null = null;
  private server: http.Server | null = null;
  private held: Held[] = [];
  private snapshotCounter = 0;
  port = 0;

  constructor() {
    const id = this.instanceId;
    this.settings = {
      credentialSecret: randomBytes(16).toString('hex'),
      editorTokenKey: randomBytes(32).toString('hex'),
      httpAdminRoot: `/instances/${id}/editor/`,
      httpNodeRoot: `/instances/${id}/app/`,
      endpointKey: null,
      palette: { allow: [], deny: [] },
      nodeRedVersion: null,
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Registers content under a new id; `claimedHash` lets a test make the platform lie. */
  addSnapshot(content: SnapshotContent, claimedHash?: string): SnapshotRef {
    const id = `snap-${++this.snapshotCounter}`;
    const hash = claimedHash ?? snapshotHash(content);
    this.snapshots.set(id, { hash, content });
    return { id, hash };
  }

  setTarget(ref: SnapshotRef | null): void {
    this.target = ref;
    this.generation++;
    for (const held of this.held.splice(0)) {
      clearTimeout(held.timer);
      this.sendDesired(held.res);
    }
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const held of this.held.splice(0)) {
      clearTimeout(held.timer);
      held.res.destroy();
    }
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves with the first value `probe` returns that is not undefined; fails after `timeoutMs`. */
  async waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        const last = this.statuses.at(-1);
        throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The first status report after index `from` that `match` accepts. */
  waitForStatus(what: string, match: (status: StatusReport) => boolean, from = 0, timeoutMs = 20_000): Promise<StatusReport> {
    return this.waitFor(what, () => this.statuses.slice(from).find(match), timeoutMs);
  }

  private desiredBody(): unknown {
    return { generation: this.generation, instanceId: this.instanceId, snapshot: this.target, settings: this.settings, env: this.env };
  }

  private sendDesired(res: http.ServerResponse): void {
    json(res, 200, this.desiredBody());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(res, 401, { title: 'Unauthorized' });
    const url = new URL(req.url ?? '/', 'http://platform');
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /api/agent/v1/desired') {
      const generation = url.searchParams.get('generation');
      const wait = Math.min(Number(url.searchParams.get('wait') ?? '0') || 0, 25);
      if (generation === null || Number(generation) !== this.generation || wait === 0) return this.sendDesired(res);
      const held: Held = {
        res,
        timer: setTimeout(() => {
          this.held = this.held.filter((h) => h !== held);
          this.sendDesired(res);
        }, wait * 1000),
      };
      this.held.push(held);
      return;
    }
    const snapshotMatch = /^\/api\/agent\/v1\/snapshots\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && snapshotMatch) {
      const snapshot = this.snapshots.get(decodeURIComponent(snapshotMatch[1]!));
      return snapshot ? json(res, 200, snapshot.content) : json(res, 404, { title: 'Not Found' });
    }
    const record = body as Record<string, unknown>;
    switch (route) {
      case 'POST /api/agent/v1/status':
        this.statuses.push(record as StatusReport);
        return end(res, 204);
      case 'POST /api/agent/v1/audit':
        if (this.refuseAudit) return json(res, 503, { title: 'Unavailable' });
        this.audits.push(...(record.events as AuditEvent[]));
        return end(res, 204);
      case 'POST /api/agent/v1/logs':
        this.logs.push(...(record.lines as LogLine[]));
        return end(res, 204);
      case 'POST /api/agent/v1/snapshots': {
        if (this.refuseSnapshots !== null) return json(res, this.refuseSnapshots, { title: 'Refused' });
        const deploy = record as { flows: NodeRedNode[]; credentials: string | null; modules: SnapshotModule[]; user: string | null; basedOn: string | null };
        this.recordedDeploys.push(deploy);
        // As the platform does: the recorded deploy becomes the target (and is running), unless
        // the target changed since the editor deployed over it.
        const ref = this.addSnapshot({ flows: deploy.flows, credentials: deploy.credentials, settings: {}, env: [], modules: deploy.modules });
        const becameTarget = (this.target?.id ?? null) === deploy.basedOn;
        if (becameTarget) this.setTarget(ref);
        return json(res, 201, { ...ref, becameTarget });
      }
      default:
        return json(res, 404, { title: 'Not Found' });
    }
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function end(res: http.ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? null : (JSON.parse(text) as unknown);
}

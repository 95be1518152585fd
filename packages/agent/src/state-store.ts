import fs from 'node:fs';
import path from 'node:path';
import { snapshotHash } from '@flowgate/core';
import type { SnapshotContent } from '@flowgate/core';
import { parseDesiredState, parseSnapshotContent } from './platform-client.ts';
import type { DesiredState } from './platform-client.ts';

/**
 * What the agent keeps on disk so that it starts again without the platform:
 * - state.json: which snapshot runs and which one last passed its health check;
 * - desired.json: the last desired state received (it carries the settings Node-RED
 *   needs to start: credential secret, editor token key, paths);
 * - snapshots/<hash>.json: the content of the snapshots named in state.json.
 * Everything is written atomically (temporary file, then rename) with mode 0600 in a
 * 0700 directory: desired.json and the snapshots hold secrets and encrypted credentials.
 */

export type AgentState = {
  runningSnapshotId: string | null;
  runningHash: string | null;
  lastGoodSnapshotId: string | null;
  lastGoodHash: string | null;
};

export const EMPTY_STATE: AgentState = { runningSnapshotId: null, runningHash: null, lastGoodSnapshotId: null, lastGoodHash: null };

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600); // the mode option is ignored when the file already existed
  fs.renameSync(tmp, file);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function nullableString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export class StateStore {
  readonly dir: string;
  readonly userDir: string;
  readonly settingsFile: string;
  private readonly snapshotsDir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.userDir = path.join(dir, 'userdir');
    this.settingsFile = path.join(dir, 'settings.json');
    this.snapshotsDir = path.join(dir, 'snapshots');
    for (const folder of [dir, this.userDir, this.snapshotsDir]) {
      fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
      fs.chmodSync(folder, 0o700);
    }
    // Where an earlier agent generated Node-RED's settings, the secrets inlined: no longer read.
    fs.rmSync(path.join(dir, 'settings.cjs'), { force: true });
  }

  readState(): AgentState {
    const raw = readJson(path.join(this.dir, 'state.json'));
    if (raw === null || typeof raw !== 'object') return { ...EMPTY_STATE };
    const record = raw as Record<string, unknown>;
    return {
      runningSnapshotId: nullableString(record.runningSnapshotId),
      runningHash: nullableString(record.runningHash),
      lastGoodSnapshotId: nullableString(record.lastGoodSnapshotId),
      lastGoodHash: nullableString(record.lastGoodHash),
    };
  }

  writeState(state: AgentState): void {
    writeFileAtomic(path.join(this.dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  }

  readDesired(): DesiredState | null {
    const raw = readJson(path.join(this.dir, 'desired.json'));
    if (raw === undefined) return null;
    try {
      return parseDesiredState(raw);
    } catch {
      return null;
    }
  }

  writeDesired(desired: DesiredState): void {
    writeFileAtomic(path.join(this.dir, 'desired.json'), JSON.stringify(desired, null, 2) + '\n');
  }

  /** The cached content when present and still matching its hash; a damaged file counts as absent. */
  readCachedSnapshot(hash: string): SnapshotContent | null {
    if (!SHA256_HEX.test(hash)) return null;
    const raw = readJson(path.join(this.snapshotsDir, `${hash}.json`));
    if (raw === undefined) return null;
    try {
      const content = parseSnapshotContent(raw);
      return snapshotHash(content) === hash ? content : null;
    } catch {
      return null;
    }
  }

  /** `hash` must be the verified snapshotHash of `content`. */
  cacheSnapshot(hash: string, content: SnapshotContent): void {
    if (!SHA256_HEX.test(hash)) throw new Error(`not a snapshot hash: ${hash}`);
    writeFileAtomic(path.join(this.snapshotsDir, `${hash}.json`), JSON.stringify(content));
  }

  /** Removes cached snapshots other than `keep`: only what state.json names is needed offline. */
  pruneSnapshots(keep: ReadonlyArray<string | null>): void {
    const wanted = new Set(keep.filter((hash): hash is string => hash !== null).map((hash) => `${hash}.json`));
    for (const name of fs.readdirSync(this.snapshotsDir)) {
      if (!wanted.has(name)) fs.rmSync(path.join(this.snapshotsDir, name), { force: true });
    }
  }
}

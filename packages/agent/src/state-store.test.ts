import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { snapshotHash } from '@flowgate/core';
import type { SnapshotContent } from '@flowgate/core';
import { StateStore } from './state-store.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-state-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const content: SnapshotContent = { flows: [{ id: 't', type: 'tab' }], credentials: '{"$":"abc"}', settings: {}, env: [], modules: [] };

describe('state store', () => {
  test('creates its directories owner-only; state and cache are written 0600', () => {
    const store = new StateStore(path.join(root, 'a'));
    assert.equal(fs.statSync(store.dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(store.userDir).mode & 0o777, 0o700);
    assert.deepEqual(store.readState(), { runningSnapshotId: null, runningHash: null, lastGoodSnapshotId: null, lastGoodHash: null });
    const state = { runningSnapshotId: 's1', runningHash: 'h', lastGoodSnapshotId: 's0', lastGoodHash: 'g' };
    store.writeState(state);
    assert.deepEqual(new StateStore(store.dir).readState(), state);
    assert.equal(fs.statSync(path.join(store.dir, 'state.json')).mode & 0o777, 0o600);
    const hash = snapshotHash(content);
    store.cacheSnapshot(hash, content);
    assert.equal(fs.statSync(path.join(store.dir, 'snapshots', `${hash}.json`)).mode & 0o777, 0o600);
    assert.deepEqual(store.readCachedSnapshot(hash), content);
  });

  test('a cached snapshot that no longer matches its hash counts as absent; names other than hashes are refused', () => {
    const store = new StateStore(path.join(root, 'b'));
    const hash = snapshotHash(content);
    store.cacheSnapshot(hash, content);
    fs.writeFileSync(path.join(store.dir, 'snapshots', `${hash}.json`), JSON.stringify({ ...content, flows: [] }));
    assert.equal(store.readCachedSnapshot(hash), null);
    assert.equal(store.readCachedSnapshot('../state'), null);
    assert.throws(() => store.cacheSnapshot('../../etc/passwd', content));
  });

  test("an earlier agent's generated settings.cjs, which inlined the secrets, is removed", () => {
    const dir = path.join(root, 'd');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'settings.cjs'), "const credentialSecret = 'old';");
    const store = new StateStore(dir);
    assert.equal(fs.existsSync(path.join(dir, 'settings.cjs')), false);
    assert.equal(store.settingsFile, path.join(dir, 'settings.json'));
  });

  test('pruning keeps only the named snapshots', () => {
    const store = new StateStore(path.join(root, 'c'));
    const other: SnapshotContent = { ...content, credentials: null };
    store.cacheSnapshot(snapshotHash(content), content);
    store.cacheSnapshot(snapshotHash(other), other);
    store.pruneSnapshots([snapshotHash(other), null]);
    assert.equal(store.readCachedSnapshot(snapshotHash(content)), null);
    assert.deepEqual(store.readCachedSnapshot(snapshotHash(other)), other);
  });
});

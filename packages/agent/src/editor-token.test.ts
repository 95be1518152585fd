import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { mintEditorToken, verifyEditorToken } from './editor-token.ts';
import type { EditorTokenPayload } from './editor-token.ts';

const key = randomBytes(32).toString('hex');
const now = 1_800_000_000;
const payload: EditorTokenPayload = { sub: 'u-1', email: 'ada@example.com', name: 'Ada', permissions: '*', iid: 'inst-1', exp: now + 300 };

describe('editor tokens', () => {
  test('a minted token verifies to its payload', () => {
    const token = mintEditorToken(key, payload);
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(verifyEditorToken(key, token, now), payload);
  });

  test('the format is base64url(payload).base64url(HMAC-SHA256(key, base64url(payload)))', async () => {
    const { createHmac } = await import('node:crypto');
    const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signature = createHmac('sha256', Buffer.from(key, 'hex')).update(encoded).digest('base64url');
    assert.equal(mintEditorToken(key, payload), `${encoded}.${signature}`);
  });

  test('expired at exp, valid the second before', () => {
    const token = mintEditorToken(key, payload);
    assert.notEqual(verifyEditorToken(key, token, payload.exp - 1), null);
    assert.equal(verifyEditorToken(key, token, payload.exp), null);
  });

  test('another key, a changed payload or signature, or junk: null', () => {
    const token = mintEditorToken(key, payload);
    const [encoded, signature] = token.split('.') as [string, string];
    assert.equal(verifyEditorToken(randomBytes(32).toString('hex'), token, now), null);
    const forged = Buffer.from(JSON.stringify({ ...payload, permissions: '*', iid: 'inst-2' })).toString('base64url');
    assert.equal(verifyEditorToken(key, `${forged}.${signature}`, now), null);
    assert.equal(verifyEditorToken(key, `${encoded}.${signature.slice(0, -1)}`, now), null);
    assert.equal(verifyEditorToken(key, `${encoded}.${signature}=`, now), null);
    for (const junk of ['', '.', 'a.b.c', token + '.x', 'x'.repeat(5000)]) assert.equal(verifyEditorToken(key, junk, now), null);
  });

  test('a correctly signed payload of the wrong shape: null', () => {
    for (const bad of [{ ...payload, permissions: 'write' }, { ...payload, exp: '9999999999' }, { ...payload, email: undefined }, [payload]]) {
      const signedButWrong = mintEditorToken(key, bad as unknown as EditorTokenPayload);
      assert.equal(verifyEditorToken(key, signedButWrong, now), null);
    }
  });

  test('a key that is not hex is a configuration error', () => {
    assert.throws(() => mintEditorToken('not-hex', payload), TypeError);
    assert.throws(() => verifyEditorToken('', 'a.b', now), TypeError);
  });
});

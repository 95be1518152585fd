'use strict';
/**
 * The editor token's check, the one both sides run: the platform (editor-token.ts wraps
 * it) and the Node-RED settings the agent starts Node-RED with (the agent's
 * node-red-settings-runtime.cjs). Node-RED loads its settings with `require` and runs no
 * TypeScript, so this is CommonJS, typed with JSDoc and checked by tsc (checkJs) and eslint
 * like the TypeScript around it.
 *
 * node:crypto comes from process.getBuiltinModule rather than require: the platform's bundle
 * (scripts/build-server.mjs) is an ES module, where a bundled CommonJS file's require of a
 * built-in throws.
 *
 * Format: base64url(JSON payload) + '.' + base64url(HMAC-SHA256(key, base64url(payload))),
 * base64url without padding (editor-token.ts).
 */
const { createHmac, timingSafeEqual } = process.getBuiltinModule('node:crypto');

/** @typedef {'*' | 'read'} EditorPermissions */

/**
 * @typedef {object} EditorTokenPayload
 * @property {string} sub The platform user id.
 * @property {string} email
 * @property {string} name
 * @property {EditorPermissions} permissions Node-RED permissions: '*' edits and deploys, 'read' only looks.
 * @property {string} iid The instance the token is for; a token for one instance opens no other.
 * @property {number} exp Expiry, unix seconds.
 */

/**
 * Why a token is refused, as the Node-RED side audits it.
 * @typedef {'malformed' | 'bad-signature' | 'expired'} EditorTokenRefusal
 */

/** @typedef {{ ok: true, payload: EditorTokenPayload } | { ok: false, reason: EditorTokenRefusal }} EditorTokenCheck */

/** Longer tokens are refused before any work, so a hostile header costs nothing. */
const MAX_EDITOR_TOKEN_LENGTH = 4096;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const HEX_KEY = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * The key's bytes; throws for a key that is not hex, a configuration error, not a bad token.
 * @param {string} key hex
 * @returns {Buffer}
 */
function editorTokenKeyBytes(key) {
  if (typeof key !== 'string' || !HEX_KEY.test(key)) throw new TypeError('editor token key must be a non-empty hex string');
  return Buffer.from(key, 'hex');
}

/**
 * @param {Buffer} key
 * @param {string} encodedPayload
 * @returns {string}
 */
function signEditorToken(key, encodedPayload) {
  return createHmac('sha256', key).update(encodedPayload, 'ascii').digest('base64url');
}

/**
 * @param {unknown} value
 * @returns {value is EditorTokenPayload}
 */
function isEditorTokenPayload(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const p = /** @type {Record<string, unknown>} */ (value);
  return (
    typeof p.sub === 'string' &&
    typeof p.email === 'string' &&
    typeof p.name === 'string' &&
    (p.permissions === '*' || p.permissions === 'read') &&
    typeof p.iid === 'string' &&
    typeof p.exp === 'number' &&
    Number.isFinite(p.exp)
  );
}

/**
 * The payload when the signature is right, the payload well formed and `exp` later than
 * `nowSeconds`; otherwise why not. Checking `iid` against the instance is the caller's job,
 * since only the caller knows the instance.
 * @param {Buffer} key editorTokenKeyBytes(hex key)
 * @param {unknown} token
 * @param {number} nowSeconds
 * @returns {EditorTokenCheck}
 */
function checkEditorToken(key, token, nowSeconds) {
  if (typeof token !== 'string' || token.length > MAX_EDITOR_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const [encoded, signature] = /** @type {[string, string]} */ (parts);
  if (!BASE64URL.test(encoded) || !BASE64URL.test(signature)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(signEditorToken(key, encoded), 'ascii');
  const given = Buffer.from(signature, 'ascii');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  /** @type {unknown} */
  let payload;
  try {
    payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isEditorTokenPayload(payload)) return { ok: false, reason: 'malformed' };
  if (payload.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, payload };
}

exports.MAX_EDITOR_TOKEN_LENGTH = MAX_EDITOR_TOKEN_LENGTH;
exports.editorTokenKeyBytes = editorTokenKeyBytes;
exports.signEditorToken = signEditorToken;
exports.checkEditorToken = checkEditorToken;

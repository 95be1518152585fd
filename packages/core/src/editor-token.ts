import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Editor tokens: how the platform tells a Node-RED runtime who is at its editor.
 *
 * Format: base64url(JSON payload) + '.' + base64url(HMAC-SHA256(key, base64url(payload))),
 * base64url without padding. The key is the instance's `editorTokenKey` (hex), shared by
 * the platform (which mints for signed-in people) and the agent (which mints for its own
 * health checks and writes the verifier into Node-RED's settings). Short-lived by design:
 * there is no revocation list, so `exp` is the only way a token stops working.
 *
 * The verifier in the agent's generated settings.cjs (packages/agent/src/settings-file.ts) is a plain-JS copy of
 * `verifyEditorToken` plus the instance check, because Node-RED loads its settings with
 * `require` and cannot load TypeScript; settings-file.test.ts holds the two to the same
 * answers.
 */

export type EditorPermissions = '*' | 'read';

export type EditorTokenPayload = {
  /** The platform user id. */
  sub: string;
  email: string;
  name: string;
  /** Node-RED permissions: '*' edits and deploys, 'read' only looks. */
  permissions: EditorPermissions;
  /** The instance the token is for; a token for one instance opens no other. */
  iid: string;
  /** Expiry, unix seconds. */
  exp: number;
};

/** Longer tokens are refused before any work, so a hostile header costs nothing. */
export const MAX_EDITOR_TOKEN_LENGTH = 4096;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const HEX_KEY = /^(?:[0-9a-fA-F]{2})+$/;

function keyBytes(key: string): Buffer {
  if (!HEX_KEY.test(key)) throw new TypeError('editor token key must be a non-empty hex string');
  return Buffer.from(key, 'hex');
}

function sign(key: Buffer, encodedPayload: string): string {
  return createHmac('sha256', key).update(encodedPayload, 'ascii').digest('base64url');
}

export function mintEditorToken(key: string, payload: EditorTokenPayload): string {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${encoded}.${sign(keyBytes(key), encoded)}`;
}

function isPayload(value: unknown): value is EditorTokenPayload {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const p = value as Record<string, unknown>;
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
 * The payload when the signature is right, the payload well formed and `exp` is later
 * than `nowSeconds`; otherwise null. Checking `iid` against the instance is the
 * caller's job (the Node-RED side does it), since only the caller knows the instance.
 * Throws only for a malformed key, which is a configuration error, not a bad token.
 */
export function verifyEditorToken(key: string, token: string, nowSeconds: number): EditorTokenPayload | null {
  const secret = keyBytes(key);
  if (typeof token !== 'string' || token.length > MAX_EDITOR_TOKEN_LENGTH) return null;
  const parts = token.split('.');
  if (parts.length !== 2) return null;
  const [encoded, signature] = parts as [string, string];
  if (!BASE64URL.test(encoded) || !BASE64URL.test(signature)) return null;
  const expected = Buffer.from(sign(secret, encoded), 'ascii');
  const given = Buffer.from(signature, 'ascii');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!isPayload(payload)) return null;
  if (payload.exp <= nowSeconds) return null;
  return payload;
}

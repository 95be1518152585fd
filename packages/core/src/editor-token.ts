import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The short-lived token that carries a person into a Node-RED editor: minted by the
 * platform after its own sign-in and role check, verified by the Node-RED that the agent
 * runs (adminAuth.tokens), with a key only those two share. Format:
 * base64url(JSON payload) "." base64url(HMAC-SHA256(key, first part)).
 */
export interface EditorTokenPayload {
  sub: string;
  email: string;
  name: string;
  /** Node-RED permissions: '*' edits and deploys, 'read' only looks. */
  permissions: '*' | 'read';
  /** The instance the token is for: a token for one editor opens no other. */
  iid: string;
  /** Expiry, Unix seconds. */
  exp: number;
}

function sign(keyHex: string, body: string): string {
  return createHmac('sha256', Buffer.from(keyHex, 'hex')).update(body).digest('base64url');
}

export function mintEditorToken(keyHex: string, payload: EditorTokenPayload): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${sign(keyHex, body)}`;
}

export function verifyEditorToken(keyHex: string, token: string, nowSeconds: number): EditorTokenPayload | null {
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) return null;
  const expected = Buffer.from(sign(keyHex, body));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as EditorTokenPayload;
    if (typeof payload.exp !== 'number' || payload.exp <= nowSeconds) return null;
    if (payload.permissions !== '*' && payload.permissions !== 'read') return null;
    return payload;
  } catch {
    return null;
  }
}

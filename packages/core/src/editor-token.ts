import { checkEditorToken, editorTokenKeyBytes, MAX_EDITOR_TOKEN_LENGTH, signEditorToken } from './editor-token-check.cjs';
import type { EditorPermissions, EditorTokenPayload } from './editor-token-check.cjs';

/**
 * Editor tokens: how the platform tells a Node-RED runtime who is at its editor.
 *
 * Format: base64url(JSON payload) + '.' + base64url(HMAC-SHA256(key, base64url(payload))),
 * base64url without padding. The key is the instance's `editorTokenKey` (hex), shared by
 * the platform (which mints for signed-in people) and the agent (which mints for its own
 * health checks and hands the key to Node-RED's settings). Short-lived by design: there is
 * no revocation list, so `exp` is the only way a token stops working.
 *
 * The check itself is editor-token-check.cjs, CommonJS so that the Node-RED settings the
 * agent starts Node-RED with run the same one (Node-RED loads its settings with `require`).
 */

export type { EditorPermissions, EditorTokenPayload };
export { MAX_EDITOR_TOKEN_LENGTH };

export function mintEditorToken(key: string, payload: EditorTokenPayload): string {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${encoded}.${signEditorToken(editorTokenKeyBytes(key), encoded)}`;
}

/**
 * The payload when the signature is right, the payload well formed and `exp` is later than
 * `nowSeconds`; otherwise null. Checking `iid` against the instance is the caller's job
 * (the Node-RED side does it), since only the caller knows the instance. Throws only for
 * a malformed key, which is a configuration error, not a bad token.
 */
export function verifyEditorToken(key: string, token: string, nowSeconds: number): EditorTokenPayload | null {
  const checked = checkEditorToken(editorTokenKeyBytes(key), token, nowSeconds);
  return checked.ok ? checked.payload : null;
}

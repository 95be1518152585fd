import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Node-RED's own encryption of flows_cred.json: {"$": hex(iv) + base64(aes-256-ctr)},
 * the key being SHA-256 of the credentialSecret. Snapshots keep credentials in this form;
 * export and import re-encrypt them under a secret the person gives.
 */
export class CredentialSecretError extends Error {}

function key(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function decryptCredentials(fileText: string, secret: string): Record<string, unknown> {
  let sealed: unknown;
  try {
    sealed = (JSON.parse(fileText) as { $?: unknown }).$;
  } catch {
    throw new CredentialSecretError('The credentials are not in Node-RED format.');
  }
  if (typeof sealed !== 'string' || sealed.length < 32) throw new CredentialSecretError('The credentials are not in Node-RED format.');
  const decipher = createDecipheriv('aes-256-ctr', key(secret), Buffer.from(sealed.slice(0, 32), 'hex'));
  const plain = Buffer.concat([decipher.update(Buffer.from(sealed.slice(32), 'base64')), decipher.final()]).toString('utf8');
  try {
    // CTR has no integrity check: a wrong secret shows up as text that is not JSON.
    const parsed = JSON.parse(plain) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new CredentialSecretError('The secret does not decrypt these credentials.');
  }
}

export function encryptCredentials(credentials: Record<string, unknown>, secret: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key(secret), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return JSON.stringify({ $: iv.toString('hex') + body.toString('base64') });
}

export function reencryptCredentials(fileText: string | null, from: string, to: string): string | null {
  return fileText === null ? null : encryptCredentials(decryptCredentials(fileText, from), to);
}

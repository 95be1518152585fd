import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * Time-based one-time passwords (RFC 6238, on HOTP from RFC 4226) for the second
 * authentication factor (IEC 62443-3-3 SR 1.1 RE 2/RE 3), plus one-time recovery codes.
 * node:crypto only. Secrets are exchanged as base32 (RFC 4648, no padding), which is
 * what authenticator apps read from an otpauth:// URL or QR code.
 */

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  /** Time step in seconds. Default 30. */
  step?: number;
  /** Code length, 6 to 8. Default 6. */
  digits?: number;
  /** HMAC hash. Default 'sha1', the only one every authenticator app supports. */
  algorithm?: TotpAlgorithm;
}

export interface VerifyTotpOptions extends TotpOptions {
  /** How many steps before and after the current one are accepted (clock drift). Default 1. */
  window?: number;
  /**
   * The counter of the last code this account used. Steps at or before it are refused,
   * so a code cannot be replayed, even within its window.
   */
  lastUsedCounter?: number | null;
}

export const TOTP_DEFAULTS = { step: 30, digits: 6, algorithm: 'sha1' } as const satisfies Required<TotpOptions>;
export const TOTP_SECRET_BYTES = 20;
const MAX_WINDOW = 10;

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, upper case, without '=' padding. */
export function base32Encode(data: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes RFC 4648 base32. Accepts lower case, spaces and hyphens (as people type a
 * secret from the screen), and trailing '=' padding. Throws on anything else.
 */
export function base32Decode(input: string): Buffer {
  const cleaned = input
    .replace(/[\s-]+/g, '')
    .replace(/=+$/, '')
    .toUpperCase();
  const rest = cleaned.length % 8;
  if (rest === 1 || rest === 3 || rest === 6) throw new Error('not valid base32: wrong length');
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of cleaned) {
    const value = BASE32_ALPHABET.indexOf(ch);
    if (value < 0) throw new Error(`not valid base32: unexpected character ${JSON.stringify(ch)}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** A new TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation), base32. */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(TOTP_SECRET_BYTES));
}

function resolve(options: TotpOptions | undefined): Required<TotpOptions> {
  const step = options?.step ?? TOTP_DEFAULTS.step;
  const digits = options?.digits ?? TOTP_DEFAULTS.digits;
  const algorithm = options?.algorithm ?? TOTP_DEFAULTS.algorithm;
  if (!Number.isInteger(step) || step < 1) throw new RangeError('TOTP step must be a positive whole number of seconds');
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new RangeError('TOTP digits must be 6, 7 or 8');
  if (algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'sha512') throw new RangeError('unsupported TOTP algorithm');
  return { step, digits, algorithm };
}

function decodeSecret(secretBase32: string): Buffer {
  const key = base32Decode(secretBase32);
  if (key.length === 0) throw new Error('the TOTP secret is empty');
  return key;
}

/** The RFC 6238 time-step counter for a moment: floor(unix seconds / step). */
export function totpCounter(timeMs: number, step: number = TOTP_DEFAULTS.step): number {
  if (!Number.isFinite(timeMs) || timeMs < 0) throw new RangeError('time must be a non-negative number of milliseconds');
  return Math.floor(Math.floor(timeMs / 1000) / step);
}

/** RFC 4226 HOTP: HMAC over the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
export function hotpCode(key: Uint8Array, counter: number, digits: number = TOTP_DEFAULTS.digits, algorithm: TotpAlgorithm = TOTP_DEFAULTS.algorithm): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError('HOTP counter must be a non-negative integer');
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP code for a base32 secret at a moment (milliseconds since the epoch). */
export function totpCode(secretBase32: string, timeMs: number, options?: TotpOptions): string {
  const { step, digits, algorithm } = resolve(options);
  return hotpCode(decodeSecret(secretBase32), totpCounter(timeMs, step), digits, algorithm);
}

/** Removes spaces (people type "123 456"); returns null unless what is left is exactly `digits` digits. */
export function normalizeTotpInput(code: string, digits: number = TOTP_DEFAULTS.digits): string | null {
  const cleaned = code.replace(/\s+/g, '');
  return cleaned.length === digits && /^[0-9]+$/.test(cleaned) ? cleaned : null;
}

/**
 * Checks a code typed by a person. Returns the time-step counter it matched, or null.
 * The caller must store the counter and pass it back as `lastUsedCounter` (or refuse
 * a counter it has seen) so that the same code cannot be used twice.
 * Every candidate in the window is compared, in constant time, whatever matches.
 */
export function verifyTotp(secretBase32: string, code: string, timeMs: number, options?: VerifyTotpOptions): number | null {
  const { step, digits, algorithm } = resolve(options);
  const window = options?.window ?? 1;
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW) throw new RangeError(`TOTP window must be a whole number from 0 to ${MAX_WINDOW}`);
  const key = decodeSecret(secretBase32);
  const typed = normalizeTotpInput(code, digits);
  if (typed === null) return null;

  const current = totpCounter(timeMs, step);
  const last = options?.lastUsedCounter ?? null;
  const given = Buffer.from(typed);
  let matched: number | null = null;
  // Current step first, then outwards, so the closest step wins if two ever collide.
  const offsets = [0];
  for (let i = 1; i <= window; i++) offsets.push(-i, i);
  for (const offset of offsets) {
    const counter = current + offset;
    if (counter < 0) continue;
    const expected = Buffer.from(hotpCode(key, counter, digits, algorithm));
    const equal = timingSafeEqual(expected, given);
    if (equal && matched === null && (last === null || counter > last)) matched = counter;
  }
  return matched;
}

export interface OtpauthUrlInput {
  issuer: string;
  account: string;
  secret: string;
  digits?: number;
  step?: number;
  algorithm?: TotpAlgorithm;
}

/**
 * The otpauth:// URL authenticator apps read (usually from a QR code), following the
 * Google Authenticator key URI format: label "Issuer:account", issuer repeated as a
 * parameter. Digits, period and algorithm are only written when not the defaults,
 * because some apps ignore or mishandle them.
 */
export function otpauthUrl(input: OtpauthUrlInput): string {
  const { issuer, account } = input;
  if (issuer.trim() === '' || issuer.includes(':')) throw new Error('the issuer must be non-empty and must not contain ":"');
  if (account.trim() === '') throw new Error('the account must be non-empty');
  const { step, digits, algorithm } = resolve(input);
  const secret = base32Encode(decodeSecret(input.secret));
  const params = [`secret=${secret}`, `issuer=${encodeURIComponent(issuer)}`];
  if (algorithm !== TOTP_DEFAULTS.algorithm) params.push(`algorithm=${algorithm.toUpperCase()}`);
  if (digits !== TOTP_DEFAULTS.digits) params.push(`digits=${digits}`);
  if (step !== TOTP_DEFAULTS.step) params.push(`period=${step}`);
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?${params.join('&')}`;
}

/**
 * Recovery codes: letters and digits that can't be confused when read or typed
 * (no 0/o, 1/i/l, and no u), 30 symbols, 10 per code: about 49 bits each.
 */
export const RECOVERY_CODE_ALPHABET = '23456789abcdefghjkmnpqrstvwxyz';
const RECOVERY_CODE_LENGTH = 10;

function formatRecoveryCode(raw: string): string {
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}

/** `count` distinct recovery codes like 'k7m2-x9qp-4d'. Store only their hashes. */
export function generateRecoveryCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new RangeError('recovery code count must be from 1 to 100');
  const codes = new Set<string>();
  while (codes.size < count) {
    let raw = '';
    for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) raw += RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)];
    codes.add(formatRecoveryCode(raw));
  }
  return [...codes];
}

/**
 * The canonical form ('xxxx-xxxx-xx', lower case) of a recovery code as typed, ignoring
 * case, spaces and hyphens; null if it cannot be a recovery code. Hash this form.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const cleaned = input
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s-]+/g, '');
  if (cleaned.length !== RECOVERY_CODE_LENGTH) return null;
  for (const ch of cleaned) if (!RECOVERY_CODE_ALPHABET.includes(ch)) return null;
  return formatRecoveryCode(cleaned);
}

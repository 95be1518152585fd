import { COMMON_PASSWORDS } from './common-passwords.ts';

/**
 * Password policy for local accounts (IEC 62443-3-3 SR 1.7, NIST SP 800-63B 5.1.1.2):
 * a minimum length, a maximum that bounds hashing cost, and a refusal of passwords that
 * are common, built from the person's own name or email, or a trivial pattern.
 * No composition rules (one digit, one symbol...): they push people towards
 * "Password1!", which this check refuses anyway.
 *
 * Lengths are counted in Unicode code points, not UTF-16 units.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export interface PasswordContext {
  email?: string;
  name?: string;
}

export type PasswordCheckResult = { ok: true } | { ok: false; reasons: string[] };

export type PasswordChecker = (password: string, context: PasswordContext) => PasswordCheckResult;

export const PASSWORD_REASONS = {
  tooShort: (length: number) => `Use at least ${PASSWORD_MIN_LENGTH} characters (this one has ${length}). A few unrelated words make a long password that is easy to remember.`,
  tooLong: (length: number) => `Use at most ${PASSWORD_MAX_LENGTH} characters (this one has ${length}).`,
  common: 'This is a commonly used password, or one with only digits, symbols or a year added. Choose something less predictable, for example several unrelated words.',
  email: "Don't use your email address, or part of it, in your password.",
  name: "Don't use your name in your password.",
  repeated: "Don't use one character repeated (like 'aaaaaaaaaaaa').",
  sequence: "Don't use a simple sequence (like 'abcdefghijkl', '123456789012' or 'qwertyuiop').",
  pattern: "Don't use a short pattern repeated (like 'abcabcabcabc').",
} as const;

/** Matches shorter than this, after stripping digits and symbols, don't count (e.g. "abc" + 10 random digits). */
const MIN_DERIVED_LENGTH = 4;
/**
 * Personal words (name parts, email parts) shorter than this are not looked for:
 * a name like "Ian" would otherwise refuse every password containing "giant".
 */
const MIN_PERSONAL_LENGTH = 4;
/** Bound on the number of variants examined per password. */
const MAX_VARIANTS = 64;

const LEET: Readonly<Record<string, string>> = {
  '@': 'a',
  '4': 'a',
  '8': 'b',
  '(': 'c',
  '3': 'e',
  '6': 'g',
  '9': 'g',
  '1': 'i',
  '!': 'i',
  '|': 'l',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
  '+': 't',
};

const KEYBOARD_ROWS = ['`1234567890-=', 'qwertyuiop[]\\', "asdfghjkl;'", 'zxcvbnm,./', '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/'];

function codePoints(value: string): string[] {
  return Array.from(value);
}

function deLeet(value: string, one: 'i' | 'l'): string {
  let out = '';
  for (const ch of value) out += ch === '1' ? one : (LEET[ch] ?? ch);
  return out;
}

/** The shortest unit that, repeated at least twice, makes up the whole of value; null if none. */
function repeatedUnit(value: string): string | null {
  const chars = codePoints(value);
  const n = chars.length;
  for (let size = 1; size <= n / 2; size++) {
    if (n % size !== 0) continue;
    let ok = true;
    for (let i = size; i < n && ok; i++) ok = chars[i] === chars[i - size];
    if (ok) return chars.slice(0, size).join('');
  }
  return null;
}

/**
 * The forms of a password that are looked up in the common list: as typed (lowercase),
 * with leading/trailing digits and symbols removed, with a trailing year removed,
 * with letter-for-digit swaps undone (p@ssw0rd), and a repeated word reduced to one copy.
 * Transformations are applied to each other's results until nothing new appears.
 */
function variants(lower: string): Set<string> {
  const found = new Set<string>([lower]);
  const queue = [lower];
  const add = (value: string) => {
    if (value.length > 0 && !found.has(value) && found.size < MAX_VARIANTS) {
      found.add(value);
      queue.push(value);
    }
  };
  while (queue.length > 0) {
    const value = queue.shift() as string;
    add(value.replace(/[^\p{L}]+$/u, '')); // trailing digits and symbols: "password2024!"
    add(value.replace(/^[^\p{L}]+/u, '')); // leading ones: "2024password"
    add(value.replace(/[^\p{L}\p{N}]+$/u, '')); // trailing symbols only: "123456789!"
    add(value.replace(/^[^\p{L}\p{N}]+/u, ''));
    add(value.replace(/(?:19|20)\d\d[^\p{L}\p{N}]*$/u, '')); // a year: "abc1231987"
    add(value.replace(/[\s._-]+/gu, '')); // separators: "password password", "dragon-2024"
    add(deLeet(value, 'i'));
    add(deLeet(value, 'l'));
    const unit = repeatedUnit(value);
    if (unit !== null) add(unit); // "passwordpassword"
  }
  return found;
}

function isCommon(lower: string, list: ReadonlySet<string>): boolean {
  for (const form of variants(lower)) {
    if (form !== lower && codePoints(form).length < MIN_DERIVED_LENGTH) continue;
    if (list.has(form)) return true;
  }
  return false;
}

/** Each character one step after (or before) the previous: "abcdef", "987654", "7890123". */
function isSequence(value: string): boolean {
  const chars = codePoints(value);
  if (chars.length < 3) return false;
  const step = (a: string, b: string): number => {
    if (/\d/.test(a) && /\d/.test(b)) {
      const d = (Number(b) - Number(a) + 10) % 10;
      return d === 1 ? 1 : d === 9 ? -1 : 0;
    }
    const d = (b.codePointAt(0) as number) - (a.codePointAt(0) as number);
    return d === 1 || d === -1 ? d : 0;
  };
  const direction = step(chars[0] as string, chars[1] as string);
  if (direction === 0) return false;
  for (let i = 2; i < chars.length; i++) {
    if (step(chars[i - 1] as string, chars[i] as string) !== direction) return false;
  }
  return true;
}

/** A run along one keyboard row (or the 1qaz2wsx column walk), either direction. */
function isKeyboardRun(value: string): boolean {
  if (codePoints(value).length < 4) return false;
  return KEYBOARD_ROWS.some((row) => row.includes(value) || [...row].reverse().join('').includes(value));
}

function patternReason(lower: string): string | null {
  const chars = codePoints(lower);
  if (chars.length === 0) return null;
  const unit = repeatedUnit(lower) ?? lower;
  const unitLength = codePoints(unit).length;
  if (unitLength === 1) return PASSWORD_REASONS.repeated;
  if (unitLength >= 3 && (isSequence(unit) || isKeyboardRun(unit))) return PASSWORD_REASONS.sequence;
  if (unit !== lower && unitLength <= 4) return PASSWORD_REASONS.pattern;
  return null;
}

function words(value: string): string[] {
  return value
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => codePoints(w).length >= MIN_PERSONAL_LENGTH);
}

/** The password as typed, de-leeted, and with separators removed, for substring search. */
function searchForms(lower: string): string[] {
  const compact = lower.replace(/[^\p{L}\p{N}]+/gu, '');
  return [...new Set([lower, compact, deLeet(lower, 'i'), deLeet(lower, 'l'), deLeet(compact, 'i'), deLeet(compact, 'l')])];
}

function containsAny(forms: string[], needles: string[]): boolean {
  return needles.some((needle) => forms.some((form) => form.includes(needle)));
}

function emailNeedles(email: string | undefined): string[] {
  const value = email?.trim().toLowerCase() ?? '';
  if (value === '') return [];
  const at = value.lastIndexOf('@');
  const local = at >= 0 ? value.slice(0, at) : value;
  const needles = new Set<string>([value, ...words(local)]);
  const compactLocal = local.replace(/[^\p{L}\p{N}]+/gu, '');
  if (codePoints(compactLocal).length >= MIN_PERSONAL_LENGTH) needles.add(compactLocal);
  return [...needles];
}

function nameNeedles(name: string | undefined): string[] {
  const value = name?.trim().toLowerCase() ?? '';
  if (value === '') return [];
  const needles = new Set<string>(words(value));
  const compact = value.replace(/[^\p{L}\p{N}]+/gu, '');
  if (codePoints(compact).length >= MIN_PERSONAL_LENGTH) needles.add(compact);
  return [...needles];
}

/**
 * Builds a checker that refuses the bundled common passwords plus `extra`
 * (for example a customer's larger breach list, company, product and site names).
 * Extra entries are compared case-insensitively.
 */
export function createPasswordChecker(extra?: Iterable<string>): PasswordChecker {
  let list: ReadonlySet<string> = COMMON_PASSWORDS;
  if (extra !== undefined) {
    const merged = new Set(COMMON_PASSWORDS);
    for (const entry of extra) {
      const word = entry.trim().toLowerCase();
      if (word !== '') merged.add(word);
    }
    list = merged;
  }

  return (password, context) => {
    const length = codePoints(password).length;
    // Too long: say so and stop; the other checks are not worth running on megabytes.
    if (length > PASSWORD_MAX_LENGTH) return { ok: false, reasons: [PASSWORD_REASONS.tooLong(length)] };

    const reasons: string[] = [];
    if (length < PASSWORD_MIN_LENGTH) reasons.push(PASSWORD_REASONS.tooShort(length));

    const lower = password.normalize('NFKC').toLowerCase();
    if (lower.trim() !== '') {
      if (isCommon(lower, list)) reasons.push(PASSWORD_REASONS.common);
      const forms = searchForms(lower);
      if (containsAny(forms, emailNeedles(context.email))) reasons.push(PASSWORD_REASONS.email);
      if (containsAny(forms, nameNeedles(context.name))) reasons.push(PASSWORD_REASONS.name);
      const pattern = patternReason(lower);
      if (pattern !== null) reasons.push(pattern);
    }

    return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
  };
}

const defaultChecker = createPasswordChecker();

/** Checks a new password against the policy. Reasons are sentences to show to the person. */
export function checkPassword(password: string, context: PasswordContext): PasswordCheckResult {
  return defaultChecker(password, context);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMON_PASSWORDS } from './common-passwords.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_REASONS, checkPassword, createPasswordChecker, type PasswordCheckResult } from './password-policy.ts';

const ann = { email: 'ann.lee@example.com', name: 'Annabel Leeward' };

function reasons(result: PasswordCheckResult): string[] {
  return result.ok ? [] : result.reasons;
}

function assertRefused(password: string, reason: string, context: { email?: string; name?: string } = {}): void {
  const result = checkPassword(password, context);
  assert.equal(result.ok, false, `${JSON.stringify(password)} should be refused`);
  assert.ok(reasons(result).includes(reason), `${JSON.stringify(password)}: expected ${JSON.stringify(reason)}, got ${JSON.stringify(reasons(result))}`);
}

function assertAccepted(password: string, context: { email?: string; name?: string } = {}): void {
  assert.deepEqual(checkPassword(password, context), { ok: true }, JSON.stringify(password));
}

test('limits', () => {
  assert.equal(PASSWORD_MIN_LENGTH, 12);
  assert.equal(PASSWORD_MAX_LENGTH, 256);
});

test('the common list is large, lowercase and holds the usual suspects', () => {
  assert.ok(COMMON_PASSWORDS.size >= 1000, `only ${COMMON_PASSWORDS.size}`);
  for (const entry of COMMON_PASSWORDS) {
    assert.equal(entry, entry.toLowerCase());
    assert.equal(entry, entry.trim());
    assert.ok(entry.length > 0);
  }
  for (const p of ['123456', 'password', 'qwerty', 'iloveyou', 'dragon', 'monkey', 'letmein', 'football', '1qaz2wsx', 'trustno1']) {
    assert.ok(COMMON_PASSWORDS.has(p), p);
  }
});

test('good passwords pass', () => {
  assertAccepted('correct horse battery staple');
  assertAccepted('Tr0ub4dor&3-granite-Kettle');
  assertAccepted('xq7-Vb2m-Lp9w-Rt4k');
  assertAccepted('purple giraffe eats 7 tacos', ann);
  assertAccepted('giant teapot on the roof', { name: 'Ian Li', email: 'ian@x.io' }); // short names are not searched
  assertAccepted('aaaZk9#mQ2!pL7x');
});

test('too short, saying the minimum and the length', () => {
  const result = checkPassword('Zk9#mQ2!pL', {});
  assert.deepEqual(result, { ok: false, reasons: [PASSWORD_REASONS.tooShort(10)] });
  assert.match(reasons(result)[0] as string, /at least 12 characters/);
  assert.match(reasons(result)[0] as string, /has 10/);
  assertRefused('', PASSWORD_REASONS.tooShort(0));
  // Exactly the minimum is fine.
  assertAccepted('Zk9#mQ2!pL7x');
});

test('length is counted in code points, not UTF-16 units', () => {
  // 11 emoji are 22 UTF-16 units but 11 characters: too short.
  assertRefused('🐉🦊🐙🦉🐝🦀🐢🦎🐳🦩🐞', PASSWORD_REASONS.tooShort(11));
  assertAccepted('🐉🦊🐙🦉🐝🦀🐢🦎🐳🦩🐞🦔');
});

test('too long', () => {
  const long = 'Zk9#mQ2!pL7x'.repeat(22); // 264
  const result = checkPassword(long, {});
  assert.deepEqual(result, { ok: false, reasons: [PASSWORD_REASONS.tooLong(264)] });
  assert.match(reasons(result)[0] as string, /at most 256/);
  assertAccepted('correct horse battery staple '.repeat(8)); // 232: a repeated phrase, but a long one
  const exact = 'correct horse battery staple '.repeat(9).slice(0, PASSWORD_MAX_LENGTH);
  assert.equal(exact.length, 256);
  assertAccepted(exact);
});

test('common passwords, case-insensitively', () => {
  for (const p of ['password', 'PASSWORD', 'Password', 'qwertyuiop', 'QwErTyUiOp', '1qaz2wsx3edc', 'liverpool', 'iloveyou']) {
    assertRefused(p, PASSWORD_REASONS.common);
  }
  assertRefused('1234567890', PASSWORD_REASONS.common);
  assertRefused('qazwsxedcrfv', PASSWORD_REASONS.common);
});

test('common passwords with digits or symbols added at the end or start', () => {
  for (const p of ['Password2024!', 'password123456', 'Football1987', 'Dragon!!!!!!', 'monkey123456789', '2024password!', '!!letmein!!!', 'iloveyou!!!!!!']) {
    assertRefused(p, PASSWORD_REASONS.common);
  }
  // A length-passing one has no other complaint: the reason is specific.
  assert.deepEqual(checkPassword('Password2024!', {}), { ok: false, reasons: [PASSWORD_REASONS.common] });
});

test('common passwords with a year appended, even when they end in digits', () => {
  assertRefused('1qaz2wsx2024', PASSWORD_REASONS.common);
  assertRefused('abc1231987!!', PASSWORD_REASONS.common);
  assertRefused('trustno11999', PASSWORD_REASONS.common);
});

test('common passwords repeated', () => {
  for (const p of ['passwordpassword', 'DragonDragon', 'monkeymonkeymonkey', 'qwerty123qwerty123', 'password password', 'letmein-letmein', 'iloveyou2024iloveyou2024']) {
    assertRefused(p, PASSWORD_REASONS.common);
  }
});

test('common passwords with letters swapped for look-alike digits and symbols', () => {
  for (const p of ['P@ssw0rd2024', 'P@55w0rd!!!!', 'f00tb4ll12345', '$unshine2024!', 'Dr@g0n-1987!']) {
    assertRefused(p, PASSWORD_REASONS.common);
  }
});

test('short stripped remainders do not count as common', () => {
  // "abc" is not in the list, and 3-letter remainders are ignored anyway.
  assertAccepted('abc83017264!!', {});
  assertAccepted('xy738201948576');
  // Even when a customer lists a very short word, a long remainder of random digits is fine...
  const withShort = createPasswordChecker(['abc']);
  assert.deepEqual(withShort('abc83017264!!', {}), { ok: true });
  // ...while the word itself is still refused as typed.
  assert.ok(reasons(withShort('abc', {})).includes(PASSWORD_REASONS.common));
});

test('contains the email or a part of it', () => {
  assertRefused('ann.lee@example.com', PASSWORD_REASONS.email, ann);
  assertRefused('Ann.Lee-secure-9#', PASSWORD_REASONS.email, ann);
  assertRefused('annlee-is-here-77', PASSWORD_REASONS.email, ann);
  assertRefused('zz-jsmithson-19zz', PASSWORD_REASONS.email, { email: 'J.Smithson@plant.example' });
  assertRefused('my b0bby t4bles pass', PASSWORD_REASONS.email, { email: 'bobby.tables@example.com' });
  // Without an email nothing is searched; the domain is not a personal word.
  assertAccepted('example fields are green', { email: 'ann.lee@example.com' });
  assertAccepted('Ann.Lee-secure-9#', {});
});

test('contains the name', () => {
  assertRefused('Annabel-rocks-2024', PASSWORD_REASONS.name, ann);
  assertRefused('leeward tide turns', PASSWORD_REASONS.name, ann);
  assertRefused('annabelleeward!!', PASSWORD_REASONS.name, ann);
  assertRefused('ANNABEL in the garden', PASSWORD_REASONS.name, { name: 'annabel' });
  assertAccepted('Annabel-rocks-2024', { name: '' });
});

test('one repeated character', () => {
  assertRefused('aaaaaaaaaaaa', PASSWORD_REASONS.repeated);
  assertRefused('111111111111111', PASSWORD_REASONS.repeated);
  assertRefused('!!!!!!!!!!!!', PASSWORD_REASONS.repeated);
  assertRefused('ZZZZZZZZZZZZZZZZZZZZ', PASSWORD_REASONS.repeated);
  assert.deepEqual(checkPassword('############', {}), { ok: false, reasons: [PASSWORD_REASONS.repeated] });
});

test('simple sequences', () => {
  for (const p of [
    'abcdefghijkl',
    'ABCDEFGHIJKLMNOP',
    'lkjihgfedcba',
    '123456789012',
    '987654321098',
    '890123456789',
    'qwertyuiop[]',
    "asdfghjkl;'",
    '][poiuytrewq',
    'abcabcabcabc',
    '123412341234',
    'qwerqwerqwer',
  ]) {
    assertRefused(p, PASSWORD_REASONS.sequence);
  }
});

test('short patterns repeated', () => {
  for (const p of ['abababababab', 'xk9!xk9!xk9!', '1a1a1a1a1a1a', 'Zq7Zq7Zq7Zq7']) {
    assertRefused(p, PASSWORD_REASONS.pattern);
  }
  // A longer unit repeated twice is not a "short pattern".
  assertAccepted('k9#mQzWk9#mQzW');
});

test('several reasons are all reported, each once', () => {
  const result = checkPassword('annabel1', ann);
  assert.equal(result.ok, false);
  const list = reasons(result);
  assert.ok(list.includes(PASSWORD_REASONS.tooShort(8)));
  assert.ok(list.includes(PASSWORD_REASONS.name));
  assert.equal(new Set(list).size, list.length);

  const r2 = reasons(checkPassword('password', {}));
  assert.deepEqual(r2, [PASSWORD_REASONS.tooShort(8), PASSWORD_REASONS.common]);
});

test('reasons are plain sentences', () => {
  for (const text of [
    PASSWORD_REASONS.tooShort(3),
    PASSWORD_REASONS.tooLong(300),
    PASSWORD_REASONS.common,
    PASSWORD_REASONS.email,
    PASSWORD_REASONS.name,
    PASSWORD_REASONS.repeated,
    PASSWORD_REASONS.sequence,
    PASSWORD_REASONS.pattern,
  ]) {
    assert.match(text, /^[A-Z].*\.$/);
  }
});

test('createPasswordChecker adds a customer list, case-insensitively, without changing the default', () => {
  const check = createPasswordChecker(['AcmeWidgets', '  Springfield-Plant ', '']);
  assert.deepEqual(reasons(check('acmewidgets2024!', {})), [PASSWORD_REASONS.common]);
  assert.deepEqual(reasons(check('SPRINGFIELD-PLANT', {})), [PASSWORD_REASONS.common]);
  assert.deepEqual(reasons(check('Password2024!', {})), [PASSWORD_REASONS.common]);
  assertAccepted('acmewidgets2024!');
  assert.deepEqual(createPasswordChecker()('Password2024!', {}), checkPassword('Password2024!', {}));
  // Any iterable works.
  const fromSet = createPasswordChecker(new Set(['bluefalconx']));
  assert.equal(fromSet('BlueFalconX1999', {}).ok, false);
});

test('very long input gets only the too-long reason', () => {
  const verdict = checkPassword('x'.repeat(100_000), {});
  assert.deepEqual(verdict, { ok: false, reasons: [PASSWORD_REASONS.tooLong(100_000)] });
});

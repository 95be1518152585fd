import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  RECOVERY_CODE_ALPHABET,
  base32Decode,
  base32Encode,
  generateRecoveryCodes,
  generateTotpSecret,
  hotpCode,
  normalizeRecoveryCode,
  normalizeTotpInput,
  otpauthUrl,
  totpCode,
  totpCounter,
  verifyTotp,
} from './totp.ts';

// RFC 6238 Appendix B seeds: ASCII "1234567890" repeated to the hash's block of key length.
const SEED_SHA1 = base32Encode(Buffer.from('12345678901234567890', 'ascii'));
const SEED_SHA256 = base32Encode(Buffer.from('12345678901234567890123456789012', 'ascii'));
const SEED_SHA512 = base32Encode(Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'));

const RFC6238_VECTORS: { seconds: number; sha1: string; sha256: string; sha512: string }[] = [
  { seconds: 59, sha1: '94287082', sha256: '46119246', sha512: '90693936' },
  { seconds: 1111111109, sha1: '07081804', sha256: '68084774', sha512: '25091201' },
  { seconds: 1111111111, sha1: '14050471', sha256: '67062674', sha512: '99943326' },
  { seconds: 1234567890, sha1: '89005924', sha256: '91819424', sha512: '93441116' },
  { seconds: 2000000000, sha1: '69279037', sha256: '90698825', sha512: '38618901' },
  { seconds: 20000000000, sha1: '65353130', sha256: '77737706', sha512: '47863826' },
];

test('RFC 6238 Appendix B vectors, SHA1, 8 digits', () => {
  assert.equal(SEED_SHA1, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  for (const v of RFC6238_VECTORS) {
    assert.equal(totpCode(SEED_SHA1, v.seconds * 1000, { digits: 8 }), v.sha1, `T=${v.seconds}`);
    assert.equal(totpCode(SEED_SHA1, v.seconds * 1000, { step: 30, digits: 8, algorithm: 'sha1' }), v.sha1);
  }
});

test('RFC 6238 Appendix B vectors, SHA256 and SHA512', () => {
  for (const v of RFC6238_VECTORS) {
    assert.equal(totpCode(SEED_SHA256, v.seconds * 1000, { digits: 8, algorithm: 'sha256' }), v.sha256, `sha256 T=${v.seconds}`);
    assert.equal(totpCode(SEED_SHA512, v.seconds * 1000, { digits: 8, algorithm: 'sha512' }), v.sha512, `sha512 T=${v.seconds}`);
  }
});

test('6-digit codes are the last 6 digits of the RFC truncation', () => {
  for (const v of RFC6238_VECTORS) {
    assert.equal(totpCode(SEED_SHA1, v.seconds * 1000), v.sha1.slice(2));
  }
});

test('RFC 4226 Appendix D HOTP vectors', () => {
  const key = Buffer.from('12345678901234567890', 'ascii');
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  expected.forEach((code, counter) => assert.equal(hotpCode(key, counter), code));
});

test('the code depends only on the 30-second step, using milliseconds', () => {
  const secret = generateTotpSecret();
  const t = 1_700_000_020_000; // 1_700_000_010 is a step boundary, so this is 10 s into a step
  assert.equal(1_700_000_010 % 30, 0);
  assert.equal(totpCounter(t), 1_700_000_010 / 30);
  assert.equal(totpCode(secret, t), totpCode(secret, t - 10_000));
  assert.equal(totpCode(secret, t), totpCode(secret, t + 19_999));
  assert.equal(totpCounter(t + 20_000), totpCounter(t) + 1);
  assert.match(totpCode(secret, t), /^\d{6}$/);
});

test('base32 round trip and the RFC 4648 test vectors', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(Buffer.from(plain)), encoded);
    assert.equal(base32Decode(encoded).toString(), plain);
  }
  // Padding, lower case, spaces and hyphens are accepted on input.
  assert.equal(base32Decode('mzxw 6ytb-oi======').toString(), 'foobar');
  for (let n = 0; n < 40; n++) {
    const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
    assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
  }
});

test('base32Decode refuses characters outside the alphabet and impossible lengths', () => {
  assert.throws(() => base32Decode('MZXW1'), /base32/); // 1 is not base32
  assert.throws(() => base32Decode('MZXW0'), /base32/);
  assert.throws(() => base32Decode('MZXW6YTB!'), /base32/);
  assert.throws(() => base32Decode('M'), /base32/);
  assert.throws(() => base32Decode('MZX'), /base32/);
});

test('generateTotpSecret makes 20 random bytes, base32 without padding', () => {
  const a = generateTotpSecret();
  const b = generateTotpSecret();
  assert.match(a, /^[A-Z2-7]{32}$/);
  assert.equal(base32Decode(a).length, 20);
  assert.notEqual(a, b);
});

test('verifyTotp accepts the current step and returns its counter', () => {
  const secret = generateTotpSecret();
  const t = 1_700_000_000_000;
  const code = totpCode(secret, t);
  assert.equal(verifyTotp(secret, code, t), totpCounter(t));
});

test('verifyTotp window: one step either side by default, not two', () => {
  const secret = generateTotpSecret();
  const t = 1_700_000_000_000;
  const now = totpCounter(t);
  const previous = totpCode(secret, t - 30_000);
  const next = totpCode(secret, t + 30_000);
  const twoBack = totpCode(secret, t - 60_000);
  const twoAhead = totpCode(secret, t + 60_000);
  assert.equal(verifyTotp(secret, previous, t), now - 1);
  assert.equal(verifyTotp(secret, next, t), now + 1);
  // (The tiny chance that a far code equals a near one is excluded by checking inequality first.)
  if (![previous, next, totpCode(secret, t)].includes(twoBack)) assert.equal(verifyTotp(secret, twoBack, t), null);
  if (![previous, next, totpCode(secret, t)].includes(twoAhead)) assert.equal(verifyTotp(secret, twoAhead, t), null);
  assert.equal(verifyTotp(secret, twoBack, t, { window: 2 }), now - 2);
  assert.equal(verifyTotp(secret, twoAhead, t, { window: 2 }), now + 2);
});

test('verifyTotp window 0 accepts only the current step', () => {
  const secret = SEED_SHA1;
  const t = 1_111_111_109_000;
  assert.equal(verifyTotp(secret, totpCode(secret, t), t, { window: 0 }), totpCounter(t));
  const previous = totpCode(secret, t - 30_000);
  assert.notEqual(previous, totpCode(secret, t));
  assert.equal(verifyTotp(secret, previous, t, { window: 0 }), null);
  assert.throws(() => verifyTotp(secret, previous, t, { window: -1 }), RangeError);
  assert.throws(() => verifyTotp(secret, previous, t, { window: 1.5 }), RangeError);
});

test('verifyTotp refuses a replay once the caller passes the last used counter', () => {
  const secret = generateTotpSecret();
  const t = 1_700_000_000_000;
  const code = totpCode(secret, t);
  const counter = verifyTotp(secret, code, t);
  assert.equal(typeof counter, 'number');
  // Same code, same step, a second time: refused.
  assert.equal(verifyTotp(secret, code, t + 5_000, { lastUsedCounter: counter }), null);
  // A code of an earlier step inside the window: refused too.
  assert.equal(verifyTotp(secret, totpCode(secret, t - 30_000), t, { lastUsedCounter: counter }), null);
  // The next step's code is fine.
  const later = t + 30_000;
  assert.equal(verifyTotp(secret, totpCode(secret, later), later, { lastUsedCounter: counter }), (counter as number) + 1);
});

test('verifyTotp input: spaces are stripped, anything but exactly 6 digits is refused', () => {
  const secret = SEED_SHA1;
  const t = 59_000;
  const code = totpCode(secret, t); // '287082'
  assert.equal(code, '287082');
  const counter = totpCounter(t);
  assert.equal(verifyTotp(secret, '287 082', t), counter);
  assert.equal(verifyTotp(secret, ' 287082 ', t), counter);
  assert.equal(verifyTotp(secret, '2 8 7\t0 8 2', t), counter);
  for (const wrong of ['', '28708', '2870820', '94287082', '28708a', '287-082', '+87082', '２８７０８２', '287082\u0000']) {
    assert.equal(verifyTotp(secret, wrong, t), null, JSON.stringify(wrong));
  }
  assert.equal(verifyTotp(secret, '000000', t), null);
  assert.equal(normalizeTotpInput(' 123 456 '), '123456');
  assert.equal(normalizeTotpInput('12345'), null);
  assert.equal(normalizeTotpInput('1234567'), null);
  assert.equal(normalizeTotpInput('94287082', 8), '94287082');
});

test('verifyTotp with 8 digits requires exactly 8', () => {
  const t = 1_234_567_890_000;
  assert.equal(verifyTotp(SEED_SHA1, '89005924', t, { digits: 8 }), totpCounter(t));
  assert.equal(verifyTotp(SEED_SHA1, '005924', t, { digits: 8 }), null);
  assert.equal(verifyTotp(SEED_SHA1, '005924', t), totpCounter(t));
});

test('invalid options and secrets are refused loudly', () => {
  assert.throws(() => totpCode(SEED_SHA1, 0, { digits: 5 }), RangeError);
  assert.throws(() => totpCode(SEED_SHA1, 0, { digits: 9 }), RangeError);
  assert.throws(() => totpCode(SEED_SHA1, 0, { step: 0 }), RangeError);
  assert.throws(() => totpCode(SEED_SHA1, -1), RangeError);
  assert.throws(() => totpCode(SEED_SHA1, Number.NaN), RangeError);
  assert.throws(() => totpCode('', 0), /empty/);
  assert.throws(() => totpCode('not base32!', 0), /base32/);
  assert.throws(() => verifyTotp('', '123456', 0), /empty/);
});

test('the HMAC is computed over the 8-byte big-endian counter (independent check)', () => {
  const key = Buffer.from('12345678901234567890', 'ascii');
  const counter = totpCounter(2_000_000_000_000);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = (mac[19] as number) & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1e8;
  assert.equal(String(value).padStart(8, '0'), '69279037');
});

test('otpauthUrl follows the key URI format', () => {
  const secret = 'JBSWY3DPEHPK3PXP';
  assert.equal(otpauthUrl({ issuer: 'Flowgate', account: 'ann.lee@example.com', secret }), 'otpauth://totp/Flowgate:ann.lee%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Flowgate');
  const url = new URL(otpauthUrl({ issuer: 'Flowgate Plant 1', account: 'a+b@x.io', secret: 'jbsw y3dp ehpk 3pxp' }));
  assert.equal(url.protocol, 'otpauth:');
  assert.equal(url.searchParams.get('secret'), 'JBSWY3DPEHPK3PXP');
  assert.equal(url.searchParams.get('issuer'), 'Flowgate Plant 1');
  assert.equal(url.host, 'totp');
  assert.equal(decodeURIComponent(url.pathname), '/Flowgate Plant 1:a+b@x.io');
  const custom = otpauthUrl({ issuer: 'Flowgate', account: 'a@b.c', secret, digits: 8, step: 60, algorithm: 'sha256' });
  assert.match(custom, /&algorithm=SHA256&digits=8&period=60$/);
  assert.throws(() => otpauthUrl({ issuer: 'Flow:gate', account: 'a@b.c', secret }));
  assert.throws(() => otpauthUrl({ issuer: 'Flowgate', account: '', secret }));
  assert.throws(() => otpauthUrl({ issuer: 'Flowgate', account: 'a@b.c', secret: '' }));
});

test('generateRecoveryCodes: 10 distinct codes xxxx-xxxx-xx from the unambiguous alphabet', () => {
  const codes = generateRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  const symbol = `[${RECOVERY_CODE_ALPHABET}]`;
  const shape = new RegExp(`^${symbol}{4}-${symbol}{4}-${symbol}{2}$`);
  for (const code of codes) assert.match(code, shape);
  for (const ambiguous of ['0', '1', 'o', 'i', 'l']) assert.ok(!RECOVERY_CODE_ALPHABET.includes(ambiguous));
  assert.equal(generateRecoveryCodes(3).length, 3);
  assert.throws(() => generateRecoveryCodes(0), RangeError);
  // Every symbol shows up over a large sample (the draw covers the whole alphabet).
  const seen = new Set(generateRecoveryCodes(100).join('').replace(/-/g, ''));
  assert.equal(seen.size, RECOVERY_CODE_ALPHABET.length);
});

test('normalizeRecoveryCode ignores case, spaces and hyphens; refuses anything else', () => {
  const [code] = generateRecoveryCodes(1) as [string];
  assert.equal(normalizeRecoveryCode(code), code);
  assert.equal(normalizeRecoveryCode(code.toUpperCase()), code);
  assert.equal(normalizeRecoveryCode(` ${code.replace(/-/g, ' ')} `), code);
  assert.equal(normalizeRecoveryCode(code.replace(/-/g, '')), code);
  assert.equal(normalizeRecoveryCode('ABCD-EFGH-23'), 'abcd-efgh-23');
  assert.equal(normalizeRecoveryCode('abcd-efgh-2'), null);
  assert.equal(normalizeRecoveryCode('abcd-efgh-234'), null);
  assert.equal(normalizeRecoveryCode('abcd-efgh-20'), null); // 0 is not in the alphabet
  assert.equal(normalizeRecoveryCode('abcd-efgh-2!'), null);
  assert.equal(normalizeRecoveryCode(''), null);
});

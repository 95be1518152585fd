import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDateTime, formatRelative } from './format.ts';

// Built from local parts: the format is in the browser's zone, whatever zone the test runs in.
const at = new Date(2026, 11, 7, 17, 5, 9);
const iso = at.toISOString();

test('one date format: day, named month, year, 24-hour time', () => {
  assert.equal(formatDateTime(iso), '7 Dec 2026, 17:05');
  assert.equal(formatDateTime(iso, true), '7 Dec 2026, 17:05:09');
  assert.equal(formatDateTime(new Date(2027, 0, 31, 9, 0).toISOString()), '31 Jan 2027, 09:00');
  assert.equal(formatDateTime(new Date(2026, 4, 1, 0, 7).toISOString()), '1 May 2026, 00:07');
  assert.equal(formatDateTime(null), '—');
  assert.equal(formatDateTime(''), '—');
  assert.equal(formatDateTime('not a date'), 'not a date');
});

test('relative time up to a week, then the date', () => {
  const now = at.getTime();
  const ago = (ms: number) => new Date(now - ms).toISOString();
  assert.equal(formatRelative(ago(20_000), now), 'just now');
  assert.equal(formatRelative(ago(-30_000), now), 'just now', 'a clock a little ahead is not the future');
  assert.equal(formatRelative(ago(12 * 60_000), now), '12 min ago');
  assert.equal(formatRelative(ago(3 * 3_600_000 + 5 * 60_000), now), '3 h ago');
  assert.equal(formatRelative(ago(26 * 3_600_000), now), '1 day ago');
  assert.equal(formatRelative(ago(6 * 86_400_000), now), '6 days ago');
  assert.equal(formatRelative(ago(8 * 86_400_000), now), formatDateTime(ago(8 * 86_400_000)));
  assert.equal(formatRelative(ago(-3_600_000), now), formatDateTime(ago(-3_600_000)), 'the future is a date');
  assert.equal(formatRelative(null, now), '—');
});

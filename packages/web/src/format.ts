/**
 * Dates, one way everywhere: `7 Dec 2026, 17:05` in the browser's time zone, day before
 * month with the month named (no 12/7 against 7/12), a 24-hour clock, and seconds only
 * where events within a minute must be told apart (the audit log, snapshots). Relative
 * time ("3 min ago") only where freshness is the point: when a device last checked in, a
 * session was last seen, a token last used; there the full date is in the `<time>`
 * element's title (components/When.tsx).
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const two = (n: number) => String(n).padStart(2, '0');

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `7 Dec 2026, 17:05` (with `seconds`, `7 Dec 2026, 17:05:09`); '—' for nothing, the text itself when it is no date. */
export function formatDateTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '—';
  const date = parse(iso);
  if (!date) return iso;
  const time = `${two(date.getHours())}:${two(date.getMinutes())}${seconds ? `:${two(date.getSeconds())}` : ''}`;
  return `${date.getDate()} ${MONTHS[date.getMonth()]} ${date.getFullYear()}, ${time}`;
}

/**
 * How long ago, in words, up to a week (`just now`, `12 min ago`, `3 h ago`, `2 days ago`);
 * older, or in the future beyond a minute's clock skew, the date itself.
 */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const date = parse(iso);
  if (!date) return iso;
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (seconds < -60) return formatDateTime(iso);
  if (seconds < 60) return 'just now';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 7) return `${days} day${days === 1 ? '' : 's'} ago`;
  return formatDateTime(iso);
}

/** A datetime-local input value (local time) to an ISO timestamp, or '' when empty. */
export function localInputToIso(value: string): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

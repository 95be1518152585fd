import { formatDateTime, formatRelative } from '../format.ts';

/**
 * A moment, as a `<time>` element in the one date format (format.ts); `relative` where
 * freshness is the point ("3 min ago"), the full date then in its title. `never` is
 * what an absent moment reads as.
 */
export function When({ at, relative = false, seconds = false, never = '—' }: { at: string | null | undefined; relative?: boolean; seconds?: boolean; never?: string }) {
  if (!at) return <span className="muted">{never}</span>;
  const full = formatDateTime(at, seconds);
  return (
    <time dateTime={at} title={relative ? full : undefined}>
      {relative ? formatRelative(at) : full}
    </time>
  );
}

import type { ComponentProps, ReactNode } from 'react';

/**
 * One column of a DataTable. Cells may wrap unless `nowrap`; `hide` names the widths below
 * which the column is left out (what it shows must then be found elsewhere, on the row's
 * own page or in another cell), so that a table fits its page rather than scroll sideways.
 */
export interface Column<T> {
  /** Unique within the table. */
  key: string;
  header: ReactNode;
  /** What the cell shows of a row (`index`: its place in the table, from 0). */
  cell: (row: T, index: number) => ReactNode;
  /** The cell names the row (a `<th scope="row">`): screen readers read it with every other cell. */
  rowHeader?: boolean;
  /** Row actions: right-aligned, never wrapped, the header read by screen readers only. */
  actions?: boolean;
  /** Never wraps (dates, short badges). */
  nowrap?: boolean;
  /** Held to a width, the rest cut with an ellipsis (the cell gives the whole in a title or elsewhere). */
  truncate?: boolean;
  /** Left out below 64rem ('narrow') or below 90rem ('medium'). */
  hide?: 'narrow' | 'medium';
  className?: string;
}

type RowProps = ComponentProps<'tr'> & { [data: `data-${string}`]: string | undefined };

/**
 * The one table of the UI: a header row, a row per item, an empty message instead of an
 * empty table, a name for screen readers, and a frame that scrolls only as a last resort.
 */
export function DataTable<T>({
  label,
  caption,
  columns,
  rows,
  rowKey,
  rowProps,
  empty,
  className,
}: {
  /** The table's accessible name, when it has no visible caption. */
  label?: string;
  /** A visible caption, which is also its name. */
  caption?: ReactNode;
  columns: Array<Column<T> | false | null | undefined>;
  rows: readonly T[];
  rowKey: (row: T) => string | number;
  rowProps?: (row: T) => RowProps;
  /** Shown instead of the table when there are no rows; nothing when left out. */
  empty?: ReactNode;
  className?: string;
}) {
  const shown = columns.filter((c): c is Column<T> => Boolean(c));
  if (rows.length === 0) return empty ? <p className="muted table-empty">{empty}</p> : null;
  const cellClass = (c: Column<T>) =>
    [c.className, c.actions && 'actions-cell', c.nowrap && 'nowrap', c.truncate && 'truncate', c.hide && `hide-${c.hide}`].filter(Boolean).join(' ') || undefined;
  return (
    <div className="table-wrap">
      <table className={className} aria-label={caption ? undefined : label}>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c.key} scope="col" className={cellClass(c)}>
                {c.actions && !c.header ? <span className="visually-hidden">Actions</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {shown.map((c) =>
                c.rowHeader ? (
                  <th key={c.key} scope="row" className={cellClass(c)}>
                    {c.cell(row, index)}
                  </th>
                ) : (
                  <td key={c.key} className={cellClass(c)}>
                    {c.cell(row, index)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

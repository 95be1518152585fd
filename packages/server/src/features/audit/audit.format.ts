import type { AuditRecord } from '@flowgate/core';

export const CSV_COLUMNS = [
  'seq',
  'occurredAt',
  'actorType',
  'actorId',
  'actorLabel',
  'event',
  'outcome',
  'targetType',
  'targetId',
  'teamId',
  'ip',
  'userAgent',
  'details',
  'prevHash',
  'hash',
] as const satisfies ReadonlyArray<keyof AuditRecord>;

/**
 * One CSV cell. Cells that a spreadsheet would run as a formula get a leading quote
 * (CSV injection); JSON Lines is the byte-exact, verifiable export.
 */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\r\n';
}

export function csvLine(r: AuditRecord): string {
  return CSV_COLUMNS.map((c) => csvCell(r[c])).join(',') + '\r\n';
}

export function jsonLine(r: AuditRecord): string {
  return JSON.stringify(r) + '\n';
}

/**
 * Plain-text tables and counts for the local tools' human output (`npm start`'s report, `plan`, `--output table`):
 * a header row, columns padded to their widest cell, numbers right-aligned, no colours (so the output pastes into
 * docs and CI logs as is).
 */

/** A cell: text, or a number (right-aligned). */
export type Cell = string | number;

/** Renders rows under a header; every line starts with `indent`. The last column is not padded. */
export function textTable(
  header: readonly string[],
  rows: readonly Cell[][],
  indent = '',
): string[] {
  const numeric = header.map(
    (_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'),
  );
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((r) => String(r[c] ?? '').length)),
  );
  const format = (row: readonly Cell[]) =>
    `${indent}${row
      .map((cell, c) => {
        const text = String(cell ?? '');
        const width = widths[c] ?? 0;
        if (numeric[c]) return text.padStart(width);
        return c === row.length - 1 ? text : text.padEnd(width);
      })
      .join('  ')}`.trimEnd();
  return [format(header), ...rows.map(format)];
}

/** `1 message`, `2 messages`; `plural(1, 'person', 'persons')`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Shortens free text to one line of at most `max` characters. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * Rows of objects as a table (for `--output table`): one column per key seen, nested values as JSON, long cells
 * shortened so a row stays on one line.
 */
export function objectTable(items: readonly Record<string, unknown>[], maxCell = 60): string {
  if (items.length === 0) return '(none)\n';
  const columns = [...new Set(items.flatMap((item) => Object.keys(item)))];
  const cell = (v: unknown): Cell =>
    v === undefined || v === null
      ? ''
      : typeof v === 'number'
        ? v
        : truncate(typeof v === 'object' ? JSON.stringify(v) : String(v), maxCell);
  const rows = items.map((item) => columns.map((c) => cell(item[c])));
  // A column mixing numbers and blanks is still right-aligned text; keep the types as they are.
  return `${textTable(columns, rows).join('\n')}\n`;
}

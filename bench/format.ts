/** Plain-text tables and number formatting for the bench output. */

/** A right-aligned table with a header rule. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (row: readonly string[]) =>
    row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** 12,345 */
export const fmt = (n: number): string => n.toLocaleString('en-US');

/** A number with `digits` decimals. */
export const dec = (n: number, digits = 1): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Median and 95th percentile (nearest rank) of a sample. */
export function quantiles(sample: readonly number[]): { median: number; p95: number } {
  const sorted = [...sample].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, p95: at(0.95) };
}

/** "✔ met" / "✘ not met" for a target. */
export const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');

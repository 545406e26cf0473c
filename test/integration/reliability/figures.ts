import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where each reliability test file leaves its figures for `npm run test:reliability -- --report`. */
export const FIGURES_DIR = path.resolve(import.meta.dirname, '../../../tmp/reliability');

/** One section of the report: label → value, in print order. */
export type Figures = Record<string, string | number>;

/** Writes one section's figures (measured by the test, never computed from expectations). */
export function recordFigures(section: string, figures: Figures): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(path.join(FIGURES_DIR, `${section}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}

/**
 * The suite's size: `ci` (the default, part of `npm test`) or `full` (`npm run test:reliability -- --full`, or
 * RELIABILITY_SIZE=full).
 */
export const SUITE_SIZE: 'ci' | 'full' = process.env['RELIABILITY_SIZE'] === 'full' ? 'full' : 'ci';

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MessageRejectionCode } from '../../../lib/messages/index.ts';

/** The folder of bad message bodies: `<expected code>__<number>-<what>.json`. */
export const BAD_CORPUS_DIR = path.resolve(import.meta.dirname, 'bad');

/** One bad message body and the rejection code the handlers must give it. */
export interface BadInput {
  readonly file: string;
  readonly expectedCode: MessageRejectionCode;
  readonly body: string;
}

/**
 * A file too large to keep in git as is (a 1 MB distinct id, 100,001 ids, JSON 100,000 levels deep), written as a
 * recipe: `template` with `@@` replaced by `repeat` × `count` joined by `separator`, then `middle`, then `close` ×
 * `count`.
 */
interface Recipe {
  template: string;
  repeat: string;
  count: number;
  separator?: string;
  middle?: string;
  close?: string;
}

const CODES = new Set<string>([
  'not_json',
  'unknown_envelope',
  'unknown_command_type',
  'invalid_field',
]);

/** Every file of the bad corpus, in name order, with its expected rejection code taken from the file name. */
export async function loadBadCorpus(): Promise<BadInput[]> {
  const names = (await readdir(BAD_CORPUS_DIR)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (file) => {
      const code = file.split('__')[0] ?? '';
      if (!CODES.has(code)) throw new Error(`${file}: the name must start with a rejection code`);
      const text = await readFile(path.join(BAD_CORPUS_DIR, file), 'utf8');
      const body = file.endsWith('.recipe.json') ? expand(JSON.parse(text) as Recipe) : text;
      return { file, expectedCode: code as MessageRejectionCode, body };
    }),
  );
}

function expand(recipe: Recipe): string {
  const fill =
    Array.from({ length: recipe.count }, () => recipe.repeat).join(recipe.separator ?? '') +
    (recipe.middle ?? '') +
    (recipe.close ?? '').repeat(recipe.count);
  return recipe.template.replace('@@', fill);
}

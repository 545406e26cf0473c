import { PostHogUsageError } from './errors.ts';
import type { ListQuery } from './types.ts';

/*
 * Checks of the values callers pass, shared by the endpoint methods. Each throws a TypeError naming the
 * parameter: a value PostHog would refuse (or, worse, accept and misread) is a caller's bug, found before a request.
 */

/** The query of GET persons/ (list and its CSV export). */
export function listParams(
  query: ListQuery,
): Record<string, string | number | boolean | undefined> {
  return {
    distinct_id: query.distinctId,
    email: query.email,
    search: query.search,
    properties:
      query.properties === undefined
        ? undefined
        : typeof query.properties === 'string'
          ? query.properties
          : JSON.stringify(query.properties),
    limit: pageSize(query.limit, 'list.limit'),
    offset: query.offset === undefined ? undefined : wholeNumber(query.offset, 'list.offset'),
    // PostHog tests for presence, so only send it when asked.
    include_total: query.includeTotal === true ? true : undefined,
  };
}

/** A page size: PostHog `int()`s it, so anything else is a 500 that retrying cannot fix. */
export function pageSize(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new PostHogUsageError(`${name} must be a whole number > 0, got ${value}`);
  }
  return value;
}

function wholeNumber(value: number, name: string): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new PostHogUsageError(`${name} must be a whole number >= 0, got ${value}`);
  }
  return value;
}

/** The distinct non-empty strings of `values`, in first-seen order. */
export function dedupe(values: string[], name: string): string[] {
  if (!Array.isArray(values)) throw new PostHogUsageError(`${name} must be an array of strings`);
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (typeof v !== 'string' || v === '') {
      throw new PostHogUsageError(
        `${name}[${i}] must be a non-empty string, got ${JSON.stringify(v)}`,
      );
    }
    seen.add(v);
  });
  return [...seen];
}

/** A non-negative finite number option. */
export function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0))
    throw new PostHogUsageError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

/** A non-empty string argument. */
export function nonEmptyString(value: unknown, message: string): string {
  if (typeof value !== 'string' || value === '') throw new PostHogUsageError(message);
  return value;
}

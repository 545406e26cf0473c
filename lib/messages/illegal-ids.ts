/**
 * Distinct ids that PostHog's ingestion refuses to merge (`cannot_merge_with_illegal_distinct_id`, docs/posthog-api.md §11).
 * A `$merge_dangerously` naming one of them is accepted by capture with a 200 and then silently does nothing, so the
 * contract rejects such a merge up front instead of reporting a success that never happens.
 */
const CASE_INSENSITIVE = [
  'anonymous',
  'guest',
  'distinctid',
  'distinct_id',
  'id',
  'not_authenticated',
  'email',
  'undefined',
  'true',
  'false',
] as const;

const CASE_SENSITIVE = [
  '[object Object]',
  'NaN',
  'None',
  'none',
  'null',
  '0',
  'undefined',
] as const;

const quotedForms = (value: string): string[] => [value, `'${value}'`, `"${value}"`];

const insensitive = new Set(CASE_INSENSITIVE.flatMap(quotedForms).map((v) => v.toLowerCase()));
const sensitive = new Set(CASE_SENSITIVE.flatMap(quotedForms));

/** Every illegal value in its canonical spelling, for documentation and tests. */
export const ILLEGAL_DISTINCT_IDS: readonly string[] = [...CASE_INSENSITIVE, ...CASE_SENSITIVE];

/**
 * Whether PostHog ingestion treats `distinctId` as illegal for merges: blank, or one of the reserved values (each
 * also in single- or double-quoted form; the first list case-insensitively).
 */
export function isIllegalDistinctId(distinctId: string): boolean {
  const trimmed = distinctId.trim();
  if (trimmed === '') return true;
  return insensitive.has(distinctId.toLowerCase()) || sensitive.has(distinctId);
}

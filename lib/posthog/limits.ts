/**
 * PostHog's limits, in one place (docs/client.md, "Limits"): the client chunks its requests by them and the planner
 * plans its calls by them, so the two can never disagree.
 */

/** bulk_delete takes at most this many `ids` or `distinct_ids` per call (400 above). */
export const MAX_BULK_DELETE_IDS = 1000;
/** batch_by_distinct_ids silently drops every id after the first 200. */
export const MAX_BATCH_BY_DISTINCT_IDS = 200;
/** Capture `/batch/` refuses a body over 20 MB. */
export const CAPTURE_BATCH_SERVER_MAX_BYTES = 20 * 1024 * 1024;
/** The client's own cap per `/batch/` call: well below {@link CAPTURE_BATCH_SERVER_MAX_BYTES}. */
export const MAX_CAPTURE_BATCH_BYTES = 15 * 1024 * 1024;

/**
 * PostHog's personal-API-key buckets on the Persons API (`rate_limit.py`, DRF `SimpleRateThrottle`s): destroy and
 * bulk_delete share the delete bucket, every other persons action the 240/min bucket. Capture is not throttled.
 */
export const POSTHOG_RATE_LIMITS = {
  deletePerMinute: 480,
  deletePerHour: 4800,
  otherPerMinute: 240,
} as const;

/** Splits `items` into consecutive chunks of at most `size` (the one chunk helper of lib/). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The physical limits: how fast PostHog's rate limits let a set of calls go through at best.
 *
 * PostHog's throttles are sliding windows (DRF `SimpleRateThrottle`, `docs/posthog-api.md` §1.5): deletes
 * (`bulk_delete`, `destroy`) 480 in any minute and 4,800 in any hour; every other persons action 240 in any
 * minute; capture is not throttled. The best schedule bursts a whole window's budget at once, so the k-th call
 * (from 0) of a bucket can start no earlier than the window boundaries allow. The minimum drain time is the
 * start of the last call of the slowest bucket (answer latency aside).
 */
import { POSTHOG_RATE_LIMITS } from '#lib/posthog/index.ts';

/** Calls per throttle bucket. */
export interface BucketCalls {
  readonly delete: number;
  readonly other: number;
  /** Capture `/batch/` and `/i/v0/e/` calls: not throttled. */
  readonly capture: number;
}

/** The delete bucket's endpoints (PostHog `PersonsDeleteBurstThrottle`), by the emulator request log's labels. */
const DELETE_ENDPOINTS = new Set([
  'persons/bulk_delete',
  'persons/:id/delete_events',
  'persons/:id/delete_recordings',
]);

/** Sorts an emulator request-log entry into its throttle bucket. */
export function bucketOf(endpoint: string, method: string): keyof BucketCalls {
  if (endpoint === 'capture' || endpoint === 'batch') return 'capture';
  if (DELETE_ENDPOINTS.has(endpoint) || (endpoint === 'persons/:id' && method === 'DELETE'))
    return 'delete';
  return 'other';
}

/** Minimum seconds before the last of `calls` delete calls may start (480/min and 4,800/h). */
export function minDeleteSeconds(calls: number): number {
  if (calls <= 0) return 0;
  const last = calls - 1;
  const hours = Math.floor(last / POSTHOG_RATE_LIMITS.deletePerHour);
  const inHour = last % POSTHOG_RATE_LIMITS.deletePerHour;
  return hours * 3600 + Math.floor(inHour / POSTHOG_RATE_LIMITS.deletePerMinute) * 60;
}

/** Minimum seconds before the last of `calls` other calls may start (240/min). */
export function minOtherSeconds(calls: number): number {
  if (calls <= 0) return 0;
  return Math.floor((calls - 1) / POSTHOG_RATE_LIMITS.otherPerMinute) * 60;
}

/** The theoretical minimum drain time, in PostHog minutes, of a set of calls: the slowest bucket. */
export function minDrainMinutes(calls: BucketCalls): number {
  return Math.max(minDeleteSeconds(calls.delete), minOtherSeconds(calls.other)) / 60;
}

/** The most timestamps in any half-open window [t, t + windowMs) of `times` (a sliding-window count, as DRF counts). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * Sizing the SQS event source's `maxConcurrency` from the PostHog rate budget.
 *
 * PostHog, not Lambda, is the bottleneck: one personal API key may make 480 delete calls a minute but only
 * 4800 an hour (80/min sustained), and 240 other calls a minute (docs/posthog-api.md §1.5). The instances share
 * one budget per key in the shared state table (lib/budget); while that table is unavailable each falls back to a
 * client-side limiter holding `budget / POSTHOG_RATE_INSTANCES`, so the instances together still stay under the
 * budget. The question is how many instances are worth running.
 *
 * Little's law: to keep `r` calls per second in flight when each call takes `L` seconds, you need `r × L`
 * concurrent callers. More instances than that cannot raise throughput (the budget caps it); they only split
 * each SQS batch thinner (worse coalescing: fewer ids per `bulk_delete`) and give each instance a smaller share
 * of the bucket, so it waits more. Fewer instances leave budget unused. Hence
 *
 *     maxConcurrency = clamp(ceil(sustainedCallsPerSecond × expectedCallSeconds), 2, 1000)
 *
 * where `sustainedCallsPerSecond = min(perMinute / 60, perHour / 3600)` (the tightest window wins over time),
 * and 2 and 1000 are the limits of `ScalingConfig.MaximumConcurrency`. The same number is given to the
 * functions as `POSTHOG_RATE_INSTANCES`, so the client-side limiter divides the budget by exactly the number of
 * instances Lambda may run.
 *
 * Defaults: deletions `min(480/60, 4800/3600) = 1.33/s × 2 s = 2.67 → 3`; changes `240/60 = 4/s × 2 s = 8`.
 */

/** A PostHog call budget for one lane. */
export interface RateBudget {
  /** Calls per minute. */
  readonly perMinute: number;
  /** Calls per hour. @default no hourly limit */
  readonly perHour?: number;
}

/** `ScalingConfig.MaximumConcurrency` bounds (docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html). */
export const MAX_CONCURRENCY_BOUNDS = { min: 2, max: 1000 } as const;

/** The sustained call rate a budget allows, in calls per second. */
export function sustainedCallsPerSecond(budget: RateBudget): number {
  const perMinute = budget.perMinute / 60;
  return budget.perHour === undefined ? perMinute : Math.min(perMinute, budget.perHour / 3600);
}

/**
 * The event source `maxConcurrency` for a lane: enough instances to spend the budget, no more.
 *
 * @param budget the lane's PostHog call budget
 * @param expectedCallSeconds typical duration of one PostHog call (p50–p90), in seconds
 */
export function maxConcurrencyFor(budget: RateBudget, expectedCallSeconds: number): number {
  if (!(budget.perMinute > 0) || !(expectedCallSeconds > 0)) {
    throw new RangeError('budget.perMinute and expectedCallSeconds must be positive');
  }
  const needed = Math.ceil(sustainedCallsPerSecond(budget) * expectedCallSeconds - 1e-9);
  return Math.min(MAX_CONCURRENCY_BOUNDS.max, Math.max(MAX_CONCURRENCY_BOUNDS.min, needed));
}

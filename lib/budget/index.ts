/** The fleet-wide PostHog rate budget: token buckets per personal API key in a shared store. */
export {
  type FallbackEvent,
  type SharedLimiterStats,
  SharedRateLimiter,
  type SharedRateLimiterOptions,
} from './shared-limiter.ts';
export { type BudgetStore, budgetItemKey, type StoredBucket } from './store.ts';
export {
  type BucketSpec,
  type BucketState,
  checkSpec,
  defaultCapacity,
  emissionIntervalMs,
  type Grant,
  idleAfter,
  idleState,
  type Reservation,
  reserve,
  toleranceMs,
} from './token-bucket.ts';

import type { BucketState } from './token-bucket.ts';

/** A bucket state as stored, with the version its next conditional write must match. */
export interface StoredBucket {
  readonly state: BucketState;
  /** Bumped by every write (takes and blocks alike); a write names the version it read. */
  readonly version: number;
}

/**
 * The port to the fleet-wide budget (DynamoDB in AWS, dynalite locally; see `lib/store/budget-store.ts`). Every
 * call takes an AbortSignal: the limiter gives the store a short timeout and falls back to the per-instance share
 * when it is slow or failing.
 */
export interface BudgetStore {
  /** The current state (strongly consistent), or undefined when the bucket was never written or has expired. */
  read(key: string, signal: AbortSignal): Promise<StoredBucket | undefined>;
  /**
   * Writes `state` only if the stored version is still `expected` (`undefined`: only if there is no item yet).
   * Returns the stored result, or undefined when another writer got there first (read again and retry).
   * `expiresAt` (epoch seconds) is the item's TTL.
   */
  write(
    key: string,
    state: BucketState,
    expected: number | undefined,
    expiresAt: number,
    signal: AbortSignal,
  ): Promise<StoredBucket | undefined>;
  /** Raises the bucket's `blockedUntil` to `until` (never lowers it) and bumps the version. */
  block(key: string, until: number, expiresAt: number, signal: AbortSignal): Promise<void>;
}

/** Partition key of one throttle bucket of one key, e.g. `budget#3f…#delete` (`keyHash` in lib/store). */
export function budgetItemKey(hashOfKey: string, bucket: string): string {
  return `budget#${hashOfKey}#${bucket}`;
}

/**
 * What the batch loop needs from the outside world besides SQS (queue-ops.ts): a logger and a metrics sink. They
 * are declared here, by the code that uses them, and lib/runtime provides the Powertools implementations, so the
 * dependency points from runtime to batch and never back.
 */

/**
 * The structured logger the batch loop writes to. Powertools' `Logger` satisfies it; tests pass a small
 * recording object. Every per-message line carries a `correlation_id` (the command id, or the SQS
 * messageId when the body could not be parsed).
 */
export interface RelayLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** The EMF metric names (contract E), in the `PersonsRelay` namespace. */
export const METRIC_NAMES = {
  received: 'MessagesReceived',
  applied: 'MessagesApplied',
  retried: 'MessagesRetried',
  rejected: 'MessagesRejected',
  postHogCalls: 'PostHogCalls',
  throttled: 'PostHogThrottled',
  personsDeleted: 'PersonsDeleted',
  /** Every PostHog HTTP response (the denominator of the 5xx rate alarm). */
  postHogResponses: 'PostHogResponses',
  /** PostHog answered 401 or 403: the key is wrong, revoked or lacks a scope. */
  postHogAuthRejected: 'PostHogAuthRejected',
  /** PostHog answered 5xx. */
  postHogServerErrors: 'PostHogServerErrors',
  /** Rate-limiter acquisitions served by the per-instance share because the shared budget's store failed or was slow. */
  rateBudgetFallbacks: 'RateBudgetFallbacks',
  /** Shared-budget store round trips that failed or timed out (each starts a fallback hold). */
  rateBudgetStoreFailures: 'RateBudgetStoreFailures',
  /** Erasure tombstones written by the deletions lane. */
  tombstonesRecorded: 'TombstonesRecorded',
  /** Tombstone writes that failed (the delete itself still went ahead). */
  tombstoneWriteFailures: 'TombstoneWriteFailures',
} as const;

/** One of {@link METRIC_NAMES}. */
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/**
 * What the batch loop needs from a metrics sink: counters with optional dimensions, flushed once per
 * invocation. Tests pass a recording fake; Lambda gets `PowertoolsRelayMetrics` (lib/runtime).
 */
export interface RelayMetrics {
  /** Adds `value` to the counter `name` for this set of dimensions. */
  count(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Writes everything counted since the last flush. Never throws. */
  flush(): void;
}

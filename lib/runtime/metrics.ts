import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

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
 * invocation. Tests pass a recording fake; Lambda gets {@link PowertoolsRelayMetrics}.
 */
export interface RelayMetrics {
  /** Adds `value` to the counter `name` for this set of dimensions. */
  count(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Writes everything counted since the last flush. Never throws. */
  flush(): void;
}

/**
 * {@link RelayMetrics} over Powertools Metrics (EMF on stdout, no API call).
 *
 * Counters are summed in memory during an invocation and written at the end: one EMF blob for the
 * dimensionless counters, and one single-metric blob per dimension set (`reason`, or `endpoint`+`status`),
 * because an EMF document carries one dimension set. This keeps a 10,000-message batch to a handful of
 * log lines instead of one per message or per call.
 */
export class PowertoolsRelayMetrics implements RelayMetrics {
  readonly #metrics: Metrics;
  readonly #counters = new Map<
    string,
    { name: MetricName; dims: Record<string, string>; value: number }
  >();

  public constructor(options: { namespace: string; serviceName: string } | { metrics: Metrics }) {
    this.#metrics =
      'metrics' in options
        ? options.metrics
        : new Metrics({ namespace: options.namespace, serviceName: options.serviceName });
  }

  public count(
    name: MetricName,
    value: number,
    dimensions: Readonly<Record<string, string>> = {},
  ): void {
    if (value === 0) return;
    const dims = { ...dimensions };
    const key = `${name}|${JSON.stringify(Object.entries(dims).sort())}`;
    const existing = this.#counters.get(key);
    if (existing) existing.value += value;
    else this.#counters.set(key, { name, dims, value });
  }

  public flush(): void {
    try {
      let plain = 0;
      for (const { name, dims, value } of this.#counters.values()) {
        if (Object.keys(dims).length === 0) {
          this.#metrics.addMetric(name, MetricUnit.Count, value);
          plain += 1;
          continue;
        }
        const single = this.#metrics.singleMetric();
        for (const [dimension, dimensionValue] of Object.entries(dims)) {
          single.addDimension(dimension, dimensionValue);
        }
        single.addMetric(name, MetricUnit.Count, value);
      }
      if (plain > 0) this.#metrics.publishStoredMetrics();
    } catch (error) {
      // Metrics must never fail a batch whose messages were already applied.
      process.stderr.write(`metrics flush failed: ${String(error)}\n`);
    } finally {
      this.#counters.clear();
    }
  }
}

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

import { METRIC_NAMES, type MetricName, type RelayMetrics } from '../batch/ports.ts';

export { METRIC_NAMES, type MetricName, type RelayMetrics };

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

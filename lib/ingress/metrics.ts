import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The ingress's EMF metric names, in the `PersonsRelay` namespace. */
export const INGRESS_METRIC_NAMES = {
  /** One per request, dimensions `provider` and `outcome` (accepted, ignored, refused, failed). */
  requests: 'WebhookRequests',
  /** Commands sent to a queue, dimension `provider`. */
  commands: 'WebhookCommandsSent',
  /** Upstream events acknowledged without a command (an unmapped type, or no distinct id), dimension `provider`. */
  ignored: 'WebhookEventsIgnored',
} as const;

/** One of {@link INGRESS_METRIC_NAMES}. */
export type IngressMetricName = (typeof INGRESS_METRIC_NAMES)[keyof typeof INGRESS_METRIC_NAMES];

/** What the ingress needs from a metrics sink; tests pass a recording fake. */
export interface IngressMetrics {
  count(name: IngressMetricName, value: number, dimensions: Readonly<Record<string, string>>): void;
  /** Writes what was counted. Never throws. */
  flush(): void;
}

/** {@link IngressMetrics} over Powertools Metrics: one single-metric EMF document per dimension set. */
export class PowertoolsIngressMetrics implements IngressMetrics {
  readonly #metrics: Metrics;
  readonly #counters = new Map<
    string,
    { name: IngressMetricName; dims: Record<string, string>; value: number }
  >();

  public constructor(options: { namespace: string; serviceName: string }) {
    this.#metrics = new Metrics({ namespace: options.namespace, serviceName: options.serviceName });
  }

  public count(
    name: IngressMetricName,
    value: number,
    dimensions: Readonly<Record<string, string>>,
  ): void {
    if (value === 0) return;
    const key = `${name}|${JSON.stringify(Object.entries(dimensions).sort())}`;
    const existing = this.#counters.get(key);
    if (existing) existing.value += value;
    else this.#counters.set(key, { name, dims: { ...dimensions }, value });
  }

  public flush(): void {
    try {
      for (const { name, dims, value } of this.#counters.values()) {
        const single = this.#metrics.singleMetric();
        for (const [dimension, dimensionValue] of Object.entries(dims)) {
          single.addDimension(dimension, dimensionValue);
        }
        single.addMetric(name, MetricUnit.Count, value);
      }
    } catch (error) {
      // Metrics must never turn an enqueued webhook into a 5xx.
      process.stderr.write(`metrics flush failed: ${String(error)}\n`);
    } finally {
      this.#counters.clear();
    }
  }
}

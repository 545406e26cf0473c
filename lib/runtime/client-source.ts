import type { Config } from '../config.ts';
import { PostHogClient, type PostHogClientOptions } from '../posthog/index.ts';
import type { RelayLogger } from './logger.ts';
import { METRIC_NAMES, type RelayMetrics } from './metrics.ts';
import type { PostHogSecret } from './secrets.ts';

/**
 * Returns a function that yields the PostHog client for the current invocation.
 *
 * The client holds the rate limiter's state, so it is kept across invocations of a warm function and only
 * rebuilt when the secret's value changes (a rotated key). Every response is counted in the
 * `PostHogCalls` metric (dimensions `endpoint`, `status`) and in `PostHogResponses`, 429s also in
 * `PostHogThrottled`, 401/403 in `PostHogAuthRejected`, and 5xx in `PostHogServerErrors` (the persons deleted,
 * `PersonsDeleted`, are counted by the batch loop from what the executor returns).
 */
export function createClientSource(options: {
  config: Config;
  secrets: () => Promise<PostHogSecret>;
  metrics: RelayMetrics;
  logger?: RelayLogger;
  fetch?: typeof fetch;
  /** The client's clock (tests run the real budgets on a fake one). @default Date.now and setTimeout */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}): () => Promise<PostHogClient> {
  let current: { fingerprint: string; client: PostHogClient } | undefined;
  const { posthog } = options.config;

  return async () => {
    const secret = await options.secrets();
    const fingerprint = `${secret.personalApiKey}\u0000${secret.projectToken ?? ''}`;
    if (current?.fingerprint === fingerprint) return current.client;

    const clientOptions: PostHogClientOptions = {
      host: posthog.host,
      projectId: posthog.projectId,
      personalApiKey: secret.personalApiKey,
      ...(secret.projectToken === undefined ? {} : { projectToken: secret.projectToken }),
      timeoutMs: posthog.timeoutMs,
      maxRetries: posthog.maxRetries,
      rateLimits: { ...posthog.rateLimits },
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      onResponse: ({ endpoint, status }) => {
        options.metrics.count(METRIC_NAMES.postHogCalls, 1, { endpoint, status: String(status) });
        if (status === 429) options.metrics.count(METRIC_NAMES.throttled, 1);
        // Service-only counters, so that alarms can name one metric per lane: CloudWatch alarms need exact
        // dimension values, and PostHogCalls' `endpoint` has many.
        options.metrics.count(METRIC_NAMES.postHogResponses, 1);
        if (status === 401 || status === 403) {
          options.metrics.count(METRIC_NAMES.postHogAuthRejected, 1);
        }
        if (status >= 500) options.metrics.count(METRIC_NAMES.postHogServerErrors, 1);
      },
    };
    const client = new PostHogClient(clientOptions);
    current = { fingerprint, client };
    return client;
  };
}

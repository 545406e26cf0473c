import type { Config } from '../config.ts';
import { PostHogClient, type PostHogClientOptions, type RateGovernor } from '../posthog/index.ts';
import type { TombstoneStore } from '../store/index.ts';
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
  /** The fleet-wide budget of a key (lib/budget); default the in-process per-instance share. */
  sharedBudget?: (personalApiKey: string) => RateGovernor;
  /** Where a delete by distinct id records its tombstones (deletions lane, lib/store). */
  tombstones?: TombstoneStore;
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
    const rateLimiter = options.sharedBudget?.(secret.personalApiKey);
    let client = new PostHogClient({
      ...clientOptions,
      ...(rateLimiter === undefined ? {} : { rateLimiter }),
    });
    if (options.tombstones !== undefined) {
      client = recordTombstones(client, {
        tombstones: options.tombstones,
        metrics: options.metrics,
        now: options.now ?? Date.now,
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      });
    }
    if (options.config.lane === 'changes' && secret.projectToken === undefined) {
      // Said once per key (the client is cached), so a missing token is found before the DLQ fills with merges.
      options.logger?.warn(
        'the secret has no projectToken: person.merge messages are rejected, and several unset keys of a person cost one delete_property call each instead of one $unset event',
      );
    }
    current = { fingerprint, client };
    return client;
  };
}

/**
 * Records a tombstone for every distinct id a `bulkDelete` erases (not `keepPerson`), before the delete: the changes
 * lane then refuses capture writes that would re-create those persons (lib/store/erasure-guard.ts). Written first so
 * that no capture write can slip in between the delete and its tombstone. A failed tombstone write does not hold
 * the erasure back: it is counted (`TombstoneWriteFailures`) and logged, and the delete goes ahead. Deletes by
 * person uuid leave no tombstone (the relay does not know their distinct ids without an extra lookup).
 */
function recordTombstones(
  client: PostHogClient,
  deps: {
    tombstones: TombstoneStore;
    metrics: RelayMetrics;
    now: () => number;
    logger?: RelayLogger;
  },
): PostHogClient {
  const bulkDelete = client.bulkDelete.bind(client);
  client.bulkDelete = async (...args: Parameters<PostHogClient['bulkDelete']>) => {
    const [target, flags] = args;
    if ('distinctIds' in target && flags?.keepPerson !== true && target.distinctIds.length > 0) {
      try {
        await deps.tombstones.record(target.distinctIds, deps.now());
        deps.metrics.count(METRIC_NAMES.tombstonesRecorded, new Set(target.distinctIds).size);
      } catch (error) {
        deps.metrics.count(METRIC_NAMES.tombstoneWriteFailures, 1);
        deps.logger?.error('could not record erasure tombstones; deleting anyway', {
          distinctIds: target.distinctIds.length,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
    }
    return bulkDelete(...args);
  };
  return client;
}

import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createBatchHandler, type LambdaContextLike } from '../batch/process-batch.ts';
import { type QueueOps, sqsQueueOps } from '../batch/queue-ops.ts';
import { SharedRateLimiter } from '../budget/index.ts';
import type { Config } from '../config.ts';
import type { RateGovernor } from '../posthog/index.ts';
import {
  createErasureGuard,
  DynamoBudgetStore,
  DynamoTombstoneStore,
  type ErasureGuard,
  keyHash,
  type TombstoneStore,
} from '../store/index.ts';
import { createClientSource } from './client-source.ts';
import { createLogger, type RelayLogger } from './logger.ts';
import { METRIC_NAMES, PowertoolsRelayMetrics, type RelayMetrics } from './metrics.ts';
import { createSecretSource, type FetchSecret } from './secrets.ts';

/** Optional replacements for the parts a Lambda builds itself; tests and the local runner use them. */
export interface RelayHandlerOverrides {
  /** Reads the secret; default Powertools `getSecret` with `maxAge` = `SECRET_MAX_AGE_SECONDS`. */
  readonly fetchSecret?: FetchSecret;
  /** The SQS actions (DLQ sends, visibility changes); default over a real `SQSClient`. */
  readonly queueOps?: QueueOps;
  /** `fetch` for the PostHog client. */
  readonly fetch?: typeof fetch;
  readonly logger?: RelayLogger;
  readonly metrics?: RelayMetrics;
  readonly now?: () => number;
  /** The PostHog client's sleep (retries, rate limiter waits); with `now`, a fake clock runs the real budgets. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** The DynamoDB client of the shared state table; default one for the function's region. */
  readonly dynamodb?: DynamoDBClient;
}

/** A Lambda SQS handler that always answers with a partial batch response. */
export type RelayHandler = (
  event: SQSEvent,
  context: LambdaContextLike,
) => Promise<SQSBatchResponse>;

/**
 * Wires one lane's handler from its config: Powertools Logger and Metrics, the secret source, the PostHog
 * client (rebuilt only when the key rotates), the SQS actions and the batch loop. Called once at module
 * scope by `functions/*.ts`, so all of it is built at cold start.
 */
export function createRelayHandler(
  config: Config,
  overrides: RelayHandlerOverrides = {},
): RelayHandler {
  const logger =
    overrides.logger ??
    createLogger({
      serviceName: config.powertools.serviceName,
      logLevel: config.powertools.logLevel,
      lane: config.lane,
    });
  const metrics =
    overrides.metrics ??
    new PowertoolsRelayMetrics({
      namespace: config.powertools.metricsNamespace,
      serviceName: config.powertools.serviceName,
    });
  const secrets = createSecretSource({
    secretId: config.posthog.secretId,
    maxAgeSeconds: config.posthog.secretMaxAgeSeconds,
    ...(overrides.fetchSecret === undefined ? {} : { fetchSecret: overrides.fetchSecret }),
  });
  const shared = sharedState(config, overrides, logger, metrics);
  const getClient = createClientSource({
    config,
    secrets,
    metrics,
    logger,
    ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
    ...(overrides.sleep === undefined ? {} : { sleep: overrides.sleep }),
    ...(shared === undefined ? {} : { sharedBudget: shared.budget }),
    ...(shared !== undefined && config.lane === 'deletions'
      ? { tombstones: shared.tombstones }
      : {}),
  });
  // The queue URL, not a per-request endpoint, names the queue: `useQueueUrlAsEndpoint: false` lets
  // AWS_ENDPOINT_URL_SQS (fauxqs locally) decide where requests go, and changes nothing in AWS.
  const queueOps =
    overrides.queueOps ??
    sqsQueueOps(new SQSClient({ region: config.queues.region, useQueueUrlAsEndpoint: false }));
  const batch = createBatchHandler({
    lane: config.lane,
    dlqUrl: config.queues.dlqUrl,
    queueUrl: config.queues.queueUrl,
    queueOps,
    getClient,
    retry: {
      baseDelaySeconds: config.retry.baseDelaySeconds,
      maxDelaySeconds: config.retry.maxDelaySeconds,
    },
    safetyMarginMs: config.retry.deadlineSafetyMarginMs,
    propertyWrites: config.posthog.propertyWrites,
    ...(shared !== undefined && config.lane === 'changes' ? { erasureGuard: shared.guard } : {}),
    ...(config.retry.maxReceiveCount === undefined
      ? {}
      : { maxReceiveCount: config.retry.maxReceiveCount }),
    logger,
    metrics,
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
    ...(overrides.random === undefined ? {} : { random: overrides.random }),
  });
  return async (event, context) => (await batch(event, context)).response;
}

/**
 * The shared state table's parts (when `RELAY_STATE_TABLE_NAME` is set): the fleet-wide budget of each key, the
 * tombstones (written by the deletions lane) and the erasure guard (the changes lane). The DynamoDB client makes at
 * most 2 attempts with short socket timeouts: the budget gives a round trip `RATE_BUDGET_STORE_TIMEOUT_MS` and then
 * falls back, so SDK retries beyond that would only hold the caller.
 */
function sharedState(
  config: Config,
  overrides: RelayHandlerOverrides,
  logger: RelayLogger,
  metrics: RelayMetrics,
):
  | {
      budget: (personalApiKey: string) => RateGovernor;
      tombstones: TombstoneStore;
      guard: ErasureGuard;
    }
  | undefined {
  const state = config.sharedState;
  if (state === undefined) return undefined;
  const dynamodb =
    overrides.dynamodb ??
    new DynamoDBClient({
      region: config.queues.region,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
    });
  const now = overrides.now ?? Date.now;
  const store = new DynamoBudgetStore(dynamodb, state.tableName);
  const tombstones = new DynamoTombstoneStore(dynamodb, {
    tableName: state.tableName,
    projectId: config.posthog.projectId,
    ttlDays: state.tombstoneTtlDays,
  });
  const budget = (personalApiKey: string): RateGovernor =>
    new SharedRateLimiter(
      {
        store,
        keyHash: keyHash(personalApiKey),
        rateLimits: { ...config.posthog.rateLimits },
        storeTimeoutMs: state.storeTimeoutMs,
        onFallback: (event) => {
          if (event.reason === 'degraded') {
            metrics.count(METRIC_NAMES.rateBudgetFallbacks, 1);
            return;
          }
          metrics.count(METRIC_NAMES.rateBudgetStoreFailures, 1);
          logger.warn('shared rate budget unavailable; using the per-instance share', {
            bucket: event.bucket,
            reason: event.reason,
            error:
              event.error instanceof Error
                ? `${event.error.name}: ${event.error.message}`
                : String(event.error),
          });
        },
      },
      {
        now,
        sleep:
          overrides.sleep ??
          ((ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal })),
      },
    );
  return { budget, tombstones, guard: createErasureGuard({ tombstones, now }) };
}

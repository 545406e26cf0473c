import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createBatchHandler, type LambdaContextLike } from '../batch/process-batch.ts';
import { type QueueOps, sqsQueueOps } from '../batch/queue-ops.ts';
import type { Config } from '../config.ts';
import { createClientSource } from './client-source.ts';
import { createLogger, type RelayLogger } from './logger.ts';
import { PowertoolsRelayMetrics, type RelayMetrics } from './metrics.ts';
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
  const getClient = createClientSource({
    config,
    secrets,
    metrics,
    logger,
    ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
    ...(overrides.sleep === undefined ? {} : { sleep: overrides.sleep }),
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

import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '#lib/config.ts';
import { createRelayHandler } from '#lib/runtime/index.ts';

// Cold start: config is parsed once (a bad variable fails the init, naming it), and the logger, metrics,
// secret cache, PostHog client, planner and batch loop are built once and reused by warm invocations.
const relay = createRelayHandler(loadConfig(process.env, { lane: 'changes' }));

/**
 * The changes lane (FIFO queue, one message group per person): splits, property updates and merges.
 * A retried message fails the rest of its group in the batch so that order is kept; other groups go on.
 * Answers with an SQS partial batch response (`batchItemFailures`).
 */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  relay(event, context);

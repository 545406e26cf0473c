import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '#lib/config.ts';
import { createRelayHandler } from '#lib/runtime/index.ts';

// Cold start: config is parsed once (a bad variable fails the init, naming it), and the logger, metrics,
// secret cache, PostHog client, planner and batch loop are built once and reused by warm invocations.
const relay = createRelayHandler(loadConfig(process.env, { lane: 'deletions' }));

/**
 * The deletions lane (standard queue, large batches with a batching window): coalesces a batch of
 * `persons.delete` commands into the fewest `bulk_delete` calls and answers with an SQS partial batch
 * response (`batchItemFailures`). Needs `ReportBatchItemFailures` on the event source mapping.
 */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  relay(event, context);

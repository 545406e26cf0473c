/**
 * The queue settings both the CDK stack (infra/) and the local stack (local/sqs) build the lanes from, so a
 * local run behaves like the deployed queues: FIFO attributes, batch sizes and the redrive count.
 */

/** Receives before SQS itself moves a message to the DLQ (the retry design; see `outageToleranceSeconds`). */
export const LANE_MAX_RECEIVE_COUNT = 50;

/**
 * The FIFO changes queue (and its DLQ): high-throughput mode and content-based deduplication, so a producer that
 * sets no deduplication id (EventBridge, a plain SendMessage) is still de-duplicated by the SHA-256 of the body.
 * As SQS CreateQueue attribute values.
 */
export const FIFO_QUEUE_ATTRIBUTES = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'true',
  DeduplicationScope: 'messageGroup',
  FifoThroughputLimit: 'perMessageGroupId',
} as const;

/** Per-lane queue kind and event source batch size (Lambda: FIFO at most 10, standard up to 10,000). */
export const LANE_QUEUES = {
  deletions: { fifo: false, batchSize: 1000 },
  changes: { fifo: true, batchSize: 10 },
} as const;

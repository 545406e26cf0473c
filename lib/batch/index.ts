export { FIFO_QUEUE_ATTRIBUTES, LANE_MAX_RECEIVE_COUNT, LANE_QUEUES } from './lane-queues.ts';
export {
  type BatchLoopDeps,
  type BatchReport,
  createBatchHandler,
  type LambdaContextLike,
  type MessageResult,
  RETRIES_EXHAUSTED,
  WRONG_LANE,
} from './process-batch.ts';
export { type DeadLetter, type QueueOps, sqsQueueOps, type VisibilityChange } from './queue-ops.ts';
export {
  backoffSeconds,
  DEFAULT_RETRY_POLICY,
  outageToleranceSeconds,
  type RetryPolicy,
  retryDelaySeconds,
  SQS_MAX_VISIBILITY_SECONDS,
} from './retry-policy.ts';

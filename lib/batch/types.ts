import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { PostHogClientLike } from '../executor/index.ts';
import type { Lane } from '../messages/index.ts';
import type { ErasureGuard } from '../store/erasure-guard.ts';
import type { RelayLogger, RelayMetrics } from './ports.ts';
import type { QueueOps } from './queue-ops.ts';
import type { RetryPolicy } from './retry-policy.ts';

/** The part of the Lambda context the batch loop reads. */
export type LambdaContextLike = Pick<Context, 'getRemainingTimeInMillis'> &
  Partial<Pick<Context, 'awsRequestId' | 'functionName'>>;

/** Everything the batch loop needs, injected once at cold start (see `functions/`). */
export interface BatchLoopDeps {
  /** `changes` is the FIFO lane: a failure fails the rest of its message group in the batch. */
  readonly lane: Lane;
  readonly dlqUrl: string;
  readonly queueUrl: string;
  readonly queueOps: QueueOps;
  /** The PostHog client for this invocation (rebuilt by the caller when the secret rotates). */
  readonly getClient: () => Promise<PostHogClientLike>;
  readonly retry: RetryPolicy;
  /** Time kept back from the Lambda timeout for the DLQ sends and visibility changes at the end. */
  readonly safetyMarginMs: number;
  readonly propertyWrites?: 'update_property' | 'capture';
  /**
   * The source queue's redrive `maxReceiveCount`. A message that fails on its own at its last delivery (receive
   * count ≥ this) is dead-lettered by the handler with its reason, instead of being returned for SQS to move on
   * the next receive. On FIFO this is what keeps blocked successors out of the DLQ (see `exhaustRetries`).
   * @default no handler-side limit
   */
  readonly maxReceiveCount?: number;
  /** Rejects capture writes to erased distinct ids before planning (lib/store/erasure-guard.ts). @default none */
  readonly erasureGuard?: ErasureGuard;
  readonly logger: RelayLogger;
  readonly metrics: RelayMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** What finally happens to one SQS message. */
export type MessageResult =
  | { readonly action: 'acknowledge'; readonly status: 'applied' }
  | {
      readonly action: 'acknowledge';
      readonly status: 'rejected';
      readonly code: string;
      readonly reason: string;
    }
  | {
      readonly action: 'fail';
      readonly status: 'retry' | 'rejected';
      readonly code: string;
      readonly reason: string;
      readonly delaySeconds: number;
    };

/** The handler's response plus what happened to each message, for tests and the local report. */
export interface BatchReport {
  readonly response: SQSBatchResponse;
  readonly results: ReadonlyMap<string, MessageResult>;
}
/** The size of the plan a batch ran, for the `batch done` log line. */
export interface PlanStats {
  readonly plannedCalls: number;
  readonly lowerBound: number;
  readonly naiveCalls: number;
}

/** The receive count SQS reports for a record (1 when missing). */
export function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
}

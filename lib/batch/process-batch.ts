import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Lane } from '../config.ts';
import { executePlan, type PostHogClientLike } from '../executor/index.ts';
import { type Command, laneOf, parseMessage } from '../messages/index.ts';
import {
  describeError,
  isTransientRetry,
  messageOutcome,
  OUTCOME_CODES,
  type Outcome,
  retryNow,
} from '../outcome/index.ts';
import { type InboundCommand, planBatch } from '../planner/index.ts';
import type { RelayLogger } from '../runtime/logger.ts';
import { METRIC_NAMES, type RelayMetrics } from '../runtime/metrics.ts';
import type { DeadLetter, QueueOps } from './queue-ops.ts';
import { type RetryPolicy, retryDelaySeconds } from './retry-policy.ts';

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

/** Rejection code of a message that failed on its own at its last delivery (receive count = maxReceiveCount). */
export const RETRIES_EXHAUSTED = OUTCOME_CODES.retriesExhausted;

/** Rejection code of a valid command sent to the other lane's queue. */
export const WRONG_LANE = OUTCOME_CODES.wrongLane;

/** SQS allows 10 message attributes; five are ours. */
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_REASON_LENGTH = 1000;

/**
 * Builds the SQS batch handler shared by both lanes:
 * records → `parseMessage` (bad → rejected) → `planBatch` → `executePlan` (deadline = now + remaining time −
 * safety margin) → one outcome per message → actions: `applied` is acknowledged; `retry` gets its visibility
 * changed to the retry delay and is reported in `batchItemFailures`; `rejected` is sent to the DLQ with
 * `error_code`/`error_reason`/`original_message_id`/`source_queue`/`first_received_at` and acknowledged
 * (reported as a failure instead if the DLQ send fails, so nothing is ever dropped).
 *
 * Powertools Batch is not used: its processors call a handler per record, while the planner needs the whole
 * batch at once to coalesce calls. This function is the whole-batch equivalent of `processPartialResponse`.
 */
export function createBatchHandler(
  deps: BatchLoopDeps,
): (event: SQSEvent, context: LambdaContextLike) => Promise<BatchReport> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const fifo = deps.lane === 'changes';

  return async (event, context) => {
    const startedAt = now();
    const records = Array.isArray(event?.Records) ? event.Records : [];
    deps.metrics.count(METRIC_NAMES.received, records.length);

    // 1. Parse every body; a bad one is rejected with the parser's path and reason, a valid command sent to
    //    the other lane's queue with `wrong_lane`.
    const outcomes = new Map<string, Outcome>();
    const commands = new Map<string, Command>();
    const inbound: InboundCommand[] = [];
    for (const record of records) {
      const parsed = safeParse(record.body);
      if (!parsed.ok) {
        outcomes.set(record.messageId, {
          status: 'rejected',
          code: parsed.rejection.code,
          reason: parsed.rejection.reason,
        });
        continue;
      }
      commands.set(record.messageId, parsed.command);
      const lane = laneOf(parsed.command);
      if (lane !== deps.lane) {
        // Applying it here would bypass what its lane guarantees (per-person FIFO order for changes) and
        // spend the other lane's share of the PostHog budget; the DLQ entry says where it belongs.
        outcomes.set(record.messageId, {
          status: 'rejected',
          code: WRONG_LANE,
          reason: `type: "${parsed.command.type}" belongs on the ${lane} queue, not the ${deps.lane} queue; send it there`,
        });
        continue;
      }
      inbound.push({ messageId: record.messageId, command: parsed.command });
    }

    // 2. Plan the whole batch and execute it before the deadline.
    const deadline = startedAt + context.getRemainingTimeInMillis() - deps.safetyMarginMs;
    let calls = 0;
    let lowerBound = 0;
    let naiveCalls = 0;
    if (inbound.length > 0) {
      if (deadline <= now()) {
        for (const m of inbound) outcomes.set(m.messageId, noTimeLeft());
      } else {
        try {
          const plan = planBatch(inbound, {
            propertyWrites: deps.propertyWrites ?? 'update_property',
          });
          calls = plan.callCount;
          lowerBound = plan.lowerBound;
          naiveCalls = plan.naiveCallCount;
          const client = await deps.getClient();
          const executed = await executePlan(plan, client, { deadline, now });
          for (const m of inbound) {
            const outcome =
              executed.get(m.messageId) ??
              internal('the executor returned no outcome for this message');
            outcomes.set(m.messageId, messageOutcome(outcome));
          }
        } catch (error) {
          deps.logger.error('batch could not be planned or executed; retrying every message', {
            error: describeError(error),
          });
          // Whatever escaped here (the secret, the client's construction, a bug) is not the messages' fault.
          for (const m of inbound) outcomes.set(m.messageId, internal(describeError(error)));
        }
      }
    }

    // 3. A message failing on its own at its last delivery is dead-lettered now, with its reason. Then, FIFO:
    //    once a message of a group will be retried, the later ones of that group must wait too.
    if (deps.maxReceiveCount !== undefined) exhaustRetries(records, outcomes, deps.maxReceiveCount);
    const blockedBy = fifo ? blockFailedGroups(records, outcomes) : new Map<string, string>();

    // 4. Dead-letter the rejected ones, then delay the retried ones.
    const results = new Map<string, MessageResult>();
    const rejected = records.filter((r) => outcomes.get(r.messageId)?.status === 'rejected');
    const dlqFailed = new Set<string>();
    if (rejected.length > 0) {
      const letters = rejected.map((r) => deadLetterOf(r, outcomes.get(r.messageId), deps.dlqUrl));
      const { failedIds } = await deps.queueOps.sendToDeadLetterQueue(deps.dlqUrl, letters);
      for (const id of failedIds) dlqFailed.add(id);
    }

    for (const record of records) {
      const outcome = outcomes.get(record.messageId) ?? internal('no outcome');
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
      if (outcome.status === 'applied') {
        results.set(record.messageId, { action: 'acknowledge', status: 'applied' });
      } else if (outcome.status === 'rejected' && !dlqFailed.has(record.messageId)) {
        results.set(record.messageId, {
          action: 'acknowledge',
          status: 'rejected',
          code: outcome.code,
          reason: outcome.reason,
        });
      } else {
        const retry = outcome.status === 'retry';
        // A blocked FIFO message waits exactly as long as the message blocking its group: the group cannot
        // move before that one anyway, and a longer wait of its own would hold the whole group back.
        const blocker = results.get(blockedBy.get(record.messageId) ?? '');
        results.set(record.messageId, {
          action: 'fail',
          status: outcome.status,
          code: retry ? outcome.code : OUTCOME_CODES.dlqSendFailed,
          reason: retry ? outcome.reason : `could not send to the DLQ: ${outcome.reason}`,
          delaySeconds:
            blocker?.action === 'fail'
              ? blocker.delaySeconds
              : retryDelaySeconds(
                  {
                    ...(retry ? { suggestedDelayMs: outcome.delayMs } : {}),
                    receiveCount,
                    transient: !retry || isTransientRetry(outcome.code),
                  },
                  deps.retry,
                  random,
                ),
        });
      }
    }

    const failures = records.filter((r) => results.get(r.messageId)?.action === 'fail');
    if (failures.length > 0) {
      const { failedIds } = await deps.queueOps.changeVisibility(
        deps.queueUrl,
        failures.map((r) => {
          const result = results.get(r.messageId);
          return {
            id: r.messageId,
            receiptHandle: r.receiptHandle,
            visibilityTimeout: result?.action === 'fail' ? result.delaySeconds : 0,
          };
        }),
      );
      if (failedIds.length > 0) {
        // Still reported as failures: SQS redelivers them after the queue's own visibility timeout.
        deps.logger.warn('could not change the visibility of some retried messages', {
          messageIds: failedIds,
        });
      }
    }

    // 5. Log one audit line per message and count the outcomes.
    let applied = 0;
    let retried = 0;
    const rejectedByReason = new Map<string, number>();
    for (const record of records) {
      const result = results.get(record.messageId);
      if (!result) continue;
      const command = commands.get(record.messageId);
      const extra = {
        correlation_id: command?.id ?? record.messageId,
        messageId: record.messageId,
        commandType: command?.type ?? null,
        receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? '1'),
        // Not acknowledged means it comes back: `retry`, even for a rejection whose DLQ send failed.
        outcome: result.action === 'fail' ? 'retry' : result.status,
        ...(result.status === 'applied' ? {} : { code: result.code, reason: result.reason }),
        ...(result.action === 'fail' ? { retryInSeconds: result.delaySeconds } : {}),
      };
      if (result.status === 'applied') {
        applied += 1;
        deps.logger.info('message outcome', extra);
      } else if (result.action === 'fail') {
        retried += 1;
        deps.logger.warn('message outcome', extra);
      } else {
        rejectedByReason.set(result.code, (rejectedByReason.get(result.code) ?? 0) + 1);
        deps.logger.warn('message outcome', extra);
      }
    }
    deps.metrics.count(METRIC_NAMES.applied, applied);
    deps.metrics.count(METRIC_NAMES.retried, retried);
    for (const [reason, count] of rejectedByReason) {
      deps.metrics.count(METRIC_NAMES.rejected, count, { reason });
    }
    deps.logger.info('batch done', {
      requestId: context.awsRequestId,
      messages: records.length,
      applied,
      retried,
      rejected: records.length - applied - retried,
      plannedCalls: calls,
      lowerBound,
      naiveCalls,
      durationMs: now() - startedAt,
    });
    deps.metrics.flush();

    return {
      response: { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.messageId })) },
      results,
    };
  };
}

/**
 * Dead-letters (as `rejected`, code {@link RETRIES_EXHAUSTED}) every message that failed on its own and was
 * delivered for the last time: SQS would move it to the DLQ on its next receive anyway ("When the ReceiveCount
 * for a message exceeds the maxReceiveCount for a queue, Amazon SQS moves the message to a dead-letter queue",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html), but
 * without a reason, and, on FIFO, only after returning the whole group as failures once more.
 *
 * Why this keeps blocked FIFO successors out of the DLQ: SQS never delivers a message of a group while an earlier
 * one is in flight, and AWS returns as many messages of one group per receive as it can, so a successor is only
 * ever received together with its predecessor and its receive count never exceeds the predecessor's. A successor
 * that is returned only because it is blocked therefore reaches its last delivery no earlier than the message
 * blocking it; at that delivery the blocker is dead-lettered here, which unblocks the group in the same batch
 * (a rejected message does not block), so the successor is applied or fails on its own merits. A successor is
 * never dead-lettered for its predecessor's failures. (Its own retries after a long-failing predecessor may be
 * few: the receive count is shared and SQS cannot reset it without re-sending, which would break the order.)
 */
function exhaustRetries(
  records: readonly SQSRecord[],
  outcomes: Map<string, Outcome>,
  maxReceiveCount: number,
): void {
  for (const record of records) {
    const outcome = outcomes.get(record.messageId);
    if (outcome?.status !== 'retry') continue;
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    if (receiveCount < maxReceiveCount) continue;
    outcomes.set(record.messageId, {
      status: 'rejected',
      code: RETRIES_EXHAUSTED,
      reason: `failed at each of its ${receiveCount} deliveries; last: ${outcome.code}: ${outcome.reason}`,
    });
  }
}

/**
 * FIFO order: walk each group in delivery order; after the first message that will be retried, every later
 * message of the group is retried too (even if its calls already succeeded: re-applying is idempotent,
 * applying it before its predecessor is not). Rejected messages before the first retry leave the group
 * flowing, because they will never be applied and so cannot be out of order.
 * Returns blocked message id → id of the message that blocked its group.
 */
function blockFailedGroups(
  records: readonly SQSRecord[],
  outcomes: Map<string, Outcome>,
): Map<string, string> {
  const blocked = new Map<string, { id: string; outcome: Extract<Outcome, { status: 'retry' }> }>();
  const blockedBy = new Map<string, string>();
  for (const record of records) {
    const group = record.attributes?.MessageGroupId ?? '';
    const outcome = outcomes.get(record.messageId);
    const blocker = blocked.get(group);
    if (blocker) {
      outcomes.set(record.messageId, {
        status: 'retry',
        code: OUTCOME_CODES.groupBlocked,
        reason: `an earlier message of group ${group} failed (${blocker.outcome.code}); order is kept`,
        delayMs: blocker.outcome.delayMs,
      });
      blockedBy.set(record.messageId, blocker.id);
    } else if (outcome?.status === 'retry') {
      blocked.set(group, { id: record.messageId, outcome });
    }
  }
  return blockedBy;
}

function deadLetterOf(record: SQSRecord, outcome: Outcome | undefined, dlqUrl: string): DeadLetter {
  const code = outcome?.status === 'rejected' ? outcome.code : OUTCOME_CODES.internal;
  const reason = outcome?.status === 'rejected' ? outcome.reason : 'unknown';
  const firstReceived = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
  const ours: Record<string, MessageAttributeValue> = {
    error_code: str(code),
    error_reason: str(reason.slice(0, MAX_REASON_LENGTH)),
    original_message_id: str(record.messageId),
    source_queue: str(record.eventSourceARN || 'unknown'),
    first_received_at: str(
      Number.isFinite(firstReceived) && firstReceived > 0
        ? new Date(firstReceived).toISOString()
        : 'unknown',
    ),
  };
  // Keep the producer's own attributes where SQS's limit of 10 leaves room.
  const attributes = { ...ours };
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES) break;
    if (name in attributes) continue;
    if (value.stringValue !== undefined) {
      attributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
    } else if (value.binaryValue !== undefined) {
      attributes[name] = {
        DataType: value.dataType,
        BinaryValue: Buffer.from(value.binaryValue, 'base64'),
      };
    }
  }
  const fifoDlq = dlqUrl.endsWith('.fifo');
  return {
    id: record.messageId,
    body: record.body,
    attributes,
    ...(fifoDlq
      ? {
          groupId: record.attributes?.MessageGroupId ?? 'dead-letter',
          // One DLQ entry per original message even if this batch is retried after a partial send.
          deduplicationId: record.messageId,
        }
      : {}),
  };
}

function safeParse(body: string): ReturnType<typeof parseMessage> {
  try {
    return parseMessage(typeof body === 'string' ? body : String(body));
  } catch (error) {
    // parseMessage never throws by contract; if it ever does, the message is still answered, not crashed on.
    return {
      ok: false,
      rejection: {
        code: 'not_json',
        path: '',
        reason: `could not be parsed: ${describeError(error)}`,
      },
    };
  }
}

const str = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value || '-',
});

const noTimeLeft = (): Outcome =>
  retryNow(OUTCOME_CODES.deadline, 'not enough Lambda time left to start PostHog calls');

const internal = (reason: string): Outcome => retryNow(OUTCOME_CODES.internal, reason);

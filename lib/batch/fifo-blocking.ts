import type { SQSRecord } from 'aws-lambda';
import { OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import { receiveCountOf } from './types.ts';

/*
 * Step 4 of the batch loop: before anything is settled, the messages at their last delivery are dead-lettered
 * with their reason, and on the FIFO lane a retried message holds back the later messages of its group.
 */

/**
 * Dead-letters (as `rejected`, code `retries_exhausted`) every message that failed on its own and was
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
export function exhaustRetries(
  records: readonly SQSRecord[],
  outcomes: Map<string, Outcome>,
  maxReceiveCount: number,
): void {
  for (const record of records) {
    const outcome = outcomes.get(record.messageId);
    if (outcome?.status !== 'retry') continue;
    const receiveCount = receiveCountOf(record);
    if (receiveCount < maxReceiveCount) continue;
    outcomes.set(record.messageId, {
      status: 'rejected',
      code: OUTCOME_CODES.retriesExhausted,
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
export function blockFailedGroups(
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

import type { SQSRecord } from 'aws-lambda';
import { isTransientRetry, OUTCOME_CODES, type Outcome, retryNow } from '../outcome/index.ts';
import { deadLetterOf } from './dead-letter.ts';
import { retryDelaySeconds } from './retry-policy.ts';
import { type BatchLoopDeps, type MessageResult, receiveCountOf } from './types.ts';

/**
 * Step 5 of the batch loop: acts on each outcome. `applied` is acknowledged; `rejected` is sent to the DLQ and
 * acknowledged (or, if that send fails, retried: nothing is ever dropped); `retry` gets its visibility changed to
 * the retry delay and is reported in `batchItemFailures`. `blockedBy` maps a blocked FIFO message to the message
 * blocking its group.
 */
export async function settle(
  records: readonly SQSRecord[],
  outcomes: ReadonlyMap<string, Outcome>,
  blockedBy: ReadonlyMap<string, string>,
  deps: BatchLoopDeps,
): Promise<Map<string, MessageResult>> {
  const dlqFailed = await deadLetter(records, outcomes, deps);
  const results = new Map<string, MessageResult>();
  const random = deps.random ?? Math.random;
  for (const record of records) {
    const outcome =
      outcomes.get(record.messageId) ?? retryNow(OUTCOME_CODES.internal, 'no outcome');
    if (outcome.status === 'applied') {
      results.set(record.messageId, { action: 'acknowledge', status: 'applied' });
    } else if (outcome.status === 'rejected' && !dlqFailed.has(record.messageId)) {
      const { code, reason } = outcome;
      results.set(record.messageId, { action: 'acknowledge', status: 'rejected', code, reason });
    } else {
      // A blocked FIFO message waits exactly as long as the message blocking its group: the group cannot
      // move before that one anyway, and a longer wait of its own would hold the whole group back.
      const blocker = results.get(blockedBy.get(record.messageId) ?? '');
      const delaySeconds =
        blocker?.action === 'fail' ? blocker.delaySeconds : delayOf(outcome, record, deps, random);
      results.set(record.messageId, failure(outcome, delaySeconds));
    }
  }
  await delayRetries(records, results, deps);
  return results;
}

/** Sends the rejected messages to the DLQ; returns the ids whose send failed. */
async function deadLetter(
  records: readonly SQSRecord[],
  outcomes: ReadonlyMap<string, Outcome>,
  deps: BatchLoopDeps,
): Promise<Set<string>> {
  const rejected = records.filter((r) => outcomes.get(r.messageId)?.status === 'rejected');
  if (rejected.length === 0) return new Set();
  const letters = rejected.map((r) => deadLetterOf(r, outcomes.get(r.messageId), deps.dlqUrl));
  const { failedIds } = await deps.queueOps.sendToDeadLetterQueue(deps.dlqUrl, letters);
  return new Set(failedIds);
}

/** A message that is not acknowledged: a retry, or a rejection whose DLQ send failed. */
function failure(
  outcome: Exclude<Outcome, { status: 'applied' }>,
  delaySeconds: number,
): MessageResult {
  if (outcome.status === 'retry') {
    const { code, reason } = outcome;
    return { action: 'fail', status: 'retry', code, reason, delaySeconds };
  }
  return {
    action: 'fail',
    status: 'rejected',
    code: OUTCOME_CODES.dlqSendFailed,
    reason: `could not send to the DLQ: ${outcome.reason}`,
    delaySeconds,
  };
}

function delayOf(
  outcome: Exclude<Outcome, { status: 'applied' }>,
  record: SQSRecord,
  deps: BatchLoopDeps,
  random: () => number,
): number {
  const retry = outcome.status === 'retry';
  return retryDelaySeconds(
    {
      ...(retry ? { suggestedDelayMs: outcome.delayMs } : {}),
      receiveCount: receiveCountOf(record),
      transient: !retry || isTransientRetry(outcome.code),
    },
    deps.retry,
    random,
  );
}

/** Gives every failed message its retry delay as its visibility timeout. */
async function delayRetries(
  records: readonly SQSRecord[],
  results: ReadonlyMap<string, MessageResult>,
  deps: BatchLoopDeps,
): Promise<void> {
  const changes = records.flatMap((r) => {
    const result = results.get(r.messageId);
    if (result?.action !== 'fail') return [];
    return [
      { id: r.messageId, receiptHandle: r.receiptHandle, visibilityTimeout: result.delaySeconds },
    ];
  });
  if (changes.length === 0) return;
  const { failedIds } = await deps.queueOps.changeVisibility(deps.queueUrl, changes);
  if (failedIds.length > 0) {
    // Still reported as failures: SQS redelivers them after the queue's own visibility timeout.
    deps.logger.warn('could not change the visibility of some retried messages', {
      messageIds: failedIds,
    });
  }
}

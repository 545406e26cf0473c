import type { SQSEvent } from 'aws-lambda';
import { OUTCOME_CODES } from '../outcome/index.ts';
import { blockFailedGroups, exhaustRetries } from './fifo-blocking.ts';
import { parseRecords } from './parse-records.ts';
import { METRIC_NAMES } from './ports.ts';
import { report } from './report.ts';
import { planAndRun } from './run-plan.ts';
import { settle } from './settle.ts';
import type { BatchLoopDeps, BatchReport, LambdaContextLike } from './types.ts';

export type { BatchLoopDeps, BatchReport, LambdaContextLike, MessageResult } from './types.ts';

/** Rejection code of a message that failed on its own at its last delivery (receive count = maxReceiveCount). */
export const RETRIES_EXHAUSTED = OUTCOME_CODES.retriesExhausted;

/** Rejection code of a valid command sent to the other lane's queue. */
export const WRONG_LANE = OUTCOME_CODES.wrongLane;

/**
 * Builds the SQS batch handler shared by both lanes, as named steps, each in its own file:
 * parse records (parse-records.ts: bad → rejected) → plan → run (run-plan.ts: `planBatch`, `executePlan` with
 * deadline = now + remaining time − safety margin) → FIFO blocking (fifo-blocking.ts) → settle (settle.ts) →
 * report (report.ts). Settling: `applied` is acknowledged; `retry` gets its visibility
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
  return async (event, context) => {
    const startedAt = now();
    const records = Array.isArray(event?.Records) ? event.Records : [];
    deps.metrics.count(METRIC_NAMES.received, records.length);

    const { outcomes, commands, inbound } = parseRecords(records, deps.lane);
    // A capture write would re-create a person that persons.delete erased: such messages are rejected here.
    if (deps.erasureGuard !== undefined && inbound.length > 0) {
      const guarded = await deps.erasureGuard(inbound, deps.propertyWrites ?? 'update_property');
      for (const [id, outcome] of guarded) outcomes.set(id, outcome);
      if (guarded.size > 0) {
        inbound.splice(0, inbound.length, ...inbound.filter((m) => !guarded.has(m.messageId)));
      }
    }
    const deadline = startedAt + context.getRemainingTimeInMillis() - deps.safetyMarginMs;
    const plan = await planAndRun(inbound, outcomes, deadline, deps);
    // A message failing on its own at its last delivery is dead-lettered now, with its reason. Then, FIFO:
    // once a message of a group will be retried, the later ones of that group must wait too.
    if (deps.maxReceiveCount !== undefined) exhaustRetries(records, outcomes, deps.maxReceiveCount);
    const blockedBy = deps.lane === 'changes' ? blockFailedGroups(records, outcomes) : new Map();
    const results = await settle(records, outcomes, blockedBy, deps);
    report(records, results, commands, { requestId: context.awsRequestId, startedAt, plan }, deps);

    const failures = records.filter((r) => results.get(r.messageId)?.action === 'fail');
    return {
      response: { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.messageId })) },
      results,
    };
  };
}

import type { SQSRecord } from 'aws-lambda';
import type { Command } from '../messages/index.ts';
import { METRIC_NAMES } from './ports.ts';
import type { BatchLoopDeps, MessageResult, PlanStats } from './types.ts';

/** What the batch loop tells its report about the invocation. */
export interface BatchSummary {
  readonly requestId: string | undefined;
  readonly startedAt: number;
  readonly plan: PlanStats;
}

/** Step 6 of the batch loop: one audit line per message, the outcome counters, and one `batch done` line. */
export function report(
  records: readonly SQSRecord[],
  results: ReadonlyMap<string, MessageResult>,
  commands: ReadonlyMap<string, Command>,
  summary: BatchSummary,
  deps: BatchLoopDeps,
): void {
  let applied = 0;
  let retried = 0;
  const rejectedByReason = new Map<string, number>();
  for (const record of records) {
    const result = results.get(record.messageId);
    if (!result) continue;
    logOutcome(record, result, commands.get(record.messageId), deps);
    if (result.status === 'applied') applied += 1;
    else if (result.action === 'fail') retried += 1;
    else rejectedByReason.set(result.code, (rejectedByReason.get(result.code) ?? 0) + 1);
  }
  deps.metrics.count(METRIC_NAMES.applied, applied);
  deps.metrics.count(METRIC_NAMES.retried, retried);
  for (const [reason, count] of rejectedByReason) {
    deps.metrics.count(METRIC_NAMES.rejected, count, { reason });
  }
  deps.logger.info('batch done', {
    requestId: summary.requestId,
    messages: records.length,
    applied,
    retried,
    rejected: records.length - applied - retried,
    plannedCalls: summary.plan.plannedCalls,
    lowerBound: summary.plan.lowerBound,
    naiveCalls: summary.plan.naiveCalls,
    durationMs: (deps.now ?? Date.now)() - summary.startedAt,
  });
  deps.metrics.flush();
}

/** The audit line of one message, with its command's id as `correlation_id`. */
function logOutcome(
  record: SQSRecord,
  result: MessageResult,
  command: Command | undefined,
  deps: BatchLoopDeps,
): void {
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
  if (result.status === 'applied') deps.logger.info('message outcome', extra);
  else deps.logger.warn('message outcome', extra);
}

import { executePlan } from '../executor/index.ts';
import {
  describeError,
  messageOutcome,
  OUTCOME_CODES,
  type Outcome,
  retryNow,
} from '../outcome/index.ts';
import { type InboundCommand, planBatch } from '../planner/index.ts';
import { METRIC_NAMES } from './ports.ts';
import type { BatchLoopDeps, PlanStats } from './types.ts';

const NO_PLAN: PlanStats = { plannedCalls: 0, lowerBound: 0, naiveCalls: 0 };

/**
 * Steps 2 and 3 of the batch loop: plans the whole batch and runs the plan before `deadline`, setting one outcome
 * per inbound message in `outcomes`. Never throws: whatever escapes (the secret, the client's construction, a bug)
 * is not the messages' fault, so they are all retried.
 */
export async function planAndRun(
  inbound: readonly InboundCommand[],
  outcomes: Map<string, Outcome>,
  deadline: number,
  deps: BatchLoopDeps,
): Promise<PlanStats> {
  if (inbound.length === 0) return NO_PLAN;
  const now = deps.now ?? Date.now;
  if (deadline <= now()) {
    const noTime = retryNow(
      OUTCOME_CODES.deadline,
      'not enough Lambda time left to start PostHog calls',
    );
    for (const m of inbound) outcomes.set(m.messageId, noTime);
    return NO_PLAN;
  }
  let stats = NO_PLAN;
  try {
    const client = await deps.getClient();
    const plan = planBatch([...inbound], {
      propertyWrites: deps.propertyWrites ?? 'update_property',
      // Several unset keys of a person are one `$unset` event when a project token can send it.
      captureUnsets: client.hasProjectToken === true,
    });
    stats = {
      plannedCalls: plan.callCount,
      lowerBound: plan.lowerBound,
      naiveCalls: plan.naiveCallCount,
    };
    const executed = await executePlan(plan, client, { deadline, now });
    if (executed.deletions.calls > 0) {
      deps.metrics.count(METRIC_NAMES.personsDeleted, executed.deletions.persons);
    }
    for (const m of inbound) {
      const outcome =
        executed.get(m.messageId) ?? internal('the executor returned no outcome for this message');
      outcomes.set(m.messageId, messageOutcome(outcome));
    }
  } catch (error) {
    deps.logger.error('batch could not be planned or executed; retrying every message', {
      error: describeError(error),
    });
    for (const m of inbound) outcomes.set(m.messageId, internal(describeError(error)));
  }
  return stats;
}

const internal = (reason: string): Outcome => retryNow(OUTCOME_CODES.internal, reason);

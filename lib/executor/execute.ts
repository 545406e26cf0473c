import { OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type { Plan } from '../planner/index.ts';
import { runCall } from './calls.ts';
import type { ClientRequestOptions, PostHogClientLike } from './client-port.ts';
import { type DeletionCounts, PlanRun } from './plan-run.ts';

/** Options of {@link executePlan}. */
export interface ExecuteOptions {
  /** Epoch ms. Calls not started by then end as `retry` (code `deadline`); the client never waits past it. */
  deadline?: number;
  /** Clock (epoch ms), the same one as the client's. @default Date.now */
  now?: () => number;
  /** Calls of one stage run this many at a time; the client's rate limiter paces them. @default 4 */
  concurrency?: number;
}

/** One outcome per message id of the plan, and what the plan's deletes removed (for the `PersonsDeleted` metric). */
export interface PlanOutcomes extends ReadonlyMap<string, Outcome> {
  readonly deletions: Readonly<DeletionCounts>;
}

class OutcomeMap extends Map<string, Outcome> implements PlanOutcomes {
  constructor(
    results: Map<string, Outcome>,
    readonly deletions: Readonly<DeletionCounts>,
  ) {
    super(results);
  }
}

/**
 * Runs a plan through the client, stage by stage, and reports one {@link Outcome} per message id of the plan
 * (served or skipped). Never throws for PostHog failures: each becomes an outcome.
 *
 * - A message is `applied` when every call serving it succeeded (a repeated split's 400 "not on this person"
 *   counts as success; a bulk_delete 404 does not: PostHog answers 202 for persons already gone), `rejected`
 *   when any of them failed permanently, `retry` otherwise, with the `Retry-After` of a 429 or a backoff as the
 *   suggested delay.
 * - A bulk_delete with `deletion_errors` retries only the messages that asked for a failed person. For a
 *   distinct-id delete the chunk's distinct ids are resolved again to find which of them belong to failed persons.
 * - Calls not started before `deadline` end as `retry` with code `deadline` and no delay.
 * - A skipped message (person deleted in the batch) is `applied` when every delete it depends on is applied.
 * - The result also counts the persons the plan's bulk_delete calls removed.
 *
 * @example
 * const outcomes = await executePlan(planBatch(inbound), client, { deadline: Date.now() + remaining - margin });
 */
export async function executePlan(
  plan: Plan,
  client: PostHogClientLike,
  options: ExecuteOptions = {},
): Promise<PlanOutcomes> {
  const requestOptions: ClientRequestOptions =
    options.deadline === undefined ? {} : { deadline: options.deadline };
  const run = new PlanRun(client, requestOptions, options.deadline, options.now ?? Date.now);
  const stages = [...new Set(plan.calls.map((c) => c.stage))].sort((a, b) => a - b);
  for (const stage of stages) await runStage(run, plan, stage, options);
  settleSkipped(run, plan);
  return new OutcomeMap(run.results, run.deletions);
}

/**
 * Runs the calls of one stage: API calls `concurrency` at a time, capture calls one after another in plan order
 * (the planner folds a person's events of several rounds into one batch, and when that batch overflows into the
 * next call, order must hold across them).
 */
async function runStage(
  run: PlanRun,
  plan: Plan,
  stage: number,
  options: ExecuteOptions,
): Promise<void> {
  const queue = plan.calls.filter((c) => c.stage === stage && c.endpoint !== 'capture_batch');
  const captures = plan.calls.filter((c) => c.stage === stage && c.endpoint === 'capture_batch');
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let call = queue.shift(); call !== undefined; call = queue.shift())
      await runCall(run, call);
  });
  const captureWorker = async () => {
    for (const call of captures) await runCall(run, call);
  };
  await Promise.all([...workers, captureWorker()]);
}

/** A skipped message (its person is deleted in the batch) is applied when every delete it depends on is. */
function settleSkipped(run: PlanRun, plan: Plan): void {
  for (const skip of plan.skipped) {
    // A delete without an outcome (one the plan did not run) is not applied either.
    const dependencies = skip.dependsOn.map((id) => run.results.get(id));
    const firstNotApplied = dependencies.findIndex((outcome) => outcome?.status !== 'applied');
    if (dependencies.length > 0 && firstNotApplied === -1) {
      run.results.set(skip.messageId, { status: 'applied' });
      continue;
    }
    const failed = dependencies[firstNotApplied];
    run.results.set(skip.messageId, {
      status: 'retry',
      code: OUTCOME_CODES.dependsOnDelete,
      delayMs: failed?.status === 'retry' ? failed.delayMs : 0,
      reason: `${skip.reason}, and that delete did not complete`,
    });
  }
}

/** Runs a plan through the PostHog client and maps every call's result back to each message (contract D). */

export { OUTCOME_CODES, type Outcome, type OutcomeCode } from '../outcome/index.ts';
export { DELETION_ERROR_RETRY_MS } from './calls.ts';
export type {
  ClientBulkDeleteResult,
  ClientCaptureEvent,
  ClientRequestOptions,
  PostHogClientLike,
} from './client-port.ts';
export { type ExecuteOptions, executePlan, type PlanOutcomes } from './execute.ts';
export { outcomeOfError } from './outcome-of-error.ts';
export type { DeletionCounts } from './plan-run.ts';

/** Runs a plan through the PostHog client and maps every call's result back to each message (contract D). */

export { OUTCOME_CODES, type Outcome, type OutcomeCode } from '../outcome/index.ts';
export {
  type ClientCaptureEvent,
  type ClientRequestOptions,
  DELETION_ERROR_RETRY_MS,
  type ExecuteOptions,
  executePlan,
  outcomeOfError,
  type PostHogClientLike,
} from './execute.ts';
